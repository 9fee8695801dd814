"""Static files: hashed names in the pages, brotli and gzip copies made once, caching; pages and videos left uncompressed."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import brotli  # type: ignore[import-untyped]
import pytest

from portal import ROOT
from portal import create_app
from portal.http.assets import CACHE_FOLDER
from tests.conftest import copy_migrated_sqlite
from tests.helpers import signed_in_client
from tests.web.conftest import add_video

STATIC = ROOT / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
DECODERS = {"br": brotli.decompress, "gzip": gzip.decompress}
#: A file of each kind the pages use: the portal's own stylesheet and script, and the vendored Swagger UI and tus client.
FILES = ["css/portal.css", "js/portal.js", "vendor/swagger-ui/swagger-ui-bundle.js", "vendor/tus-js-client/tus.min.js"]


def _new_app(data_dir: Path, migrated_sqlite: Path):
    url = f"sqlite:///{data_dir / 'portal.db'}"
    copy_migrated_sqlite(migrated_sqlite, url)
    return create_app({"TESTING": True, "DATA_DIR": str(data_dir), "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": url})


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("static-assets")


@pytest.fixture(scope="module")
def module_app(data_folder, migrated_sqlite):
    app = _new_app(data_folder, migrated_sqlite)
    yield app
    with app.app_context():
        from portal.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="module")
def signed_in(module_app):
    return signed_in_client(module_app)


def hashed_url(name: str) -> str:
    path = Path(name)
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/static/{path.with_name(f'{path.stem}.{digest}{path.suffix}').as_posix()}"


@pytest.mark.parametrize(
    ("page", "names"),
    [
        ("/", ["css/portal.css", "js/portal.js", "img/favicon.svg"]),
        ("/upload", ["vendor/tus-js-client/tus.min.js", "js/upload.js"]),
        ("/api/v1/docs", ["vendor/swagger-ui/swagger-ui.css", "vendor/swagger-ui/swagger-ui-bundle.js", "css/api-docs.css"]),
        ("/api/v2/docs", ["vendor/swagger-ui/swagger-ui-bundle.js", "js/api-docs.js"]),
    ],
)
def test_pages_link_static_files_by_the_digest_of_their_content(signed_in, page, names):
    html = signed_in.get(page).get_data(as_text=True)
    linked = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html))
    for name in names:
        assert hashed_url(name) in linked
    assert not {url for url in linked if not re.search(r"\.[0-9a-f]{12}(\.[a-z]+)?$", url)}, "a plain static name is linked"


@pytest.mark.parametrize("encoding", ["br", "gzip"])
@pytest.mark.parametrize("name", FILES)
def test_compressed_answers_decode_to_the_exact_file(signed_in, name, encoding):
    response = signed_in.get(hashed_url(name), headers={"Accept-Encoding": encoding})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert response.headers["Vary"] == "Accept-Encoding"
    body = response.get_data()
    assert int(response.headers["Content-Length"]) == len(body) < (STATIC / name).stat().st_size * 0.6
    assert DECODERS[encoding](body) == (STATIC / name).read_bytes()


def test_without_accept_encoding_the_file_comes_as_it_is(signed_in):
    response = signed_in.get(hashed_url("css/portal.css"))
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == (STATIC / "css/portal.css").read_bytes()
    assert response.headers["Content-Type"] == 'text/css; charset="utf-8"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_hashed_names_are_kept_a_year_and_plain_names_a_minute(signed_in):
    hashed = signed_in.get(hashed_url("css/portal.css"), headers={"Accept-Encoding": "br"})
    assert hashed.headers["Cache-Control"] == IMMUTABLE
    plain = signed_in.get("/static/css/portal.css", headers={"Accept-Encoding": "br"})
    assert plain.status_code == 200
    assert plain.headers["Cache-Control"] == "public, max-age=60"
    assert brotli.decompress(plain.get_data()) == (STATIC / "css/portal.css").read_bytes()


def test_etag_is_the_sha256_and_answers_304(signed_in):
    url = hashed_url("js/portal.js")
    first = signed_in.get(url, headers={"Accept-Encoding": "gzip"})
    assert first.headers["ETag"] == f'"{hashlib.sha256((STATIC / "js/portal.js").read_bytes()).hexdigest()}"'
    again = signed_in.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["Cache-Control"] == IMMUTABLE


def test_an_unknown_static_name_is_404(signed_in):
    assert signed_in.get("/static/css/portal.000000000000.css").status_code == 404


def test_pages_are_never_compressed(signed_in):
    response = signed_in.get("/", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.get_data(as_text=True).lstrip().lower().startswith("<!doctype html>")


def test_a_range_of_a_video_is_never_compressed(signed_in, video_bytes):
    video = add_video(signed_in, video_bytes, "beach.mp4")
    response = signed_in.get(f"/videos/{video['id']}/stream", headers={"Range": "bytes=10-99", "Accept-Encoding": "br, gzip"})
    assert response.status_code == 206
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == video_bytes[10:100]


def test_the_copies_are_made_once_in_the_data_folder_and_kept_across_starts(signed_in, module_app, data_folder, migrated_sqlite):
    signed_in.get(hashed_url("css/portal.css"), headers={"Accept-Encoding": "br"})
    [folder] = (data_folder / CACHE_FOLDER).iterdir()
    copy = folder / "css" / "portal.css.br"
    made = copy.stat()
    for _ in range(3):
        signed_in.get(hashed_url("css/portal.css"), headers={"Accept-Encoding": "br"})
    restarted = signed_in_client(_new_app(data_folder, migrated_sqlite))
    assert restarted.get(hashed_url("css/portal.css"), headers={"Accept-Encoding": "br"}).status_code == 200
    assert list((data_folder / CACHE_FOLDER).iterdir()) == [folder]
    assert (copy.stat().st_ino, copy.stat().st_mtime_ns) == (made.st_ino, made.st_mtime_ns)
    assert not list(STATIC.rglob("*.br")) and not list(STATIC.rglob("*.gz")), "copies were written into the source tree"
