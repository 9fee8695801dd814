"""Backups of the whole portal: a database snapshot and every stored object, incremental by SHA-256.

A destination (a local folder, or ``s3://bucket/prefix``) is reached through the
storage interface, so the local backend's atomic renames and the S3 backend's
checksummed PUTs protect a backup's files as they protect uploads. It holds:

- ``objects/<sha256>``: every object of every backup, once per content, so a
  second backup of an unchanged library copies nothing but the dump and its manifest;
- ``backups/<id>/database.sqlite`` (SQLite, through its online backup API) or
  ``backups/<id>/database.pgdump`` (PostgreSQL: ``pg_dump``'s custom format, in
  the snapshot the object list is read in, :mod:`portal.backup.postgres`): the
  database at one moment;
- ``backups/<id>/manifest.json``: what that moment holds, written last, so a
  backup without one (killed, disk full, store lost) is never listed, and
  running the command again continues (objects already there are skipped).

The set of objects is read from the snapshot's own rows, never from the live
database: every video in the backup has its bytes, and uploads that finish
later are simply not in it.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import sqlite3
import tempfile
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait
from contextlib import closing
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import Any
from typing import Iterator
from typing import cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import make_url

from ..extensions import db
from ..library.models import StorageKind
from ..library.models import storage_key_for
from ..storage import CHUNK_SIZE
from ..storage import Batch
from ..storage import Storage
from ..storage import current_storage
from ..storage import storage_from_url
from ..storage.copying import Outcome
from ..storage.copying import copy_object as transfer_object
from . import postgres
from .errors import BackupError
from .postgres import Rows

MANIFEST = "manifest.json"
#: The dump's file name in ``backups/<id>/``, per database dialect.
DUMPS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
FORMAT = 1


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    #: The video whose row names the object (None for an object of a backup, named by its content).
    video_id: str | None = None


def destination(url: str) -> Storage:
    """The storage a DEST names: ``s3://bucket/prefix``, ``file:///folder``, or a plain folder path."""
    if url.startswith(("s3://", "file://")):
        return storage_from_url(url, Path(current_app.config["DATA_DIR"]))
    from ..storage.local import LocalStorage

    return LocalStorage(Path(url))


def object_key(sha256: str) -> str:
    return f"objects/{sha256}"


def _dialect() -> str:
    """``sqlite`` or ``postgresql``: the database this portal works on (another is refused)."""
    name = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    if name not in DUMPS:
        raise BackupError(f"backups of a {name} database are not supported: only SQLite and PostgreSQL")
    return name


def _sqlite_path() -> Path:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if not url.database:
        raise BackupError("an in-memory SQLite database cannot be backed up: give it a file")
    return Path(url.database)


@contextmanager
def sqlite_rows(path: Path) -> Iterator[Rows]:
    """Rows of a SQLite file, in the shape :func:`objects_of_snapshot` and :func:`contents_of_snapshot` read."""
    with closing(sqlite3.connect(path)) as connection:
        yield lambda sql: [list(row) for row in connection.execute(sql).fetchall()]


def _copy_sqlite(source_path: str | Path, target_path: str | Path, durable: bool = True) -> None:
    """One SQLite database's pages into another, through SQLite's backup API.

    ``durable=False``: the target is a temporary file (a dump on its way into
    DEST, which makes its own copy durable), so SQLite need not fsync it.
    """
    source = sqlite3.connect(source_path)
    target = sqlite3.connect(target_path)
    try:
        if not durable:
            target.execute("PRAGMA synchronous = OFF")
        source.backup(target)
    finally:
        target.close()
        source.close()


