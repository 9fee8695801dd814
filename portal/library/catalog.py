"""The catalog: search and filter the library a page at a time by cursor, and edit a video's details.

This is the service behind ``/api/v2/videos`` and the pages that search and
edit titles, descriptions and tags. Nothing here knows about HTTP.

Why it is shaped so, at a million videos:

- Pages are found by keyset, never OFFSET: a page starts after the sort key
  and id of the last video of the one before, so page 25,000 costs what page 1
  does, and videos added meanwhile move no page boundary. The position is
  handed out as an opaque cursor, signed with the app's ``SECRET_KEY``
  (itsdangerous), so a changed or made-up one is refused rather than trusted.
- The total is counted over at most :data:`TOTAL_LIMIT` + 1 rows: exact up to
  that, a lower bound beyond, instead of counting every matching row per page;
  from an index alone where one can tell (:func:`count_matches`).
- ``text`` searches ``Video.search_text`` (title, description, tags, file name,
  case-folded in Python) as a substring through a trigram index: SQLite's FTS5
  table ``video_search`` (trigram tokenizer; its triggers keep it in step in the
  same transaction as each row's change) or PostgreSQL's pg_trgm GIN index.
  Trigrams need three characters; a shorter text is a plain ``LIKE`` over the
  search text, walked in the listing's order.
- ``tags`` filter exactly through ``video_tags`` (indexed by tag); all must match.

Edits change the details only if the caller names the version they edited
(its ETag, from :func:`etag_of`): the update is conditional on that revision,
so of two editors of one version the second gets :class:`~portal.errors.StaleDetails`
instead of overwriting the first unseen.
"""

from __future__ import annotations

import enum
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer
from sqlalchemy import BindParameter
from sqlalchemy import ColumnElement
from sqlalchemy import Integer
from sqlalchemy import TextClause
from sqlalchemy import bindparam
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import literal_column
from sqlalchemy import text
from sqlalchemy import tuple_
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import selectinload

from .. import errors
from ..accounts.models import Role
from ..accounts.models import User
from ..accounts.permissions import Action
from ..accounts.permissions import Caller
from ..accounts.permissions import check
from ..accounts.service import username_key
from ..extensions import db
from .listing import MAX_QUERY_LENGTH
from .listing import library_size
from .models import MAX_DESCRIPTION_LENGTH
from .models import MAX_TAG_LENGTH
from .models import MAX_TAGS
from .models import MAX_TITLE_LENGTH
from .models import ProcessingState
from .models import Video
from .models import VideoTag
from .models import as_utc
from .models import default_title
from .models import search_text_of
from .models import sort_key
from .models import utcnow
from .service import get_video

audit = logging.getLogger("portal.audit")

#: The column each sort walks (each has an index of (column, id)), ascending; ``-`` in front: descending.
SORT_COLUMNS = {"created_at": Video.created_at, "title": Video.title_key, "size": Video.size}
SORT_VALUES = tuple(prefix + name for name in SORT_COLUMNS for prefix in ("-", ""))
#: What cursors may be positions in: the sorts, and the trash's own order (the most recently deleted first).
CURSOR_COLUMNS = {**SORT_COLUMNS, "deleted_at": Video.deleted_at}
TRASH_ORDER = "-deleted_at"
DEFAULT_SORT = "-created_at"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
#: The total is exact up to this many videos, and a lower bound ("at least") beyond.
TOTAL_LIMIT = 10_000
#: The shortest text the trigram index can look up; a shorter one is scanned for.
MIN_INDEXED_LENGTH = 3
MAX_TAG_FILTERS = MAX_TAGS
#: From this many matches on, a page is found by walking the listing's order and testing each row
#: (about ``limit * library / matches`` rows) rather than by sorting every match (SQLite; see :func:`search`).
DENSE_MATCHES = 2500
#: The longest word ``video_words`` holds (migration 0014; PostgreSQL).
MAX_WORD_LENGTH = 200
#: A trash larger than this is not worth subtracting from an index's count (:func:`count_matches`).
MAX_TRASH_SUBTRACTED = 1000
#: Kept apart from every other use of the key (sessions, forms).
CURSOR_SALT = "portal.catalog.cursor"
#: What no title, tag or description holds: control and format characters, lone surrogates (the API documents state it).
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
#: What no search text, tag filter or owner name holds: control characters (NUL among them).
QUERY_CONTROL_CATEGORIES = frozenset({"Cc"})
#: Why ``If-Match: *`` is refused as no If-Match is: it would let an edit overwrite any version unseen.
STAR_NAMES_NO_VERSION = (
    "If-Match: * names no version: send the ETag of the version you edited (GET the video first), "
    "so that nobody's changes are overwritten unseen."
)
#: The control characters a description may hold.
DESCRIPTION_CONTROLS = "\n\t"


