"""The service: every rule about videos lives here, for the web pages and the API alike.

Uploads are streamed: bytes are hashed and counted while they are written to a
temporary upload in storage; only when the file is known to be a complete,
acceptable video are the bytes committed, and only then is the row. Any
failure on the way aborts the upload, so no file and no row are left behind.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import unicodedata
import uuid
from collections import deque
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO
from typing import Iterator
from typing import Mapping

from flask import Flask
from flask import current_app
from sqlalchemy import func
from sqlalchemy.orm.attributes import set_committed_value

from . import media
from .errors import BadRequest
from .errors import ChecksumMismatch
from .errors import EmptyFile
from .errors import FileUnavailable
from .errors import InsufficientStorage
from .errors import NotAVideo
from .errors import UploadTooLarge
from .errors import VideoNotFound
from .extensions import db
from .models import Video
from .models import VideoStatus
from .models import as_utc
from .models import storage_key_for
from .models import utcnow
from .storage import Storage
from .storage import StorageFull
from .storage import StorageUnavailable
from .storage import Upload

#: Bytes moved per read when copying or hashing a stored file.
CHUNK_SIZE = 1024 * 1024
#: Chunks a verified download may read ahead of their hashing: 2 keeps the
#: hashing thread busy (1: 1.3 GB/s, 2 to 8: 1.7 GB/s for 1 GiB here) while
#: holding at most 2 MiB more per download.
HASH_AHEAD = 2
MAX_FILENAME_LENGTH = 255
MAX_QUERY_LENGTH = 200
MAX_PER_PAGE = 100
SORT_COLUMNS = {"created_at": Video.created_at, "filename": Video.search_name, "size": Video.size}

_ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_CONTENT_DIGEST_SHA256 = re.compile(r"(?:^|,)\s*sha-256\s*=\s*:([^:]*):", re.IGNORECASE)
# Invisible characters that reorder text: they make "evil\u202Egpj.mp4" look like "evilmp4.jpg".
_BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def storage() -> Storage:
    return current_app.extensions["portal.storage"]


def upload_limit() -> int:
    return int(current_app.config["MAX_CONTENT_LENGTH"])


# --- names and checksums -----------------------------------------------------


def clean_filename(name: str | None, content_type: str) -> str:
    """The client's name made safe to store and show.

    Only what cannot be part of a display name goes: any folder part, control
    and bidirectional-override characters, surrounding blanks and dots. Letters
    of every script stay (unlike ``secure_filename``, which turns ``видео.mp4``
    into ``mp4``). A name with nothing left becomes ``untitled.<ext>``.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        char for char in name if unicodedata.category(char) not in ("Cc", "Cs") and char not in _BIDI_CONTROLS
    )
    name = name.strip(" .\t")
    if not name:
        return "untitled" + media.EXTENSIONS.get(content_type, "")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: MAX_FILENAME_LENGTH - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:MAX_FILENAME_LENGTH]
    return name