def objects_of_snapshot(rows: Rows) -> list[StoredObject]:
    """Every object the snapshot's rows name: originals, playable copies, posters (sizes of posters are unknown), captions.

    An original shared by several videos is named once, by the first of them.
    """
    found = []
    listed: set[str] = set()
    videos = rows(
        "SELECT v.id, COALESCE(o.storage_key, v.storage_key), v.size, v.sha256, v.poster_sha256, v.playable_sha256, "
        "v.playable_size, v.poster_key, v.playable_key FROM videos v LEFT JOIN originals o ON o.sha256 = v.sha256 "
        "ORDER BY v.id"
    )
    for video_id, key, size, sha256, poster_sha256, playable_sha256, playable_size, poster_key, playable_key in videos:
        # Each object once, though several videos use it: their bytes, a poster or copy made once per content.
        if key not in listed:
            listed.add(key)
            found.append(StoredObject(key, size, sha256, video_id))
        if poster_sha256:
            poster_key = poster_key or storage_key_for(video_id, StorageKind.POSTER)
            if poster_key not in listed:
                listed.add(poster_key)
                found.append(StoredObject(poster_key, -1, poster_sha256, video_id))
        if playable_sha256:
            playable_key = playable_key or storage_key_for(video_id, StorageKind.PLAYABLE)
            if playable_key not in listed:
                listed.add(playable_key)
                found.append(StoredObject(
                    playable_key, playable_size if playable_size is not None else -1, playable_sha256, video_id))
    captions = rows("SELECT storage_key, size, sha256, video_id FROM captions ORDER BY storage_key")
    found.extend(StoredObject(key, size, sha256, video_id) for key, size, sha256, video_id in captions)
    return found


def contents_of_snapshot(rows: Rows) -> dict[str, Any]:
    """What a restore must bring back, to compare a drill with: users, tokens, videos, tags, trash, share links.

    As JSON has them (times as text, flags as booleans), so that the manifest's
    copy and a restored database's compare equal on either dialect.
    """
    contents = {
        "users": rows("SELECT id, username, role, disabled FROM users ORDER BY id"),
        "tokens": rows("SELECT id, user_id, token_hash, scopes, expires_at, revoked_at FROM api_tokens ORDER BY id"),
        "videos": rows(
            "SELECT id, filename, title, deleted_at IS NOT NULL, sha256, poster_sha256, playable_sha256 "
            "FROM videos ORDER BY id"
        ),
        "tags": rows("SELECT video_id, tag, position FROM video_tags ORDER BY video_id, position"),
        "share_links": rows("SELECT id, video_id, token_hash, expires_at, revoked_at FROM share_links ORDER BY id"),
        "captions": rows("SELECT video_id, language, label, sha256, source FROM captions ORDER BY video_id, language"),
    }
    parsed: dict[str, Any] = json.loads(json.dumps(contents, default=str))
    return parsed


def _schema_revision(rows: Rows) -> str | None:
    found = rows("SELECT version_num FROM alembic_version")
    return str(found[0][0]) if found else None


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _put_file(target: Storage, key: str, path: Path) -> str:
    """Store a file under ``key``; return its SHA-256, hashed on the way (the file is read once)."""
    digest = hashlib.sha256()
    upload = target.create(key)
    try:
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK_SIZE):
                digest.update(chunk)
                upload.write(chunk)
        upload.commit()
    except BaseException:
        upload.abort()
        raise
    return digest.hexdigest()


def _put_bytes(target: Storage, key: str, data: bytes) -> None:
    upload = target.create(key)
    try:
        upload.write(data)
        upload.commit()
    except BaseException:
        upload.abort()
        raise


#: Objects copied at once: reading, hashing (hashlib lets go of the GIL) and writing overlap, and S3 requests mostly wait.
COPY_THREADS = 4
#: Bytes read, hashed and written per step of a copy: large, so a big object costs few system calls.
COPY_BUFFER = 4 * 1024 * 1024
_buffers = threading.local()
#: Seconds at most between two questions whether the batch is due, even when no copy ends (one may wait on a slow source).
DUE_CHECK_SECONDS = 0.5


def _copy_buffer() -> memoryview:
    """This thread's copy buffer, made once: a new one per object would be zeroed for every poster."""
    buffer: memoryview | None = getattr(_buffers, "buffer", None)
    if buffer is None:
        buffer = _buffers.buffer = memoryview(bytearray(COPY_BUFFER))
    return buffer