@dataclass(frozen=True)
class Position:
    """Where a page starts: after the video with this sort key and id."""

    key: Any
    id: str


@dataclass(frozen=True)
class CatalogQuery:
    """What a caller asks of the catalog, checked: :meth:`parse` turns raw parameters into one."""

    text: str = ""
    tags: tuple[str, ...] = ()
    owner: str | None = None
    #: ``failed``: only the videos whose processing failed (:func:`_processing_filter`).
    processing: str | None = None
    #: Whose failed videos: None for an admin's question (everyone's), else the asker's own id.
    processing_owner_id: int | None = None
    sort: str = DEFAULT_SORT
    limit: int = DEFAULT_LIMIT
    after: Position | None = None

    @classmethod
    def parse(
        cls,
        *,
        text: str | None = None,
        tags: list[str] | None = None,
        owner: str | None = None,
        sort: str | None = None,
        limit: str | int | None = None,
        cursor: str | None = None,
        processing: str | None = None,
        caller: Caller | None = None,
    ) -> CatalogQuery:
        """Validate parameters as received (empty means the default); anything off is :class:`~portal.errors.InvalidInput`."""
        query_text = _printable(text or "", "q").strip()
        if len(query_text) > MAX_QUERY_LENGTH:
            raise errors.InvalidInput(f"The search text q must be at most {MAX_QUERY_LENGTH} characters.")
        wanted_tags = tuple(dict.fromkeys(_printable(tag, "tag").strip() for tag in tags or () if tag.strip()))
        if len(wanted_tags) > MAX_TAG_FILTERS:
            raise errors.InvalidInput(f"At most {MAX_TAG_FILTERS} tag filters may be given at once.")
        order = sort or DEFAULT_SORT
        if order not in SORT_VALUES:
            raise errors.InvalidInput(f"sort must be one of {', '.join(SORT_VALUES)}.")
        wanted_processing, processing_owner_id = _processing_filter(processing, caller)
        return cls(
            text=query_text,
            tags=wanted_tags,
            owner=_printable(owner or "", "owner").strip() or None,
            processing=wanted_processing,
            processing_owner_id=processing_owner_id,
            sort=order,
            limit=_limit(limit),
            after=decode_cursor(cursor, order) if cursor else None,
        )


def _processing_filter(value: str | None, caller: Caller | None) -> tuple[str | None, int | None]:
    """``processing=failed`` and whose videos it lists: an admin's question every failed video, anyone else's their own.

    Why a video failed is its owner's business (and an admin's), so the list is
    theirs too; a visitor is asked to sign in rather than shown an empty page.
    """
    if not value:
        return None, None
    if value != ProcessingState.FAILED.value:
        raise errors.InvalidInput(f"processing must be '{ProcessingState.FAILED.value}' (got {value[:20]!r}).")
    if caller is None:
        raise errors.Unauthorized("Sign in to list the videos whose processing failed: they are shown to their owners.")
    return value, None if caller.role is Role.ADMIN else caller.user.id


def _printable(value: str, name: str) -> str:
    """No stored title, tag or name holds a control character, and neither database's text may hold NUL."""
    if any(unicodedata.category(char) in QUERY_CONTROL_CATEGORIES for char in value):
        raise errors.InvalidInput(f"{name} must not contain control characters.")
    return value


#: A whole number as a query writes it: ``20``, or ``20.0``, which JSON Schema's ``integer`` allows too.
_WHOLE_NUMBER = re.compile(r"([0-9]{1,9})(?:\.0+)?")


