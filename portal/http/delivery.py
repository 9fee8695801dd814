"""HTTP delivery of stored videos: conditional requests, byte ranges, safe headers.

Shared by the API's download and the web player. A complete (200) response is
sent through :func:`portal.library.integrity.verified_content`, a reader that
hashes on the way out, so a corrupt file never completes; whether a range is
hashed too is the library's decision
(:func:`~portal.library.integrity.range_needs_hashing`). Every body, hashed or
not, is handed to the server's ``wsgi.file_wrapper``: waitress then sends it
from its event loop, so a slow client holds no worker thread, and a player
seeks without reading the file.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from typing import BinaryIO
from typing import Iterable
from typing import Iterator
from urllib.parse import quote

from flask import Response
from flask import request
from werkzeug.datastructures import Range

from ..errors import PosterNotFound
from ..errors import RangeNotSatisfiable
from ..library import captions
from ..library.formats import VIDEO_TYPES
from ..library.integrity import StoredBytes
from ..library.integrity import VerifiedContent
from ..library.integrity import check_available
from ..library.integrity import open_content
from ..library.integrity import range_needs_hashing
from ..library.integrity import verified_content
from ..library.models import Caption
from ..library.models import Video
from ..library.models import as_utc
from ..library.service import open_poster
from ..storage import CHUNK_SIZE
from .errors import handle_portal_error

#: Headers that keep a stored file from ever being run as a page or script.
DOWNLOAD_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
}


#: A poster changes only when it is made again, and then its ETag does too. ``private``: whether
#: the caller may see it is decided per request, so no shared cache may keep it for others.
POSTER_CACHE_CONTROL = "private, max-age=86400"


def content_disposition(kind: str, filename: str) -> str:
    """``attachment``/``inline`` with an ASCII fallback and the RFC 6266 ``filename*`` form."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(char for char in fallback if char.isprintable() and char not in '"\\%')
    stem = fallback.rpartition(".")[0] if "." in fallback else fallback
    if not stem.strip():
        # Nothing of the name is ASCII ("видео.mp4" -> ".mp4"): keep just the extension.
        fallback = "video" + (fallback if fallback.startswith(".") else "")
    value = f'{kind}; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def _iter_range(content: BinaryIO, length: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    try:
        while length > 0:
            chunk = content.read(min(chunk_size, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        content.close()


#: ``bytes=-0``: a suffix of no bytes selects nothing, so it is unsatisfiable (RFC 9110, 14.1.1).
#: Werkzeug reads it as ``bytes=0-``, the whole file, so the header itself is checked.
_ZERO_SUFFIX = re.compile(r"\s*bytes\s*=\s*-0+\s*", re.IGNORECASE)


def _span(byte_range: Range, size: int) -> tuple[int, int] | None:
    """The ``(start, stop)`` of a single byte range, or None when it is unsatisfiable.

    A suffix longer than the file means the whole file (RFC 9110, 14.1.2), where
    Werkzeug would call it unsatisfiable.
    """
    start, stop = byte_range.ranges[0]
    if start < 0 and stop is None:
        return (max(size + start, 0), size) if size > 0 else None
    return byte_range.range_for_length(size)


def _range_matches_if_range(stored: StoredBytes) -> bool:
    """False when an ``If-Range`` condition fails, in which case the whole file is sent."""
    if_range = request.if_range
    if if_range.etag is not None:
        return if_range.etag == stored.sha256
    if if_range.date is not None:
        return as_utc(stored.video.created_at).replace(microsecond=0) <= if_range.date
    return True


def send_video(video: Video, disposition: str) -> Response:
    """Answer a GET or HEAD for the original bytes of ``video``."""
    return send_stored(StoredBytes.original(video), disposition)


def send_stored(stored: StoredBytes, disposition: str) -> Response:
    """Answer a GET or HEAD for ``stored`` (a video's original or its playable copy), whole or by range."""
    check_available(stored)
    content_type = stored.content_type if stored.content_type in VIDEO_TYPES else "application/octet-stream"
    headers = {
        "Content-Type": content_type,
        "Content-Disposition": content_disposition(disposition, _filename_of(stored)),
        "Accept-Ranges": "bytes",
        "Repr-Digest": "sha-256=:" + base64.b64encode(bytes.fromhex(stored.sha256)).decode() + ":",
        **DOWNLOAD_SECURITY_HEADERS,
    }
    response = Response(headers=headers)
    response.set_etag(stored.sha256)
    response.last_modified = as_utc(stored.video.created_at)
    if request.if_none_match.contains(stored.sha256):
        response.status_code = 304
        return response
    byte_range = request.range if request.range and _range_matches_if_range(stored) else None
    if byte_range is not None and byte_range.units == "bytes" and len(byte_range.ranges) == 1:
        return _send_range(stored, byte_range, response)
    response.content_length = stored.size
    if request.method == "HEAD":
        return response
    response.response = _file_body(verified_content(stored, open_content(stored)))
    response.direct_passthrough = True
    return response


def _file_body(reader: VerifiedContent) -> Iterable[bytes]:
    """``reader`` as the server's ``wsgi.file_wrapper``, which waitress sends from its event loop.

    Without one (the test client, another server), the reader is iterated in
    the request's thread instead. A WSGI middleware around the portal must
    hand the wrapper back to waitress untouched, or every download holds a
    worker thread again.
    """
    file_wrapper = request.environ.get("wsgi.file_wrapper")
    if file_wrapper is not None:
        return file_wrapper(reader, CHUNK_SIZE)
    return reader


def _filename_of(stored: StoredBytes) -> str:
    """The original's name; a copy's has the extension of its own type (``holiday.avi`` -> ``holiday.mp4``)."""
    filename = stored.video.filename
    if not stored.playable_copy:
        return filename
    stem = filename.rpartition(".")[0] or filename
    return stem + (".webm" if stored.content_type == "video/webm" else ".mp4")


def _send_range(stored: StoredBytes, byte_range: Range, response: Response) -> Response:
    """A 206 with one range of the file, or the 416 that says which ranges exist."""
    span = None if _ZERO_SUFFIX.fullmatch(request.headers.get("Range", "")) else _span(byte_range, stored.size)
    if span is None:
        refusal = handle_portal_error(RangeNotSatisfiable(stored.size))
        refusal.headers.update({"Accept-Ranges": "bytes", **DOWNLOAD_SECURITY_HEADERS})
        return refusal
    start, stop = span
    response.status_code = 206
    response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{stored.size}"
    response.content_length = stop - start
    if request.method == "HEAD":
        return response
    content = open_content(stored)
    response.direct_passthrough = True
    if range_needs_hashing(stored, start, stop):
        response.response = _file_body(verified_content(stored, content, record_success=True))
        return response
    content.seek(start)
    file_wrapper = request.environ.get("wsgi.file_wrapper")
    if file_wrapper is not None:
        # The server sends from the file itself, starting where it was seeked
        # to; PEP 3333 has it stop at Content-Length, so a range in the middle
        # of a file goes this fast path too, not through the worker thread.
        response.response = file_wrapper(content, CHUNK_SIZE)
    else:
        response.response = _iter_range(content, stop - start)
    return response


def send_poster(video: Video) -> Response:
    """Answer a GET for the poster of ``video``: a small JPEG, its SHA-256 as ETag, cacheable for a day."""
    if video.poster_sha256 is None:
        raise PosterNotFound()
    response = Response(headers={"Cache-Control": POSTER_CACHE_CONTROL, **DOWNLOAD_SECURITY_HEADERS})
    response.set_etag(video.poster_sha256)
    if request.if_none_match.contains(video.poster_sha256):
        response.status_code = 304
        return response
    with open_poster(video) as poster:
        # At most 640 pixels wide: tens of kilobytes, so read whole rather than streamed.
        response.set_data(poster.read())
    response.mimetype = "image/jpeg"
    return response


def send_caption(caption: Caption) -> Response:
    """Answer a GET for a caption: WebVTT checked against its SHA-256, which is its ETag; ``nosniff``, never a page."""
    response = Response(headers={"Cache-Control": "private, no-cache", **DOWNLOAD_SECURITY_HEADERS})
    response.set_etag(caption.sha256)
    if request.if_none_match.contains(caption.sha256):
        response.status_code = 304
        return response
    response.set_data(captions.read_caption(caption))
    response.headers["Content-Type"] = captions.CAPTION_CONTENT_TYPE
    return response
