"""Upload intake: the stream an upload is written into, hashed and counted on its way to storage.

An :class:`IncomingFile` is where the multipart parser writes a file part, or
where a raw request body is copied: bytes go to a temporary upload in storage
while they are hashed and held to the size limit. Nothing is visible until the
library's service commits it; closing it before then throws the bytes away.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import IO
from typing import TYPE_CHECKING
from typing import BinaryIO

from flask import current_app

from ..accounts.models import User
from ..config import size_setting
from ..errors import BelowFreeSpaceFloor
from ..errors import ChecksumMismatch
from ..errors import InsufficientStorage
from ..errors import InvalidInput
from ..errors import NotAVideo
from ..errors import PortalError
from ..errors import QuotaExceeded
from ..errors import ServerStopping
from ..errors import UploadTooLarge
from ..library.formats import HEAD_SIZE
from ..library.models import StorageKind
from ..library.models import Video
from ..library.models import storage_key_for
from ..library.service import finish_upload
from ..metrics import count_upload
from ..storage import CHUNK_SIZE
from ..storage import StorageFull
from ..storage import Upload
from ..storage import current_storage
from .quota import room_for

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from .quota import Room

#: How an upload that failed with each error ended, as ``portal_uploads_total`` counts it; any
#: other failure (a refused form, an unreachable store or database) is "aborted".
OUTCOME_OF_ERROR: dict[type[PortalError], str] = {
    UploadTooLarge: "too_large",
    NotAVideo: "not_a_video",
    ChecksumMismatch: "checksum_mismatch",
    InsufficientStorage: "disk_full",
    BelowFreeSpaceFloor: "disk_full",
    QuotaExceeded: "over_quota",
}
#: An upload whose size was not declared has the free space checked again after each this many bytes.
SPACE_CHECK_EVERY = 16 * 1024 * 1024

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_CONTENT_DIGEST_SHA256 = re.compile(r"(?:^|,)\s*sha-256\s*=\s*:([^:]*):", re.IGNORECASE)


def upload_limit() -> int:
    """The largest file accepted, in bytes: the ``MAX_CONTENT_LENGTH`` setting."""
    return int(current_app.config["MAX_CONTENT_LENGTH"])


def min_free_bytes() -> int:
    """PORTAL_MIN_FREE_BYTES in bytes (0: no floor)."""
    return size_setting(current_app.config["MIN_FREE_BYTES"]) or 0


def check_free_space(size: int) -> None:
    """Refuse ``size`` more bytes that would leave the storage less free space than PORTAL_MIN_FREE_BYTES.

    A floor for everyone, so that one upload cannot fill the disk the database
    and the other uploads share; a store without a disk of its own (S3) has none.
    """
    floor = min_free_bytes()
    if floor <= 0:
        return
    free = current_storage().free_bytes()
    if free is not None and free - size < floor:
        raise BelowFreeSpaceFloor(free, floor, size)


def parse_sha256_hex(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not _SHA256_HEX.fullmatch(value.strip()):
        raise InvalidInput("The sha256 field must be 64 hexadecimal characters (the SHA-256 of the file).")
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
        raise InvalidInput("Content-Digest must carry sha-256=:<base64 of the 32-byte SHA-256>:.")
    return digest.hex()


#: Set by a stopping server (:mod:`portal.ops.lifecycle`) once its uploads have had their time:
#: every upload still being stored then fails at its next write or its commit, and its bytes are thrown away.
ABORT_UPLOADS = threading.Event()


class IncomingFile(io.RawIOBase, BinaryIO):
    """One upload on its way into storage: hashed, counted and held apart until finished.

    It is the stream the multipart parser writes a file part into, so a form
    upload is hashed while it arrives, with no second copy and no re-read.
    Closing it before :func:`finish_upload` committed it throws the bytes away.
    It is a ``BinaryIO`` (as typeshed's ``io.FileIO`` is), so the ``IO[bytes]``
    Werkzeug asks of the stream a file part is written into.
    """

    def __init__(
        self, video_id: str, storage_key: str, upload: Upload, limit: int, room: Room | None = None, declared: bool = False
    ) -> None:
        super().__init__()
        self.video_id = video_id
        #: Where the bytes appear on commit; the row names it.
        self.storage_key = storage_key
        self.size = 0
        self.head = b""
        self._upload = upload
        self._limit = limit
        #: The owner's room under their quota (None: unlimited), taken chunk by chunk.
        self._room = room
        #: Where the free space is looked at again; never, when the size was declared and checked up front.
        self._space_check_at = None if declared else SPACE_CHECK_EVERY
        self._digest = hashlib.sha256()
        self._finished = False
        #: How it ended, once known; counted when it closes (an upload closed without one was aborted).
        self._outcome: str | None = None

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: Buffer, /) -> int:
        # The parser writes bytes, which bytes() hands back as they are, without a copy.
        chunk = bytes(data)
        self._count(chunk)
        self._digest.update(chunk)
        return self._store(chunk)

    def copy_from(self, stream: IO[bytes], chunk_size: int = CHUNK_SIZE) -> None:
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
            raise self.failed(UploadTooLarge(self._limit))
        try:
            if self._room is not None:
                self._room.take(len(data), self.size)
            if self._space_check_at is not None and self.size >= self._space_check_at:
                self._space_check_at = self.size + SPACE_CHECK_EVERY
                check_free_space(0)
        except PortalError as error:
            self.discard()
            raise self.failed(error) from None
        if len(self.head) < HEAD_SIZE:
            self.head += bytes(data[: HEAD_SIZE - len(self.head)])

    def _store(self, data: bytes) -> int:
        self._unless_stopping()
        try:
            return self._upload.write(data)
        except StorageFull as error:
            self.discard()
            raise self.failed(InsufficientStorage()) from error

    def _unless_stopping(self) -> None:
        if ABORT_UPLOADS.is_set():
            self.discard()
            raise self.failed(ServerStopping())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # The multipart parser rewinds every part once it is written; the bytes
        # are not read back from here, so there is nothing to move.
        return 0

    def sha256(self) -> str:
        return self._digest.hexdigest()

    def confirm(self) -> None:
        self._unless_stopping()
        if self._room is not None:
            self._room.confirm(self.size)

    def commit(self) -> None:
        self.confirm()
        try:
            self._upload.commit()
        except StorageFull as error:
            raise self.failed(InsufficientStorage()) from error
        self._finished = True

    def failed(self, error: PortalError) -> PortalError:
        """Note that ``error`` ended this upload (the first error to do so names the outcome); ``error``."""
        if self._outcome is None:
            self._outcome = OUTCOME_OF_ERROR.get(type(error), "aborted")
        return error

    def stored(self) -> None:
        """Its row is committed: the upload is complete."""
        self._outcome = "stored"

    def discard(self) -> None:
        if not self._finished:
            self._finished = True
            self._upload.abort()

    def close(self) -> None:
        if not self.closed:
            count_upload(self._outcome or "aborted")
        self.discard()
        super().close()


def begin_upload(room: Room | None = None, declared: int | None = None, space: int | None = None) -> IncomingFile:
    """A new video's bytes go under its namespaced key (``original/ab/cd/<id>``).

    ``declared``: the file's size when the request says it (a raw body's
    Content-Length), refused at once, before anything is written, when it
    does not fit ``room`` (the owner's quota) or the free-space floor;
    ``space``: what to check the floor with otherwise (a whole form's length).
    Bytes of undeclared size are held to both as they arrive.
    """
    try:
        if room is not None and declared is not None:
            room.check(declared)
        check_free_space(declared if declared is not None else space or 0)
    except PortalError as error:
        count_upload(OUTCOME_OF_ERROR.get(type(error), "aborted"))
        raise
    video_id = str(uuid.uuid4())
    key = storage_key_for(video_id, StorageKind.ORIGINAL)
    return IncomingFile(
        video_id, key, current_storage().create(key), upload_limit(), room, declared=declared is not None or bool(space)
    )


def store_stream(
    stream: IO[bytes], filename: str | None, expected_sha256: list[str | None], owner: User, declared: int | None = None
) -> Video:
    """Store a raw request body (no multipart), read in chunks, held to the owner's quota.

    ``declared``: its Content-Length, when it has one; a body that would not fit is then refused unread.
    """
    incoming = begin_upload(room_for(owner), declared)
    try:
        incoming.copy_from(stream)
        return finish_upload(incoming, filename, expected_sha256, owner)
    finally:
        incoming.close()
