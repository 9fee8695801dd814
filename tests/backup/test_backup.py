"""``flask --app wsgi backup``: create, list, verify, prune, restore and drill on SQLite with a local DEST."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from portal import create_app
from portal.extensions import db
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.support import minimal_mp4


def portal(folder: Path):
    return create_app({"TESTING": True, "DATA_DIR": str(folder), "SECRET_KEY": f"key-of-{folder.name}",
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'portal.db'}"})


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["backup", *args])


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A portal with three small videos, one of them in the trash, and its first backup."""
    folder = tmp_path_factory.mktemp("library")
    app = portal(folder / "data")
    client = signed_in_client(app)
    files = [upload(client, minimal_mp4(os.urandom(size)), f"clip{size}.mp4").get_json() for size in (10, 5000, 300_000)]
    assert client.delete(f"/api/v1/files/{files[0]['id']}").status_code in (200, 204)
    dest = folder / "dest"
    first = run(app, "create", str(dest))
    assert first.exit_code == 0, first.output
    yield app, dest, files
    dispose(app)


def objects_in(dest: Path) -> set[str]:
    return {path.name for path in (dest / "objects").iterdir()}


def test_create_copies_every_object_once_and_list_shows_it(library):
    app, dest, files = library
    assert {file["sha256"] for file in files} <= objects_in(dest)
    listed = run(app, "list", str(dest))
    assert listed.exit_code == 0
    assert len(listed.output.splitlines()) >= 1
    assert "3 objects" in listed.output.splitlines()[0]


def test_a_second_backup_of_an_unchanged_library_copies_nothing_new(library):
    app, dest, _files = library
    before = objects_in(dest)
    second = run(app, "create", str(dest))
    assert second.exit_code == 0, second.output
    assert "0 copied" in second.output
    assert objects_in(dest) == before
    assert len(run(app, "list", str(dest)).output.splitlines()) >= 2


def test_verify_passes_on_a_sound_backup(library):
    app, dest, _files = library
    checked = run(app, "verify", str(dest))
    assert checked.exit_code == 0, checked.output
    assert "0 problems" in checked.output


def test_a_backup_without_its_manifest_is_not_listed(library, tmp_path):
    app, dest, _files = library
    listed = len(run(app, "list", str(dest)).output.splitlines())
    half = dest / "backups" / "20000101T000000Z-abcdef"
    half.mkdir(parents=True)
    (half / "database.sqlite").write_bytes(b"half a dump")
    try:
        assert len(run(app, "list", str(dest)).output.splitlines()) == listed
    finally:
        (half / "database.sqlite").unlink()
        half.rmdir()


def test_a_corrupt_object_makes_verify_exit_1_naming_it(library, tmp_path):
    app, dest, files = library
    victim = dest / "objects" / files[1]["sha256"]
    kept = victim.read_bytes()
    victim.write_bytes(b"x" + kept[1:])
    try:
        checked = run(app, "verify", str(dest))
    finally:
        victim.write_bytes(kept)
    assert checked.exit_code == 1
    assert f"corrupt: original/{files[1]['id'][:2]}/{files[1]['id'][2:4]}/{files[1]['id']}" in checked.output


def test_restore_onto_an_empty_portal_brings_everything_back(library, tmp_path):
    app, dest, files = library
    target = portal(tmp_path / "restored")
    try:
        restored = run(target, "restore", str(dest))
        assert restored.exit_code == 0, restored.output
        with target.app_context():
            from portal.library.models import Video
            from portal.storage import current_storage

            videos = {video.id: video for video in db.session.scalars(db.select(Video))}
            assert set(videos) == {file["id"] for file in files}
            assert videos[files[0]["id"]].in_trash and not videos[files[1]["id"]].in_trash
            for file in files:
                with current_storage().open(videos[file["id"]].storage_key) as content:
                    assert content.read() == (Path(app.config["DATA_DIR"]) / "files" / videos[file["id"]].storage_key).read_bytes()
        assert (tmp_path / "restored" / "secret_key").read_text() == app.config["SECRET_KEY"]
    finally:
        dispose(target)


