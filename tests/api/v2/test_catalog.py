"""The catalog service: search in every script, tag filters, keyset cursors and the index through edits and the trash.

Run on SQLite, and on PostgreSQL when ``PORTAL_TEST_DATABASE_URL`` names one (as CI's second run does).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal import errors
from portal.accounts import service as accounts
from portal.accounts.models import Role
from portal.accounts.permissions import Caller
from portal.extensions import db
from portal.library import catalog
from portal.library import trash
from portal.library.catalog import CatalogQuery
from portal.library.models import Video

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def add_video(filename: str, owner, minutes: int = 0, size: int = 1000) -> Video:
    video = Video(
        id=str(uuid.uuid4()), filename=filename, search_name=filename.casefold(), content_type="video/mp4",
        size=size, sha256="0" * 64, created_at=START + timedelta(minutes=minutes), owner_id=owner.id,
    )
    db.session.add(video)
    db.session.commit()
    return video


@pytest.fixture
def admin(app):
    with app.app_context():
        user = accounts.create_user("editor", "editor-password", Role.ADMIN)
        yield Caller(user)


@pytest.fixture(params=["from the index", "walking the order"])
def plan(request, monkeypatch):
    """Both ways a page is found: from the index's matches, or testing rows in listing order (many matches)."""
    monkeypatch.setattr(catalog, "DENSE_MATCHES", 10**9 if request.param == "from the index" else 0)


def found(text: str = "", **kwargs) -> list[str]:
    page = catalog.search(CatalogQuery.parse(text=text, **kwargs))
    return [video.filename for video in page.items]


def edit(video: Video, caller: Caller, **details) -> Video:
    return catalog.update_details(video, by=caller, if_match=catalog.etag_of(video), **details)