def _limit(value: str | int | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    text_value = str(value)
    whole = _WHOLE_NUMBER.fullmatch(text_value)
    if whole is None or not 1 <= int(whole.group(1)) <= MAX_LIMIT:
        raise errors.InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT} (got {text_value[:20]!r}).")
    return int(whole.group(1))


@dataclass(frozen=True)
class Total:
    """How many videos match: exactly ``value``, or at least ``value`` when not ``exact``."""

    value: int
    exact: bool


@dataclass(frozen=True)
class CatalogPage:
    items: list[Video]
    #: Pass it back to get the next page; None on the last page.
    next_cursor: str | None
    total: Total
    #: :func:`plan_name`.
    plan: str = ""


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=CURSOR_SALT)


def encode_cursor(video: Video, sort: str) -> str:
    """The opaque, signed position after ``video`` in a listing sorted by ``sort``."""
    key = getattr(video, CURSOR_COLUMNS[sort.lstrip("-")].key)
    if isinstance(key, datetime):
        key = as_utc(key).isoformat()
    return str(_serializer().dumps([sort, key, video.id]))


def decode_cursor(cursor: str, sort: str) -> Position:
    """The position a cursor of :func:`encode_cursor` names; :class:`~portal.errors.InvalidCursor` unless one of ``sort``."""
    try:
        payload = _serializer().loads(cursor)
    except BadSignature:
        raise errors.InvalidCursor() from None
    if not (isinstance(payload, list) and len(payload) == 3 and isinstance(payload[2], str)):
        raise errors.InvalidCursor()
    cursor_sort, key, video_id = payload
    if cursor_sort != sort:
        raise errors.InvalidCursor(
            f"This cursor belongs to a listing sorted by {cursor_sort!r}, not {sort!r}: "
            "keep the sort while paging, or start again without 'cursor'."
        )
    column = cursor_sort.lstrip("-")
    try:
        if column in ("created_at", "deleted_at"):
            key = as_utc(datetime.fromisoformat(key))
        elif not isinstance(key, int if column == "size" else str):
            raise errors.InvalidCursor()
    except (TypeError, ValueError):
        raise errors.InvalidCursor() from None
    return Position(key=key, id=video_id)


def _like_pattern(fragment: str) -> str:
    escaped = fragment.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def _sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def _fts_phrase(folded: str) -> str:
    return '"' + folded.replace('"', '""') + '"'


def _fts_rowids(folded: str) -> TextClause:
    return text("SELECT rowid FROM video_search WHERE video_search MATCH :phrase").bindparams(phrase=_fts_phrase(folded))


def text_condition(query_text: str, dense: bool = False) -> ColumnElement[bool]:
    """Videos whose search text holds ``query_text`` (case-folded), through the trigram index where that pays.

    ``dense``: so many videos match that walking the listing's order and testing each row's text
    finds a page sooner than collecting every match from the index and sorting them (SQLite;
    PostgreSQL's planner weighs this itself).
    """
    folded = query_text.casefold()
    if _sqlite() and not dense and len(folded) >= MIN_INDEXED_LENGTH:
        matches = _fts_rowids(folded).columns(rowid=Integer)
        return literal_column("videos.rowid").in_(matches)
    # PostgreSQL's GIN index of trigrams serves LIKE with a pattern of three characters or more, if
    # the plan knows the pattern: written into the statement, since a prepared statement's generic
    # plan (psycopg prepares a statement run often) cannot tell "%zzzq%" from "%" and scans the table.
    pattern: BindParameter[str] = bindparam("search_pattern", _like_pattern(folded), unique=True, literal_execute=True)
    return Video.search_text.like(pattern, escape="/")


def tag_condition(tag: str, dense: bool = False) -> ColumnElement[bool]:
    """Videos with exactly ``tag``: from the tag's index entries, or (``dense``) tested row by row in listing order."""
    if dense:
        return db.select(VideoTag.id).where(VideoTag.video_id == Video.id, VideoTag.tag == tag).exists()
    return Video.id.in_(db.select(VideoTag.video_id).where(VideoTag.tag == tag))


