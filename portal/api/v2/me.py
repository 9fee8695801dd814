"""``GET /api/v2/me``: who the caller is, what their token may do, and how much of their quota they use."""

from __future__ import annotations

from flask import Response
from flask import jsonify

from ...http.auth import caller_required
from ...http.auth import signed_in
from ...uploads import quota
from ..spec import Answer
from ..spec import operation
from . import bp
from .models import Me


@bp.get("/me")
@signed_in
@operation("The caller, and how much of their quota they use", tags=["account"], operation_id="getMe",
           answers={200: Answer(Me, "The caller.")},
           description="Usage counts each of the caller's videos (their trash too, until purged) and the declared length "
           "of their resumable uploads in progress; an upload that would take it past `quota_bytes` is refused with 413 "
           "`quota_exceeded`. `quota_bytes` null: unlimited. Any token may read it.")
def me() -> Response:
    """Any signed-in caller, whatever the token's scopes: one's own account is always readable.

    ``scopes`` are a token's effective scopes (within the owner's role now);
    null for the web session, which may do all the role allows.
    """
    caller = caller_required()
    user = caller.user
    return jsonify(
        id=user.id,
        name=user.username,
        role=user.role,
        scopes=sorted(scope.value for scope in caller.scopes) if caller.token is not None else None,
        usage_bytes=quota.usage_of(user),
        quota_bytes=quota.quota_of(user),
        video_count=quota.video_count_of(user),
    )
