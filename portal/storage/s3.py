"""Bytes in an S3-compatible object store, through boto3.

Chosen by ``PORTAL_STORAGE_URL=s3://bucket/prefix``. The endpoint, region and
credentials are whatever boto3 finds by itself (``AWS_ENDPOINT_URL_S3`` or
``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, or a profile), so any S3-compatible store works by
configuration alone.

Writes hold at most one part in memory: a file smaller than a part is sent
with a single PUT, a larger one as a multipart upload. Every request carries
the SHA-256 of its bytes (``x-amz-checksum-sha256``), so the store itself
refuses bytes damaged on the way. An object appears under its key only when
the upload completes; an aborted upload leaves nothing.

A resumable upload is a multipart upload on the final key, started when the
upload is created and completed when its last byte is kept. S3 takes parts of
at least 5 MiB (all but the last), and a PATCH may bring fewer bytes: what does
not fill a part waits in a pending object (``.resumable/<upload id>/<offset>``,
never listed by :meth:`S3Storage.keys`) until the next PATCH, so nothing
between two PATCHes lives on a local disk and any process can continue. The
state saved in the upload's row names the multipart upload, its parts and the
pending object.

Reads stream from the store with ranged GETs pinned to the object's ETag, so
a seek costs one new request, and an object replaced while it is being read
fails the read instead of mixing two files.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import logging
import uuid
from contextlib import contextmanager
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any
from typing import BinaryIO
from typing import Collection
from typing import Iterator

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError

from . import ImmediateBatch
from . import PositionedReader
from . import StorageFull
from . import StorageUnavailable

log = logging.getLogger(__name__)

#: Bytes per part of a multipart upload (S3 wants at least 5 MiB for all but the last).
PART_SIZE = 8 * 1024 * 1024
#: Multipart uploads older than this are taken for leftovers of interrupted
#: uploads; younger ones may belong to a live upload of another process.
STALE_AFTER = timedelta(hours=24)
#: The folder (under the prefix) of the pending objects of resumable uploads.
RESUMABLE = ".resumable"
_NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}
_FULL = {"InsufficientStorage", "QuotaExceeded", "XMinioStorageFull"}


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def _talking_to_the_store(what: str) -> Iterator[None]:
    """Turn the store's refusals and network failures into the storage protocol's errors."""
    try:
        yield
    except ClientError as error:
        code = _error_code(error)
        if code in _FULL:
            raise StorageFull(errno.ENOSPC, "the object store has no space left") from error
        raise StorageUnavailable(f"{what}: the object store answered {code or 'an error'}") from error
    except BotoCoreError as error:
        raise StorageUnavailable(f"{what}: the object store cannot be reached ({error})") from error


def _checksum(data: bytes) -> str:
    """The value of ``x-amz-checksum-sha256``: the base64 of the SHA-256 of ``data``."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def make_client() -> Any:
    """An S3 client configured by boto3's own variables, with room for many concurrent downloads."""
    # An unreachable store fails a connection in seconds (botocore's default waits 60 s per try),
    # so that start-up and /healthz go on without it (portal.ops.readiness).
    config = Config(retries={"mode": "standard"}, max_pool_connections=64, connect_timeout=5)
    return boto3.session.Session().client("s3", config=config)


class _PartWriter:
    """Bytes on their way into a multipart upload: every full part is sent as soon as it is buffered.

    Shared by :class:`S3Upload` and :class:`S3ResumableWrite`, which differ in
    how a part is sent (:meth:`_send_part`) and what an abort removes.
    """

    storage: S3Storage
    key: str
    _buffer: bytearray
    _finished: bool

    def write(self, data: bytes) -> int:
        assert not self._finished, "write already finished"
        self._buffer += data
        while len(self._buffer) >= self.storage.part_size:
            part = bytes(self._buffer[: self.storage.part_size])
            del self._buffer[: self.storage.part_size]
            self._guarded(self._send_part, part)
        return len(data)

    def _guarded(self, action: Any, *args: Any) -> None:
        """Run one request; on any failure abort, so nothing is left in the store."""
        try:
            with _talking_to_the_store(f"storing {self.key}"):
                action(*args)
        except BaseException:
            self.abort()
            raise

    def _send_part(self, part: bytes) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


