"""Account rules: creating users, checking passwords, issuing and checking API tokens.

Passwords are hashed with Argon2id; a token's value is shown once, when it is
made, and only its SHA-256 is kept. Every change to a user and every token
made or revoked is logged to ``portal.audit``, never with a password or a
token's value. Nothing here knows about HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from functools import cache
from typing import Any
from typing import Iterable
from typing import cast

from argon2 import PasswordHasher
from argon2 import profiles
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import current_app
from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import and_
from sqlalchemy import delete as sa_delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update as sa_update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import errors
from .. import events
from ..extensions import MAX_ROW_ID
from ..extensions import db
from .models import ROLE_SCOPES
from .models import TOKEN_LABEL_LENGTH
from .models import ApiToken
from .models import LoginSession
from .models import Role
from .models import Scope
from .models import SignInFailure
from .models import User
from .models import utcnow

audit = logging.getLogger("portal.audit")

#: 1-64 ASCII letters, digits, ``.``, ``_`` or ``-`` (ASCII, so that the case-folded key is no longer).
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
MIN_PASSWORD_LENGTH = 10
#: Every token starts with this, so that a leaked one is easy to recognise (and to scan for).
TOKEN_PREFIX = "ptl_"
#: 32 random bytes: 256 bits, beyond guessing.
TOKEN_BYTES = 32
#: The longest life a token may be given (a century): far more than anyone needs, and far below the
#: calendar's end, past which the expiry date cannot be computed at all.
MAX_TOKEN_DAYS = 36500

#: How fresh a token's "last used" is kept: written at most once a minute per token.
LAST_USED_PRECISION = timedelta(minutes=1)
#: Where the app keeps the one-time setup code while no account exists (``app.extensions``).
SETUP_CODE = "portal.setup_code"
#: A signed-in session lasts this long at most, then its owner signs in again.
SESSION_LIFETIME = timedelta(days=30)
#: Sign-in attempts (per name, per client address, and per device cookie) that may be in flight or have
#: failed within the window; the next are refused without a password being checked.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
#: A device cookie vouches for its browser this long after the sign-in that gave it.
DEVICE_LIFETIME = timedelta(days=365)
DEVICE_COOKIE_SALT = "portal.device-cookie"
DEVICE_ID_BYTES = 16

#: Checked against when no user has the name, so that an unknown name takes as long as a wrong password.
#: A hash of a random secret nobody kept, made once with the default profile's parameters (a test
#: checks that they still match): hashing one at import would cost every process a quarter of a
#: second of CPU.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$zfPHhG39PQ/gfwrBve8YVQ$Rq3C2w7dtOztnDlV8625d5zTYwHCzInJDun2qc7KmcQ"
_DUMMY_HASH_PROFILE = "RFC_9106_LOW_MEMORY"


@cache
def _hasher_of(profile: str) -> PasswordHasher:
    """Argon2id with the parameters of one of argon2-cffi's profiles (PORTAL_PASSWORD_HASH_PROFILE)."""
    return PasswordHasher.from_parameters(getattr(profiles, profile))


@cache
def _dummy_hash_of(profile: str) -> str:
    """The dummy hash for a profile: the literal for the default one, else made on first need."""
    if profile == _DUMMY_HASH_PROFILE:
        return _DUMMY_HASH
    return _hasher_of(profile).hash(secrets.token_urlsafe(32))


def _hasher() -> PasswordHasher:
    return _hasher_of(current_app.config["PASSWORD_HASH_PROFILE"])


def _as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every moment stored here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def username_key(username: str) -> str:
    return username.casefold()


def _check_username(username: str) -> str:
    if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
        raise errors.InvalidUsername()
    return username


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise errors.InvalidPassword(MIN_PASSWORD_LENGTH)
    return password


def check_role(role: str | Role) -> Role:
    """The role named, or :class:`~portal.errors.InvalidRole` (before anything is changed)."""
    try:
        return Role(role)
    except (ValueError, TypeError):
        raise errors.InvalidRole() from None


_check_role = check_role


