"""``flask --app wsgi verify`` and ``cleanup``."""

from __future__ import annotations

from tests.helpers import stored_files
from tests.helpers import upload


def test_verify_passes_when_every_file_is_intact(app, client, video_bytes):
    upload(client, video_bytes)
    result = app.test_cli_runner().invoke(args=["verify"])
    assert result.exit_code == 0, result.output
    assert "checked 1 files: 1 ok" in result.output


def test_verify_fails_and_names_corrupt_and_missing_files(app, client, data_dir, video_bytes):
    # Bytes of each one's own: identical ones would share one stored object.
    corrupt = upload(client, video_bytes + b"corrupt", "corrupt.mp4").get_json()
    missing = upload(client, video_bytes + b"missing", "missing.mp4").get_json()
    upload(client, video_bytes, "fine.mp4")
    paths = {path.name: path for path in stored_files(data_dir)}
    paths[corrupt["id"]].write_bytes(b"garbage")
    paths[missing["id"]].unlink()
    result = app.test_cli_runner().invoke(args=["verify"])
    assert result.exit_code == 1
    assert f"CORRUPT: {corrupt['id']} corrupt.mp4" in result.output
    assert f"MISSING: {missing['id']} missing.mp4" in result.output
    assert "1 ok, 2 corrupt or missing" in result.output
    assert client.get(corrupt["url"]).get_json()["status"] == "corrupt"


def test_cleanup_names_stored_files_without_a_row_and_keeps_them(app, client, data_dir, video_bytes):
    kept = upload(client, video_bytes).get_json()
    stray = data_dir / "files" / "ab" / "cd" / "abcd0000-0000-4000-8000-000000000000"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(video_bytes)
    result = app.test_cli_runner().invoke(args=["cleanup"])
    assert result.exit_code == 0
    assert "no row describes stored file ab/cd/abcd0000-0000-4000-8000-000000000000" in result.output
    assert kept["id"] not in result.output
    assert stray.exists()


def test_cleanup_removes_leftovers(app, data_dir):
    leftover = data_dir / "files" / ".incoming" / "999999999-x.part"
    leftover.write_bytes(b"x")
    result = app.test_cli_runner().invoke(args=["cleanup"])
    assert result.exit_code == 0
    assert "removed 1" in result.output
    assert not leftover.exists()