class S3Upload(_PartWriter):
    """One object on its way into the store: a single PUT, or a multipart upload past one part."""

    def __init__(self, storage: S3Storage, key: str) -> None:
        self.storage = storage
        self.key = key
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._finished = False

    def commit(self) -> None:
        assert not self._finished, "upload already finished"
        if self._upload_id is None:
            self._guarded(self._put_whole)
        else:
            if self._buffer:
                self._guarded(self._send_part, bytes(self._buffer))
            self._guarded(self._complete)
        self._buffer = bytearray()
        self._finished = True

    def abort(self) -> None:
        """Forget the upload. Best effort: it runs while another error is on its way up, and a
        multipart upload it cannot abort now is aborted later by :meth:`S3Storage.remove_leftovers`."""
        if self._finished:
            return
        self._finished = True
        self._buffer = bytearray()
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            try:
                self.storage.client.abort_multipart_upload(Bucket=self.storage.bucket, Key=self.key, UploadId=upload_id)
            except (BotoCoreError, ClientError) as error:
                if not isinstance(error, ClientError) or _error_code(error) != "NoSuchUpload":
                    log.warning("could not abort the multipart upload of %s now: %s", self.key, error)

    def _put_whole(self) -> None:
        body = bytes(self._buffer)
        self.storage.client.put_object(
            Bucket=self.storage.bucket, Key=self.key, Body=body, ChecksumSHA256=_checksum(body)
        )

    def _send_part(self, part: bytes) -> None:
        if self._upload_id is None:
            created = self.storage.client.create_multipart_upload(
                Bucket=self.storage.bucket, Key=self.key, ChecksumAlgorithm="SHA256"
            )
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        checksum = _checksum(part)
        answer = self.storage.client.upload_part(
            Bucket=self.storage.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number,
            Body=part, ChecksumSHA256=checksum,
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum})

    def _complete(self) -> None:
        self.storage.client.complete_multipart_upload(
            Bucket=self.storage.bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
        )
        self._upload_id = None


class S3ResumableWrite(_PartWriter):
    """A PATCH of a resumable upload: full parts go to the multipart upload, the rest to a new pending object.

    Holds at most one part in memory. The previous pending object is read first
    (its bytes start the next part) and deleted only once the new state is saved
    (:meth:`kept`); an aborted write leaves the saved state as it was: its parts
    are not in the state, and the next write uploads the same part numbers again.
    """

    def __init__(self, storage: S3Storage, upload_id: str, key: str, state: str | None, offset: int) -> None:
        self.storage = storage
        self.upload_id = upload_id
        self.key = key
        self.offset = offset
        self._state: dict[str, Any] = json.loads(state or "{}")
        self._parts: list[dict[str, Any]] = list(self._state.get("parts", []))
        self._old_pending: str | None = self._state.get("pending")
        self._new_pending: str | None = None
        self._buffer = bytearray()
        self._finished = False
        if "multipart" not in self._state:
            raise FileNotFoundError(f"no multipart upload for {key}")
        if self._old_pending is not None:
            with _talking_to_the_store(f"reading the pending bytes of {key}"):
                try:
                    answer = storage.client.get_object(Bucket=storage.bucket, Key=self._old_pending)
                except ClientError as error:
                    if _error_code(error) in _NOT_FOUND:
                        raise FileNotFoundError(f"the pending bytes of {key} are gone") from error
                    raise
                self._buffer += answer["Body"].read()

    def keep(self, last: bool) -> str | None:
        assert not self._finished, "write already finished"
        if self._buffer and last:
            self._guarded(self._send_part, bytes(self._buffer))
        elif self._buffer:
            self._guarded(self._put_pending, bytes(self._buffer))
        self._buffer = bytearray()
        self._finished = True
        return json.dumps({"multipart": self._state["multipart"], "parts": self._parts, "pending": self._new_pending})

    def kept(self) -> None:
        if self._old_pending is not None and self._old_pending != self._new_pending:
            self.storage.delete_object_quietly(self._old_pending)

    def abort(self) -> None:
        if self._finished and self._new_pending is None:
            return
        self._finished = True
        self._buffer = bytearray()
        if self._new_pending is not None:
            pending, self._new_pending = self._new_pending, None
            self.storage.delete_object_quietly(pending)

    def _send_part(self, part: bytes) -> None:
        number = len(self._parts) + 1
        checksum = _checksum(part)
        try:
            answer = self.storage.client.upload_part(
                Bucket=self.storage.bucket, Key=self.key, UploadId=self._state["multipart"], PartNumber=number,
                Body=part, ChecksumSHA256=checksum,
            )
        except ClientError as error:
            if _error_code(error) in _NOT_FOUND:
                raise FileNotFoundError(f"the multipart upload of {self.key} is gone") from error
            raise
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum})

    def _put_pending(self, piece: bytes) -> None:
        # A new name per write: the saved state keeps naming the previous object until this one is kept.
        name = self.storage.object_key(f"{RESUMABLE}/{self.upload_id}/{uuid.uuid4().hex}")
        self.storage.client.put_object(Bucket=self.storage.bucket, Key=name, Body=piece, ChecksumSHA256=_checksum(piece))
        self._new_pending = name


