"""Bytes in a local folder.

An upload is written to a temporary file inside the storage folder (so the
final rename never crosses file systems), fsynced, then renamed into place and
the directory fsynced: after a crash a key holds either nothing or every byte.
Temporary files carry the writing process's id, so a process cleans up what a
dead one left without touching uploads another live process is writing.

A resumable upload appends to a part file of its own, ``.resumable/<id>.part``,
named by the upload rather than by a process: any process continues it, and
:meth:`LocalStorage.remove_leftovers` leaves it alone (its row says when it expires).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import shutil
import threading
import time
import uuid
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import BinaryIO
from typing import Collection
from typing import Iterator

from . import StorageFull

INCOMING = ".incoming"
#: The folder of the part files of resumable uploads.
RESUMABLE = ".resumable"
#: Seconds after which a part file that no unfinished upload names is a leftover.
ORPHAN_PART_AGE = 3600
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pid_is_alive(pid: int) -> bool:
    if pid == os.getpid():
        # A leftover under our own pid (a restarted container is pid 1 again)
        # cannot be an upload in progress: we have only just started.
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A process that has exited but not been reaped yet (a killed server's worker, say) writes nothing more."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


class LocalUpload:
    def __init__(self, temp_path: Path, final_path: Path) -> None:
        self.temp_path = temp_path
        self.final_path = final_path
        self._file: BinaryIO | None = open(temp_path, "xb")
        self.committed = False

    def write(self, data: bytes) -> int:
        assert self._file is not None, "upload already finished"
        try:
            return self._file.write(data)
        except OSError as error:
            self.abort()
            if error.errno in _FULL_ERRNOS:
                raise StorageFull(error.errno, "no space left in the storage folder") from error
            raise

    def commit(self) -> None:
        assert self._file is not None, "upload already finished"
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            self.final_path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.temp_path, self.final_path)
            _fsync_dir(self.final_path.parent)
        except OSError as error:
            self.abort()
            if error.errno in _FULL_ERRNOS:
                raise StorageFull(error.errno, "no space left in the storage folder") from error
            raise
        self.committed = True

    def abort(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except OSError:
                # Closing flushes what is buffered, which fails again on a full disk:
                # the bytes are being thrown away, so the file is just gone.
                pass
        if not self.committed:
            self.temp_path.unlink(missing_ok=True)


class LocalBatchUpload(LocalUpload):
    """An upload of a :class:`LocalBatch`: its commit closes the file, and the batch's flush makes it durable and visible."""

    def __init__(self, temp_path: Path, final_path: Path, batch: LocalBatch) -> None:
        super().__init__(temp_path, final_path)
        self._batch = batch

    def commit(self) -> None:
        assert self._file is not None, "upload already finished"
        try:
            self._file.close()
            self._file = None
        except OSError as error:
            self.abort()
            raise _storage_full(error) from error
        self.committed = True
        self._batch.committed(self.temp_path, self.final_path)


#: Bytes of committed uploads after which a :class:`LocalBatch` is due for a flush.
BATCH_BYTES = 256 * 1024 * 1024
#: Seconds after its first commit at which a :class:`LocalBatch` is due for a flush anyway.
BATCH_SECONDS = 1.0


class LocalBatch:
    """Uploads made durable by one sync of the file system, then renamed into place (see :class:`portal.storage.Batch`).

    Their temporary files carry the process's id like any upload's, so what a
    killed process left unflushed is removed as a leftover.
    """

    def __init__(self, storage: LocalStorage) -> None:
        self._storage = storage
        self._lock = threading.Lock()
        self._ready: list[tuple[Path, Path]] = []
        self._bytes = 0
        self._since: float | None = None

    def create(self, key: str) -> LocalBatchUpload:
        return LocalBatchUpload(self._storage.temporary_path(), self._storage.path(key), self)

    def committed(self, temp_path: Path, final_path: Path) -> None:
        with self._lock:
            self._ready.append((temp_path, final_path))
            self._bytes += temp_path.stat().st_size
            if self._since is None:
                self._since = time.monotonic()

    def due(self) -> bool:
        with self._lock:
            return self._bytes >= BATCH_BYTES or (self._since is not None and time.monotonic() - self._since >= BATCH_SECONDS)

    def flush(self) -> None:
        with self._lock:
            ready, self._ready, self._bytes, self._since = self._ready, [], 0, None
        if not ready:
            return
        try:
            # Every file in ``ready`` was closed before it was listed, so the sync covers all their bytes.
            _sync_file_system(self._storage.incoming, [temp for temp, _ in ready])
            for temp, final in ready:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, final)
            for folder in {final.parent for _, final in ready}:
                _fsync_dir(folder)
        except OSError as error:
            for temp, _ in ready:
                temp.unlink(missing_ok=True)
            raise _storage_full(error) from error

    def abort(self) -> None:
        with self._lock:
            ready, self._ready, self._bytes, self._since = self._ready, [], 0, None
        for temp, _ in ready:
            temp.unlink(missing_ok=True)


def _sync_file_system(folder: Path, paths: list[Path]) -> None:
    """Make the bytes of ``paths`` durable: syncfs(2) of ``folder``'s file system where there is one (Linux), else an fsync each.

    One syncfs costs one journal commit and one device flush for the whole
    batch; an fsync per file costs one of each per file, the price of the
    backups that took 0.13 of a ``cp``. It also writes back what other
    programs left dirty on that file system: what ``cp`` followed by ``sync`` pays too.
    """
    syncfs = getattr(_libc(), "syncfs", None)
    if syncfs is None:
        for path in paths:
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(descriptor) != 0:
            number = ctypes.get_errno()
            raise OSError(number, os.strerror(number))
    finally:
        os.close(descriptor)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _storage_full(error: OSError) -> OSError:
    if error.errno in _FULL_ERRNOS:
        return StorageFull(error.errno, "no space left in the storage folder")
    return error