def _check_scopes(scopes: Iterable[str | Scope]) -> frozenset[Scope]:
    try:
        checked = frozenset(Scope(scope) for scope in scopes)
    except ValueError:
        raise errors.InvalidScope() from None
    if not checked:
        raise errors.InvalidScope()
    return checked


def _scope_text(scopes: Iterable[Scope]) -> str:
    """Scopes in a fixed order (read, upload, delete, metrics), space-separated."""
    chosen = set(scopes)
    return " ".join(scope.value for scope in Scope if scope in chosen)


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# --- users ---------------------------------------------------------------------


def find_user(username: str) -> User | None:
    """The user of this name in any case; None for a name no user can have (PostgreSQL's text holds no NUL)."""
    if not isinstance(username, str) or "\x00" in username:
        return None
    return db.session.scalar(select(User).where(User.username_key == username_key(username)))


def get_user_by_id(user_id: int) -> User:
    """The user of this row id; :class:`~portal.errors.UserNotFound` for any other number."""
    user = db.session.get(User, user_id) if isinstance(user_id, int) and 0 < user_id <= MAX_ROW_ID else None
    if user is None:
        raise errors.UserIdNotFound(user_id)
    return user


def get_user(username: str) -> User:
    user = find_user(username)
    if user is None:
        raise errors.UserNotFound(username)
    return user


def create_user(username: str, password: str, role: str | Role = Role.VIEWER) -> User:
    """A new user; names are unique regardless of case."""
    _check_username(username)
    _check_password(password)
    checked_role = _check_role(role)
    if find_user(username) is not None:
        raise errors.UserExists(username)
    user = User(
        username=username,
        username_key=username_key(username),
        password_hash=_hasher().hash(password),
        role=checked_role.value,
        disabled=False,
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        # Another process made the same name between the look-up and the insert.
        db.session.rollback()
        raise errors.UserExists(username) from None
    audit.info("user created: %s role=%s", user.username, user.role)
    if checked_role is Role.ADMIN:
        _became_admin(user)
    return user


def _became_admin(user: User) -> None:
    """Announce a new admin: the first one adopts the videos older than accounts (:mod:`portal.library` does)."""
    events.publish(events.became_admin, user=user)


def setup_needed() -> bool:
    """True while no account exists: the setup link may then create the first admin."""
    return db.session.scalar(select(User.id).limit(1)) is None


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username_key)))


def set_role(username: str, role: str | Role) -> User:
    """Change a user's role. Tokens keep their scopes; :func:`effective_scopes` limits them to the new role."""
    checked_role = _check_role(role)
    user = get_user(username)
    if checked_role is not Role.ADMIN:
        _keep_an_admin(user)
    previous = user.role
    user.role = checked_role.value
    db.session.commit()
    audit.info("user role changed: %s %s -> %s", user.username, previous, user.role)
    if checked_role is Role.ADMIN:
        _became_admin(user)
    return user


def set_disabled(username: str, disabled: bool) -> User:
    """A disabled user cannot sign in, and none of their tokens is accepted, until enabled again.

    Disabling also ends their sessions, so that enabling them again revives no
    cookie copied before.
    """
    user = get_user(username)
    if disabled:
        _keep_an_admin(user)
        end_sessions(user)
    user.disabled = disabled
    db.session.commit()
    audit.info("user %s: %s", "disabled" if disabled else "enabled", user.username)
    return user


def _keep_an_admin(user: User) -> None:
    """Refuse to demote or disable the last enabled admin: nobody could manage users after."""
    if user.role != Role.ADMIN.value or user.disabled:
        return
    others = db.session.scalar(
        select(func.count()).select_from(User).where(
            User.role == Role.ADMIN.value, User.disabled.is_(False), User.id != user.id
        )
    )
    if not others:
        raise errors.LastAdmin(user.username)


def disable_user(username: str) -> User:
    return set_disabled(username, True)


def enable_user(username: str) -> User:
    return set_disabled(username, False)


