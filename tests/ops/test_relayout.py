"""``relayout-storage``: an old library's bytes (``ab/cd/<id>``) moved to ``original/ab/cd/<id>``, on both stores."""

from __future__ import annotations

import pytest

from portal import create_app
from portal.extensions import db
from portal.library.models import storage_key_for
from portal.storage import StorageUnavailable
from portal.storage import storage_of
from tests.helpers import signed_in_client
from tests.test_storage_keys import make_old_library
from tests.test_storage_keys import old_key
from tests.test_storage_keys import stored_keys


@pytest.fixture(params=["local", "s3"])
def storage(request) -> str | None:
    """The store's URL: the data folder's (None) or a prefix of this test's own on SeaweedFS."""
    return request.getfixturevalue("s3_url") if request.param == "s3" else None


@pytest.fixture
def old_library(storage, empty_database, tmp_path):
    """A library stored before the kinds, on the store under test; yields (app, rows, the app's storage)."""
    data_dir = tmp_path / "data"
    rows = make_old_library(empty_database, data_dir)
    app = create_app(
        {"TESTING": True, "DATA_DIR": str(data_dir), "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": empty_database,
         "STORAGE_URL": storage}
    )
    store = storage_of(app)
    if storage is not None:
        for row in rows:
            put(store, old_key(row["id"]), row["data"])
    yield app, rows, store
    with app.app_context():
        db.engine.dispose()


def put(store, key: str, data: bytes) -> None:
    upload = store.create(key)
    upload.write(data)
    upload.commit()


def relayout(app):
    return app.test_cli_runner().invoke(args=["relayout-storage"])


def assert_moved_and_whole(app, rows, store) -> None:
    """Every row names its new key, every old object is gone, every video downloads whole."""
    assert stored_keys(app) == {row["id"]: storage_key_for(row["id"]) for row in rows}
    assert set(store.keys()) == {storage_key_for(row["id"]) for row in rows}
    assert_every_video_downloads(app, rows)


def assert_every_video_downloads(app, rows) -> None:
    client = signed_in_client(app)
    for row in rows:
        assert client.get(f"/api/v1/files/{row['id']}/content").get_data() == row["data"]


def fail_on_call(monkeypatch, store, method: str, call: int) -> None:
    """Make ``store.<method>`` fail as an unreachable store would, on its ``call``-th call."""
    real = getattr(store, method)
    calls = 0

    def failing(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == call:
            raise StorageUnavailable("the object store did not answer")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, method, failing)


def test_relayout_moves_every_old_video_to_its_namespaced_key(old_library):
    app, rows, store = old_library
    result = relayout(app)
    assert result.exit_code == 0, result.output
    for row in rows:
        assert f"moved {row['id']} {row['filename']}: {old_key(row['id'])} -> {storage_key_for(row['id'])}" in result.output
    assert "moved 3 videos to original/ab/cd/<id>, 0 not moved" in result.output
    assert_moved_and_whole(app, rows, store)
    again = relayout(app)
    assert again.exit_code == 0, again.output
    assert again.output == "moved 0 videos to original/ab/cd/<id>, 0 not moved\n"


@pytest.mark.parametrize(
    "method",
    [
        "create",  # while copying the second video: its row still names the old key
        "delete",  # after the second video's row names its new key, before its old object is deleted
    ],
)
def test_an_interrupted_relayout_leaves_every_video_readable_and_a_second_run_finishes(old_library, monkeypatch, method):
    app, rows, store = old_library
    fail_on_call(monkeypatch, store, method, call=2)
    stopped = relayout(app)
    assert stopped.exit_code == 1
    assert "Error: the storage failed: the object store did not answer." in stopped.output
    assert "run the command again to finish the move" in stopped.output
    assert f"moved {rows[0]['id']}" in stopped.output
    monkeypatch.undo()
    assert_every_video_downloads(app, rows)
    finished = relayout(app)
    assert finished.exit_code == 0, finished.output
    assert f"moved {rows[1]['id']}" in finished.output and f"moved {rows[2]['id']}" in finished.output
    assert "moved 2 videos to original/ab/cd/<id>, 0 not moved" in finished.output
    assert_moved_and_whole(app, rows, store)


def test_a_copy_left_at_the_new_key_is_checked_and_a_damaged_one_made_again(old_library):
    app, rows, store = old_library
    put(store, storage_key_for(rows[0]["id"]), rows[0]["data"])  # copied by a run that stopped before the commit
    put(store, storage_key_for(rows[1]["id"]), bytes(len(rows[1]["data"])))  # of the right size, damaged
    result = relayout(app)
    assert result.exit_code == 0, result.output
    assert "moved 3 videos to original/ab/cd/<id>, 0 not moved" in result.output
    assert_moved_and_whole(app, rows, store)


def test_a_corrupt_old_object_is_not_moved_and_is_named(old_library):
    app, rows, store = old_library
    damaged = rows[1]
    put(store, old_key(damaged["id"]), bytes(len(damaged["data"])))
    result = relayout(app)
    assert result.exit_code == 1
    assert f"CORRUPT at {old_key(damaged['id'])}, not moved: {damaged['id']} {damaged['filename']}" in result.output
    assert "moved 2 videos to original/ab/cd/<id>, 1 not moved" in result.output
    assert "Error: 1 videos do not match their SHA-256 or are missing" in result.output
    assert stored_keys(app)[damaged["id"]] == old_key(damaged["id"])
    assert store.size(old_key(damaged["id"])) == len(damaged["data"])
    assert store.size(storage_key_for(damaged["id"])) is None
    assert {stored_keys(app)[row["id"]] for row in (rows[0], rows[2])} == {storage_key_for(row["id"]) for row in (rows[0], rows[2])}
    assert_every_video_downloads(app, [rows[0], rows[2]])
    cleanup = app.test_cli_runner().invoke(args=["cleanup"])
    assert cleanup.exit_code == 0, cleanup.output
    assert f"video {damaged['id']} is still stored under the old layout, at {old_key(damaged['id'])}" in cleanup.output


def test_cleanup_names_every_video_left_under_the_old_layout_and_moves_nothing(old_library):
    app, rows, store = old_library
    result = app.test_cli_runner().invoke(args=["cleanup"])
    assert result.exit_code == 0, result.output
    for row in sorted(rows, key=lambda row: row["id"]):
        assert f"video {row['id']} is still stored under the old layout, at {old_key(row['id'])}" in result.output
    assert "3 videos are stored under the old layout: `flask --app wsgi relayout-storage` moves them" in result.output
    assert set(store.keys()) == {old_key(row["id"]) for row in rows}
    relayout(app)
    after = app.test_cli_runner().invoke(args=["cleanup"])
    assert "old layout" not in after.output
