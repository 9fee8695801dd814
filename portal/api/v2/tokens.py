"""Routes of /api/v2 for API tokens: list, make and revoke one's own; admins list and revoke anyone's.

The rules are the account service's, the same the web's account page and
``flask tokens`` go by (:func:`portal.accounts.service.create_token`): a token
carries no scope its owner's role does not allow, its value is shown once, in
the answer that makes it, and only its SHA-256 is kept. Through the API the
caller needs a token with the ``read`` scope (every role's tokens may carry
it; a ``metrics`` token reads nothing else) or the web session; a token asked
for a token gives none of the scopes it lacks, and none that outlives it.
Another user's tokens are an admin's to list and revoke, as on the admins'
page: signed in, not with a token (:attr:`Action.MANAGE_USERS`).
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import jsonify
from flask import request
from flask import url_for

from ...accounts import service as accounts
from ...accounts.models import ApiToken
from ...accounts.permissions import Action
from ...accounts.permissions import check
from ...errors import InvalidExpiry
from ...errors import InvalidInput
from ...errors import InvalidLabel
from ...errors import InvalidScope
from ...errors import ScopeAboveRole
from ...errors import ScopeAboveToken
from ...errors import TokenNotFound
from ...errors import UnsupportedBodyType
from ...errors import UserNotFound
from ...http.auth import caller_required
from ...http.auth import requires
from ..models import header
from ..spec import Answer
from ..spec import Body
from ..spec import operation
from ..v1.schemas import iso8601
from . import bp
from .bodies import read_object
from .bodies import whole_number
from .models import NewToken
from .models import NewTokenRequest
from .models import Token
from .models import TokenList
from .models import TokenQuery

LOCATION = header(type="string", format="uri")
NO_STORE = header(type="string", const="no-store")

TOKEN_FIELDS = ("label", "scopes", "days")
RULE = (
    "Needs a token with the `read` scope (every role's tokens may carry it) or the web session. Another user's "
    "tokens are an admin's, signed in to the web (a token, an admin's too, manages only its owner's)."
)
TOKEN_HINT = (
    "Send a JSON object such as {\"label\": \"backup script\", \"scopes\": [\"read\"], \"days\": 90} "
    "as Content-Type: application/json ('days' left out or null: the token does not expire)."
)


def token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "owner": token.user.username,
        "label": token.label,
        # Kept in a fixed order (read, upload, delete, metrics).
        "scopes": token.scopes.split(),
        "created_at": iso8601(token.created_at),
        "expires_at": iso8601(token.expires_at),
        "last_used_at": iso8601(token.last_used_at),
        "revoked_at": iso8601(token.revoked_at),
        "active": accounts.token_is_active(token),
        "links": {"self": url_for("api_v2.get_token", token_id=token.id, _external=True)},
    }


def _manages_everyone() -> bool:
    """Whether the caller may see and revoke every user's tokens: an admin, signed in (no token)."""
    return caller_required().may(Action.MANAGE_USERS)


def _owner_filter() -> str | None:
    """Whose tokens the caller may see and revoke by id: their own, or (None) everyone's when they manage users."""
    return None if _manages_everyone() else caller_required().username


@bp.get("/tokens")
@requires(Action.MANAGE_TOKENS)
@operation("The caller's API tokens (or, for an admin, another user's)", tags=["tokens"], query=TokenQuery,
           answers={200: Answer(TokenList, "The tokens.")}, errors=lambda: [UserNotFound("bob")],
           description=f"Oldest first, revoked and expired ones too (`active` false); never their values. {RULE}")
def list_tokens() -> Response:
    """The caller's tokens, oldest first, revoked and expired ones too; ``?user=NAME``: that user's (admins)."""
    caller = caller_required()
    name = request.args.get("user")
    if not name or accounts.username_key(name) == caller.user.username_key:
        name = caller.username
    else:
        check(caller, Action.MANAGE_USERS)
    return jsonify(items=[token_json(token) for token in accounts.list_tokens(name)])


@bp.post("/tokens")
@requires(Action.MANAGE_TOKENS)
@operation("Make an API token of the caller's; its value is in this answer only", tags=["tokens"],
           body=Body({"application/json": NewTokenRequest}),
           answers={201: Answer(NewToken, "Made: the token's JSON with its value `token`; `Location` is its URL.",
                                headers={"Location": LOCATION, "Cache-Control": NO_STORE})},
           errors=lambda: [InvalidScope(), ScopeAboveRole("alice", "viewer", "read"), ScopeAboveToken("read"),
                           InvalidExpiry(), InvalidLabel(255), InvalidInput(f"The body is not valid JSON. {TOKEN_HINT}"),
                           UnsupportedBodyType(f"The body must be application/json. {TOKEN_HINT}")],
           description="Scopes within what the caller's role allows, as on the account page. A token asking for a token "
           "gives none of the scopes it lacks, and one that expires no later than itself. Only the token's SHA-256 is "
           f"kept: `token` is shown here once. {TOKEN_HINT}")
def create_token() -> tuple[Response, int, dict[str, str]]:
    caller = caller_required()
    body = read_object("application/json", TOKEN_FIELDS, TOKEN_HINT)
    scopes = body.get("scopes")
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise InvalidScope()
    label = body.get("label")
    token, value = accounts.create_token(
        caller.username, scopes, label if label is not None else "", whole_number(body.get("days")),  # type: ignore[arg-type]
        within=caller.token,
    )
    made = {**token_json(token), "token": value}
    return jsonify(made), 201, {"Location": made["links"]["self"], "Cache-Control": "no-store"}


@bp.get("/tokens/<row_id:token_id>")
@requires(Action.MANAGE_TOKENS)
@operation("One token (never its value)", tags=["tokens"], answers={200: Answer(Token, "The token.")},
           errors=lambda: [TokenNotFound(7)], description=RULE)
def get_token(token_id: int) -> Response:
    return jsonify(token_json(accounts.get_token(token_id, owner=_owner_filter())))


@bp.delete("/tokens/<row_id:token_id>")
@requires(Action.MANAGE_TOKENS)
@operation("Revoke a token for good", tags=["tokens"], answers={204: Answer(description="Revoked.")},
           errors=lambda: [TokenNotFound(7)],
           description="It stops working at once and stays listed as revoked; revoking it again changes nothing. "
           "A token may revoke itself.")
def revoke_token(token_id: int) -> tuple[str, int]:
    """Revoked for good (the token's row stays, listed as revoked); revoking it again changes nothing."""
    accounts.revoke_token(token_id, owner=_owner_filter())
    return "", 204
