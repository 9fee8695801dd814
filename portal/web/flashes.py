"""Flash messages that always fit in the session cookie, summarised when they would not.

A flashed message waits in the session cookie until a page shows it, and
browsers drop a cookie over 4 KB (the whole ``Set-Cookie`` value, name and
attributes included): the session with it, which signs the person out. Six
refused files with 250-character CJK names once made a 5,263-byte cookie, and
messages of several forms sent before any page was shown pile up the same way.

So every answer is checked before its session is saved (:func:`bound_session_cookie`,
run after every request): a cookie that would be over :data:`COOKIE_BUDGET`
bytes has its messages made shorter, in steps, until it fits. A group of
messages flashed with :func:`flash_group` becomes its summary ("6 files were
refused: ...", cut short); then every message is cut short; last, the oldest
messages give way to one line saying how many were dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask import Response
from flask import current_app
from flask import flash
from flask import g
from flask import session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.http import dump_cookie

#: The most bytes of a ``Set-Cookie`` value of the session: under the 4,000 the portal promises,
#: with room for the signature's timestamp growing a character.
COOKIE_BUDGET = 3900
#: Lengths, in characters, a message is cut to in turn until the cookie fits.
_CUT_LENGTHS = (600, 300, 160, 80)
_FLASHES = "_flashes"


@dataclass(frozen=True)
class _Group:
    """Messages flashed together in this request (positions ``start``.. in the session's list) and their summary."""

    start: int
    count: int
    summary: str


def flash_group(messages: list[str], category: str, summary: str) -> None:
    """Flash each of ``messages``; should they not fit in the cookie, one message, ``summary``: them cut short."""
    if not messages:
        return
    start = len(session.get(_FLASHES, []))
    for message in messages:
        flash(message, category)
    g.setdefault("flash_groups", []).append(_Group(start, len(messages), summary))


def cut(text: str, length: int) -> str:
    """``text`` of at most ``length`` characters, cut with an ellipsis."""
    return text if len(text) <= length else text[: max(0, length - 1)].rstrip() + "…"


def session_cookie_length(app: Flask) -> int:
    """The bytes of the ``Set-Cookie`` value the session as it stands would be saved with."""
    interface = app.session_interface
    assert isinstance(interface, SecureCookieSessionInterface)
    serializer = interface.get_signing_serializer(app)
    assert serializer is not None  # the portal always has a secret key
    header = dump_cookie(
        interface.get_cookie_name(app),
        serializer.dumps(dict(session)),
        expires=interface.get_expiration_time(app, session),
        httponly=interface.get_cookie_httponly(app),
        domain=interface.get_cookie_domain(app),
        path=interface.get_cookie_path(app),
        secure=interface.get_cookie_secure(app),
        partitioned=interface.get_cookie_partitioned(app),
        samesite=interface.get_cookie_samesite(app),
        max_size=0,  # measured, not set: Werkzeug's warning belongs to the cookie really sent
    )
    return len(header.encode())


def _fits(app: Flask) -> bool:
    return session_cookie_length(app) <= COOKIE_BUDGET


def _summarise_groups(flashes: list[tuple[str, str]], groups: list[_Group], length: int) -> list[tuple[str, str]]:
    """``flashes`` with each group of this request's replaced by its summary, followed by its messages up to ``length``."""
    kept: list[tuple[str, str]] = []
    position = 0
    for group in sorted(groups, key=lambda group: group.start):
        kept.extend(flashes[position : group.start])
        members = flashes[group.start : group.start + group.count]
        if members:
            joined = " ".join(message for _, message in members)
            text = f"{group.summary}: {joined}" if length else f"{group.summary}."
            kept.append((members[0][0], cut(text, max(length, len(group.summary) + 1))))
        position = group.start + group.count
    kept.extend(flashes[position:])
    return kept


def _shorten(app: Flask) -> None:
    """Make the session's messages shorter, step by step, until the cookie fits (or no message is left)."""
    original = [(str(category), str(message)) for category, message in session[_FLASHES]]
    groups = [group for group in g.pop("flash_groups", []) if group.start + group.count <= len(original)]
    for length in (*_CUT_LENGTHS, 0):
        flashes = _summarise_groups(original, groups, length) if groups else original
        flashes = [(category, cut(message, max(length, _CUT_LENGTHS[-1]))) for category, message in flashes]
        session[_FLASHES] = flashes
        if _fits(app):
            return
    flashes = session[_FLASHES]
    for dropped in range(1, len(flashes) + 1):
        note = ("error", f"{dropped} earlier message{'s' if dropped != 1 else ''} could not be kept to show here.")
        session[_FLASHES] = [note, *flashes[dropped:]]
        if _fits(app):
            return
    session[_FLASHES] = []


def bound_session_cookie(response: Response) -> Response:
    """Keep the session cookie this answer sets within :data:`COOKIE_BUDGET` bytes by shortening its messages."""
    if not session.modified or not session.get(_FLASHES):
        return response
    if not _fits(current_app):
        _shorten(current_app)
    return response