def copy_object(source: Storage, item: StoredObject, batch: Batch, check_target: Storage | None) -> tuple[int, bool]:
    """Copy one object to ``objects/<sha256>`` in ``batch``; return (its size, whether it was copied).

    The bytes are read once, hashed as they are written, and committed only
    when they match the row: a backup never holds an object under a SHA-256
    it does not have. The copy is durable and visible once the batch is
    flushed. ``check_target``: the destination, when its listing had this key
    already (a copy an interrupted run flushed, after it was hashed): kept
    when its size is the row's. Runs in a copying thread: no application context.
    """
    key = object_key(item.sha256)
    if check_target is not None:
        there = check_target.size(key)
        if there is not None and (item.size < 0 or there == item.size):
            return there, False
    try:
        content = source.open(item.key)
    except FileNotFoundError:
        raise BackupError(f"{item.key} is named by a video but missing from the storage; run `verify`") from None
    buffer = _copy_buffer()
    digest = hashlib.sha256()
    copied = 0
    upload = batch.create(key)
    try:
        with content:
            while read := cast(io.RawIOBase, content).readinto(buffer) or 0:
                digest.update(buffer[:read])
                # Every upload copies what it is given (into a file, or a part's buffer): the view is safe to reuse.
                upload.write(cast(bytes, buffer[:read]))
                copied += read
        if (item.size >= 0 and copied != item.size) or digest.hexdigest() != item.sha256:
            upload.abort()
            raise BackupError(f"{item.key} does not match its SHA-256 in the storage; run `verify`")
        upload.commit()
    except BaseException:
        upload.abort()
        raise
    return copied, True


@dataclass
class Created:
    backup_id: str
    objects: int
    copied: int
    copied_bytes: int


