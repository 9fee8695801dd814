"""The upload page's side of tus, without a browser: the vendored client and what the page tells it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal import create_app

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "static" / "vendor" / "tus-js-client"


def test_vendored_tus_js_client_ships_its_licence():
    assert "MIT License" in (VENDOR / "LICENSE").read_text()
    assert "tus-js-client 4.3.1" in (VENDOR / "README.md").read_text()
    assert (VENDOR / "tus.min.js").stat().st_size > 50_000


def test_the_page_loads_the_client_and_names_the_endpoint_and_chunk_size(app, client):
    app.config["UPLOAD_CHUNK_BYTES"] = 1024 * 1024
    html = client.get("/upload").get_data(as_text=True)
    assert re.search(r'<script src="/static/vendor/tus-js-client/tus\.min\.[0-9a-f]{12}\.js" defer>', html)
    assert 'data-uploads-url="/api/v1/uploads"' in html
    assert 'data-video-url="/videos/VIDEO_ID"' in html
    assert 'data-chunk-bytes="1048576"' in html
    assert re.search(r'<form[^>]+method="post"[^>]+enctype="multipart/form-data"', html), "the plain form stays"


def test_the_chunk_size_is_never_above_the_upload_limit(app, client):
    app.config["UPLOAD_CHUNK_BYTES"] = app.config["MAX_CONTENT_LENGTH"] * 2
    html = client.get("/upload").get_data(as_text=True)
    assert f'data-chunk-bytes="{app.config["MAX_CONTENT_LENGTH"]}"' in html


@pytest.mark.parametrize("value", [0, -1, "big", True, 1.5])
def test_a_chunk_size_that_is_not_a_positive_whole_number_is_refused_at_start_up(tmp_path, value):
    with pytest.raises(ValueError, match="PORTAL_UPLOAD_CHUNK_BYTES"):
        create_app({"DATA_DIR": str(tmp_path), "UPLOAD_CHUNK_BYTES": value})
