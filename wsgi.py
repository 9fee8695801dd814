"""Entry point: ``waitress`` (and ``flask --app wsgi``) import ``app`` from here.

``python wsgi.py`` serves the portal with the production settings of
:mod:`portal.ops.server` on ``PORTAL_HOST``:``PORTAL_PORT`` (default 0.0.0.0:8080).
"""

from portal import create_app
from portal.ops.server import serve

app = create_app()

if __name__ == "__main__":
    serve(app)
