"""Routes of /api/v2 for users (admins only): list with usage and quota, add one, change role, quota, disabled.

The rules are the account service's and the quota's, the same the admins'
page and ``flask users`` go by: names unique in any case, Argon2id passwords,
the last enabled admin never demoted or disabled (409 ``last_admin``). As on
the admins' page, managing users needs an admin signed in to the web (the
session cookie, with ``X-CSRFToken`` for a change): an API token cannot
(:attr:`Action.MANAGE_USERS` has no scope).
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import jsonify
from flask import url_for

from ...accounts import service as accounts
from ...accounts.models import Role
from ...accounts.permissions import Action
from ...errors import InvalidInput
from ...errors import InvalidPassword
from ...errors import InvalidQuota
from ...errors import InvalidRole
from ...errors import InvalidUsername
from ...errors import LastAdmin
from ...errors import UnsupportedBodyType
from ...errors import UserExists
from ...errors import UserIdNotFound
from ...http.auth import requires
from ...uploads import quota
from ..models import header
from ..spec import Answer
from ..spec import Body
from ..spec import operation
from ..v1.schemas import iso8601
from . import bp
from .bodies import read_object
from .models import NewUserRequest
from .models import UserList
from .models import UserModel
from .models import UserPatch
from .videos import MERGE_PATCH

LOCATION = header(type="string", format="uri")

NEW_USER_FIELDS = ("name", "password", "role")
NEW_USER_HINT = (
    "Send a JSON object such as {\"name\": \"alice\", \"password\": \"...\", \"role\": \"uploader\"} "
    "as Content-Type: application/json (the role defaults to viewer)."
)
CHANGE_FIELDS = ("role", "disabled", "quota")
RULE = "An admin's, signed in to the web (the session's cookie; `X-CSRFToken` for a change): a token cannot."
CHANGE_HINT = (
    "Send a JSON object with any of 'role', 'disabled' (true or false) and 'quota' (bytes, a size such as "
    f"\"5GiB\", \"{quota.UNLIMITED}\" for unlimited, or null for PORTAL_DEFAULT_QUOTA's) as Content-Type: {MERGE_PATCH}."
)


def user_json(usage: quota.Usage) -> dict[str, Any]:
    user = usage.user
    return {
        "id": user.id,
        "name": user.username,
        "role": user.role,
        "disabled": user.disabled,
        "created_at": iso8601(user.created_at),
        "usage_bytes": usage.usage,
        "quota_bytes": usage.quota,
        "video_count": usage.video_count,
        "links": {"self": url_for("api_v2.get_user", user_id=user.id, _external=True)},
    }


@bp.get("/users")
@requires(Action.MANAGE_USERS)
@operation("Every user, with usage, quota and video count", tags=["users"], answers={200: Answer(UserList, "The users.")},
           description=f"The largest usage first, as on the admins' page. {RULE}")
def list_users() -> Response:
    """Every user with usage, quota and video count, the largest usage first, as on the admins' page."""
    return jsonify(items=[user_json(usage) for usage in quota.usage_of_everyone()])


@bp.post("/users")
@requires(Action.MANAGE_USERS)
@operation("Add a user", tags=["users"], body=Body({"application/json": NewUserRequest}),
           answers={201: Answer(UserModel, "Added; `Location` is its URL.", headers={"Location": LOCATION})},
           errors=lambda: [InvalidUsername(), InvalidPassword(10), InvalidRole(), UserExists("alice"),
                           UnsupportedBodyType(f"The body must be application/json. {NEW_USER_HINT}")],
           description=f"Names are unique in any case. {NEW_USER_HINT} {RULE}")
def create_user() -> tuple[Response, int, dict[str, str]]:
    body = read_object("application/json", NEW_USER_FIELDS, NEW_USER_HINT)
    user = accounts.create_user(
        body.get("name"), body.get("password"), body.get("role", Role.VIEWER.value)  # type: ignore[arg-type]
    )
    made = user_json(quota.Usage.of(user))
    return jsonify(made), 201, {"Location": made["links"]["self"]}


@bp.get("/users/<row_id:user_id>")
@requires(Action.MANAGE_USERS)
@operation("One user", tags=["users"], answers={200: Answer(UserModel, "The user.")},
           errors=lambda: [UserIdNotFound(3)], description=RULE)
def get_user(user_id: int) -> Response:
    return jsonify(user_json(quota.Usage.of(accounts.get_user_by_id(user_id))))


def _quota_text(value: object) -> str:
    """A quota as ``users set-quota`` takes it, from the patch's value (null: the default)."""
    if value is None:
        return quota.DEFAULT
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidQuota(f"'quota' is a whole number of bytes, a size such as \"5GiB\", \"{quota.UNLIMITED}\" or null.")
    return str(value)


@bp.patch("/users/<row_id:user_id>")
@requires(Action.MANAGE_USERS)
@operation("Change a user's role, quota, or disable them", tags=["users"], body=Body({MERGE_PATCH: UserPatch}),
           answers={200: Answer(UserModel, "Changed: the user.")},
           errors=lambda: [UserIdNotFound(3), InvalidRole(), InvalidQuota(CHANGE_HINT), LastAdmin("root"),
                           UnsupportedBodyType(f"The body must be {MERGE_PATCH}. {CHANGE_HINT}")],
           description=f"A JSON merge patch (`{MERGE_PATCH}`); every field is checked before any is changed. A disabled "
           "user is signed out and their tokens stop working. The last enabled admin can be neither demoted nor "
           f"disabled (409). {CHANGE_HINT} {RULE}")
def change_user(user_id: int) -> Response:
    """A merge patch of the role, disabled and quota: all checked before any is changed, then each by its service."""
    user = accounts.get_user_by_id(user_id)
    patch = read_object(MERGE_PATCH, CHANGE_FIELDS, CHANGE_HINT)
    if "role" in patch:
        accounts.check_role(patch["role"])  # type: ignore[arg-type]
    if "disabled" in patch and not isinstance(patch["disabled"], bool):
        raise InvalidInput(f"'disabled' is true or false. {CHANGE_HINT}")
    if "quota" in patch:
        quota.parse_quota(_quota_text(patch["quota"]))
    if "role" in patch:
        accounts.set_role(user.username, patch["role"])  # type: ignore[arg-type]
    if "disabled" in patch:
        accounts.set_disabled(user.username, patch["disabled"])  # type: ignore[arg-type]
    if "quota" in patch:
        quota.set_quota(user.username, _quota_text(patch["quota"]))
    return jsonify(user_json(quota.Usage.of(user)))
