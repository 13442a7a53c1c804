"""The reports folder served read-only over HTTP, so a report link in an artifact opens in a
browser (``file://`` links are refused by browsers and only the server machine has the file).

``python -m shopops.reports_server [--host 127.0.0.1] [--port 8767] [--folder data/reports]``
(the demo starts it; ``SHOPOPS_REPORTS_URL=http://<host>:<port>/reports`` makes the links
point at it). ``GET``/``HEAD /reports/<family>/<file>`` answers with the file; everything else
is refused: no directory listing, no path outside the folder (``..``, symbolic links out, an
encoded ``%2e%2e``), no hidden file (a report still being written aside), no other method.
It binds to 127.0.0.1 unless told otherwise. Exposed to a team it asks for the same login as the
Prefect UI: with ``PREFECT_SERVER_API_AUTH_STRING`` (``user:password``, what the Prefect server
itself requires) set, every request but the health check needs that HTTP basic login, and the
browser asks for it as it does for the UI; bound to any address other than loopback without it,
the server refuses to start (docs/RUNBOOK.md).
"""
from __future__ import annotations

import argparse
import base64
import hmac
import ipaddress
import mimetypes
import os
import shutil
import sys
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: the URL path the folder is served under (SHOPOPS_REPORTS_URL ends with it)
PREFIX = "/reports/"
HEALTH = "/_health"
mimetypes.add_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
mimetypes.add_type("text/csv", ".csv")


def resolve_report(folder: Path, url_path: str) -> Path | None:
    """The file ``url_path`` names under ``folder``, or None when it names no readable report:
    outside the prefix, a directory, a hidden part, or anything resolving outside ``folder``."""
    path = unquote(urlsplit(url_path).path)
    if not path.startswith(PREFIX):
        return None
    parts = [p for p in path[len(PREFIX):].split("/") if p]
    if not parts or any(p in (".", "..") or p.startswith(".") or "\\" in p or "\0" in p for p in parts):
        return None
    root = folder.resolve()
    target = root.joinpath(*parts).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


class ReportsHandler(BaseHTTPRequestHandler):
    server_version = "shopops-reports"
    sys_version = ""

    def __init__(self, *args, folder: Path, auth: str | None = None, **kwargs):
        self.folder, self.auth = folder, auth
        super().__init__(*args, **kwargs)

    def _authorised(self) -> bool:
        """No login configured, or the request carries the Prefect UI's basic login."""
        if not self.auth:
            return True
        given = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(self.auth.encode("utf-8")).decode("ascii")
        return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def _refuse_method(self) -> None:
        self.send_error(HTTPStatus.METHOD_NOT_ALLOWED, "read-only")

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse_method  # noqa: N815

    def _answer(self, body: bool) -> None:
        if self.path == HEALTH:
            self._send(HTTPStatus.OK, b"ok", "text/plain; charset=utf-8", body)
            return
        if not self._authorised():
            self.send_response(HTTPStatus.UNAUTHORIZED)
            self.send_header("WWW-Authenticate", 'Basic realm="shopops reports", charset="UTF-8"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        target = resolve_report(self.folder, self.path)
        if target is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        with target.open("rb") as handle:
            size = target.stat().st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(size))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if body:
                shutil.copyfileobj(handle, self.wfile)

    def _send(self, status: HTTPStatus, data: bytes, kind: str, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)


class ExposedWithoutLogin(ValueError):
    """Asked to bind beyond loopback with no login configured."""


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 8767,
                auth: str | None = None) -> ThreadingHTTPServer:
    """A server (not yet serving) for ``folder``; port 0 picks a free one (``server_address``).
    ``auth`` (``user:password``) is the login every request needs; beyond loopback it is required."""
    if not auth and not _loopback(host):
        from shopops.i18n import t

        raise ExposedWithoutLogin(t("reports_server_needs_login", host=host))
    return ThreadingHTTPServer((host, port), partial(ReportsHandler, folder=Path(folder), auth=auth or None))


def main(argv: list[str] | None = None) -> int:
    from config.settings import get_settings
    from shopops.i18n import t

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m shopops.reports_server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=settings.reports_port, help="port (SHOPOPS_REPORTS_PORT)")
    parser.add_argument("--folder", type=Path, default=settings.report_folder, help="the reports folder")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    try:
        server = make_server(args.folder, args.host, args.port, auth=os.environ.get("PREFECT_SERVER_API_AUTH_STRING"))
    except ExposedWithoutLogin as exc:
        print(exc, file=sys.stderr, flush=True)
        return 2
    print(t("reports_server_listening", url=f"http://{args.host}:{server.server_address[1]}{PREFIX}",
            folder=args.folder), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
