"""A poster or playable copy shared by the videos of one content is moved once and hashed once by ``verify``.

The reads and writes are counted at the real storage (a local folder): each
of its methods is wrapped to note the key it was given, then does its work.
"""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.extensions import db
from portal.library.models import Video
from portal.storage.local import LocalStorage
from tests.helpers import json_body
from tests.helpers import local_storage_of
from tests.helpers import signed_in_client
from tests.helpers import upload


@pytest.fixture
def storage_calls(monkeypatch) -> dict[str, Counter]:
    """The keys each local folder was asked to open (read) and create (write) from now on, counted."""
    calls: dict[str, Counter] = {"open": Counter(), "create": Counter()}
    for name, counted in calls.items():
        real = getattr(LocalStorage, name)

        def noting(self, key, _real=real, _counted=counted):
            _counted[key] += 1
            return _real(self, key)

        monkeypatch.setattr(LocalStorage, name, noting)
    return calls


def three_videos_of_one_content(app, clips) -> list[dict]:
    client = signed_in_client(app)
    data = clips["h264_mkv"].read_bytes()
    videos = [json_body(client.get(json_body(upload(client, data, f"{name}.mkv"))["url"])) for name in ("a", "b", "c")]
    assert {video["processing"]["state"] for video in videos} == {"done"}
    return videos


def shared_keys(app) -> tuple[str, str, str]:
    """(original, poster, copy) keys, each one object that every video names."""
    with app.app_context():
        rows = db.session.scalars(sa.select(Video)).all()
        keys = {(video.storage_key, video.poster_key, video.playable_key) for video in rows}
    assert len(keys) == 1 and len(rows) == 3
    return keys.pop()


def test_move_storage_reads_and_writes_a_shared_poster_and_copy_once(immediate_app, clips, tmp_path, storage_calls):
    three_videos_of_one_content(immediate_app, clips)
    original, poster, copy = shared_keys(immediate_app)
    storage_calls["open"].clear()
    storage_calls["create"].clear()
    target = tmp_path / "target"
    result = immediate_app.test_cli_runner().invoke(args=["move-storage", "--to", f"file://{target}"])
    assert result.exit_code == 0, result.output
    assert "copied 3 files" in result.output
    assert storage_calls["create"] == Counter({original: 1, poster: 1, copy: 1})
    assert storage_calls["open"] == Counter({original: 1, poster: 1, copy: 1})
    assert {path.relative_to(target).as_posix() for path in target.rglob("*") if path.is_file()} == {original, poster, copy}

    # Run again: everything is there; the poster (whose size is not kept) is hashed at the target once, not per video.
    storage_calls["open"].clear()
    storage_calls["create"].clear()
    again = immediate_app.test_cli_runner().invoke(args=["move-storage", "--to", f"file://{target}"])
    assert again.exit_code == 0 and "copied 0 files, 3 already there" in again.output
    assert storage_calls["create"] == Counter() and storage_calls["open"] == Counter({poster: 1})


def test_verify_hashes_a_shared_copy_once_and_a_damaged_one_is_dropped_from_every_video_playing_it(
    immediate_app, clips, database_url, storage_calls
):
    videos = three_videos_of_one_content(immediate_app, clips)
    original, _poster, copy = shared_keys(immediate_app)
    # verify run as an operator would, without the test's jobs run at once: what it queues stays queued.
    app = create_app({"TESTING": True, "DATA_DIR": immediate_app.config["DATA_DIR"], "SECRET_KEY": "test",
                      "SQLALCHEMY_DATABASE_URI": database_url})
    storage_calls["open"].clear()
    verified = app.test_cli_runner().invoke(args=["verify"])
    assert verified.exit_code == 0 and "checked 3 files: 3 ok" in verified.output
    assert storage_calls["open"] == Counter({original: 1, copy: 1})
    with app.app_context():
        assert len({video.playable_verified_at for video in db.session.scalars(sa.select(Video))} - {None}) == 1

    path = local_storage_of(app).path(copy)
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    storage_calls["open"].clear()
    app.test_cli_runner().invoke(args=["verify"])
    assert storage_calls["open"] == Counter({original: 1, copy: 1})
    with app.app_context():
        rows = db.session.scalars(sa.select(Video)).all()
        assert {(row.playable_sha256, row.playable_object_key, row.processing_state) for row in rows} == {(None, None, "queued")}
        assert {row.id for row in rows} == {video["id"] for video in videos}
        db.engine.dispose()
