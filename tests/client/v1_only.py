"""The portal as a server from before /api/v2 answered: every path under /api/v2 is 404; the rest is ``wsgi.py``'s.

What the client's tests run (``python tests/client/v1_only.py``) to check that
it still speaks v1 to an older portal, over real HTTP.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from typing import Callable
from typing import Iterable

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from portal import create_app  # noqa: E402
from portal.ops.server import serve  # noqa: E402

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def without_v2(wsgi: WsgiApp) -> WsgiApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith("/api/v2"):
            body = b'{"error": {"code": "not_found", "message": "The requested URL was not found on the server."}}'
            start_response("404 NOT FOUND", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return wsgi(environ, start_response)

    return app


app = create_app()
app.wsgi_app = without_v2(app.wsgi_app)  # type: ignore[method-assign,assignment]

if __name__ == "__main__":
    serve(app)