def new_backup_id() -> str:
    """Sortable by time to the second, unique even for two backups in one second (ordered then by their manifests' time)."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


#: Snapshots taken at most by one ``backup create`` when videos of the earlier ones were deleted before their copy.
ATTEMPTS = 5


class _Vanished(BackupError):
    """A video of the snapshot was deleted, bytes and all, before its bytes were copied."""


def create_backup(dest: Storage) -> Created:
    """Snapshot the database, copy every object its rows name, then write the manifest last.

    A video deleted (purged) after the snapshot takes its bytes with it: the
    backup cannot hold that moment any more, so it starts again from a new
    snapshot, which no longer names it. What the first attempt copied is in
    ``dest`` already and is not copied again.
    """
    copied = Created("", 0, 0, 0)
    for _attempt in range(ATTEMPTS):
        try:
            return _create_once(dest, copied)
        except _Vanished as vanished:
            current_app.logger.info("backup: %s; starting again from a new snapshot", vanished.message)
    raise BackupError(
        f"videos were deleted faster than the backup could copy them ({ATTEMPTS} snapshots in a row lost one); "
        "run it again at a quieter moment"
    )


def _create_once(dest: Storage, copied: Created) -> Created:
    """One snapshot and its backup; ``copied`` counts what every attempt copied."""
    from .. import __version__

    backup_id = new_backup_id()
    dialect = _dialect()
    source = current_storage()
    with tempfile.TemporaryDirectory(prefix="portal-backup-") as folder:
        dump = Path(folder) / DUMPS[dialect]
        with _snapshot(dialect, dump) as (schema, rows):
            items = objects_of_snapshot(rows)
            revision = _schema_revision(rows)
            contents = contents_of_snapshot(rows)
        entries = _copy_objects(source, items, dest, copied)
        dump_sha256 = _put_file(dest, f"backups/{backup_id}/{dump.name}", dump)
        database: dict[str, Any] = {
            "file": dump.name, "dialect": dialect, "sha256": dump_sha256, "size": dump.stat().st_size,
        }
        if schema is not None:
            database["schema"] = schema
        manifest = {
            "format": FORMAT,
            "id": backup_id,
            "time": datetime.now(timezone.utc).isoformat(),
            "portal_version": __version__,
            "schema_revision": revision,
            "database": database,
            "objects": sorted(entries.values(), key=lambda entry: entry["key"]),
            "contents": contents,
            "secret": {
                "_note": "secret: whoever reads this can sign sessions and forms as the portal",
                "SECRET_KEY": current_app.config["SECRET_KEY"],
            },
        }
    # Without indentation, so that json's C encoder writes it: an indented manifest of 10,000 objects took a second.
    _put_bytes(dest, f"backups/{backup_id}/{MANIFEST}", json.dumps(manifest).encode())
    return Created(backup_id, len(entries), copied.copied, copied.copied_bytes)


def _copy_objects(source: Storage, items: list[StoredObject], dest: Storage, copied: Created) -> dict[str, dict[str, Any]]:
    """Every object of the snapshot in ``dest``: the manifest's entries, by key.

    An object the latest backup's manifest records, and which ``dest``'s
    listing holds, is trusted at that manifest's size and SHA-256 without
    being read (``backup verify`` is the full check): a second backup of an
    unchanged library costs one listing of ``dest`` and one manifest.

    The others are copied :data:`COPY_THREADS` at a time into one batch of
    ``dest``, flushed whenever it is due and once at the end: the manifest,
    written after this returns, is what makes a backup complete, so the
    objects must be durable before it, not one by one. An error (or a kill)
    loses at most the unflushed copies, never leaves a damaged object: what
    was flushed is skipped when the command runs again.
    """
    listing = set(dest.keys())
    recorded = {
        entry["sha256"]: entry["size"]
        for entry in _latest_manifest(dest, listing)["objects"]
        if object_key(entry["sha256"]) in listing
    }
    entries: dict[str, dict[str, Any]] = {}
    waiting: list[StoredObject] = []
    for item in items:
        size = recorded.get(item.sha256)
        if size is not None and (item.size < 0 or item.size == size):
            entries[item.key] = {"key": item.key, "size": size, "sha256": item.sha256}
        else:
            waiting.append(item)
    batch = dest.batch()
    queue = iter(waiting)
    running: dict[Future[tuple[int, bool]], StoredObject] = {}
    with ThreadPoolExecutor(COPY_THREADS, thread_name_prefix="backup-copy") as pool:
        try:
            while True:
                # A few copies in flight, not one future per object: waiting on thousands costs more than copying.
                for item in itertools.islice(queue, 2 * COPY_THREADS - len(running)):
                    present = dest if object_key(item.sha256) in listing else None
                    running[pool.submit(copy_object, source, item, batch, present)] = item
                if not running:
                    break
                done, _ = wait(running, timeout=DUE_CHECK_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    item = running.pop(future)
                    size, was_copied = _copied_or_vanished(future, item)
                    entries[item.key] = {"key": item.key, "size": size, "sha256": item.sha256}
                    copied.copied += was_copied
                    copied.copied_bytes += size if was_copied else 0
                if batch.due():
                    batch.flush()
        except BaseException:
            # What was copied and checked is kept for the next attempt; the copies still running end first.
            for future in running:
                future.cancel()
            pool.shutdown(wait=True)
            _flush_what_was_copied(batch)
            raise
    batch.flush()
    return entries


def _latest_manifest(dest: Storage, listing: set[str]) -> dict[str, Any]:
    """The manifest of the backup with the highest id (the newest, to the second), read alone; empty when there is none.

    Any complete backup's record is sound to trust; the newest names nearly
    every object the next one will. An object only older backups name is
    checked by its size in ``dest`` instead, and several kept backups cost
    one manifest read, not one each.
    """
    ids = [parts[1] for parts in (key.split("/") for key in listing)
           if len(parts) == 3 and parts[0] == "backups" and parts[2] == MANIFEST]
    return read_manifest(dest, max(ids)) if ids else {"objects": []}


def _flush_what_was_copied(batch: Batch) -> None:
    try:
        batch.flush()
    except OSError:
        batch.abort()


def _copied_or_vanished(future: Future[tuple[int, bool]], item: StoredObject) -> tuple[int, bool]:
    """A copy's outcome, telling a video deleted since the snapshot (:class:`_Vanished`) from a damaged store."""
    try:
        return future.result()
    except BackupError:
        if item.video_id is not None and not _video_exists(item.video_id):
            raise _Vanished(f"video {item.video_id} was deleted before {item.key} was copied") from None
        raise