def test_restore_onto_a_portal_in_use_is_refused_and_changes_nothing(library, tmp_path):
    app, dest, _files = library
    target = portal(tmp_path / "busy")
    client = signed_in_client(target)
    mine = upload(client, minimal_mp4(b"mine"), "mine.mp4").get_json()
    files_before = sorted(path for path in (tmp_path / "busy" / "files").rglob("*") if path.is_file())
    try:
        refused = run(target, "restore", str(dest))
        assert refused.exit_code == 1
        assert "refusing to restore" in refused.output and "not empty" in refused.output
        assert sorted(path for path in (tmp_path / "busy" / "files").rglob("*") if path.is_file()) == files_before
        with target.app_context():
            from portal.library.models import Video

            assert [video.id for video in db.session.scalars(db.select(Video))] == [mine["id"]]
    finally:
        dispose(target)


def assert_drill_passes_then_fails_on_a_damaged_object(app, dest, files) -> None:
    """The drill passes on the backup, then fails naming the video whose object lost a byte (put back after)."""
    passed = run(app, "drill", str(dest))
    assert passed.exit_code == 0, passed.output
    victim = dest / "objects" / files[2]["sha256"]
    kept = victim.read_bytes()
    victim.write_bytes(kept[:-1])
    try:
        failed = run(app, "drill", str(dest))
    finally:
        victim.write_bytes(kept)
    assert failed.exit_code == 1
    assert files[2]["id"] in failed.output


def test_the_drill_passes_on_a_sound_backup_and_fails_on_a_damaged_one(library):
    assert_drill_passes_then_fails_on_a_damaged_object(*library)


def test_prune_keeps_the_newest_and_the_objects_they_name(library):
    app, dest, _files = library
    assert run(app, "create", str(dest)).exit_code == 0
    pruned = run(app, "prune", str(dest), "--keep", "1")
    assert pruned.exit_code == 0, pruned.output
    assert len(run(app, "list", str(dest)).output.splitlines()) == 1
    assert run(app, "verify", str(dest)).exit_code == 0


def test_a_backup_to_s3_verifies_restores_and_passes_the_drill(library, s3_url, tmp_path):
    app, _dest, files = library
    created = run(app, "create", s3_url)
    assert created.exit_code == 0, created.output
    again = run(app, "create", s3_url)
    assert again.exit_code == 0 and "0 copied" in again.output, again.output
    listed = run(app, "list", s3_url)
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == 2, listed.output
    checked = run(app, "verify", s3_url)
    assert checked.exit_code == 0 and "0 problems" in checked.output, checked.output
    assert run(app, "drill", s3_url).exit_code == 0
    target = portal(tmp_path / "restored")
    try:
        restored = run(target, "restore", s3_url)
        assert restored.exit_code == 0, restored.output
        client = signed_in_client(target)
        for file in files[1:]:
            assert client.get(f"/api/v1/files/{file['id']}/content").data and client.get(
                f"/api/v1/files/{file['id']}").get_json()["sha256"] == file["sha256"]
    finally:
        dispose(target)


def test_a_second_backup_trusts_what_an_earlier_manifest_recorded_and_verify_still_hashes_it(library):
    """An object DEST lists and an earlier manifest records is not read again; `verify` is the full check."""
    app, dest, files = library
    victim = dest / "objects" / files[2]["sha256"]
    kept = victim.read_bytes()
    victim.write_bytes(b"x" + kept[1:])
    try:
        again = run(app, "create", str(dest))
        checked = run(app, "verify", str(dest))
    finally:
        victim.write_bytes(kept)
    assert again.exit_code == 0 and "0 copied" in again.output, again.output
    assert checked.exit_code == 1 and f"corrupt: original/{files[2]['id'][:2]}" in checked.output


def test_an_object_gone_from_dest_is_copied_again_by_the_next_backup(library):
    app, dest, files = library
    victim = dest / "objects" / files[1]["sha256"]
    victim.unlink()
    again = run(app, "create", str(dest))
    assert again.exit_code == 0 and "1 copied" in again.output, again.output
    assert victim.is_file()
    checked = run(app, "verify", str(dest))
    assert checked.exit_code == 0, checked.output
