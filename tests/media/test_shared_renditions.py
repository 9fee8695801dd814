"""A poster and a playable copy are made once per content: the videos of the same bytes share them, counted by rows."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.library import integrity
from portal.library.models import ProcessingState
from portal.library.models import StorageKind
from portal.library.models import Video
from portal.library.models import storage_key_for
from portal.media import processing
from portal.storage import storage_of
from tests.helpers import json_body
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.test_database import migrate_to
from tests.test_database import portal_on
from tests.trash.conftest import trash


def keys_of(app, kind: StorageKind) -> set[str]:
    with app.app_context():
        return {key for key in storage_of(app).keys() if key.startswith(f"{kind.value}/")}


def row(app, video_id: str) -> Video:
    with app.app_context():
        video = db.session.get_one(Video, video_id)
        db.session.expunge(video)
        return video


def two_uploads_of_one_clip(app, clips) -> tuple:
    """A signed-in client, and its two uploads (v1's answers) of the same H.264 MKV's bytes."""
    client = signed_in_client(app)
    data = clips["h264_mkv"].read_bytes()
    return client, json_body(upload(client, data, "first.mkv")), json_body(upload(client, data, "second.mkv"))


def purge(client, body) -> None:
    assert client.delete(f"/api/v1/trash/{body['id']}").status_code == 204


def test_a_second_upload_of_the_same_bytes_shows_the_first_ones_poster_and_copy(immediate_app, clips):
    client = signed_in_client(immediate_app)
    data = clips["h264_mkv"].read_bytes()
    first = json_body(client.get(json_body(upload(client, data, "first.mkv"))["url"]))
    second = json_body(client.get(json_body(upload(client, data, "second.mkv"))["url"]))
    assert first["processing"]["state"] == second["processing"]["state"] == "done"
    poster = storage_key_for(first["id"], StorageKind.POSTER)
    copy = storage_key_for(first["id"], StorageKind.PLAYABLE)
    assert keys_of(immediate_app, StorageKind.POSTER) == {poster}
    assert keys_of(immediate_app, StorageKind.PLAYABLE) == {copy}
    shared = row(immediate_app, second["id"])
    assert (shared.poster_key, shared.playable_key) == (poster, copy)
    assert second["playback"]["source"] == "copy" and second["playback"]["sha256"] == first["playback"]["sha256"]
    played = client.get(first["playback"]["url"]).data

    # The first one's purge keeps what the second still shows; the second's takes it all.
    trash(client, first)
    purge(client, first)
    assert keys_of(immediate_app, StorageKind.POSTER) == {poster}
    assert keys_of(immediate_app, StorageKind.PLAYABLE) == {copy}
    assert client.get(second["playback"]["url"]).data == played
    assert client.get(second["url"] + "/poster").status_code == 200
    with immediate_app.app_context():
        assert integrity.stray_keys() == []
    trash(client, second)
    purge(client, second)
    assert keys_of(immediate_app, StorageKind.POSTER) == keys_of(immediate_app, StorageKind.PLAYABLE) == set()


def test_a_video_whose_copy_is_being_made_by_another_waits_and_is_given_it(app, clips):
    """Jobs run by hand: the first video's copy job has claimed the copy when the second's comes."""
    client, first, second = two_uploads_of_one_clip(app, clips)
    with app.app_context():
        processing.probe_video(first["id"])
        processing.probe_video(second["id"])
        # The second shows the first's poster at once: only one was made.
        assert db.session.get_one(Video, second["id"]).poster_key == storage_key_for(first["id"], StorageKind.POSTER)
        db.session.execute(
            sa.update(Video).where(Video.id == first["id"]).values(processing_state=ProcessingState.RUNNING.value)
        )
        db.session.commit()
        processing.make_playable_copy(second["id"])
        waiting = db.session.get_one(Video, second["id"])
        assert waiting.processing_state == ProcessingState.QUEUED.value and not waiting.has_playable_copy
    assert keys_of(app, StorageKind.PLAYABLE) == set()
    with app.app_context():
        processing.make_playable_copy(first["id"])
        given = db.session.get_one(Video, second["id"], populate_existing=True)
        assert given.processing_state == ProcessingState.DONE.value
        assert given.playable_key == storage_key_for(first["id"], StorageKind.PLAYABLE)
        assert given.playable_sha256 == db.session.get_one(Video, first["id"]).playable_sha256
    assert keys_of(app, StorageKind.PLAYABLE) == {storage_key_for(first["id"], StorageKind.PLAYABLE)}
    assert keys_of(app, StorageKind.POSTER) == {storage_key_for(first["id"], StorageKind.POSTER)}


def test_a_failed_maker_wakes_the_video_waiting_for_its_copy(app, clips):
    client, first, second = two_uploads_of_one_clip(app, clips)
    with app.app_context():
        for body in (first, second):
            processing.probe_video(body["id"])
        db.session.execute(
            sa.update(Video).where(Video.id == first["id"]).values(processing_state=ProcessingState.RUNNING.value)
        )
        db.session.commit()
        processing.make_playable_copy(second["id"])
        assert not db.session.get_one(Video, second["id"]).has_playable_copy
        # The first's copy job dies without a copy (its video was purged meanwhile): the second makes its own.
        processing._wake_waiting(first["id"])
        db.session.execute(
            sa.update(Video).where(Video.id == first["id"]).values(processing_state=ProcessingState.FAILED.value)
        )
        db.session.commit()
        processing.make_playable_copy(second["id"])
        made = db.session.get_one(Video, second["id"], populate_existing=True)
        assert made.playable_key == storage_key_for(second["id"], StorageKind.PLAYABLE)
        assert made.processing_state == ProcessingState.DONE.value
    assert keys_of(app, StorageKind.PLAYABLE) == {storage_key_for(second["id"], StorageKind.PLAYABLE)}


def test_a_purge_killed_before_deleting_the_last_users_objects_leaves_strays_cleanup_names(immediate_app, clips):
    client, first, second = two_uploads_of_one_clip(immediate_app, clips)
    with immediate_app.app_context():
        # The rows go, as a purge's commit does, and the process dies before deleting any object.
        db.session.execute(sa.delete(Video).where(Video.id == first["id"]))
        db.session.commit()
        assert integrity.stray_keys() == []  # the second still names the first's poster and copy
        db.session.execute(sa.delete(Video).where(Video.id == second["id"]))
        db.session.commit()
        strays = integrity.stray_keys()
    assert storage_key_for(first["id"], StorageKind.POSTER) in strays
    assert storage_key_for(first["id"], StorageKind.PLAYABLE) in strays


def test_a_copy_found_damaged_is_forgotten_by_every_video_playing_it(immediate_app, clips):
    client, first, second = two_uploads_of_one_clip(immediate_app, clips)
    with immediate_app.app_context():
        sha256 = db.session.get_one(Video, first["id"]).playable_sha256
        assert sha256 is not None
        # The queue runs at once: the first to be queued makes it again, and the other is given it.
        processing.discard_copy(second["id"], sha256)
        videos = {video.id: video for video in db.session.scalars(sa.select(Video).execution_options(populate_existing=True))}
        assert {video.playable_key for video in videos.values()} == {storage_key_for(first["id"], StorageKind.PLAYABLE)}
        assert {video.processing_state for video in videos.values()} == {ProcessingState.DONE.value}
    assert keys_of(immediate_app, StorageKind.PLAYABLE) == {storage_key_for(first["id"], StorageKind.PLAYABLE)}


def test_the_migration_names_each_existing_videos_own_poster_and_copy(empty_database, tmp_path):
    migrate_to(empty_database, "0021")
    with_both, bare = "0123456789abcdef0123456789abcdef0000", "fedcba9876543210fedcba9876543210ffff"
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        for video_id, made in ((with_both, "a" * 64), (bare, None)):
            connection.execute(
                sa.text(
                    "INSERT INTO videos (id, filename, search_name, content_type, size, sha256, status, created_at, "
                    "storage_key, poster_sha256, playable_sha256) VALUES (:id, 'Old.mkv', 'old.mkv', 'video/x-matroska', "
                    "1, :id, 'ok', CURRENT_TIMESTAMP, :key, :made, :made)"
                ),
                {"id": video_id, "key": f"original/00/00/{video_id}", "made": made},
            )
    engine.dispose()
    app = portal_on(empty_database, tmp_path / "data")
    with app.app_context():
        old = db.session.get_one(Video, with_both)
        assert (old.poster_object_key, old.playable_object_key) == ("poster/01/23/" + with_both, "playable/01/23/" + with_both)
        none = db.session.get_one(Video, bare)
        assert (none.poster_object_key, none.playable_object_key) == (None, None)
        db.engine.dispose()


def _made_twice(app, first: dict, second: dict) -> dict[StorageKind, str]:
    """The second video given a poster and copy of its own, as each video made them before revision 0023."""
    storage = storage_of(app)
    own = {}
    with app.app_context():
        for kind in (StorageKind.POSTER, StorageKind.PLAYABLE):
            with storage.open(storage_key_for(first["id"], kind)) as source:
                data = source.read()
            own[kind] = storage_key_for(second["id"], kind)
            target = storage.create(own[kind])
            target.write(data)
            target.commit()
        db.session.execute(
            sa.update(Video)
            .where(Video.id == second["id"])
            .values(poster_object_key=own[StorageKind.POSTER], playable_object_key=own[StorageKind.PLAYABLE])
        )
        db.session.commit()
    return own


def test_storage_dedupe_folds_the_posters_and_copies_each_video_made_for_itself(immediate_app, clips):
    client, first, second = two_uploads_of_one_clip(immediate_app, clips)
    own = _made_twice(immediate_app, first, second)
    assert len(keys_of(immediate_app, StorageKind.POSTER)) == len(keys_of(immediate_app, StorageKind.PLAYABLE)) == 2
    with immediate_app.app_context():
        sizes = sum(storage_of(immediate_app).size(key) or 0 for key in own.values())
    runner = immediate_app.test_cli_runner()
    result = runner.invoke(args=["storage", "dedupe"])
    assert result.exit_code == 0, result.output
    assert f"removed 2 second copies, {sizes} bytes saved" in result.output
    assert keys_of(immediate_app, StorageKind.POSTER) == {storage_key_for(first["id"], StorageKind.POSTER)}
    assert keys_of(immediate_app, StorageKind.PLAYABLE) == {storage_key_for(first["id"], StorageKind.PLAYABLE)}
    folded = row(immediate_app, second["id"])
    assert (folded.poster_key, folded.playable_key) == (
        storage_key_for(first["id"], StorageKind.POSTER), storage_key_for(first["id"], StorageKind.PLAYABLE))
    assert client.get(second["url"] + "/playback").status_code == 200
    assert "removed 0 second copies" in runner.invoke(args=["storage", "dedupe"]).output


def test_storage_dedupe_killed_after_pointing_the_videos_at_one_poster_deletes_the_rest_when_run_again(immediate_app, clips):
    client, first, second = two_uploads_of_one_clip(immediate_app, clips)
    own = _made_twice(immediate_app, first, second)
    with immediate_app.app_context():
        # What the run committed before it was killed: the rows point at the first's, the second's own are still there.
        db.session.execute(
            sa.update(Video)
            .where(Video.id == second["id"])
            .values(poster_object_key=storage_key_for(first["id"], StorageKind.POSTER),
                    playable_object_key=storage_key_for(first["id"], StorageKind.PLAYABLE))
        )
        db.session.commit()
    result = immediate_app.test_cli_runner().invoke(args=["storage", "dedupe"])
    assert "removed 2 second copies" in result.output, result.output
    with immediate_app.app_context():
        assert all(storage_of(immediate_app).size(key) is None for key in own.values())
