"""The request class of the portal."""

from __future__ import annotations

from typing import IO

from flask import Request

from . import videos


class PortalRequest(Request):
    """Streams each uploaded file part straight into storage, hashing it on the way.

    Werkzeug would spool every file part to a temporary file and leave the
    copying and hashing for later; here the part is written once, to where it
    will be kept. Parts that no view finishes are thrown away when the request
    closes its files.
    """

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return videos.begin_upload()  # type: ignore[return-value]