def reset_password(username: str, password: str) -> User:
    _check_password(password)
    user = get_user(username)
    user.password_hash = _hasher().hash(password)
    end_sessions(user)
    db.session.commit()
    audit.info("user password reset: %s", user.username)
    return user


def change_password(
    user: User, current: str, new: str, address: str, keep_session: str | None = None, device: str | None = None
) -> User:
    """A user's own change: the current password first; every other session of theirs ends.

    The current password is checked within the sign-in limits (see
    :func:`reserve_attempt`, with the browser's device cookie ``device``), so
    that a session in other hands cannot guess it without bound.
    """
    attempt = reserve_attempt(address, user.username, device_id(device, user.username))
    if verify_password(user.username, current) is None:
        audit.warning("password change refused, wrong current password: username=%s address=%s", user.username, address)
        record_failure(attempt)
        raise errors.WrongPassword()
    release_attempt(attempt)
    _check_password(new)
    user.password_hash = _hasher().hash(new)
    end_sessions(user, keep=keep_session)
    db.session.commit()
    audit.info("user password changed: %s", user.username)
    return user


def verify_password(username: str, password: str) -> User | None:
    """The user, when the name is known, enabled and the password right; else None.

    An unknown name is checked against a dummy hash, so the answer takes about
    as long either way and does not tell which names exist. A hash made with
    weaker parameters than today's is replaced on success.
    """
    user = find_user(username)
    encoded = user.password_hash if user is not None else _dummy_hash_of(current_app.config["PASSWORD_HASH_PROFILE"])
    try:
        _hasher().verify(encoded, password if isinstance(password, str) else "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _hasher().check_needs_rehash(encoded):
        user.password_hash = _hasher().hash(password)
        db.session.commit()
    return user


# --- tokens --------------------------------------------------------------------


def allowed_scopes(role: str | Role) -> frozenset[Scope]:
    return ROLE_SCOPES[_check_role(role)]


def _check_label(label: str | None) -> str:
    if label is None:
        return ""
    if not isinstance(label, str) or len(label) > TOKEN_LABEL_LENGTH or "\x00" in label:
        raise errors.InvalidLabel(TOKEN_LABEL_LENGTH)
    return label


def create_token(
    username: str,
    scopes: Iterable[str | Scope],
    label: str = "",
    days: int | None = None,
    within: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """A new token of ``username`` and its value; the value is not kept and cannot be shown again.

    ``within`` is the token the request came with, when a token asks for a
    token (the API): the new one carries none of the scopes ``within`` lacks
    (:class:`~portal.errors.ScopeAboveToken`), and expires no later than it,
    so that a token cannot be used to make a stronger or longer-lived one.
    """
    user = get_user(username)
    wanted = _check_scopes(scopes)
    allowed = allowed_scopes(user.role)
    if not wanted <= allowed:
        raise errors.ScopeAboveRole(user.username, user.role, _scope_text(allowed))
    if within is not None:
        held = effective_scopes(within.user, within)
        if not wanted <= held:
            raise errors.ScopeAboveToken(_scope_text(held) or "none")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS):
        raise errors.InvalidExpiry()
    checked_label = _check_label(label)
    now = utcnow()
    expires_at = now + timedelta(days=days) if days is not None else None
    if within is not None and within.expires_at is not None:
        ceiling = _as_utc(within.expires_at)
        expires_at = ceiling if expires_at is None else min(expires_at, ceiling)
    value = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(
        user=user,
        token_hash=token_hash(value),
        scopes=_scope_text(wanted),
        label=checked_label,
        created_at=now,
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.commit()
    audit.info(
        "token created: id=%s user=%s scopes=%r label=%r expires=%s",
        token.id, user.username, token.scopes, token.label, token.expires_at.isoformat() if token.expires_at else "never",
    )
    return token, value


def list_tokens(username: str | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if username is not None:
        query = query.where(ApiToken.user_id == get_user(username).id)
    return list(db.session.scalars(query))


def active_tokens() -> list[ApiToken]:
    """Every user's tokens that still work (neither revoked nor expired), oldest first."""
    unrevoked = db.session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None)).order_by(ApiToken.id))
    return [token for token in unrevoked if token_is_active(token)]