class LocalResumableWrite:
    """A PATCH written in place after the kept bytes; :meth:`abort` cuts the file back to them."""

    def __init__(self, path: Path, offset: int) -> None:
        self.offset = offset
        self._file: BinaryIO | None = open(path, "r+b")
        # Bytes past the offset are from a write that was never kept (a process killed mid-PATCH).
        self._file.truncate(offset)
        self._file.seek(offset)

    def write(self, data: bytes) -> int:
        assert self._file is not None, "write already finished"
        try:
            return self._file.write(data)
        except OSError as error:
            self.abort()
            raise _storage_full(error) from error

    def keep(self, last: bool) -> str | None:
        assert self._file is not None, "write already finished"
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as error:
            self.abort()
            raise _storage_full(error) from error
        self._file.close()
        self._file = None
        return None

    def kept(self) -> None:
        """Nothing to forget: the part file is the whole state."""

    def abort(self) -> None:
        if self._file is not None:
            self._file.truncate(self.offset)
            self._file.close()
            self._file = None


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.incoming = self.root / INCOMING
        self.incoming.mkdir(parents=True, exist_ok=True)
        self.resumable = self.root / RESUMABLE

    def path(self, key: str) -> Path:
        """Where ``key`` lives; a key that would leave the folder is refused.

        Checked on the key's text, without asking the file system to resolve
        every folder on the way: this runs several times per download, and the
        keys are the portal's own (``original/ab/cd/<uuid>``, ``ab/cd/<uuid>``), so no link can be in them.
        """
        parts = key.split("/")
        if key.startswith("/") or "\\" in key or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"key {key!r} leaves the storage folder")
        return self.root.joinpath(*parts)

    def temporary_path(self) -> Path:
        """A new temporary file's name in the incoming folder, under this process's id."""
        return self.incoming / f"{os.getpid()}-{uuid.uuid4().hex}.part"

    def create(self, key: str) -> LocalUpload:
        return LocalUpload(self.temporary_path(), self.path(key))

    def batch(self) -> LocalBatch:
        return LocalBatch(self)

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def _part_file(self, upload_id: str) -> Path:
        uuid.UUID(upload_id)  # the portal's own ids only: nothing that could leave the folder
        return self.resumable / f"{upload_id}.part"

    def start_resumable(self, upload_id: str, key: str) -> str | None:
        self.path(key)
        self.resumable.mkdir(exist_ok=True)
        self._part_file(upload_id).touch(exist_ok=False)
        return None

    def resume(self, upload_id: str, key: str, state: str | None, offset: int) -> LocalResumableWrite:
        return LocalResumableWrite(self._part_file(upload_id), offset)

    def finish_resumable(self, upload_id: str, key: str, state: str | None) -> None:
        final_path = self.path(key)
        try:
            final_path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._part_file(upload_id), final_path)
            _fsync_dir(final_path.parent)
        except OSError as error:
            raise _storage_full(error) from error

    def drop_resumable(self, upload_id: str, key: str, state: str | None) -> None:
        self._part_file(upload_id).unlink(missing_ok=True)

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None

    def changed_at(self, key: str) -> datetime | None:
        """The inode's change time: any write, rename or restore moves it, and no
        one can set it back (unlike the modification time, which ``touch`` or a
        restore from backup may set to any moment)."""
        try:
            return datetime.fromtimestamp(self.path(key).stat().st_ctime, timezone.utc)
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        """Every stored file's key, the temporary and part files left out.

        Through ``os.walk`` (one ``scandir`` per folder) rather than ``Path.rglob``
        and a ``Path`` per file: a backup lists tens of thousands of objects.
        """
        root = str(self.root)
        for folder, folders, files in os.walk(root):
            folders[:] = [name for name in folders if name not in (INCOMING, RESUMABLE)]
            relative = os.path.relpath(folder, root)
            prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
            for name in files:
                if os.path.isfile(os.path.join(folder, name)):
                    yield prefix + name

    def remove_leftovers(self, resuming: Collection[str] = ()) -> int:
        """Temporary files of dead processes, and part files no unfinished upload names.

        A part file whose row is gone (its owner was deleted, or a process died between
        making the file and saving the row) is removed once it is an hour old: a younger
        one may belong to an upload whose row another process is saving just now.
        """
        removed = 0
        for path in self.incoming.glob("*.part"):
            pid_text = path.name.split("-", 1)[0]
            if pid_text.isdigit() and _pid_is_alive(int(pid_text)):
                continue
            path.unlink(missing_ok=True)
            removed += 1
        named = {key.rsplit("/", 1)[-1] for key in resuming}
        cutoff = time.time() - ORPHAN_PART_AGE
        for path in self.resumable.glob("*.part") if self.resumable.is_dir() else ():
            try:
                if path.stem in named or path.stat().st_mtime > cutoff:
                    continue
            except FileNotFoundError:
                continue
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def is_usable(self) -> bool:
        return self.incoming.is_dir() and os.access(self.incoming, os.W_OK | os.X_OK)

    def free_bytes(self) -> int | None:
        # The incoming folder is where every upload's bytes are first written, on the same file system as the rest.
        return shutil.disk_usage(self.incoming).free

    def close(self) -> None:
        """Nothing to close: every operation opens and closes its own files."""
