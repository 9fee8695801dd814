"""What a newcomer sees: the line ``python wsgi.py`` prints, and the debugger of ``make dev``."""

from __future__ import annotations

import sys

import pytest
from werkzeug.debug import DebuggedApplication
from werkzeug.test import Client

from portal import __version__
from portal import create_app
from portal.http.auth import public
from portal.ops.server import startup_line
from tests.support import RunningPortal


@pytest.mark.server
def test_python_wsgi_py_says_it_is_up_and_where(tmp_path):
    log = tmp_path / "portal.log"
    running = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_PROCESSES": "2"}, log_path=log)
    try:
        first_line = log.read_text().splitlines()[0]
    finally:
        running.stop()
    assert first_line.startswith(f"portal {__version__} on http://127.0.0.1:{running.port}/ ")
    assert "(2 x 8 threads)" in first_line
    assert f"data {tmp_path / 'data'}" in first_line
    assert "storage local folder" in first_line


def test_the_startup_line_names_database_and_storage_without_secrets(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "THREADS": 4})
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://portal:hunter2@db.example:5432/videos"
    app.config["STORAGE_URL"] = "s3://media/portal"
    line = startup_line(app, "0.0.0.0", 8080, 3)
    assert line.startswith(f"portal {__version__} on http://localhost:8080/ (3 x 4 threads)")
    assert "database postgresql db.example/videos" in line
    assert "storage S3 bucket media/portal" in line
    assert "hunter2" not in line and "portal:" not in line


def failing_app(tmp_path, debug: bool):
    app = create_app({"DATA_DIR": str(tmp_path), "DEBUG": debug})

    def boom():
        raise RuntimeError("an unexpected failure")

    public(boom)  # the error, not the sign-in, is what these tests are about
    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/v1/boom", "api_boom", boom)
    return app


def test_make_dev_shows_the_interactive_debugger_on_an_unexpected_error(tmp_path):
    """``flask run --debug`` wraps the app in Werkzeug's debugger; the error must reach it."""
    app = failing_app(tmp_path, debug=True)
    response = Client(DebuggedApplication(app, evalex=True)).get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Werkzeug Debugger" in page and "an unexpected failure" in page


def test_production_answers_an_unexpected_error_with_the_500_page_or_json(tmp_path):
    client = failing_app(tmp_path, debug=False).test_client()
    page = client.get("/boom")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "an unexpected failure" not in page.get_data(as_text=True)
    api = client.get("/api/v1/boom")
    assert api.status_code == 500
    assert api.get_json()["error"]["code"] == "internal_error"


def test_the_startup_line_says_where_share_links_point(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path)})
    assert startup_line(app, "0.0.0.0", 8080, 1).endswith(
        "share links on the address each request came to (PORTAL_BASE_URL unset)"
    )
    app.config["BASE_URL"] = "https://videos.example.org"
    assert startup_line(app, "0.0.0.0", 8080, 1).endswith("share links on https://videos.example.org")