def _video_exists(video_id: str) -> bool:
    try:
        return db.session.execute(sa.text("SELECT 1 FROM videos WHERE id = :id"), {"id": video_id}).first() is not None
    finally:
        db.session.rollback()


@contextmanager
def _snapshot(dialect: str, dump: Path) -> Iterator[tuple[str | None, Rows]]:
    """The database dumped into ``dump``; yield (PostgreSQL's schema, rows of the same moment as the dump)."""
    if dialect == "postgresql":
        with postgres.snapshot(db.engine, dump) as (schema, rows):
            yield schema, rows
        return
    # SQLite's online backup API: one consistent moment, writers go on; the rows are then read from the copy.
    _copy_sqlite(_sqlite_path(), dump, durable=False)
    with sqlite_rows(dump) as rows:
        yield None, rows


def manifests(dest: Storage) -> list[dict[str, Any]]:
    """Every complete backup in ``dest``, oldest first (one without its manifest is not one)."""
    found = []
    for key in dest.keys():
        parts = key.split("/")
        if len(parts) == 3 and parts[0] == "backups" and parts[2] == MANIFEST:
            found.append(read_manifest(dest, parts[1]))
    return sorted(found, key=_age)


def _age(manifest: dict[str, Any]) -> tuple[datetime, str]:
    """When a backup was made, to order backups by: its manifest's time, then its id.

    An id sorts by its second only, and two backups in one second have ids in
    the order of their random suffixes: by id alone, ``prune`` could keep the
    older one and ``restore`` take it for the latest.
    """
    made = datetime.fromisoformat(manifest["time"])
    return (made if made.tzinfo else made.replace(tzinfo=timezone.utc)), manifest["id"]


def read_manifest(dest: Storage, backup_id: str | None) -> dict[str, Any]:
    """The manifest of ``backup_id``, or of the latest backup."""
    if backup_id is None:
        every = manifests(dest)
        if not every:
            raise BackupError("there is no complete backup at this destination")
        return every[-1]
    try:
        with dest.open(f"backups/{backup_id}/{MANIFEST}") as content:
            manifest: dict[str, Any] = json.loads(content.read())
    except (FileNotFoundError, ValueError) as error:
        raise BackupError(f"no complete backup {backup_id} at this destination (see `backup list`)") from error
    return manifest


def _sha256_in(storage: Storage, key: str) -> tuple[int, str] | None:
    try:
        content = storage.open(key)
    except FileNotFoundError:
        return None
    digest = hashlib.sha256()
    size = 0
    with content:
        while chunk := content.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def verify_backup(dest: Storage, manifest: dict[str, Any]) -> Iterator[str]:
    """Say what is wrong with a backup: every object's size and SHA-256 against the manifest, the dump readable."""
    for entry in manifest["objects"]:
        found = _sha256_in(dest, object_key(entry["sha256"]))
        if found is None:
            yield f"missing: {entry['key']} (objects/{entry['sha256']})"
        elif found != (entry["size"], entry["sha256"]):
            yield f"corrupt: {entry['key']} (objects/{entry['sha256']}: {found[0]} bytes, sha256 {found[1]})"
    dump_key = f"backups/{manifest['id']}/{manifest['database']['file']}"
    with tempfile.TemporaryDirectory(prefix="portal-verify-") as folder:
        dump = Path(folder) / manifest["database"]["file"]
        if not _fetch(dest, dump_key, dump):
            yield f"missing: the database dump {dump_key}"
            return
        if _sha256_of_file(dump) != manifest["database"]["sha256"]:
            yield f"corrupt: the database dump {dump_key} does not match its SHA-256"
            return
        problem = postgres.check_dump(dump) if manifest["database"]["dialect"] == "postgresql" else _check_sqlite(dump)
        if problem:
            yield f"unreadable: the database dump {dump_key} ({problem})"


