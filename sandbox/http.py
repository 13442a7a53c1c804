"""A small HTTP/1.1 server for the sandbox's ASGI app, written for keep-alive throughput.

Why not uvicorn: with the h11 backend (httptools is not installed) uvicorn answered only
≈22 keep-alive requests/s here — every response paid a ≈44 ms delayed-ACK stall, as its
status line, body and end-of-message go out in separate writes — while a plain asyncio
protocol answering in one write did >17 000/s. This server parses a request head, reads a
``Content-Length`` body, runs the ASGI app and sends status line, headers and body in a
single ``transport.write``. It serves only what the sandbox needs: no chunked request
bodies, no ``Expect: 100-continue``, no upgrades, no TLS.
"""
from __future__ import annotations

import asyncio
import socket
import threading
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import unquote

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b"Unknown"


class _Connection(asyncio.Protocol):
    """One client connection: requests are answered strictly in order (no pipelining overlap)."""

    def __init__(self, app, server: "HttpServer"):
        self.app = app
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server.connections.add(self)

    def connection_lost(self, exc) -> None:
        self.server.connections.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next_request()

    def _next_request(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD_BYTES:
                self._reply_and_close(431)
            return
        try:
            request_line, *header_lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ", 2)
            headers = [(name.strip().lower().encode("latin-1"), value.strip().encode("latin-1"))
                       for name, value in (line.split(":", 1) for line in header_lines)]
        except ValueError:
            self._reply_and_close(400)
            return
        lookup = dict(headers)
        if b"chunked" in lookup.get(b"transfer-encoding", b""):
            self._reply_and_close(411)
            return
        length = int(lookup.get(b"content-length", b"0") or 0)
        if length > MAX_BODY_BYTES:
            self._reply_and_close(413)
            return
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4:end + 4 + length])
        del self.buffer[:end + 4 + length]
        keep_alive = version == "HTTP/1.1" and lookup.get(b"connection", b"").lower() != b"close"
        self.busy = True
        asyncio.get_running_loop().create_task(self._run(method, target, version, headers, body, keep_alive))

    async def _run(self, method: str, target: str, version: str, headers, body: bytes, keep_alive: bool) -> None:
        path, _, query = target.partition("?")
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": version.split("/")[-1],
            "method": method, "scheme": "http", "path": unquote(path), "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"), "root_path": "", "headers": headers,
            "client": self.transport.get_extra_info("peername") if self.transport else None,
            "server": self.server.address,
        }
        delivered = False
        status, response_headers, chunks = 500, [], []

        async def receive():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()   # the sandbox never streams; a client disconnect ends the task

        streaming = False

        async def send(message):
            nonlocal status, response_headers, streaming
            if message["type"] == "http.response.start":
                status, response_headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                if message.get("more_body") or streaming:
                    # a streamed body (the sandbox's slow-drip fault): the head with the app's own
                    # Content-Length at once, then each part as it comes; the connection closes after
                    if not streaming:
                        streaming = True
                        self._write_head(status, response_headers, keep_alive=False)
                    if self.transport is not None and message.get("body"):
                        self.transport.write(message["body"])
                    if not message.get("more_body") and self.transport is not None:
                        self.transport.close()
                else:
                    chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, send)
        except Exception:  # noqa: BLE001 - any app crash becomes a 500, the connection survives
            if streaming:
                if self.transport is not None:
                    self.transport.close()
                return
            status, response_headers, chunks = 500, [(b"content-type", b"text/plain")], [b"Internal Server Error"]
        if streaming:
            return
        self._write(status, response_headers, b"".join(chunks), keep_alive, head_only=method == "HEAD")
        self.busy = False
        if keep_alive and self.transport is not None and self.buffer:
            self._next_request()

    def _write(self, status: int, headers, body: bytes, keep_alive: bool, head_only: bool = False) -> None:
        if self.transport is None:
            return
        lines = [b"HTTP/1.1 %d %s" % (status, _reason(status)),
                 b"date: " + formatdate(usegmt=True).encode(), b"server: shopops-sandbox"]
        lines += [name + b": " + value for name, value in headers if name.lower() != b"content-length"]
        lines.append(b"content-length: %d" % len(body))
        if not keep_alive:
            lines.append(b"connection: close")
        self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n" + (b"" if head_only else body))
        if not keep_alive:
            self.transport.close()

    def _write_head(self, status: int, headers, keep_alive: bool) -> None:
        """Status line and headers only, the app's Content-Length kept (a streamed body)."""
        if self.transport is None:
            return
        lines = [b"HTTP/1.1 %d %s" % (status, _reason(status)),
                 b"date: " + formatdate(usegmt=True).encode(), b"server: shopops-sandbox"]
        lines += [name + b": " + value for name, value in headers]
        if not keep_alive:
            lines.append(b"connection: close")
        self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n")

    def _reply_and_close(self, status: int) -> None:
        self._write(status, [(b"content-type", b"text/plain")], _reason(status), keep_alive=False)


class HttpServer:
    """Serve an ASGI app on an already bound socket from its own event loop (in a thread)."""

    def __init__(self, app, sock: socket.socket):
        self.app = app
        self.sock = sock
        self.address = sock.getsockname()[:2]
        self.connections: set[_Connection] = set()
        self.started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await self._loop.create_server(lambda: _Connection(self.app, self), sock=self.sock)
        self.started.set()
        await self._stopping.wait()
        server.close()
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()
        await server.wait_closed()

    def shutdown(self) -> None:
        """Thread-safe: stop accepting, close every connection, let ``run`` return."""
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