def active_token_counts() -> dict[int, int]:
    """How many tokens each user (by id) holds that still work."""
    counts: dict[int, int] = {}
    for token in active_tokens():
        counts[token.user_id] = counts.get(token.user_id, 0) + 1
    return counts


def get_token(token_id: int, owner: str | None = None) -> ApiToken:
    """The token of this id; with ``owner``, only a token of that user (another's is not found)."""
    token = db.session.get(ApiToken, token_id) if isinstance(token_id, int) and 0 < token_id <= MAX_ROW_ID else None
    if token is None or (owner is not None and token.user.username_key != username_key(owner)):
        raise errors.TokenNotFound(token_id)
    return token


def revoke_token(token_id: int, owner: str | None = None) -> ApiToken:
    """Revoke a token for good; revoking one already revoked keeps the first moment.

    With ``owner``, only a token of that user: another's is not found, so that
    a user's own page tells nothing of other users' tokens.
    """
    token = get_token(token_id, owner)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
        audit.info("token revoked: id=%s user=%s", token.id, token.user.username)
    return token


def effective_scopes(user: User, token: ApiToken) -> frozenset[Scope]:
    """What a token may do now: its scopes, within what its owner's current role allows."""
    return token.scope_set & allowed_scopes(user.role)


def token_is_active(token: ApiToken, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if token.revoked_at is not None:
        return False
    return token.expires_at is None or _as_utc(token.expires_at) > now


def authenticate_token(value: str) -> tuple[User, ApiToken] | None:
    """The owner and the token of ``value``; None when unknown, revoked, expired or the owner is disabled.

    The token is found by the SHA-256 of its value (an index look-up that
    reveals nothing of the value), with its owner in the same statement, then
    the stored hash is compared in constant time. ``last_used_at`` is written
    when it is more than :data:`LAST_USED_PRECISION` old, so that a busy script
    does not turn every read into a write.
    """
    if not isinstance(value, str) or not value.startswith(TOKEN_PREFIX):
        return None
    digest = token_hash(value)
    token = db.session.scalar(
        select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.token_hash == digest)
    )
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    now = utcnow()
    if not token_is_active(token, now) or token.user.disabled:
        return None
    if token.last_used_at is None or _as_utc(token.last_used_at) <= now - LAST_USED_PRECISION:
        token.last_used_at = now
        db.session.commit()
    return token.user, token


# --- signing in ----------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """A place taken among the attempts allowed, before anything was checked: settle it with the outcome."""

    id: int
    username_key: str | None
    address: str
    device: str | None


