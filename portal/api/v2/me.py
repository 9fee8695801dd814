"""``GET /api/v2/me``: who the caller is, and how much of their quota they use."""

from __future__ import annotations

from flask import Response
from flask import jsonify

from ...accounts import quota
from ...http.auth import caller_required
from ...http.auth import signed_in
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
    """Any signed-in caller, whatever the token's scopes: one's own account is always readable."""
    user = caller_required().user
    return jsonify(
        id=user.id,
        name=user.username,
        role=user.role,
        usage_bytes=quota.usage_of(user),
        quota_bytes=quota.quota_of(user),
        video_count=quota.video_count_of(user),
    )
