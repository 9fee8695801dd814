"""The local folder's side of resumable uploads: part files any process continues, never taken for leftovers."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from portal.storage.local import LocalStorage

KEY = "original/ab/cd/video"


@pytest.fixture
def storage(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


def test_a_part_file_is_no_leftover_and_no_stored_key(storage):
    upload_id = str(uuid.uuid4())
    storage.start_resumable(upload_id, KEY)
    write = storage.resume(upload_id, KEY, None, 0)
    write.write(b"kept bytes")
    write.keep(last=False)
    assert storage.remove_leftovers() == 0
    assert list(storage.keys()) == []
    assert (storage.root / ".resumable" / f"{upload_id}.part").read_bytes() == b"kept bytes"


def test_bytes_past_the_saved_offset_are_cut_before_the_next_write(storage):
    """A process killed mid-chunk leaves bytes its row never counted; the next chunk starts at the row's offset."""
    upload_id = str(uuid.uuid4())
    storage.start_resumable(upload_id, KEY)
    first = storage.resume(upload_id, KEY, None, 0)
    first.write(b"12345")
    first.keep(last=False)
    dying = storage.resume(upload_id, KEY, None, 5)
    dying.write(b"never counted")
    dying.keep(last=False)  # the bytes are on disk, but the row still says 5
    again = storage.resume(upload_id, KEY, None, 5)
    again.write(b"678")
    again.keep(last=True)
    storage.finish_resumable(upload_id, KEY, None)
    assert storage.path(KEY).read_bytes() == b"12345678"
    assert list(storage.keys()) == [KEY]


def test_an_aborted_write_keeps_what_was_kept_before(storage):
    upload_id = str(uuid.uuid4())
    storage.start_resumable(upload_id, KEY)
    first = storage.resume(upload_id, KEY, None, 0)
    first.write(b"abc")
    first.keep(last=False)
    second = storage.resume(upload_id, KEY, None, 3)
    second.write(b"damaged")
    second.abort()
    assert (storage.root / ".resumable" / f"{upload_id}.part").read_bytes() == b"abc"
    storage.drop_resumable(upload_id, KEY, None)
    assert not (storage.root / ".resumable" / f"{upload_id}.part").exists()
    with pytest.raises(FileNotFoundError):
        storage.resume(upload_id, KEY, None, 3)


def test_only_the_portals_own_ids_name_part_files(storage):
    with pytest.raises(ValueError):
        storage.start_resumable("../../etc/passwd", KEY)


def test_a_part_file_no_upload_names_is_removed_once_an_hour_old(storage):
    live, orphan, young = (str(uuid.uuid4()) for _ in range(3))
    for upload_id in (live, orphan, young):
        storage.start_resumable(upload_id, KEY)
    old = time.time() - 2 * 3600
    for upload_id in (live, orphan):
        os.utime(storage.root / ".resumable" / f"{upload_id}.part", (old, old))
    assert storage.remove_leftovers(resuming=[f"original/ab/cd/{live}", f"original/ab/cd/{young}"]) == 1
    assert sorted(path.stem for path in (storage.root / ".resumable").iterdir()) == sorted([live, young])
    assert storage.remove_leftovers(resuming=[f"original/ab/cd/{live}"]) == 0, "a young part file may be a row on its way"