def _check_sqlite(path: Path) -> str | None:
    """What SQLite's integrity check finds wrong with a database file, or None."""
    try:
        with closing(sqlite3.connect(path)) as connection:
            (result,) = connection.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as error:
        return str(error)
    return None if result == "ok" else str(result)


def _fetch(storage: Storage, key: str, path: Path) -> bool:
    try:
        content = storage.open(key)
    except FileNotFoundError:
        return False
    with content, open(path, "wb") as file:
        while chunk := content.read(CHUNK_SIZE):
            file.write(chunk)
    return True


def prune(dest: Storage, keep: int) -> list[str]:
    """Remove all but the newest ``keep`` backups, then the objects no kept backup names; return the ids removed."""
    if keep < 1:
        raise BackupError("--keep must be 1 or more: pruning every backup would leave nothing to restore")
    every = manifests(dest)
    removed = every[:-keep]
    for manifest in removed:
        # The manifest first: a prune stopped half-way leaves an unlisted backup, never a listed one without its dump.
        dest.delete(f"backups/{manifest['id']}/{MANIFEST}")
        dest.delete(f"backups/{manifest['id']}/{manifest['database']['file']}")
    named = {object_key(entry["sha256"]) for manifest in every[-keep:] for entry in manifest["objects"]}
    for key in list(dest.keys()):
        if key.startswith("objects/") and key not in named:
            dest.delete(key)
    return [manifest["id"] for manifest in removed]


