"""Routes of /api/v2 for resumable uploads: v1's tus 1.0.0 server itself, under v2's names.

One implementation (:mod:`portal.api.v1.uploads`) serves both prefixes: the
views, the ``Tus-Resumable`` headers and the service behind them are v1's.
Under v2 the upload's ``Location`` is ``/api/v2/uploads/<id>``, a finished
upload names its video (``/api/v2/videos/<id>``) in ``Portal-Video-URL``, and
errors are problem details like every error under /api/v2/.
"""

from __future__ import annotations

from ..models import header
from ..v1 import uploads as v1
from . import bp

#: The header naming the video a finished upload became.
VIDEO_URL_HEADER = "Portal-Video-URL"

v1.FINISHED_LINKS[bp.name] = (VIDEO_URL_HEADER, "api_v2.get_video")
v1.FINISHED_LINK_DOCS[bp.name] = header("The finished upload's video (`GET /api/v2/videos/{video_id}`).")
bp.after_request(v1.tus_headers)
bp.add_url_rule("/uploads", "tus_options", v1.tus_options, methods=["OPTIONS"])
bp.add_url_rule("/uploads", "create_upload", v1.create_upload, methods=["POST"])
bp.add_url_rule("/uploads/<upload_id>", "upload_status", v1.upload_status, methods=["HEAD"])
bp.add_url_rule("/uploads/<upload_id>", "append_to_upload", v1.append_to_upload, methods=["PATCH"])
bp.add_url_rule("/uploads/<upload_id>", "delete_upload", v1.delete_upload, methods=["DELETE"])