def conditions_of(query: CatalogQuery, dense: bool = False) -> list[ColumnElement[bool]]:
    """What a video must be to be listed: in the library (never in the trash), and matching every filter."""
    conditions: list[ColumnElement[bool]] = [Video.deleted_at.is_(None)]
    if query.text:
        conditions.append(text_condition(query.text, dense))
    for tag in query.tags:
        conditions.append(tag_condition(tag, dense))
    if query.owner is not None:
        # Looked up first: the planners pick the owner's index for a known id, and nobody has no videos.
        owner_id = db.session.scalar(db.select(User.id).where(User.username_key == username_key(query.owner)))
        # "+ 0" keeps SQLite off the owner's index when they have many videos: sorting them all
        # would cost more than walking the listing's order.
        owner_column = Video.owner_id + 0 if dense and _sqlite() else Video.owner_id
        conditions.append(owner_column == owner_id if owner_id is not None else false())
    if query.processing is not None:
        conditions.append(Video.processing_state == query.processing)
        if query.processing_owner_id is not None:
            conditions.append(Video.owner_id == query.processing_owner_id)
    return conditions


def search(query: CatalogQuery) -> CatalogPage:
    """One page of the catalog, in ``query.sort`` order, starting after ``query.after``.

    The total is counted first; how many match then chooses how the page is found (:func:`text_condition`).
    """
    total = count_matches(query)
    dense = total.value >= DENSE_MATCHES
    items, next_cursor = keyset_page(conditions_of(query, dense), query.sort, query.limit, query.after)
    return CatalogPage(items=items, next_cursor=next_cursor, total=total, plan=plan_name(query, dense))


def plan_name(query: CatalogQuery, dense: bool) -> str:
    """How :func:`search` finds the page, in a few words: what the benchmark prints beside each figure."""
    if not (query.text or query.tags or query.owner is not None or query.processing is not None):
        return "walk the order"
    if not _sqlite():
        return "postgresql planner"
    if dense:
        return "walk the order, test each row"
    if query.text and len(query.text.casefold()) < MIN_INDEXED_LENGTH:
        return "scan"
    return "index matches, sorted"


def count_matches(query: CatalogQuery) -> Total:
    """:func:`count` of the query's videos, from an index alone where one can tell.

    - No filter: the library's size, kept by the database (:func:`~.listing.library_size`).
    - One tag, or (SQLite) one text: the index entries are counted. Checking
      each match's row for the trash costs a random read per match (10,001 of
      them for a big result); instead the entries are counted up to the cap
      plus the number of trashed videos, and the trashed ones that match are
      taken off (a few, found through the trash's own index).
    - (PostgreSQL) one text without blanks: the words of ``video_words`` that
      are it or start with it (:func:`_words_prove_more_than`) can only prove
      that more than the cap match; short of that the matches are counted.
    """
    if not query.text and not query.tags and query.owner is None and query.processing is None:
        size = library_size()
        return Total(value=min(size, TOTAL_LIMIT), exact=size <= TOTAL_LIMIT)
    single = (1 if query.text else 0) + len(query.tags) == 1 and query.owner is None and query.processing is None
    folded = query.text.casefold()
    if not single or (query.text and len(folded) < MIN_INDEXED_LENGTH):
        return count(conditions_of(query))
    if query.text and not _sqlite() and (len(folded) > MAX_WORD_LENGTH or any(char.isspace() for char in folded)):
        return count(conditions_of(query))
    trashed = db.session.scalar(db.select(func.count()).select_from(Video).where(Video.deleted_at.is_not(None))) or 0
    if trashed > MAX_TRASH_SUBTRACTED:
        return count(conditions_of(query))
    cap = TOTAL_LIMIT + 1 + trashed
    if query.text and not _sqlite():
        if _words_prove_more_than(folded, cap):
            # At least the cap less every trashed video: more than TOTAL_LIMIT in the library.
            return Total(value=TOTAL_LIMIT, exact=False)
        return count(conditions_of(query))
    entries: Any
    if query.text:
        entries = _fts_rowids(folded).columns(rowid=Integer).subquery()
        trashed_matching = [text_condition(query.text, dense=True)]
    else:
        entries = db.select(VideoTag.id).where(VideoTag.tag == query.tags[0]).subquery()
        trashed_matching = [tag_condition(query.tags[0], dense=True)]
    entry_count = db.session.scalar(db.select(func.count()).select_from(db.select(entries).limit(cap).subquery())) or 0
    if entry_count >= cap:
        return Total(value=TOTAL_LIMIT, exact=False)
    found = entry_count
    if trashed:
        found -= db.session.scalar(
            db.select(func.count()).select_from(Video).where(Video.deleted_at.is_not(None), *trashed_matching)
        ) or 0
    return Total(value=min(found, TOTAL_LIMIT), exact=found <= TOTAL_LIMIT)


