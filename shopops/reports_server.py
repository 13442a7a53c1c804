"""The reports folder served read-only over HTTP, so a report link in an artifact opens in a
browser (``file://`` links are refused by browsers and only the server machine has the file).

``python -m shopops.reports_server [--host 127.0.0.1] [--port 8767] [--folder data/reports]``
(the demo starts it; ``SHOPOPS_REPORTS_URL=http://<host>:<port>/reports`` makes the links
point at it). ``GET``/``HEAD /reports/<family>/<file>`` answers with the file; everything else
is refused: no directory listing, no path outside the folder (``..``, symbolic links out, an
encoded ``%2e%2e``), no hidden file (a report still being written aside), no other method.
It binds to 127.0.0.1 unless told otherwise; exposed to a team, put it behind the same
authenticating reverse proxy as the Prefect UI (docs/RUNBOOK.md), it has no login of its own.
"""
from __future__ import annotations

import argparse
import mimetypes
import shutil
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

    def __init__(self, *args, folder: Path, **kwargs):
        self.folder = folder
        super().__init__(*args, **kwargs)

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


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 8767) -> ThreadingHTTPServer:
    """A server (not yet serving) for ``folder``; port 0 picks a free one (``server_address``)."""
    return ThreadingHTTPServer((host, port), partial(ReportsHandler, folder=Path(folder)))


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
    server = make_server(args.folder, args.host, args.port)
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