class S3Reader(PositionedReader, BinaryIO):
    """A seekable reader of one object that streams it with ranged GETs.

    A binary stream as :meth:`Storage.open <portal.storage.Storage.open>`
    promises (``BinaryIO``, as typeshed's ``io.FileIO`` is), with the methods
    of :class:`io.RawIOBase`.

    It keeps the bytes of the last read until the next one, because waitress's
    ``wsgi.file_wrapper`` reads ahead, seeks back and reads the same bytes
    again; any other seek starts a new GET at the new position, when the next
    read needs it.
    """

    def __init__(self, storage: S3Storage, key: str, size: int, etag: str) -> None:
        super().__init__()
        self.storage = storage
        self.key = key
        self.size = size
        self.etag = etag
        self.requests = 0
        self._position = 0
        self._window = b""
        self._window_start = 0
        self._body: Any = None

    def read(self, size: int = -1) -> bytes:
        remaining = self.size - self._position
        if remaining <= 0:
            return b""
        size = remaining if size is None or size < 0 else min(size, remaining)
        window_end = self._window_start + len(self._window)
        if not self._window_start <= self._position <= window_end:
            self._drop_stream()
            self._window, self._window_start = b"", self._position
        self._window = self._window[self._position - self._window_start :]
        self._window_start = self._position
        while len(self._window) < size:
            self._window += self._read_stream(size - len(self._window))
        data = self._window[:size]
        self._position += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._drop_stream()
        self._window = b""
        super().close()

    def _read_stream(self, size: int) -> bytes:
        """Read on from where the window ends; reconnect once if the store dropped the connection."""
        for attempt in (1, 2):
            try:
                chunk = self._stream().read(size)
            except (BotoCoreError, OSError):
                if attempt == 2:
                    raise
                self._drop_stream()
                continue
            if chunk:
                return chunk
            self._drop_stream()
        raise OSError(f"{self.key}: the object store ended the object early")

    def _stream(self) -> Any:
        if self._body is None:
            start = self._window_start + len(self._window)
            self.requests += 1
            try:
                answer = self.storage.client.get_object(
                    Bucket=self.storage.bucket, Key=self.storage.object_key(self.key),
                    Range=f"bytes={start}-{self.size - 1}", IfMatch=self.etag,
                )
            except ClientError as error:
                if _error_code(error) in _NOT_FOUND:
                    raise FileNotFoundError(f"{self.key} is gone from the object store") from error
                raise StorageUnavailable(f"reading {self.key}: the object store answered {_error_code(error)}") from error
            except BotoCoreError as error:
                raise StorageUnavailable(f"reading {self.key}: the object store cannot be reached ({error})") from error
            self._body = answer["Body"]
        return self._body

    def _drop_stream(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None


class S3Storage:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        client: Any = None,
        part_size: int = PART_SIZE,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client if client is not None else make_client()
        self.part_size = part_size
        self.stale_after = stale_after

    def object_key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"key {key!r} is not a plain relative key")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _list_prefix(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    def create(self, key: str) -> S3Upload:
        return S3Upload(self, self.object_key(key))

    def batch(self) -> ImmediateBatch:
        return ImmediateBatch(self)

    def _head(self, key: str) -> dict[str, Any] | None:
        with _talking_to_the_store(f"looking up {key}"):
            try:
                return self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
            except ClientError as error:
                if _error_code(error) in _NOT_FOUND:
                    return None
                raise

    def start_resumable(self, upload_id: str, key: str) -> str | None:
        with _talking_to_the_store(f"starting the upload of {key}"):
            created = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self.object_key(key), ChecksumAlgorithm="SHA256"
            )
        return json.dumps({"multipart": created["UploadId"], "parts": [], "pending": None})

    def resume(self, upload_id: str, key: str, state: str | None, offset: int) -> S3ResumableWrite:
        return S3ResumableWrite(self, upload_id, self.object_key(key), state, offset)

    def finish_resumable(self, upload_id: str, key: str, state: str | None) -> None:
        saved = json.loads(state or "{}")
        with _talking_to_the_store(f"storing {key}"):
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.object_key(key), UploadId=saved["multipart"],
                MultipartUpload={"Parts": saved["parts"]},
            )
        if saved.get("pending"):
            self.delete_object_quietly(saved["pending"])

    def drop_resumable(self, upload_id: str, key: str, state: str | None) -> None:
        saved = json.loads(state or "{}")
        if saved.get("pending"):
            self.delete_object_quietly(saved["pending"])
        if saved.get("multipart"):
            with _talking_to_the_store(f"removing the upload of {key}"):
                try:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=self.object_key(key), UploadId=saved["multipart"]
                    )
                except ClientError as error:
                    if _error_code(error) not in _NOT_FOUND:
                        raise

    def delete_object_quietly(self, object_key: str) -> None:
        """Delete an object by its full name; one that cannot be deleted now is logged, and its upload's expiry removes it."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=object_key)
        except (BotoCoreError, ClientError) as error:
            log.warning("could not delete %s now: %s", object_key, error)

    def open(self, key: str) -> S3Reader:
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(f"{key} is not in the object store")
        return S3Reader(self, key, int(head["ContentLength"]), head["ETag"])

    def size(self, key: str) -> int | None:
        head = self._head(key)
        return None if head is None else int(head["ContentLength"])

    def changed_at(self, key: str) -> datetime | None:
        """Unknown: an object's LastModified comes from the store's clock, which may
        disagree with the portal's, so it cannot prove that nothing changed since
        the portal last hashed the object."""
        return None

    def delete(self, key: str) -> None:
        with _talking_to_the_store(f"deleting {key}"):
            self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def keys(self) -> Iterator[str]:
        prefix = self._list_prefix()
        with _talking_to_the_store("listing the stored files"):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    key = item["Key"][len(prefix) :]
                    if not key.startswith(f"{RESUMABLE}/"):
                        yield key

    def remove_leftovers(self, resuming: Collection[str] = ()) -> int:
        """Abort multipart uploads of this prefix older than ``stale_after``, except those of unfinished resumable uploads.

        A store does not say which process started an upload, so age tells:
        younger uploads may still be running in another process or machine.
        A resumable upload may be older and still wait for its next PATCH.
        """
        kept = {self.object_key(key) for key in resuming}
        cutoff = datetime.now(timezone.utc) - self.stale_after
        removed = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        with _talking_to_the_store("removing leftover uploads"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._list_prefix()):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] > cutoff or upload["Key"] in kept:
                        continue
                    try:
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                    except ClientError as error:
                        if _error_code(error) != "NoSuchUpload":
                            raise
                    removed += 1
        return removed

    def free_bytes(self) -> int | None:
        """An object store has no disk of the portal's to fill: no free-space floor applies."""
        return None

    def is_usable(self) -> bool:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError):
            return False
        return True

    def close(self) -> None:
        # botocore's connection pools start empty again and refill on the next request.
        self.client.close()
