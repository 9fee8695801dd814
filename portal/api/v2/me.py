"""``GET /api/v2/me``: who the caller is, and how much of their quota they use."""

from __future__ import annotations

from flask import Response
from flask import jsonify

from ...http.auth import caller_required
from ...http.auth import signed_in
from ...uploads import quota
from . import bp


@bp.get("/me")
@signed_in
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
