"""Who may do what: one table of rules, asked by every door (web pages, API, share links).

A caller is a user, signed in by the session cookie (with everything their
role allows) or by an API token (with the token's scopes, within the role).
:func:`check` raises :class:`~portal.errors.Forbidden` with a message naming
what is missing: the scope, the role, or the ownership of the video.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from .. import errors
from .models import ApiToken
from .models import Role
from .models import Scope
from .models import User
from .service import allowed_scopes
from .service import effective_scopes


class Video(Protocol):
    """What a rule asks of a video (:class:`portal.library.models.Video`, a floor above): whose it is."""

    @property
    def owner_id(self) -> int | None: ...

    @property
    def owner_name(self) -> str | None: ...


class Action(str, enum.Enum):
    """What a caller asks to do; each needs a scope of the token and a role of the user."""

    READ = "read"  # list, search, watch, download, verify
    #: Make a share link to a video, or list its links: the owner's or an admin's.
    SHARE = "share"
    UPLOAD = "upload"
    DELETE = "delete"
    #: Queue a video's processing (facts, poster, copy) again: the owner's or an admin's.
    PROCESS = "process"
    #: Change a video's title, description and tags: the owner's or an admin's.
    EDIT = "edit"
    MANAGE_USERS = "manage users"
    #: List, make and revoke one's own API tokens (through the API; the web's account page needs a session).
    MANAGE_TOKENS = "manage tokens"


#: The token scope each action needs (none: only a signed-in session may do it).
ACTION_SCOPES: dict[Action, Scope | None] = {
    Action.READ: Scope.READ,
    Action.UPLOAD: Scope.UPLOAD,
    Action.DELETE: Scope.DELETE,
    Action.PROCESS: Scope.UPLOAD,
    Action.EDIT: Scope.UPLOAD,
    #: A link opens the video to anyone: more than a read-only token may do.
    Action.SHARE: Scope.UPLOAD,
    Action.MANAGE_USERS: None,
    #: Every user's token may carry ``read``; a ``metrics`` token reads /metrics and nothing else.
    Action.MANAGE_TOKENS: Scope.READ,
}
#: The least role each action needs. Deleting or processing another user's video needs admin (see :func:`check`).
ACTION_ROLES: dict[Action, Role] = {
    Action.READ: Role.VIEWER,
    Action.UPLOAD: Role.UPLOADER,
    Action.DELETE: Role.UPLOADER,
    Action.PROCESS: Role.UPLOADER,
    Action.EDIT: Role.UPLOADER,
    Action.SHARE: Role.UPLOADER,
    Action.MANAGE_USERS: Role.ADMIN,
    Action.MANAGE_TOKENS: Role.VIEWER,
}
#: How messages name each action.
ACTION_NAMES: dict[Action, str] = {
    Action.READ: "watching and listing videos",
    Action.UPLOAD: "uploading",
    Action.DELETE: "deleting videos",
    Action.PROCESS: "processing videos again",
    Action.EDIT: "editing videos' details",
    Action.SHARE: "sharing videos",
    Action.MANAGE_USERS: "managing users",
    Action.MANAGE_TOKENS: "managing API tokens",
}
#: Actions on a video that only its owner or an admin may do, and how a refusal names them.
OWNER_ACTIONS: dict[Action, str] = {
    Action.DELETE: "delete", Action.PROCESS: "process", Action.EDIT: "edit", Action.SHARE: "share"
}
_RANK = {Role.VIEWER: 0, Role.UPLOADER: 1, Role.ADMIN: 2}


@dataclass
class Caller:
    """A signed-in user, and how: by ``token``, or by the session with key ``session_key``.

    It is also Flask-Login's user object (``get_id`` is the session key), so
    ``current_user`` in templates is one.
    """

    user: User
    token: ApiToken | None = None
    session_key: str | None = None

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str | None:
        return self.session_key

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def scopes(self) -> frozenset[Scope]:
        """What this request may do: a token's scopes within the role, or all the role allows."""
        if self.token is not None:
            return effective_scopes(self.user, self.token)
        return allowed_scopes(self.user.role)

    def owns(self, video: Video) -> bool:
        return video.owner_id == self.user.id

    def may(self, action: Action | str, video: Video | None = None) -> bool:
        """Whether :func:`check` would let this caller do ``action`` (on ``video``), for showing controls."""
        try:
            check(self, Action(action), video)
        except errors.Forbidden:
            return False
        return True


def check(caller: Caller | None, action: Action, video: Video | None = None) -> None:
    """Raise unless ``caller`` may do ``action`` (on ``video``, for a delete: their own, or any as admin)."""
    if caller is None:
        raise errors.Unauthorized()
    scope = ACTION_SCOPES[action]
    if caller.token is not None:
        if scope is None:
            raise errors.Forbidden(f"An API token cannot be used for {ACTION_NAMES[action]}: sign in to the web pages.")
        if scope not in caller.token.scope_set:
            raise errors.Forbidden(f"This token lacks the '{scope.value}' scope, needed for {ACTION_NAMES[action]}.")
    needed = ACTION_ROLES[action]
    if _RANK[caller.role] < _RANK[needed]:
        roles = " or ".join(role.value for role in Role if _RANK[role] >= _RANK[needed])
        raise errors.Forbidden(
            f"{ACTION_NAMES[action].capitalize()} needs the {roles} role; {caller.username} is {_article(caller.role.value)}."
        )
    if action in OWNER_ACTIONS and video is not None and not caller.owns(video) and caller.role is not Role.ADMIN:
        owner = video.owner_name or "nobody"
        raise errors.Forbidden(
            f"Only the video's owner ({owner}) or an admin may {OWNER_ACTIONS[action]} it; "
            f"{caller.username} is {_article(caller.role.value)}."
        )


def _article(role: str) -> str:
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"
