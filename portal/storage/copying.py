"""Copying a stored object to another key or another storage, hashed on the way: never a damaged copy.

The one copy of an object that every mover uses: moving a library between
backends (:mod:`portal.ops.transfer`), renaming its keys (:mod:`portal.ops.relayout`)
and backups (:mod:`portal.backup`). A copy is committed only when its SHA-256
(and size) match what the caller knows, and one already there is skipped.
"""

from __future__ import annotations

import enum
import hashlib

from . import Storage

CHUNK_SIZE = 1024 * 1024


class Outcome(str, enum.Enum):
    COPIED = "copied"
    PRESENT = "already there"
    CORRUPT = "corrupt"
    MISSING = "missing"


def sha256_of(storage: Storage, key: str) -> str | None:
    """The SHA-256 of the object under ``key``, hashed now; None when it is gone."""
    try:
        content = storage.open(key)
    except FileNotFoundError:
        return None
    digest = hashlib.sha256()
    with content:
        while chunk := content.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def copy_object(
    source: Storage,
    source_key: str,
    target: Storage,
    target_key: str,
    size: int | None,
    sha256: str,
    verify_existing: bool,
) -> Outcome:
    """Copy ``source_key`` to ``target_key`` unless the target has it (of ``size``, when known, and ``sha256`` if asked).

    Source and target may be one storage under two keys, which moves an
    object to another key with the same checks as a move between storages.
    """
    there = target.size(target_key)
    if (
        there is not None
        and (size is None or there == size)
        and (not verify_existing or sha256_of(target, target_key) == sha256)
    ):
        return Outcome.PRESENT
    try:
        content = source.open(source_key)
    except FileNotFoundError:
        return Outcome.MISSING
    upload = target.create(target_key)
    try:
        digest = hashlib.sha256()
        copied = 0
        with content:
            while chunk := content.read(CHUNK_SIZE):
                digest.update(chunk)
                copied += len(chunk)
                upload.write(chunk)
        if (size is not None and copied != size) or digest.hexdigest() != sha256:
            upload.abort()
            return Outcome.CORRUPT
        upload.commit()
    except BaseException:
        upload.abort()
        raise
    return Outcome.COPIED