#: Above every character: a word that starts with a prefix sorts below the prefix followed by it ("C" collation).
_LAST_CHARACTER = "\U0010ffff"


def _words_prove_more_than(word: str, cap: int) -> bool:
    """Whether at least ``cap`` videos hold ``word`` as a whole word or the start of one (PostgreSQL).

    Each such video holds the text ``word``, so that many of them is a lower
    bound on the matches, read from the B-tree of ``video_words`` (migration
    0014) without touching a video: the whole word's entries first (about
    1 ms for 10,001), then the first ``cap`` entries of the words it starts,
    counted once per video (a video may have two such words).
    """
    whole = text("SELECT count(*) FROM (SELECT 1 FROM video_words WHERE word = :word LIMIT :cap) AS entries")
    if (db.session.scalar(whole.bindparams(word=word, cap=cap)) or 0) >= cap:
        return True
    started = text(
        "SELECT count(DISTINCT video_id) FROM (SELECT video_id FROM video_words"
        " WHERE word >= :word AND word < :above LIMIT :cap) AS entries"
    )
    return (db.session.scalar(started.bindparams(word=word, above=word + _LAST_CHARACTER, cap=cap)) or 0) >= cap


def keyset_page(
    conditions: list[ColumnElement[bool]], sort: str, limit: int, after: Position | None
) -> tuple[list[Video], str | None]:
    """Up to ``limit`` videos matching ``conditions`` after ``after`` in ``sort`` order, and the cursor of the next ones.

    One row more than asked says whether there is a next page, without counting.
    """
    column = CURSOR_COLUMNS[sort.lstrip("-")]
    descending = sort.startswith("-")
    order = (column.desc(), Video.id.desc()) if descending else (column.asc(), Video.id.asc())
    page_conditions = list(conditions)
    if after is not None:
        start = tuple_(column, Video.id)
        boundary = tuple_(after.key, after.id)
        page_conditions.append(start < boundary if descending else start > boundary)
    rows = list(
        db.session.scalars(
            db.select(Video)
            .where(*page_conditions)
            .order_by(*order)
            .limit(limit + 1)
            .options(selectinload(Video.tag_rows))
        ).all()
    )
    items = rows[:limit]
    return items, encode_cursor(items[-1], sort) if len(rows) > limit else None


def count(conditions: list[ColumnElement[bool]]) -> Total:
    """How many videos match, counting at most :data:`TOTAL_LIMIT` + 1 of them."""
    capped = db.select(Video.id).where(*conditions).limit(TOTAL_LIMIT + 1).subquery()
    found = db.session.scalar(db.select(func.count()).select_from(capped)) or 0
    return Total(value=min(found, TOTAL_LIMIT), exact=found <= TOTAL_LIMIT)


# --- details: title, description, tags ------------------------------------------------------------


class _Keep(enum.Enum):
    KEEP = "keep"


#: A detail :func:`update_details` leaves as it is (None clears it instead).
KEEP = _Keep.KEEP


def etag_of(video: Video) -> str:
    """The strong entity tag of the video's current details; every edit changes it."""
    return f'"rev-{video.revision}"'


_ETAG = re.compile(r'"rev-([0-9]{1,18})"')


def _revisions_named(if_match: str | None) -> set[int]:
    """The revisions an If-Match value names; weak tags (``W/"..."``) never match an edit."""
    if if_match is None or not if_match.strip():
        raise errors.DetailsVersionRequired()
    if if_match.strip() == "*":
        raise errors.DetailsVersionRequired(STAR_NAMES_NO_VERSION)
    return {int(match.group(1)) for match in _ETAG.finditer(if_match) if not _is_weak(if_match, match.start())}


def _is_weak(header: str, quote_at: int) -> bool:
    return header[max(0, quote_at - 2):quote_at] == "W/"