def parse_sha256_hex(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not _SHA256_HEX.fullmatch(value.strip()):
        raise BadRequest("The sha256 field must be 64 hexadecimal characters (the SHA-256 of the file).")
    return value.strip().lower()


def parse_content_digest(header: str | None) -> str | None:
    """The SHA-256 in an RFC 9530 ``Content-Digest`` header, as hex; None when it names none."""
    if not header:
        return None
    match = _CONTENT_DIGEST_SHA256.search(header)
    if match is None:
        return None
    try:
        digest = base64.b64decode(match.group(1), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 32:
        raise BadRequest("Content-Digest must carry sha-256=:<base64 of the 32-byte SHA-256>:.")
    return digest.hex()


# --- uploads ----------------------------------------------------------------


class IncomingFile(io.RawIOBase):
    """One upload on its way into storage: hashed, counted and held apart until finished.

    It is the stream the multipart parser writes a file part into, so a form
    upload is hashed while it arrives, with no second copy and no re-read.
    Closing it before :func:`finish_upload` committed it throws the bytes away.
    """

    def __init__(self, video_id: str, upload: Upload, limit: int) -> None:
        super().__init__()
        self.video_id = video_id
        self.size = 0
        self.head = b""
        self._upload = upload
        self._limit = limit
        self._digest = hashlib.sha256()
        self._finished = False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._count(data)
        self._digest.update(data)
        return self._store(data)

    def copy_from(self, stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> None:
        """Write all of ``stream``, hashing each chunk in a helper thread while it is stored.

        hashlib and file writes both release the GIL, so on two cores an
        upload costs about the longer of the two instead of their sum.
        """
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-hash") as hasher:
            while chunk := stream.read(chunk_size):
                self._count(chunk)
                hashed = hasher.submit(self._digest.update, chunk)
                try:
                    self._store(chunk)
                finally:
                    hashed.result()

    def _count(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self._limit:
            self.discard()
            raise UploadTooLarge(self._limit)
        if len(self.head) < media.HEAD_SIZE:
            self.head += bytes(data[: media.HEAD_SIZE - len(self.head)])

    def _store(self, data: bytes) -> int:
        try:
            return self._upload.write(data)
        except StorageFull as error:
            self.discard()
            raise InsufficientStorage() from error

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # The multipart parser rewinds every part once it is written; the bytes
        # are not read back from here, so there is nothing to move.
        return 0

    def sha256(self) -> str:
        return self._digest.hexdigest()

    def commit(self) -> None:
        try:
            self._upload.commit()
        except StorageFull as error:
            raise InsufficientStorage() from error
        self._finished = True

    def discard(self) -> None:
        if not self._finished:
            self._finished = True
            self._upload.abort()

    def close(self) -> None:
        self.discard()
        super().close()


def begin_upload() -> IncomingFile:
    video_id = str(uuid.uuid4())
    return IncomingFile(video_id, storage().create(storage_key_for(video_id)), upload_limit())


def finish_upload(incoming: IncomingFile, filename: str | None, expected_sha256: list[str | None]) -> Video:
    """Check a fully received upload, then commit its bytes and its row, in that order."""
    try:
        if incoming.size == 0:
            raise EmptyFile()
        content_type = media.detect_video_type(incoming.head)
        if content_type is None:
            raise NotAVideo(f"This file is not a video this portal recognises. Accepted formats: {media.ACCEPTED_FORMATS}.")
        actual = incoming.sha256()
        for expected in expected_sha256:
            if expected is not None and expected != actual:
                raise ChecksumMismatch(
                    f"The file's SHA-256 is {actual} but {expected} was expected: it was damaged on the way. "
                    "Nothing was stored; send it again."
                )
        incoming.commit()
    finally:
        incoming.discard()
    clean_name = clean_filename(filename, content_type)
    video = Video(
        id=incoming.video_id,
        filename=clean_name,
        search_name=clean_name.casefold(),
        content_type=content_type,
        size=incoming.size,
        sha256=actual,
        status=VideoStatus.OK.value,
        created_at=utcnow(),
        verified_at=utcnow(),
    )
    try:
        db.session.add(video)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        storage().delete(video.storage_key)
        raise
    return video


def store_stream(stream: BinaryIO, filename: str | None, expected_sha256: list[str | None]) -> Video:
    """Store a raw request body (no multipart), read in chunks."""
    incoming = begin_upload()
    try:
        incoming.copy_from(stream)
        return finish_upload(incoming, filename, expected_sha256)
    finally:
        incoming.close()


# --- reading ----------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    page: int
    per_page: int
    query: str
    sort: str

    @classmethod
    def from_args(cls, args: Mapping[str, str], default_per_page: int = 20) -> Listing:
        """Validate listing parameters; anything off is a :class:`BadRequest` saying what to fix."""
        page = _positive_int(args.get("page"), "page", default=1)
        per_page = _positive_int(args.get("per_page"), "per_page", default=default_per_page)
        if per_page > MAX_PER_PAGE:
            raise BadRequest(f"per_page must be at most {MAX_PER_PAGE}.")
        query = args.get("q", "").strip()
        if len(query) > MAX_QUERY_LENGTH:
            raise BadRequest(f"The search text q must be at most {MAX_QUERY_LENGTH} characters.")
        sort = args.get("sort", "-created_at") or "-created_at"
        if sort.lstrip("-") not in SORT_COLUMNS or sort.count("-") > 1 or sort.startswith("--"):
            allowed = ", ".join(SORT_COLUMNS)
            raise BadRequest(f"sort must be one of {allowed}, optionally with a leading '-' for descending.")
        return cls(page=page, per_page=per_page, query=query, sort=sort)


@dataclass(frozen=True)
class Page:
    items: list[Video]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _positive_int(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 9 or int(value) < 1:
        raise BadRequest(f"{name} must be a whole number from 1 up (got {value[:20]!r}).")
    return int(value)


def list_videos(listing: Listing) -> Page:
    # No WHERE at all without a search: SQLite counts a whole table from its
    # b-tree in microseconds, but scans every row for "WHERE true".
    conditions = [Video.search_name.contains(listing.query.casefold(), autoescape=True)] if listing.query else []
    column = SORT_COLUMNS[listing.sort.lstrip("-")]
    descending = listing.sort.startswith("-")
    order = (column.desc(), Video.id.desc()) if descending else (column.asc(), Video.id.asc())
    total = db.session.scalar(db.select(func.count()).select_from(Video).where(*conditions)) or 0
    items = db.session.scalars(
        db.select(Video)
        .where(*conditions)
        .order_by(*order)
        .limit(listing.per_page)
        .offset((listing.page - 1) * listing.per_page)
    ).all()
    return Page(items=list(items), total=total, page=listing.page, per_page=listing.per_page)


def get_video(video_id: str) -> Video:
    if not _ID_PATTERN.fullmatch(video_id):
        raise VideoNotFound()
    video = db.session.get(Video, video_id)
    if video is None:
        raise VideoNotFound()
    return video


def _set_status(video: Video, status: VideoStatus) -> None:
    """Record what a look at the bytes found; an UPDATE, so it also works mid-download.

    No row to update means another request deleted the video meanwhile (which
    is also why its bytes were gone): that is :class:`VideoNotFound`, not a
    missing file.
    """
    now = utcnow()
    result = db.session.execute(db.update(Video).where(Video.id == video.id).values(status=status.value, verified_at=now))
    db.session.commit()
    if result.rowcount == 0:
        raise VideoNotFound()
    # Set as already saved: a pending change would be flushed by the next query,
    # opening a write transaction that blocks every other writer until the next commit.
    set_committed_value(video, "status", status.value)
    set_committed_value(video, "verified_at", now)


def check_available(video: Video) -> None:
    """Refuse a file known to be damaged, or whose bytes are gone or of the wrong size."""
    if video.status == VideoStatus.CORRUPT.value:
        raise FileUnavailable(
            f"The stored copy of {video.filename!r} does not match its SHA-256 checksum, so it is not served. "
            "Restore it from a backup or delete it."
        )
    stored_size = storage().size(video.storage_key)
    if stored_size is None:
        _set_status(video, VideoStatus.MISSING)
        raise FileUnavailable(f"The stored bytes of {video.filename!r} are missing. Restore them from a backup or delete it.")
    if stored_size != video.size:
        _set_status(video, VideoStatus.CORRUPT)
        raise FileUnavailable(
            f"The stored copy of {video.filename!r} has {stored_size} bytes instead of {video.size}, so it is not served."
        )
    if video.status == VideoStatus.MISSING.value:
        _set_status(video, VideoStatus.OK)


def open_content(video: Video) -> BinaryIO:
    """Open bytes that :func:`check_available` has just passed; they may still vanish in between."""
    try:
        return storage().open(video.storage_key)
    except FileNotFoundError:
        _set_status(video, VideoStatus.MISSING)
        raise FileUnavailable(f"The stored bytes of {video.filename!r} are missing.") from None


#: A file system's change times tick coarsely and may trail the portal's clock a
#: little: bytes that changed within this much of their last hashing count as
#: changed after it.
CHANGE_TIME_SLACK = timedelta(seconds=1)


def unchanged_since_verified(video: Video) -> bool:
    """True when the stored bytes provably have not changed since they last matched the checksum.

    Such a file can be sent straight from storage without hashing it again.
    Any write behind the portal's back (a flipped byte, a file swapped in, a
    restore) moves the change time past the verification, so the next send
    hashes it again; damage that leaves the change time alone (bit rot) is
    what ``flask --app wsgi verify`` is for.
    """
    if video.status != VideoStatus.OK.value or video.verified_at is None:
        return False
    changed = storage().changed_at(video.storage_key)
    return changed is not None and changed < as_utc(video.verified_at) - CHANGE_TIME_SLACK


class CorruptionDetected(Exception):
    """Raised mid-download: the bytes read do not match the stored checksum."""


def verified_chunks(
    video: Video, content: BinaryIO, chunk_size: int = CHUNK_SIZE, record_success: bool = False
) -> Iterator[bytes]:
    """Yield the whole file, holding back the last chunk until its SHA-256 is confirmed.

    When the bytes do not match, the file is marked corrupt and the iteration
    fails before the last chunk, so the response can never complete: the
    server breaks the connection short of the announced Content-Length. With
    ``record_success``, a match is recorded as a verification, so that later
    sends of the unchanged file may skip the hashing
    (:func:`unchanged_since_verified`).

    The server iterates after the request is over, so the outcome is recorded
    in an application context of its own, opened only for that moment.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return _hashed_chunks(app, video, content, chunk_size, record_success)


def _hashed_chunks(
    app: Flask, video: Video, content: BinaryIO, chunk_size: int, record_success: bool
) -> Iterator[bytes]:
    """The iteration behind :func:`verified_chunks`.

    This thread reads and sends; a helper thread hashes the very same chunks,
    strictly in order, up to ``HASH_AHEAD`` chunks behind the reading
    (hashlib releases the GIL), so hashing runs alongside reading and sending
    instead of between them.
    """
    digest = hashlib.sha256()
    held_back = b""
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-hash") as hasher:
            hashing: deque[Future[None]] = deque()
            while chunk := content.read(chunk_size):
                if len(hashing) >= HASH_AHEAD:
                    hashing.popleft().result()
                hashing.append(hasher.submit(digest.update, chunk))
                if held_back:
                    yield held_back
                held_back = chunk
            for pending in hashing:
                pending.result()
        if digest.hexdigest() != video.sha256:
            with app.app_context():
                _set_status(video, VideoStatus.CORRUPT)
                app.logger.error("video %s is corrupt: download stopped before the end", video.id)
            raise CorruptionDetected(video.id)
        if record_success:
            with app.app_context():
                try:
                    _set_status(video, VideoStatus.OK)
                except VideoNotFound:
                    pass  # deleted while it was being sent; the bytes sent were still right
        if held_back:
            yield held_back
    finally:
        content.close()


def verify(video: Video) -> Video:
    """Hash the stored bytes now and record what was found."""
    try:
        content = storage().open(video.storage_key)
    except FileNotFoundError:
        _set_status(video, VideoStatus.MISSING)
        return video
    digest = hashlib.sha256()
    with content:
        while chunk := content.read(CHUNK_SIZE):
            digest.update(chunk)
    matches = digest.hexdigest() == video.sha256
    _set_status(video, VideoStatus.OK if matches else VideoStatus.CORRUPT)
    return video


def stray_keys() -> list[str]:
    """Stored files that no row describes.

    A process killed between putting an upload's bytes in place and saving its
    row leaves one. They are reported, never removed automatically: after a
    database is restored from an older backup, the same check would name
    files that are worth keeping.
    """
    described = {storage_key_for(video_id) for video_id in db.session.scalars(db.select(Video.id))}
    return sorted(key for key in storage().keys() if key not in described)


def verify_all() -> Iterator[Video]:
    ids = db.session.scalars(db.select(Video.id).order_by(Video.created_at)).all()
    for video_id in ids:
        video = db.session.get(Video, video_id)
        if video is None:
            continue
        try:
            checked = verify(video)
        except VideoNotFound:
            continue  # deleted while being checked
        yield checked


# --- deleting ---------------------------------------------------------------


def delete_video(video: Video) -> None:
    """Remove the row, then the bytes: a failure in between leaves stray bytes, never a row without them.

    Once the row is gone the video is deleted, so a store that cannot be
    reached just then is logged rather than reported as a failed delete.
    """
    key = video.storage_key
    db.session.delete(video)
    db.session.commit()
    try:
        storage().delete(key)
    except StorageUnavailable as error:
        current_app.logger.warning("video %s deleted, but its bytes stay behind under %s: %s", video.id, key, error)
