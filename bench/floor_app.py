"""The stack's floor: a WSGI app that does nothing but move bytes through waitress.

Served by waitress with exactly the portal's production settings
(:func:`portal.ops.server.waitress_settings`), it shows the fastest a transfer can
go through this server before the portal does any work of its own:

- an upload (any POST) is read and thrown away;
- a GET of ``/<path>`` sends the file at that path under ``BENCH_FLOOR_ROOT``,
  one ``Range: bytes=A-B`` honoured, by handing waitress ``wsgi.file_wrapper``
  over the open file, with no lookup, check or header beyond the length.

``PORTAL_DATA_DIR``, ``PORTAL_HOST`` and ``PORTAL_PORT`` apply as for ``wsgi.py``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any
from typing import Callable
from typing import Iterable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal import create_app  # noqa: E402
from portal.ops.server import listening_socket  # noqa: E402
from portal.ops.server import waitress_settings  # noqa: E402

READ_SIZE = 1024 * 1024
FILE_ROOT = Path(os.environ.get("BENCH_FLOOR_ROOT", "."))


def discard_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    stream = environ["wsgi.input"]
    received = 0
    while chunk := stream.read(READ_SIZE):
        received += len(chunk)
    body = b'{"received": %d}' % received
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def send_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    file = open(FILE_ROOT / environ["PATH_INFO"].lstrip("/"), "rb")
    size = os.fstat(file.fileno()).st_size
    wanted = re.fullmatch(r"bytes=(\d+)-(\d+)", environ.get("HTTP_RANGE", ""))
    if wanted:
        first, last = int(wanted.group(1)), int(wanted.group(2))
        file.seek(first)
        headers = [("Content-Length", str(last - first + 1)), ("Content-Range", f"bytes {first}-{last}/{size}")]
        start_response("206 Partial Content", headers)
    else:
        start_response("200 OK", [("Content-Length", str(size))])
    return environ["wsgi.file_wrapper"](file, READ_SIZE)


def floor_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/healthz":
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "16")])
        return [b'{"status": "ok"}']
    if environ["REQUEST_METHOD"] == "GET":
        return send_app(environ, start_response)
    return discard_app(environ, start_response)


if __name__ == "__main__":
    from waitress import serve

    app = create_app()
    serve(floor_app, sockets=[listening_socket(app.config["HOST"], int(app.config["PORT"]))], **waitress_settings(app))