def _clean_line(value: object, field: str, maximum: int, minimum: int = 0) -> str:
    if not isinstance(value, str):
        raise errors.InvalidDetails(f"'{field}' must be a string (or null to clear it).")
    cleaned = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(char) in CONTROL_CATEGORIES for char in cleaned):
        raise errors.InvalidDetails(f"'{field}' must not contain control characters or line breaks.")
    if not minimum <= len(cleaned) <= maximum:
        raise errors.InvalidDetails(f"'{field}' must be {minimum} to {maximum} characters long (got {len(cleaned)}).")
    return cleaned


def clean_title(value: object) -> str:
    return _clean_line(value, "title", MAX_TITLE_LENGTH, minimum=1)


def clean_description(value: object) -> str:
    if not isinstance(value, str):
        raise errors.InvalidDetails("'description' must be a string (or null to clear it).")
    cleaned = unicodedata.normalize("NFC", value).replace("\r\n", "\n").strip()
    if any(unicodedata.category(char) in CONTROL_CATEGORIES and char not in DESCRIPTION_CONTROLS for char in cleaned):
        raise errors.InvalidDetails("'description' must not contain control characters (line breaks and tabs are fine).")
    if len(cleaned) > MAX_DESCRIPTION_LENGTH:
        raise errors.InvalidDetails(
            f"'description' must be at most {MAX_DESCRIPTION_LENGTH} characters long (got {len(cleaned)})."
        )
    return cleaned


def clean_tags(value: object) -> list[str]:
    """Each tag trimmed, with inner blanks made one space; repeats dropped, order kept."""
    if not isinstance(value, list):
        raise errors.InvalidDetails("'tags' must be a list of strings (or null for none).")
    tags: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise errors.InvalidDetails("Each tag must be a string.")
        tag = " ".join(_clean_line(item, "tag", MAX_TAG_LENGTH, minimum=1).split())
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise errors.InvalidDetails(f"A video has at most {MAX_TAGS} tags (got {len(tags)}).")
    return tags


def update_details(
    video: Video,
    *,
    by: Caller,
    if_match: str | None,
    title: str | None | _Keep = KEEP,
    description: str | None | _Keep = KEEP,
    tags: list[str] | None | _Keep = KEEP,
) -> Video:
    """Change the details of ``video`` if ``if_match`` names its current ETag; :data:`KEEP` leaves one as it is.

    None clears a detail: the title becomes the file name's stem again, the
    description empty, the tags none. Only the owner or an admin may
    (:class:`~portal.errors.Forbidden`); no ``if_match`` is
    :class:`~portal.errors.DetailsVersionRequired`, another version's
    :class:`~portal.errors.StaleDetails`. The row, its tags and the search
    index change in one transaction.
    """
    check(by, Action.EDIT, video)
    revisions = _revisions_named(if_match)
    if title is KEEP:
        new_title = video.display_title
    else:
        new_title = default_title(video.filename) if title is None else clean_title(title)
    if description is KEEP:
        new_description = video.description
    else:
        new_description = "" if description is None else clean_description(description)
    new_tags = video.tags if tags is KEEP else ([] if tags is None else clean_tags(tags))
    if video.revision not in revisions:
        raise errors.StaleDetails()
    current = video.revision
    result = db.session.execute(
        db.update(Video)
        .where(Video.id == video.id, Video.revision == current, Video.deleted_at.is_(None))
        .values(
            title=new_title,
            title_key=sort_key(new_title),
            description=new_description,
            search_text=search_text_of(new_title, new_description, new_tags, video.filename),
            updated_at=utcnow(),
            revision=current + 1,
        )
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount == 0:
        db.session.rollback()
        # Another edit got there first, or the video went to the trash meanwhile.
        get_video(video.id)
        raise errors.StaleDetails()
    if tags is not KEEP:
        db.session.execute(db.delete(VideoTag).where(VideoTag.video_id == video.id))
        if new_tags:
            db.session.execute(
                db.insert(VideoTag),
                [{"video_id": video.id, "tag": tag, "position": index} for index, tag in enumerate(new_tags)],
            )
    db.session.commit()
    db.session.expire(video)
    audit.info("video details changed: id=%s revision=%d by=%s", video.id, current + 1, by.username)
    return video
