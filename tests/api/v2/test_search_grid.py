"""Every shape of catalog search returns exactly what a plain scan of the rows returns, page by page.

However a page is planned (from the text index, from a tag's entries, from an
owner's, walking the listing's order), its videos must be the ones a
straightforward Python filter over every row finds, in the same order, with
the same next page. The grid is generated: search texts of 0, 1, 2 and 3+
characters (whole words, prefixes, pieces inside words, several words, every
script, matching nothing, few or many), up to three tags, an owner, every v2
sort, the first page and the page its cursor leads to; each against the
library after uploads, edits, trash, a restore and a purge.

Run on SQLite, and on PostgreSQL when ``PORTAL_TEST_DATABASE_URL`` names one.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest

from portal.accounts import service as accounts
from portal.accounts.models import Role
from portal.accounts.permissions import Caller
from portal.extensions import db
from portal.library import catalog
from portal.library import trash
from portal.library.catalog import CatalogQuery
from portal.library.models import Video
from portal.library.models import VideoTag
from portal.library.models import search_text_of
from portal.library.models import sort_key

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
VIDEOS = 120
LIMIT = 4

WORDS = ("Beach", "Drone", "Android", "Пляж", "Москва", "Ελλάδα", "東京タワー", "Straße", "été", "sunset", "a_b", "50%")
TAG_POOL = ("common", "mid", "rare", "Ελλάδα", "東京", "two words")

#: Search texts: none; one and two characters (matching many, few, nothing); whole words, prefixes,
#: pieces inside words, several words, other scripts and cases, LIKE's and FTS5's special characters.
TEXTS = (
    "", "a", "é", "東", "q", "%", "_", "be", "ro", "xq", "пл", "ελ",
    "beach", "bea", "eac", "droid", "drone", "BEACH SUNSET", "sunset beach", "пляж", "МОСКВ", "ΕΛΛΆΔΑ",
    "東京", "strasse", "STRASSE", "a_b", "50%", '"', "qqxz", ".mp4", "common", "clip 1", "7",
)
TAG_SETS = ((), ("common",), ("rare",), ("absent",), ("common", "mid"), ("Ελλάδα", "東京"), ("common", "mid", "rare"),
            ("Common",))
OWNERS = (None, "owner0", "OWNER1", "nobody")


@dataclass(frozen=True)
class Row:
    """What the plain scan knows of a video."""

    id: str
    search_text: str
    tags: frozenset[str]
    owner: str | None
    in_trash: bool
    created_at: datetime
    title_key: str
    size: int


def seed(admin: Caller) -> None:
    """Videos with ties on every sort key, words and tags of varied frequency; then edits, trash, restore, purge."""
    owners = [accounts.create_user(f"owner{number}", "owner-password", Role.UPLOADER) for number in range(3)]
    videos = []
    for index in range(VIDEOS):
        words = [WORDS[(index * 7 + step) % len(WORDS)] for step in range(index % 3 + 1)]
        title = " ".join(words) if index % 11 else f"clip {index}"
        tags = [tag for position, tag in enumerate(TAG_POOL) if index % (position + 2) == 0]
        if index % 13 == 0:
            tags.append("Common")
        filename = f"clip {index}.mp4"
        description = "" if index % 4 else f"Filmed at the {WORDS[index % len(WORDS)].lower()} by drone {index % 5}"
        video = Video(
            id=str(uuid.UUID(int=index * 7919 + 1, version=4)), filename=filename, search_name=filename.casefold(),
            content_type="video/mp4", size=1000 * (index % 9), sha256="0" * 64,
            created_at=START + timedelta(minutes=index // 3), owner_id=owners[index % 3].id,
            title=title, title_key=sort_key(title), description=description,
            search_text=search_text_of(title, description, tags, filename),
        )
        video.tag_rows = [VideoTag(tag=tag, position=position) for position, tag in enumerate(tags)]
        videos.append(video)
    db.session.add_all(videos)
    db.session.commit()
    for video in videos[::10]:  # edits: the index must follow the new title, description and tags
        catalog.update_details(
            video, by=admin, if_match=catalog.etag_of(video), title=f"Edited Beach {video.filename}",
            tags=["common", "rare"],
        )
    for video in videos[1::9]:
        trash.move_to_trash(video, by=admin.user)
    trash.restore(videos[1].id, admin)
    trash.purge(videos[10].id, admin)


def plain_rows() -> list[Row]:
    videos = db.session.scalars(db.select(Video)).unique().all()
    return [
        Row(video.id, video.search_text, frozenset(video.tags), video.owner_name, video.in_trash,
            video.created_at.replace(tzinfo=timezone.utc) if video.created_at.tzinfo is None else video.created_at,
            video.title_key, video.size)
        for video in videos
    ]


def plain_scan(rows: list[Row], text: str, tags: tuple[str, ...], owner: str | None, sort: str) -> list[str]:
    """The ids a search must list, in order: every row tested, then sorted by the sort's key and id."""
    folded = text.strip().casefold()
    wanted = [
        row for row in rows
        if not row.in_trash and folded in row.search_text and set(tags) <= row.tags
        and (owner is None or (row.owner is not None and accounts.username_key(row.owner) == owner.casefold()))
    ]
    column = sort.lstrip("-")
    key = {"created_at": lambda row: row.created_at, "title": lambda row: row.title_key, "size": lambda row: row.size}[column]
    wanted.sort(key=lambda row: (key(row), row.id), reverse=sort.startswith("-"))
    return [row.id for row in wanted]


