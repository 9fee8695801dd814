"""Routes of /api/v2 for share links: v1's views themselves, under v2's names.

The operations are v1's to the letter (body rules, answers), so v2 registers
the same view functions rather than a copy of them; their errors are problem
details here like every error under /api/v2/ (:mod:`portal.http.problems`
goes by the path).
"""

from __future__ import annotations

from ..v1 import shares as v1
from . import bp

bp.add_url_rule("/videos/<video_id>/shares", "create_share", v1.create_share, methods=["POST"])
bp.add_url_rule("/videos/<video_id>/shares", "list_shares", v1.list_shares, methods=["GET"])
bp.add_url_rule("/shares/<row_id:share_id>", "revoke_share", v1.revoke_share, methods=["DELETE"])