def _lock_key(kind: str, value: str) -> int:
    """A signed 64-bit number for ``kind:value``, as PostgreSQL's advisory locks take (a collision only makes two wait)."""
    digest = hashlib.sha256(f"portal.sign-in:{kind}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _serialise_attempts(key: str | None, address: str, device: str | None) -> None:
    """Begin a transaction that no other counting of the same name, address or device runs beside.

    Counting and taking a place must be one step, or concurrent attempts all
    count the same few before any of them is written. SQLite: ``BEGIN
    IMMEDIATE`` takes the database's one write lock at once (writers queue on
    the busy timeout); PostgreSQL: a transaction-scoped advisory lock per name,
    address and device, taken in one order so that two attempts never wait for
    each other. Both are held until the commit or rollback, across processes.
    """
    db.session.commit()  # whatever the request read so far, so that this transaction starts here
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        db.session.execute(text("BEGIN IMMEDIATE"))
    elif dialect == "postgresql":
        named = {"name": key, "address": address, "device": device}
        for lock in sorted({_lock_key(kind, value) for kind, value in named.items() if value is not None}):
            db.session.execute(select(func.pg_advisory_xact_lock(lock)))


def _moments(now: datetime, *where: Any) -> list[datetime]:
    query = select(SignInFailure.at).where(SignInFailure.at > now - FAILURE_WINDOW, *where).order_by(SignInFailure.at)
    return [_as_utc(moment) for moment in db.session.scalars(query)]


def _wait_for(now: datetime, moments: list[datetime]) -> int:
    """Seconds until the oldest of the last :data:`MAX_FAILURES` attempts leaves the window; 0: a place is free."""
    if len(moments) < MAX_FAILURES:
        return 0
    free_at = moments[len(moments) - MAX_FAILURES] + FAILURE_WINDOW
    return max(1, int((free_at - now).total_seconds() + 0.999))


def _limits(key: str | None, address: str, device: str | None) -> dict[str, Any]:
    """What an attempt counts against: its device cookie alone, else its name and its client address."""
    if device is not None:
        return {f"device cookie of username={key!r}": SignInFailure.device == device}
    limits: dict[str, Any] = {f"address={address}": and_(SignInFailure.address == address, SignInFailure.device.is_(None))}
    if key is not None:
        limits[f"username={key!r}"] = and_(SignInFailure.username_key == key, SignInFailure.device.is_(None))
    return limits


def reserve_attempt(address: str, username: str | None = None, device: str | None = None) -> Attempt:
    """Take a place among the attempts allowed for the name and the address (or the device cookie) before any check.

    At most :data:`MAX_FAILURES` attempts, in flight or failed, fit in the
    :data:`FAILURE_WINDOW` per name and per client address, in the database
    where every process counts them, so that no more passwords than that are
    ever verified whatever the concurrency. ``device`` is the id of a valid
    device cookie for the name (:func:`device_id`): its attempts have a limit
    of their own and are never refused for failures from elsewhere; once it is
    used up, the cookie counts for nothing and the name's and address's limits
    apply. Raises :class:`~portal.errors.TooManyAttempts` (nothing taken) when
    no place is free.
    """
    now = utcnow()
    # Counted by name even when the name holds a NUL, which no column of PostgreSQL's can store.
    key = username_key(username).replace("\x00", "\ufffd")[:64] if isinstance(username, str) else None
    address = address[:64]
    _serialise_attempts(key, address, device)
    db.session.execute(sa_delete(SignInFailure).where(SignInFailure.at <= now - FAILURE_WINDOW))
    if device is not None and _wait_for(now, _moments(now, *_limits(key, address, device).values())):
        device = None
    wait = max(_wait_for(now, _moments(now, where)) for where in _limits(key, address, device).values())
    if wait:
        db.session.rollback()
        raise errors.TooManyAttempts(wait)
    row = SignInFailure(username_key=key, address=address, at=now, failed=False, device=device)
    db.session.add(row)
    db.session.flush()
    attempt = Attempt(row.id, key, address, device)
    db.session.commit()
    return attempt


def release_attempt(attempt: Attempt) -> None:
    """Give back the place of an attempt that succeeded: a right password counts against nobody."""
    db.session.execute(sa_delete(SignInFailure).where(SignInFailure.id == attempt.id))
    db.session.commit()


def record_failure(attempt: Attempt) -> None:
    """Mark an attempt failed, and log each lock its failure completes, with until when.

    Marking and counting take the same turn as :func:`reserve_attempt`, so that
    exactly one failure, the one that makes :data:`MAX_FAILURES` in the window,
    logs a lock.
    """
    now = utcnow()
    _serialise_attempts(attempt.username_key, attempt.address, attempt.device)
    db.session.execute(sa_update(SignInFailure).where(SignInFailure.id == attempt.id).values(failed=True))
    locks = []
    for what, where in _limits(attempt.username_key, attempt.address, attempt.device).items():
        failures = _moments(now, where, SignInFailure.failed.is_(True))
        if len(failures) == MAX_FAILURES:
            locks.append((what, failures[0] + FAILURE_WINDOW))
    db.session.commit()
    for what, until in locks:
        audit.warning(
            "sign-in locked: %s until %s (after %d failures; the last: username=%r address=%s)",
            what, until.isoformat(timespec="seconds"), MAX_FAILURES, attempt.username_key, attempt.address,
        )


def unlock(username: str) -> int:
    """Forget every attempt for ``username`` (from any address or device cookie); how many were forgotten.

    What an admin does for a user locked out by someone else's guesses: the
    name's lock ends at once, and those attempts no longer count against the
    addresses they came from either.
    """
    key = username_key(_check_username(username))
    result = cast(CursorResult[Any], db.session.execute(sa_delete(SignInFailure).where(SignInFailure.username_key == key)))
    db.session.commit()
    audit.warning("sign-in unlocked: username=%r (%d attempts forgotten)", key, result.rowcount)
    return result.rowcount


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=DEVICE_COOKIE_SALT)


