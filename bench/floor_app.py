"""The stack's floor: a WSGI app that reads every request body and throws it away.

Served by waitress with exactly the portal's production settings
(:func:`portal.server.waitress_settings`), it shows the fastest an upload can
go through this server before the portal does any work of its own.
``PORTAL_DATA_DIR``, ``PORTAL_HOST`` and ``PORTAL_PORT`` apply as for ``wsgi.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from typing import Callable
from typing import Iterable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal import create_app  # noqa: E402
from portal.server import waitress_settings  # noqa: E402

READ_SIZE = 1024 * 1024


def discard_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    stream = environ["wsgi.input"]
    received = 0
    while chunk := stream.read(READ_SIZE):
        received += len(chunk)
    body = b'{"received": %d}' % received
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def discard_healthz(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/healthz":
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "16")])
        return [b'{"status": "ok"}']
    return discard_app(environ, start_response)


if __name__ == "__main__":
    from waitress import serve

    serve(discard_healthz, **waitress_settings(create_app()))
