"""``flask --app wsgi move-storage``: a library moves between the local folder and an object store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from portal import create_app
from portal.storage import storage_of
from portal.storage.local import LocalStorage
from portal.storage.s3 import S3Storage
from tests.helpers import signed_in_client
from tests.helpers import stored_files
from tests.helpers import upload
from tests.support import minimal_mp4


def portal(tmp_path: Path, database_url: str, storage_url: str | None = None):
    config = {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test",
              "SQLALCHEMY_DATABASE_URI": database_url}
    if storage_url:
        config["STORAGE_URL"] = storage_url
    return create_app(config)


def s3_storage(s3_url: str) -> S3Storage:
    bucket, _, prefix = s3_url.removeprefix("s3://").partition("/")
    return S3Storage(bucket, prefix)


def stored_bytes(storage) -> dict[str, bytes]:
    contents = {}
    for key in storage.keys():
        with storage.open(key) as content:
            contents[key] = content.read()
    return contents


@pytest.fixture
def library(tmp_path, database_url):
    """A portal on the local folder with three files."""
    app = portal(tmp_path, database_url)
    client = signed_in_client(app)
    files = [upload(client, minimal_mp4(os.urandom(size)), f"clip{size}.mp4").get_json() for size in (10, 5000, 300_000)]
    yield app, files
    with app.app_context():
        from portal.extensions import db

        db.engine.dispose()


class FailingReader:
    """Gives some bytes, then fails as a dropped network mount would."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        if self.data:
            data, self.data = self.data, b""
            return data
        raise ConnectionError("the source went away")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        pass


def move(app, *args: str):
    return app.test_cli_runner().invoke(args=["move-storage", *args])


def test_local_library_moves_to_the_object_store_and_is_served_from_there(tmp_path, database_url, library, s3_url):
    app, files = library
    local = storage_of(app)
    result = move(app, "--to", s3_url)
    assert result.exit_code == 0, result.output
    assert "copied 3 files, 0 already there, 0 not copied" in result.output
    assert stored_bytes(s3_storage(s3_url)) == stored_bytes(local)

    moved = portal(tmp_path, database_url, s3_url)
    client = signed_in_client(moved)
    for file in files:
        response = client.get(file["content_url"])
        assert response.status_code == 200
        assert len(response.get_data()) == file["size"]
    assert moved.test_cli_runner().invoke(args=["verify"]).exit_code == 0


def test_an_interrupted_move_resumes_and_skips_what_arrived(library, s3_url, monkeypatch):
    app, files = library
    target = s3_storage(s3_url)
    real_open = LocalStorage.open
    opened = []

    def reader_failing_halfway_through_the_second_file(self, key):
        opened.append(key)
        content = real_open(self, key)
        if len(opened) == 2:
            first_half = content.read(files[1]["size"] // 2)
            content.close()
            return FailingReader(first_half)
        return content

    with monkeypatch.context() as patch:
        patch.setattr(LocalStorage, "open", reader_failing_halfway_through_the_second_file)
        interrupted = move(app, "--to", s3_url)
    assert isinstance(interrupted.exception, ConnectionError)
    assert len(list(target.keys())) == 1, "only the first file arrived; nothing of the second"

    resumed = move(app, "--to", s3_url)
    assert resumed.exit_code == 0, resumed.output
    assert "copied 2 files, 1 already there, 0 not copied" in resumed.output
    again = move(app, "--to", s3_url)
    assert "copied 0 files, 3 already there, 0 not copied" in again.output


def test_a_wrong_copy_at_the_target_is_replaced(library, s3_url):
    app, files = library
    target = s3_storage(s3_url)
    key = f"original/{files[2]['id'][:2]}/{files[2]['id'][2:4]}/{files[2]['id']}"
    truncated = target.create(key)
    truncated.write(b"only the beginning")
    truncated.commit()
    result = move(app, "--to", s3_url)
    assert "copied 3 files, 0 already there" in result.output

    same_size = target.create(key)
    same_size.write(b"\0" * files[2]["size"])
    same_size.commit()
    # Same size: trusted by default (every copy this command makes was checked before it was committed).
    assert "copied 0 files, 3 already there" in move(app, "--to", s3_url).output
    checked = move(app, "--to", s3_url, "--verify-existing")
    assert "copied 1 files, 2 already there" in checked.output
    assert stored_bytes(target) == stored_bytes(storage_of(app))


def test_a_corrupt_source_file_is_not_copied_and_fails_the_run(library, s3_url):
    app, files = library
    data_dir = Path(app.config["DATA_DIR"])
    [path] = [p for p in stored_files(data_dir) if p.name == files[1]["id"]]
    damaged = bytearray(path.read_bytes())
    damaged[100] ^= 0xFF
    path.write_bytes(bytes(damaged))
    result = move(app, "--to", s3_url)
    assert result.exit_code == 1
    assert f"CORRUPT at the source, not copied: {files[1]['id']} clip5000.mp4" in result.output
    assert "copied 2 files, 0 already there, 1 not copied" in result.output
    assert not any(key.endswith(files[1]["id"]) for key in s3_storage(s3_url).keys())


def test_a_library_in_the_object_store_moves_back_to_a_folder(tmp_path, database_url, s3_url):
    app = portal(tmp_path, database_url, s3_url)
    client = signed_in_client(app)
    files = [upload(client, minimal_mp4(os.urandom(size)), "clip.mp4").get_json() for size in (10, 9 * 1024 * 1024)]
    folder = tmp_path / "back" / "files"
    result = move(app, "--to", f"file://{folder}")
    assert result.exit_code == 0, result.output
    assert "copied 2 files, 0 already there, 0 not copied" in result.output
    assert stored_bytes(LocalStorage(folder)) == stored_bytes(storage_of(app))

    back = portal(tmp_path, database_url, f"file://{folder}")
    for file in files:
        assert signed_in_client(back).post(file["url"] + "/verify").get_json()["status"] == "ok"
    with app.app_context():
        from portal.extensions import db

        db.engine.dispose()
