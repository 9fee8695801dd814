"""Listing and searching the library: one parser for the parameters of both doors, one query.

The web page and the API take the same parameters (page, per page, search
text, order); :meth:`Listing.parse` checks them once for both, so a limit or
a message cannot differ between the two. The API's documentation reads its
limits and defaults from here too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import false
from sqlalchemy import func

from ..errors import InvalidInput
from ..extensions import db
from .models import LibraryStats
from .models import Video

MAX_QUERY_LENGTH = 200
MAX_PER_PAGE = 100
#: The largest page number taken: nine digits, so the offset stays a plain integer on every database.
MAX_PAGE = 999_999_999
DEFAULT_SORT = "-created_at"
SORT_COLUMNS = {
    "created_at": Video.created_at,
    "filename": Video.search_name,
    "size": Video.size,
    "duration": Video.duration,
}
#: Every value ``sort`` takes: a column, ascending, or descending with a leading ``-``.
SORT_VALUES = tuple(prefix + column for column in SORT_COLUMNS for prefix in ("", "-"))


def default_per_page() -> int:
    """Items per page when a listing does not say: the ``PER_PAGE`` setting."""
    return int(current_app.config["PER_PAGE"])


@dataclass(frozen=True)
class Listing:
    page: int
    per_page: int
    query: str
    sort: str

    @classmethod
    def parse(
        cls, *, page: str | None = None, per_page: str | None = None, query: str | None = None, sort: str | None = None
    ) -> Listing:
        """Validate listing parameters as received; an empty value means the default.

        Anything off is an :class:`~portal.errors.InvalidInput` saying what to fix.
        """
        page_number = _positive_int(page, "page", default=1)
        size = _positive_int(per_page, "per_page", default=default_per_page())
        if size > MAX_PER_PAGE:
            raise InvalidInput(f"per_page must be at most {MAX_PER_PAGE}.")
        text = (query or "").strip()
        if len(text) > MAX_QUERY_LENGTH:
            raise InvalidInput(f"The search text q must be at most {MAX_QUERY_LENGTH} characters.")
        order = sort or DEFAULT_SORT
        if order not in SORT_VALUES:
            allowed = ", ".join(SORT_COLUMNS)
            raise InvalidInput(f"sort must be one of {allowed}, optionally with a leading '-' for descending.")
        return cls(page=page_number, per_page=size, query=text, sort=order)


@dataclass(frozen=True)
class Page:
    items: list[Video]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


#: A whole number, written as digits or with a zero fraction (``25.0``: JSON Schema counts it an integer,
#: and clients generated from the API's document may send it so).
_WHOLE_NUMBER = re.compile(r"([0-9]+)(?:\.0+)?")


def _positive_int(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    whole = _WHOLE_NUMBER.fullmatch(value) if value.isascii() else None
    if whole is None or len(whole.group(1)) > len(str(MAX_PAGE)) or int(whole.group(1)) < 1:
        raise InvalidInput(f"{name} must be a whole number from 1 up (got {value[:20]!r}).")
    return int(whole.group(1))


def list_videos(listing: Listing) -> Page:
    """A page of the library; videos in the trash are not in it (:mod:`.trash` lists those)."""
    conditions = [Video.deleted_at.is_(None), *search_conditions(listing)]
    column = SORT_COLUMNS[listing.sort.lstrip("-")]
    descending = listing.sort.startswith("-")
    order = (_ordered(column, descending), Video.id.desc() if descending else Video.id.asc())
    total = db.session.scalar(_count_of(listing, conditions)) or 0
    items = db.session.scalars(
        db.select(Video)
        .where(*conditions)
        .order_by(*order)
        .limit(listing.per_page)
        .offset((listing.page - 1) * listing.per_page)
    ).all()
    return Page(items=list(items), total=total, page=listing.page, per_page=listing.per_page)


def _ordered(column: Any, descending: bool) -> ColumnElement[Any]:
    """``column`` in the listing's direction, with NULLs last only where a NULL can be.

    Videos not probed yet have no duration: last in either direction, on SQLite
    and PostgreSQL alike (which would otherwise put NULL at opposite ends). On a
    column that is never NULL the clause would only cost: PostgreSQL cannot
    walk an ascending index backwards for ``DESC NULLS LAST``, so the newest
    first page sorted every row of a million-video library (800 ms).
    """
    direction = column.desc() if descending else column.asc()
    return direction.nulls_last() if column.expression.nullable else direction


def _count_of(listing: Listing, conditions: list[ColumnElement[bool]]) -> Select[int]:
    """How many videos the listing has; without a search, read from :class:`~.models.LibraryStats`.

    Counting the library is what a first page cost: at a million videos
    SQLite's ``count(*)`` reads a whole index (16 ms), PostgreSQL's every
    visible row, where the row the database keeps up to date answers at once.
    A search still counts its matches.
    """
    if listing.query:
        return db.select(func.count()).select_from(Video).where(*conditions)
    return _library_size()


def _library_size() -> Select[int]:
    return db.select(LibraryStats.videos).where(LibraryStats.id == 1)


def library_size() -> int:
    """How many videos the library holds (not in the trash), exactly, without counting them."""
    return db.session.scalar(_library_size()) or 0


def search_conditions(listing: Listing) -> list[ColumnElement[bool]]:
    """What the search text asks of a video's name (nothing without one).

    No stored name holds a control character (:func:`~.naming.clean_filename`
    drops them), so a text with one matches nothing, without asking the
    database: PostgreSQL refuses NUL in any text it is sent.
    """
    if not listing.query:
        return []
    if any(unicodedata.category(char) == "Cc" for char in listing.query):
        return [false()]
    return [Video.search_name.contains(listing.query.casefold(), autoescape=True)]