def device_token(user: User) -> str:
    """The value of a new device cookie for a browser that has just signed in as ``user``.

    Signed with the app's secret (itsdangerous), so that nobody can make one;
    it names the user and a random id, and its attempts count against that id
    (OWASP's "Slow Down Online Guessing Attacks with Device Cookies").
    """
    return _device_serializer().dumps({"user": user.username_key, "id": secrets.token_urlsafe(DEVICE_ID_BYTES)})


def device_id(token: str | None, username: str) -> str | None:
    """The id of device cookie ``token`` when it is ours, younger than :data:`DEVICE_LIFETIME` and for ``username``."""
    if not isinstance(token, str) or not token or not isinstance(username, str):
        return None
    try:
        payload = _device_serializer().loads(token, max_age=int(DEVICE_LIFETIME.total_seconds()))
    except BadData:
        return None
    if not isinstance(payload, dict) or payload.get("user") != username_key(username):
        return None
    found = payload.get("id")
    return found[:64] if isinstance(found, str) and found else None


def sign_in(username: str, password: str, address: str, device: str | None = None) -> User:
    """The user whose name and password these are; every attempt is logged, never with the password.

    Raises :class:`~portal.errors.TooManyAttempts` (no password checked) when
    :func:`reserve_attempt` finds no place for the name, the address or the
    browser's device cookie ``device`` (its value, as the browser sent it),
    and :class:`~portal.errors.SignInFailed` for a wrong name or password or a
    disabled account, without saying which.
    """
    shown = username if isinstance(username, str) else ""
    try:
        attempt = reserve_attempt(address, shown, device_id(device, shown))
    except errors.TooManyAttempts:
        audit.warning("sign-in refused, too many failures: username=%r address=%s", shown[:64], address)
        raise
    user = verify_password(shown, password)
    if user is None:
        audit.warning("sign-in failed: username=%r address=%s", shown[:64], address)
        record_failure(attempt)
        raise errors.SignInFailed()
    release_attempt(attempt)
    audit.info("sign-in: username=%s address=%s", user.username, address)
    return user


def start_session(user: User) -> str:
    """A new signed-in session of ``user``; its key goes in the session cookie and is not kept."""
    key = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, key_hash=token_hash(key), created_at=utcnow()))
    db.session.commit()
    return key


def session_user(key: str) -> User | None:
    """The user a session key signs in; None once signed out, expired, ended by a password change, or disabled."""
    if not isinstance(key, str) or not key:
        return None
    found = db.session.scalar(select(LoginSession).where(LoginSession.key_hash == token_hash(key)))
    if found is None or _as_utc(found.created_at) <= utcnow() - SESSION_LIFETIME or found.user.disabled:
        return None
    return found.user


def end_session(key: str) -> None:
    """Sign out on the server: the key no longer signs anyone in, whatever copies of the cookie exist."""
    if isinstance(key, str) and key:
        db.session.execute(sa_delete(LoginSession).where(LoginSession.key_hash == token_hash(key)))
        db.session.commit()


def end_sessions(user: User, keep: str | None = None) -> None:
    """End every session of ``user`` but ``keep`` (the caller's own, after they changed their password)."""
    query = sa_delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep:
        query = query.where(LoginSession.key_hash != token_hash(keep))
    db.session.execute(query)


def count_sessions(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id)) or 0
