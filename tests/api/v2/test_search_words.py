"""A search's "at least": proven only by videos that hold the text, never by a word that merely starts alike twice.

The totals are checked on the run's database (SQLite counts its FTS5 index,
PostgreSQL proves from ``video_words``); the table itself, which only
PostgreSQL has (migration 0014), is checked on a PostgreSQL schema of its own.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
import sqlalchemy as sa

from portal.accounts import service as accounts
from portal.accounts.models import Role
from portal.accounts.permissions import Caller
from portal.extensions import db
from portal.library import catalog
from portal.library import trash
from portal.library.catalog import CatalogQuery
from portal.library.models import Video
from tests.databases import insert_video_rows
from tests.test_database import migrate_to
from tests.test_database import portal_on

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def add_video(filename: str, owner_id: int, minutes: int = 0) -> Video:
    video = Video(
        id=str(uuid.uuid4()), filename=filename, search_name=filename.casefold(), content_type="video/mp4",
        size=1000, sha256="0" * 64, created_at=START + timedelta(minutes=minutes), owner_id=owner_id,
    )
    db.session.add(video)
    db.session.commit()
    return video


def total(text: str) -> catalog.Total:
    return catalog.search(CatalogQuery.parse(text=text)).total


@pytest.fixture
def editor(app):
    with app.app_context():
        yield Caller(accounts.create_user("editor", "editor-password", Role.ADMIN))


def test_a_word_in_more_videos_than_the_limit_gives_at_least_the_limit(app, editor, monkeypatch):
    monkeypatch.setattr(catalog, "TOTAL_LIMIT", 2)
    with app.app_context():
        for number in range(3):
            add_video(f"drone flight {number}.mp4", editor.user.id, minutes=number)
        assert total("drone") == catalog.Total(2, exact=False)  # the whole word
        assert total("dron") == catalog.Total(2, exact=False)  # the start of it
        assert total("rone") == catalog.Total(2, exact=False)  # inside it: counted
        assert total("flight 1") == catalog.Total(1, exact=True)  # two words: counted


def test_two_words_of_one_video_starting_alike_count_it_once(app, editor, monkeypatch):
    monkeypatch.setattr(catalog, "TOTAL_LIMIT", 2)
    with app.app_context():
        # "droneA", "droneB" and "droneB.mp4" all start with "drone": three entries, one video.
        add_video("droneA droneB.mp4", editor.user.id, minutes=0)
        add_video("droneC.mp4", editor.user.id, minutes=1)
        assert total("drone") == catalog.Total(2, exact=True)
        add_video("droneD.mp4", editor.user.id, minutes=2)
        assert total("drone") == catalog.Total(2, exact=False)


def test_trashed_videos_never_make_up_the_lower_bound(app, editor, monkeypatch):
    monkeypatch.setattr(catalog, "TOTAL_LIMIT", 2)
    with app.app_context():
        videos = [add_video(f"drone {number}.mp4", editor.user.id, minutes=number) for number in range(3)]
        trash.move_to_trash(videos[0], by=editor.user)
        assert total("drone") == catalog.Total(2, exact=True)
        assert total("dron") == catalog.Total(2, exact=True)
        trash.restore(videos[0].id, editor)
        assert total("drone") == catalog.Total(2, exact=False)


def words_of(video_id: str) -> set[str]:
    rows = db.session.scalars(sa.text("SELECT word FROM video_words WHERE video_id = :id"), {"id": video_id})
    return set(rows)


def test_the_words_follow_each_video_through_edits_and_purge(postgres_url, tmp_path):
    app = portal_on(postgres_url, tmp_path / "data")
    with app.app_context():
        caller = Caller(accounts.create_user("editor", "editor-password", Role.ADMIN))
        video = add_video("Drone over Oslo.mp4", caller.user.id)
        other = add_video("Harbour at dusk.mp4", caller.user.id)
        # Words of three characters or more, case-folded; the file name is one word.
        assert words_of(video.id) == {"drone", "over", "oslo", "oslo.mp4"}
        catalog.update_details(
            video, by=caller, if_match=catalog.etag_of(video), title="Фьорд at dawn", tags=["Norway", "aerial"]
        )
        assert words_of(video.id) == {"фьорд", "dawn", "norway", "aerial", "drone", "over", "oslo.mp4"}
        trash.move_to_trash(db.session.get_one(Video, video.id), by=caller.user)
        assert words_of(video.id) == {"фьорд", "dawn", "norway", "aerial", "drone", "over", "oslo.mp4"}
        trash.purge(video.id, caller)
        assert words_of(video.id) == set()
        assert words_of(other.id) == {"harbour", "dusk", "dusk.mp4"}
        db.engine.dispose()


def test_a_word_too_long_for_the_index_is_left_out_and_still_found(postgres_url, tmp_path):
    app = portal_on(postgres_url, tmp_path / "data")
    long_word = "ø" * 1500  # 3,000 bytes: more than a B-tree entry may hold
    with app.app_context():
        caller = Caller(accounts.create_user("editor", "editor-password", Role.ADMIN))
        video = add_video("clip.mp4", caller.user.id)
        catalog.update_details(video, by=caller, if_match=catalog.etag_of(video), description=f"{long_word} end")
        assert words_of(video.id) == {"clip", "clip.mp4", "end"}
        assert [found.id for found in catalog.search(CatalogQuery.parse(text="ø" * 150)).items] == [video.id]
        db.engine.dispose()


def test_upgrading_fills_in_the_words_of_the_videos_already_there(postgres_url, tmp_path):
    migrate_to(postgres_url, "0013")
    row = {
        "id": "00000000-0000-4000-8000-000000000001", "filename": "Beach day.mp4", "search_name": "beach day.mp4",
        "content_type": "video/mp4", "size": 10, "sha256": "0" * 64, "status": "ok", "created_at": START,
        "storage_key": "original/1", "title": "Beach day", "title_key": "beach day",
        "search_text": "beach day\nbeach day.mp4",
    }
    insert_video_rows(postgres_url, [row], later_columns=("storage_key", "title", "title_key", "search_text"))
    app = portal_on(postgres_url, tmp_path / "data")
    with app.app_context():
        assert words_of("00000000-0000-4000-8000-000000000001") == {"beach", "day", "day.mp4"}
        db.engine.dispose()
