"""Rows of accounts: users (name, password hash, role) and the API tokens they own."""

from __future__ import annotations

import enum
from datetime import datetime
from datetime import timezone

from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import false
from sqlalchemy import true
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from ..extensions import Model

#: Longest username; names are ASCII letters, digits, ``.``, ``_`` and ``-``, so the key is as long.
USERNAME_LENGTH = 64
#: An Argon2 encoded hash is about 100 characters; room for stronger parameters later.
PASSWORD_HASH_LENGTH = 255
#: The longest label of a token.
TOKEN_LABEL_LENGTH = 255


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Role(str, enum.Enum):
    """What a user may do; each role may do everything the one before it may."""

    VIEWER = "viewer"
    UPLOADER = "uploader"
    ADMIN = "admin"


class Scope(str, enum.Enum):
    """What an API token may be used for."""

    READ = "read"
    UPLOAD = "upload"
    DELETE = "delete"
    #: Read ``GET /metrics`` and nothing else: what a Prometheus server is given (admins' tokens only).
    METRICS = "metrics"


#: The scopes a token of a user with each role may carry: never more than the role allows.
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.VIEWER: frozenset({Scope.READ}),
    Role.UPLOADER: frozenset({Scope.READ, Scope.UPLOAD, Scope.DELETE}),
    Role.ADMIN: frozenset(Scope),
}


class User(Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: As the user typed it, shown back as is.
    username: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    #: ``username.casefold()``, unique: "Alice" and "alice" are one user on every database.
    username_key: Mapped[str] = mapped_column(String(USERNAME_LENGTH), unique=True)
    #: Argon2id, in its encoded form (``$argon2id$v=19$m=...``); never the password.
    password_hash: Mapped[str] = mapped_column(String(PASSWORD_HASH_LENGTH))
    role: Mapped[str] = mapped_column(String(16), default=Role.VIEWER.value)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: The user's own quota in bytes; None: PORTAL_DEFAULT_QUOTA's, unless :attr:`quota_unlimited`.
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger)
    #: No quota at all, whatever PORTAL_DEFAULT_QUOTA says (``quota_bytes`` is then None).
    quota_unlimited: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r} {self.role}>"


class ApiToken(Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 (hex) of the token: the token itself is shown once, at creation, and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Space-separated :class:`Scope` values, e.g. ``"read upload"``.
    scopes: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(TOKEN_LABEL_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def scope_set(self) -> frozenset[Scope]:
        return frozenset(Scope(name) for name in self.scopes.split())

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} of user {self.user_id} {self.scopes!r}>"


class LoginSession(Model):
    """A signed-in browser: the session cookie names it, so that signing out ends it on the server too.

    The cookie carries a random key; only its SHA-256 is kept, so a copy of
    the database signs nobody in. Deleting the row ends the session at once,
    whatever copies of the cookie exist.
    """

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship()


class SignInFailure(Model):
    """One sign-in attempt (or setup code) in flight or failed, counted by every process.

    The row is written before the password is checked (``failed`` false), so
    that an attempt takes its place in the count before it costs an Argon2
    verify; a wrong password marks it failed, a right one deletes it. An
    attempt made with a device cookie (``device``: the cookie's id) counts
    against that cookie only; every other attempt counts per name and per
    client address.
    """

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The case-folded name tried; None for a wrong setup code.
    username_key: Mapped[str | None] = mapped_column(String(USERNAME_LENGTH), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    #: False while the password is being checked; an attempt whose process died stays counted.
    failed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: The id of the device cookie the attempt came with, else None.
    device: Mapped[str | None] = mapped_column(String(64), index=True)
