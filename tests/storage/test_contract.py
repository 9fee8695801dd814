"""The storage protocol, checked on the local folder and on a real S3-compatible server alike."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc

import pytest
from waitress.buffers import ReadOnlyFileBasedBuffer

from tests.storage.conftest import TEST_PART_SIZE
from tests.storage.conftest import pending_uploads

MIB = 1024 * 1024


def store(storage, key: str, data: bytes) -> None:
    upload = storage.create(key)
    for start in range(0, len(data), MIB):
        upload.write(data[start : start + MIB])
    upload.commit()


def test_bytes_appear_under_the_key_only_on_commit(storage):
    upload = storage.create("ab/cd/key")
    upload.write(b"hello ")
    upload.write(b"world")
    assert storage.size("ab/cd/key") is None
    upload.commit()
    with storage.open("ab/cd/key") as content:
        assert content.read() == b"hello world"
    assert storage.size("ab/cd/key") == 11
    assert list(storage.keys()) == ["ab/cd/key"]
    assert pending_uploads(storage) == []


@pytest.mark.parametrize("size", [100, TEST_PART_SIZE + 100], ids=["one-request", "multipart"])
def test_abort_leaves_nothing(storage, size):
    upload = storage.create("ab/cd/key")
    upload.write(os.urandom(size))
    upload.abort()
    upload.abort()
    assert storage.size("ab/cd/key") is None
    assert list(storage.keys()) == []
    assert pending_uploads(storage) == []


def test_a_large_upload_streams_with_bounded_memory_and_reads_back_whole(storage):
    chunk = os.urandom(MIB)
    total = 40
    digest = hashlib.sha256()
    tracemalloc.start()
    try:
        upload = storage.create("big/file")
        for number in range(total):
            piece = number.to_bytes(4, "big") + chunk[4:]
            digest.update(piece)
            upload.write(piece)
        upload.commit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # At most a few parts in memory, never the whole file.
    assert peak < 4 * TEST_PART_SIZE < total * MIB
    assert storage.size("big/file") == total * MIB
    read_back = hashlib.sha256()
    with storage.open("big/file") as content:
        while data := content.read(3 * MIB):
            read_back.update(data)
    assert read_back.hexdigest() == digest.hexdigest()
    assert pending_uploads(storage) == []


def test_reads_seek_anywhere(storage):
    data = os.urandom(TEST_PART_SIZE + 1000)
    store(storage, "ranged", data)
    with storage.open("ranged") as content:
        assert content.seekable()
        content.seek(TEST_PART_SIZE - 10)
        assert content.read(20) == data[TEST_PART_SIZE - 10 : TEST_PART_SIZE + 10]
        content.seek(5)
        assert content.read(5) == data[5:10]
        assert content.tell() == 10
        content.seek(-3, io.SEEK_END)
        assert content.read(100) == data[-3:]
        assert content.read(100) == b""
        assert content.seek(0, io.SEEK_END) == len(data)


def test_waitress_file_wrapper_streams_a_range_to_the_end(storage):
    """waitress reads ahead, seeks back and reads again: the bytes it sends must be the file's."""
    data = os.urandom(3 * MIB + 123)
    store(storage, "wrapped", data)
    content = storage.open("wrapped")
    start = MIB + 7
    content.seek(start)
    wrapper = ReadOnlyFileBasedBuffer(content, 1024 * 1024)
    assert wrapper.prepare() == len(data) - start
    sent = bytearray()
    while wrapper.remain:
        peeked = wrapper.get(200_000)
        accepted = peeked[: len(peeked) // 2 + 1]
        sent += accepted
        wrapper.skip(len(accepted), True)
    content.close()
    assert bytes(sent) == data[start:]
    if hasattr(content, "requests"):
        assert content.requests == 1, "seeking back over bytes just read must not start a new request"


def test_open_of_a_missing_key_raises_file_not_found(storage):
    with pytest.raises(FileNotFoundError):
        storage.open("no/such/key")
    assert storage.size("no/such/key") is None


def test_delete_is_idempotent(storage):
    store(storage, "ab/cd/key", b"x")
    storage.delete("ab/cd/key")
    storage.delete("ab/cd/key")
    assert storage.size("ab/cd/key") is None
    assert list(storage.keys()) == []


def test_is_usable(storage):
    assert storage.is_usable()
