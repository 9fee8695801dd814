"""The request class of the portal."""

from __future__ import annotations

from typing import IO

from flask import Request

from . import videos
from .uploads import MULTIPART_ALLOWANCE


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

    @property
    def max_content_length(self) -> int | None:
        """A multipart body may exceed the file limit by its boundaries and small fields.

        The file itself is held to the limit while it streams in (by
        :class:`portal.videos.IncomingFile`), so a browser form carrying a file
        of exactly the limit is accepted, as it is by the API. This must hold
        before any view runs, because the CSRF check parses the form first.
        """
        limit = super().max_content_length
        if self._max_content_length is None and limit is not None and self.mimetype == "multipart/form-data":
            return limit + MULTIPART_ALLOWANCE
        return limit

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value
