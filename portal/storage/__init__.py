"""Where the bytes of videos live, behind a small interface.

The service decides *what* is stored (ids, checksums, rows); a storage backend
only knows how to keep bytes under a key safely. Writes go through an
:class:`Upload`: bytes become visible under their key only on
:meth:`Upload.commit`, and :meth:`Upload.abort` leaves nothing behind.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from typing import Collection
from typing import Iterator
from typing import Protocol
from urllib.parse import urlparse

from flask import Flask
from flask import current_app

#: Bytes moved per read when copying or hashing a stored file.
CHUNK_SIZE = 1024 * 1024
_EXTENSION = "portal.storage"


class PositionedReader(io.RawIOBase):
    """A readable, seekable stream of ``size`` bytes whose ``read`` starts at ``_position``.

    What waitress's ``wsgi.file_wrapper`` asks of a body it sends (``tell``,
    ``seek`` back after a partial send): one place for the S3 reader and the
    verifying reader of :mod:`portal.library.integrity`.
    """

    size: int
    _position: int = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position


class StorageFull(OSError):
    """The backend has no room for more bytes."""


class StorageUnavailable(OSError):
    """The backend cannot be reached, or refused a request: nothing was changed, try again later."""


class Upload(Protocol):
    def write(self, data: bytes) -> int: ...

    def commit(self) -> None:
        """Make the bytes durable and visible under the key."""

    def abort(self) -> None:
        """Forget the bytes written so far. Safe to call more than once."""


class ResumableWrite(Protocol):
    """One PATCH of a resumable upload: its bytes go after those kept so far, and count only once kept."""

    def write(self, data: bytes) -> int: ...

    def keep(self, last: bool) -> str | None:
        """Make the bytes written durable; return the backend's new state (to save in the upload's row).

        ``last``: these were the file's last bytes, so nothing may stay buffered.
        """

    def kept(self) -> None:
        """The new state is saved: forget what only the previous state needed."""

    def abort(self) -> None:
        """Forget this write's bytes; those kept before stay. Safe to call more than once."""


class Batch(Protocol):
    """Many new objects whose durability is paid once for all of them (a backup's copies).

    An upload created here is durable and visible only after :meth:`flush`:
    until then, its commit only says its bytes are all written. A local
    folder then makes the whole batch durable with one sync of its file system
    and renames every file into place, instead of an fsync, a rename and a
    folder fsync per object (each fsync forces a journal commit). A key never
    holds bytes that are not durable, so a crash or kill before a flush loses
    that batch's objects, never a damaged one under its key.
    """

    def create(self, key: str) -> Upload: ...

    def due(self) -> bool:
        """Whether enough bytes, or an old enough commit, wait for :meth:`flush`."""

    def flush(self) -> None:
        """Make every upload committed so far durable and visible under its key."""

    def abort(self) -> None:
        """Forget every upload committed but not flushed. Safe to call more than once."""


class ImmediateBatch:
    """A batch for a store whose every commit is durable already (S3 answers a PUT once it holds the object)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def create(self, key: str) -> Upload:
        return self._storage.create(key)

    def due(self) -> bool:
        return False

    def flush(self) -> None:
        """Nothing waits: each upload was durable on its commit."""

    def abort(self) -> None:
        """Nothing waits: each upload was durable on its commit."""


class Storage(Protocol):
    def create(self, key: str) -> Upload: ...

    def batch(self) -> Batch:
        """Uploads made durable together (see :class:`Batch`); thread-safe, for copies made in parallel."""

    def start_resumable(self, upload_id: str, key: str) -> str | None:
        """Begin a resumable upload whose bytes end up under ``key``; return its state (to save in its row)."""

    def resume(self, upload_id: str, key: str, state: str | None, offset: int) -> ResumableWrite:
        """Write on at ``offset``, the number of bytes kept so far; FileNotFoundError when the upload is gone."""

    def finish_resumable(self, upload_id: str, key: str, state: str | None) -> None:
        """Put every kept byte in place under ``key``, visible like a committed upload."""

    def drop_resumable(self, upload_id: str, key: str, state: str | None) -> None:
        """Remove the bytes of an unfinished resumable upload; nothing happens when they are gone."""

    def open(self, key: str) -> BinaryIO:
        """A seekable binary reader; raises FileNotFoundError when the key is gone."""

    def size(self, key: str) -> int | None:
        """The stored size in bytes, or None when the key is gone."""

    def changed_at(self, key: str) -> datetime | None:
        """When the bytes under ``key`` last changed, by the portal's own clock.

        None when the key is gone or the backend cannot tell for sure; the
        caller must then assume they may have changed at any time.
        """

    def delete(self, key: str) -> None:
        """Remove the key; nothing happens when it is already gone."""

    def keys(self) -> Iterator[str]: ...

    def remove_leftovers(self, resuming: Collection[str] = ()) -> int:
        """Remove what interrupted uploads of dead processes left; return how many.

        ``resuming``: the keys of unfinished resumable uploads, which are no leftovers
        (they wait for their next PATCH, or for expiry).
        """

    def is_usable(self) -> bool: ...

    def free_bytes(self) -> int | None:
        """Bytes still free where the objects are written; None for a store without such a limit (S3)."""

    def close(self) -> None:
        """Close connections to the backend (a forked process must not share them); reopened when next needed."""


def storage_from_url(url: str | None, data_dir: Path) -> Storage:
    """Build the backend named by ``STORAGE_URL`` (unset: ``<data_dir>/files``).

    ``s3://bucket/prefix`` keeps the bytes in an S3-compatible store; the
    endpoint and credentials come from boto3's own variables (see :mod:`.s3`).
    """
    from .local import LocalStorage

    if not url:
        return LocalStorage(data_dir / "files")
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStorage(Path(parsed.netloc + parsed.path))
    if parsed.scheme == "s3" and parsed.netloc:
        # Imported here so that a portal on local files never needs boto3.
        from .s3 import S3Storage

        return S3Storage(parsed.netloc, parsed.path)
    raise ValueError(f"PORTAL_STORAGE_URL must be file:///folder or s3://bucket/prefix (got {url!r})")


def bind_storage(app: Flask, storage: Storage) -> None:
    """Make ``storage`` the backend of ``app``: what :func:`current_storage` returns inside it."""
    app.extensions[_EXTENSION] = storage


def current_storage() -> Storage:
    """The backend of the application handling the current request or command."""
    return storage_of(current_app)


def storage_of(app: Flask) -> Storage:
    """The backend of ``app``, outside any application context (the server, start-up)."""
    storage: Storage = app.extensions[_EXTENSION]
    return storage