def _portal_is_empty(manifest: dict[str, Any]) -> list[str]:
    """What keeps a restore from starting: rows in the database, or stored objects the backup does not name."""
    problems = []
    tables = set(sa.inspect(db.engine).get_table_names())
    for table in sorted({"users", "videos", "api_tokens", "share_links"} & tables):
        count = db.session.execute(db.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
        if count:
            problems.append(f"the database is not empty ({count} rows in {table})")
    named = {entry["key"] for entry in manifest["objects"]}
    strays = [key for key in current_storage().keys() if key not in named]
    if strays:
        problems.append(f"the storage is not empty ({len(strays)} objects, e.g. {strays[0]})")
    return problems


def restore_backup(dest: Storage, manifest: dict[str, Any]) -> int:
    """Put a backup's objects, then its database, into this empty portal; return how many objects were restored.

    Objects first, checked against their SHA-256, then the database: until the
    last step the portal has no rows, so an interrupted restore never looks
    complete, and a rerun goes on (objects the backup names are not in the way).
    """
    dialect = _dialect()
    if manifest["database"]["dialect"] != dialect:
        raise BackupError(
            f"backup {manifest['id']} holds a {manifest['database']['dialect']} database and this portal works on "
            f"{dialect}: restore it into a portal on {manifest['database']['dialect']}"
        )
    problems = _portal_is_empty(manifest)
    if problems:
        raise BackupError("refusing to restore onto a portal that is in use: " + "; ".join(problems) +
                          ". Restore into an empty data folder and an empty database.")
    storage = current_storage()
    restored = 0
    for entry in manifest["objects"]:
        item = StoredObject(object_key(entry["sha256"]), entry["size"], entry["sha256"])
        if storage.size(entry["key"]) == entry["size"]:
            continue
        _restore_object(dest, item, storage, entry["key"])
        restored += 1
    with tempfile.TemporaryDirectory(prefix="portal-restore-") as folder:
        dump = Path(folder) / manifest["database"]["file"]
        if not _fetch(dest, f"backups/{manifest['id']}/{manifest['database']['file']}", dump):
            raise BackupError(f"the database dump of backup {manifest['id']} is missing; run `backup verify`")
        if _sha256_of_file(dump) != manifest["database"]["sha256"]:
            raise BackupError(f"the database dump of backup {manifest['id']} is corrupt; run `backup verify`")
        db.session.remove()
        db.engine.dispose()
        if dialect == "postgresql":
            postgres.restore(db.engine, dump, manifest["database"]["schema"])
        else:
            _copy_sqlite(dump, _sqlite_path())
    _restore_secret_key(manifest)
    from ..schema import upgrade_schema

    upgrade_schema(db.engine, str(Path(__file__).resolve().parent.parent / "migrations"))
    return restored


def _restore_object(dest: Storage, item: StoredObject, storage: Storage, key: str) -> None:
    # What an interrupted restore committed already was checked then: checked again, not copied again.
    _checked_copy(
        dest, item, storage, key, verify_existing=True,
        missing=f"{item.key} is missing from the backup; run `backup verify`",
        corrupt=f"{item.key} in the backup does not match its SHA-256; run `backup verify`",
    )


def _checked_copy(
    source: Storage, item: StoredObject, target: Storage, target_key: str, verify_existing: bool, missing: str, corrupt: str
) -> Outcome:
    """``item`` copied to ``target_key`` by :func:`portal.storage.copying.copy_object`; :class:`BackupError` when it cannot be."""
    size = item.size if item.size >= 0 else None
    outcome = transfer_object(source, item.key, target, target_key, size, item.sha256, verify_existing)
    if outcome is Outcome.MISSING:
        raise BackupError(missing)
    if outcome is Outcome.CORRUPT:
        raise BackupError(corrupt)
    return outcome


def _restore_secret_key(manifest: dict[str, Any]) -> None:
    """Sessions, forms and share links signed before the backup stay valid: the key file gets the backup's key."""
    path = Path(current_app.config["DATA_DIR"]) / "secret_key"
    temporary = path.with_suffix(".restoring")
    temporary.write_text(manifest["secret"]["SECRET_KEY"])
    temporary.chmod(0o600)
    temporary.replace(path)


def drill(dest: Storage, work: Path) -> list[str]:
    """Restore the latest backup into a throwaway portal under ``work`` and say what did not come back.

    The restored portal is verified (every object re-hashed against its row)
    and its rows compared with what the manifest recorded at backup time.
    """
    from .. import create_app
    from ..library.integrity import verify_all
    from ..library.models import VideoStatus

    manifest = read_manifest(dest, None)
    problems = list(verify_backup(dest, manifest))
    if problems:
        return problems
    with _throwaway_database(manifest, work) as database_url:
        throwaway = create_app({
            "DATA_DIR": str(work / "data"),
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": manifest["secret"]["SECRET_KEY"],
            "STORAGE_URL": None,
            "QUEUE_URL": None,
            "QUEUE_IMMEDIATE": False,
        })
        with throwaway.app_context():
            try:
                restore_backup(dest, manifest)
                for video in verify_all():
                    if video.status != VideoStatus.OK.value:
                        problems.append(f"{video.status}: video {video.id} {video.filename} after the restore")
                for entry in manifest["objects"]:
                    if _sha256_in(current_storage(), entry["key"]) != (entry["size"], entry["sha256"]):
                        problems.append(f"not byte-identical after the restore: {entry['key']}")
                db.session.remove()
                with db.engine.connect() as connection:
                    restored = contents_of_snapshot(lambda sql: [list(row) for row in connection.exec_driver_sql(sql)])
            finally:
                db.session.remove()
                db.engine.dispose()
    for part, rows in manifest["contents"].items():
        if restored.get(part) != rows:
            problems.append(f"{part} differ after the restore: {len(rows)} in the backup, {len(restored.get(part, []))} restored")
    return problems


@contextmanager
def _throwaway_database(manifest: dict[str, Any], work: Path) -> Iterator[str]:
    """A SQLite file under ``work``, or a new database on this portal's PostgreSQL server (dropped after)."""
    if manifest["database"]["dialect"] != "postgresql":
        yield f"sqlite:///{work / 'data' / 'portal.db'}"
        return
    if _dialect() != "postgresql":
        raise BackupError(
            f"backup {manifest['id']} holds a PostgreSQL database: run the drill from a portal on PostgreSQL, "
            "whose server gets the throwaway database"
        )
    with postgres.throwaway_database(current_app.config["SQLALCHEMY_DATABASE_URI"], manifest["database"]["schema"]) as url:
        yield url