def test_migrations_make_the_details_and_tags_the_models_describe(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    # The search index is each database's own kind (an FTS5 table; a GIN index and video_words), made by the migration only.
    wanted = [
        difference for difference in differences
        if ("video_tags" in repr(difference) or "videos" in repr(difference)) and "video_search" not in repr(difference)
        and "search_text_trgm" not in repr(difference) and "video_words" not in repr(difference)
    ]
    assert wanted == []


def test_a_new_video_is_titled_by_its_file_name_and_found_by_it(app, admin, plan):
    with app.app_context():
        video = add_video("Holiday in Crete.mp4", admin.user)
        assert video.title == "Holiday in Crete"
        assert found("olid") == ["Holiday in Crete.mp4"]
        assert found("CRETE.MP4") == ["Holiday in Crete.mp4"]
        assert found("nothing like it") == []


@pytest.mark.parametrize(
    ("title", "query"),
    [
        ("Прогулка по Москве", "МОСКВ"),
        ("Διακοπές στην Κρήτη", "ΚΡΉΤΗ"),
        ("東京の夜景", "の夜"),
        ("Crème brûlée à Lyon", "BRÛLÉE"),
        ("Straße im Regen", "STRASSE"),
        ("Ω", "ω"),
    ],
)
def test_search_finds_titles_in_every_script_whatever_the_case(app, admin, plan, title, query):
    with app.app_context():
        video = add_video("clip.mp4", admin.user)
        add_video("other.mp4", admin.user, minutes=1)
        edit(video, admin, title=title)
        assert found(query) == ["clip.mp4"]


def test_search_looks_in_description_and_tags_and_one_or_two_characters_work(app, admin, plan):
    with app.app_context():
        first = add_video("a.mp4", admin.user)
        second = add_video("b.mp4", admin.user, minutes=1)
        edit(first, admin, description="Filmed on a windy beach")
        edit(second, admin, tags=["Kayak", "夏"])
        assert found("windy") == ["a.mp4"]
        assert found("kaya") == ["b.mp4"]
        assert found("夏") == ["b.mp4"]
        assert found("y b") == ["a.mp4"]
        assert found("%") == []
        assert found("_") == []


def test_tags_filter_exactly_and_all_must_match(app, admin, plan):
    with app.app_context():
        first = add_video("a.mp4", admin.user)
        second = add_video("b.mp4", admin.user, minutes=1)
        edit(first, admin, tags=["sea", "summer"])
        edit(second, admin, tags=["sea"])
        assert found(tags=["sea"]) == ["b.mp4", "a.mp4"]
        assert found(tags=["sea", "summer"]) == ["a.mp4"]
        assert found(tags=["se"]) == []
        assert found(tags=["Sea"]) == []


def test_the_index_follows_edits_trash_restore_and_purge(app, admin, plan):
    with app.app_context():
        video = add_video("clip.mp4", admin.user)
        video_id = video.id
        edit(video, admin, title="Northern lights", tags=["aurora"])
        assert found("northern") == ["clip.mp4"]
        edit(video, admin, title="Southern sky")
        assert found("northern") == []
        assert found("southern") == ["clip.mp4"]
        assert found(tags=["aurora"]) == ["clip.mp4"]
        trash.move_to_trash(db.session.get_one(Video, video_id), by=admin.user)
        assert found("southern") == []
        assert found(tags=["aurora"]) == []
        trash.restore(video_id, admin)
        assert found("southern") == ["clip.mp4"]
        trash.move_to_trash(db.session.get_one(Video, video_id), by=admin.user)
        trash.purge(video_id, admin)
        assert found("southern") == []
        assert found("clip") == []
        add_video("clip.mp4", admin.user)
        assert found("southern") == []
        assert found("clip") == ["clip.mp4"]


def test_a_stale_etag_is_refused_and_none_is_required(app, admin):
    with app.app_context():
        video = add_video("clip.mp4", admin.user)
        old = catalog.etag_of(video)
        catalog.update_details(video, by=admin, if_match=old, title="First")
        with pytest.raises(errors.StaleDetails):
            catalog.update_details(video, by=admin, if_match=old, title="Second")
        with pytest.raises(errors.DetailsVersionRequired):
            catalog.update_details(video, by=admin, if_match=None, title="Second")
        assert db.session.get_one(Video, video.id).title == "First"


def test_cursor_pages_cover_every_video_once_while_more_are_added(app, admin):
    with app.app_context():
        for number in range(7):
            add_video(f"v{number}.mp4", admin.user, minutes=number // 2, size=number % 3)
        for sort in catalog.SORT_VALUES:
            seen: list[str] = []
            cursor = None
            while True:
                page = catalog.search(CatalogQuery.parse(sort=sort, limit=3, cursor=cursor))
                seen += [video.filename for video in page.items]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
                add_video(f"new-{sort}-{len(seen)}.mp4", admin.user, minutes=100)
            assert sorted(name for name in seen if name.startswith("v")) == [f"v{n}.mp4" for n in range(7)], sort
            assert len(seen) == len(set(seen))


def test_a_changed_cursor_or_one_of_another_sort_is_refused(app, admin):
    with app.app_context():
        for number in range(3):
            add_video(f"v{number}.mp4", admin.user, minutes=number)
        cursor = catalog.search(CatalogQuery.parse(limit=1)).next_cursor
        assert cursor is not None
        with pytest.raises(errors.InvalidCursor):
            CatalogQuery.parse(cursor=cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1])
        with pytest.raises(errors.InvalidCursor):
            CatalogQuery.parse(cursor=cursor, sort="title")
        with pytest.raises(errors.InvalidCursor):
            CatalogQuery.parse(cursor="not-a-cursor")


def test_the_total_is_exact_up_to_the_limit_then_a_lower_bound(app, admin, monkeypatch):
    monkeypatch.setattr(catalog, "TOTAL_LIMIT", 3)
    with app.app_context():
        for number in range(3):
            add_video(f"v{number}.mp4", admin.user, minutes=number)
        assert catalog.search(CatalogQuery.parse(limit=1)).total == catalog.Total(3, exact=True)
        add_video("v3.mp4", admin.user)
        assert catalog.search(CatalogQuery.parse(limit=1)).total == catalog.Total(3, exact=False)


def test_the_total_of_a_search_leaves_out_the_trash(app, admin, plan):
    with app.app_context():
        videos = [add_video(f"sunset {number}.mp4", admin.user, minutes=number) for number in range(4)]
        edit(videos[0], admin, tags=["sky"])
        edit(videos[1], admin, tags=["sky"])
        trash.move_to_trash(videos[0], by=admin.user)
        add_video("other.mp4", admin.user)
        trash.move_to_trash(db.session.get_one(Video, videos[3].id), by=admin.user)
        assert catalog.search(CatalogQuery.parse(text="sunset")).total == catalog.Total(2, exact=True)
        assert catalog.search(CatalogQuery.parse(tags=["sky"])).total == catalog.Total(1, exact=True)
        assert catalog.search(CatalogQuery.parse(text="sunset", tags=["sky"])).total == catalog.Total(1, exact=True)


def test_a_capped_search_total_is_a_lower_bound_with_trash_about(app, admin, monkeypatch):
    monkeypatch.setattr(catalog, "TOTAL_LIMIT", 2)
    with app.app_context():
        videos = [add_video(f"sunset {number}.mp4", admin.user, minutes=number) for number in range(4)]
        trash.move_to_trash(videos[0], by=admin.user)
        assert catalog.search(CatalogQuery.parse(text="sunset")).total == catalog.Total(2, exact=False)
        trash.move_to_trash(db.session.get_one(Video, videos[1].id), by=admin.user)
        assert catalog.search(CatalogQuery.parse(text="sunset")).total == catalog.Total(2, exact=True)


def test_upgrading_a_library_titles_its_videos_and_indexes_them(empty_database, tmp_path):
    from tests.databases import insert_video_rows
    from tests.helpers import signed_in_client
    from tests.test_database import migrate_to
    from tests.test_database import portal_on

    migrate_to(empty_database, "0011")
    rows = [
        {"id": f"00000000-0000-4000-8000-00000000000{n}", "filename": name, "search_name": name.casefold(),
         "content_type": "video/mp4", "size": 10 + n, "sha256": "0" * 64, "status": "ok", "created_at": START,
         "storage_key": f"original/{n}"}
        for n, name in enumerate(["Holiday.mp4", "Зима в деревне.mkv"])
    ]
    insert_video_rows(empty_database, rows, later_columns=("storage_key",))
    app = portal_on(empty_database, tmp_path / "data")
    client = signed_in_client(app)
    titles = {item["title"] for item in client.get("/api/v2/videos").get_json()["items"]}
    assert titles == {"Holiday", "Зима в деревне"}
    assert [item["filename"] for item in client.get("/api/v2/videos?q=ДЕРЕВН").get_json()["items"]] == ["Зима в деревне.mkv"]
    assert [item["filename"] for item in client.get("/api/v2/videos?q=olid&sort=title").get_json()["items"]] == ["Holiday.mp4"]
    with app.app_context():
        db.engine.dispose()


def test_the_owner_filter_lists_only_their_videos(app, admin, plan):
    with app.app_context():
        other = accounts.create_user("other", "other-password", Role.UPLOADER)
        add_video("mine.mp4", admin.user)
        add_video("theirs.mp4", other, minutes=1)
        add_video("also theirs.mp4", other, minutes=2)
        assert found(owner="OTHER") == ["also theirs.mp4", "theirs.mp4"]
        assert found("theirs", owner="editor") == []
        assert found(owner="nobody") == []