def grid() -> list[tuple[str, tuple[str, ...], str | None, str]]:
    """Every text, tag set and owner together, the sorts taken in turn (each with a sixth of them)."""
    filters = itertools.product(TEXTS, TAG_SETS, OWNERS)
    sorts = catalog.SORT_VALUES
    return [(text, tags, owner, sorts[number % len(sorts)]) for number, (text, tags, owner) in enumerate(filters)]


def mismatches(rows: list[Row], sizes: list[int]) -> list[str]:
    """Each combination whose first page, next page or total differs from the plain scan's; ``sizes`` gets the matches' counts."""
    found = []
    for text, tags, owner, sort in grid():
        expected = plain_scan(rows, text, tags, owner, sort)
        sizes.append(len(expected))
        case = f"q={text!r} tags={tags} owner={owner} sort={sort}"
        query = CatalogQuery.parse(text=text, tags=list(tags), owner=owner, sort=sort, limit=LIMIT)
        page = catalog.search(query)
        first = [video.id for video in page.items]
        if first != expected[:LIMIT]:
            found.append(f"{case}: first page {first} != {expected[:LIMIT]}")
            continue
        if page.total != catalog.Total(min(len(expected), catalog.TOTAL_LIMIT), len(expected) <= catalog.TOTAL_LIMIT):
            found.append(f"{case}: total {page.total} for {len(expected)} matches")
        if (page.next_cursor is None) != (len(expected) <= LIMIT):
            found.append(f"{case}: next cursor {page.next_cursor!r} with {len(expected)} matches")
            continue
        if page.next_cursor is not None:
            following = catalog.search(
                CatalogQuery.parse(text=text, tags=list(tags), owner=owner, sort=sort, limit=LIMIT, cursor=page.next_cursor)
            )
            second = [video.id for video in following.items]
            if second != expected[LIMIT:2 * LIMIT]:
                found.append(f"{case}: page by cursor {second} != {expected[LIMIT:2 * LIMIT]}")
            if (following.next_cursor is None) != (len(expected) <= 2 * LIMIT):
                found.append(f"{case}: second page's next cursor {following.next_cursor!r} with {len(expected)} matches")
    return found


@pytest.fixture
def admin(app):
    with app.app_context():
        yield Caller(accounts.create_user("editor", "editor-password", Role.ADMIN))


@pytest.fixture(params=["as planned", "from the indexes", "walking the order", "totals capped"])
def thresholds(request, monkeypatch):
    """The catalog's own choice, then each way forced, then with a total cap small enough to reach."""
    if request.param == "from the indexes":
        monkeypatch.setattr(catalog, "DENSE_MATCHES", 10**9)
    elif request.param == "walking the order":
        monkeypatch.setattr(catalog, "DENSE_MATCHES", 0)
    elif request.param == "totals capped":
        monkeypatch.setattr(catalog, "TOTAL_LIMIT", 3)
    return request.param


def test_every_combination_lists_what_a_plain_scan_finds(app, admin, thresholds):
    with app.app_context():
        seed(admin)
        rows = plain_rows()
        assert sum(not row.in_trash for row in rows) > 100 and any(row.in_trash for row in rows)
        sizes: list[int] = []
        found = mismatches(rows, sizes)
        # The grid holds searches matching nothing, a page or less, and more than two pages.
        assert min(sizes) == 0 and sum(0 < size <= LIMIT for size in sizes) > 50 and sum(size > 2 * LIMIT for size in sizes) > 50
        assert not found, f"{len(found)} combinations differ, e.g.:\n" + "\n".join(found[:15])
