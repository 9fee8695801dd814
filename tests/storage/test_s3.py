"""The S3 backend against a real S3-compatible server: what only an object store has."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from portal.storage import StorageUnavailable
from portal.storage import s3
from portal.storage import storage_from_url
from portal.storage.s3 import S3Storage
from tests.storage.conftest import TEST_PART_SIZE
from tests.storage.conftest import pending_uploads
from tests.support import free_port


@pytest.fixture
def storage(s3_url):
    bucket, _, prefix = s3_url.removeprefix("s3://").partition("/")
    return S3Storage(bucket, prefix, part_size=TEST_PART_SIZE)


def unreachable_client():
    """A client of a port where nothing listens, trying once."""
    return boto3.session.Session().client(
        "s3", endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2),
    )


@pytest.fixture
def wrong_checksums(monkeypatch):
    """Announce the SHA-256 of other bytes than those sent, as a transfer that damaged them would."""
    real = s3._checksum
    monkeypatch.setattr(s3, "_checksum", lambda data: real(b"not " + bytes(data)))


def test_storage_url_names_bucket_and_prefix(s3_url, tmp_path):
    storage = storage_from_url("s3://some-bucket/library/videos/", Path(tmp_path))
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix) == ("some-bucket", "library/videos")
    assert storage.object_key("ab/cd/id") == "library/videos/ab/cd/id"


def test_every_request_carries_the_sha256_of_its_bytes(storage):
    sent = []
    storage.client.meta.events.register(
        "before-send.s3", lambda request, **_: sent.append(request.headers.get("x-amz-checksum-sha256"))
    )
    upload = storage.create("key")
    upload.write(os.urandom(TEST_PART_SIZE + 10))
    upload.commit()
    single = storage.create("small")
    single.write(b"small")
    single.commit()
    # create, part 1, part 2, complete; then the single PUT
    assert [header is not None for header in sent] == [False, True, True, False, True]


@pytest.mark.parametrize("size", [100, TEST_PART_SIZE + 100], ids=["one-request", "multipart"])
def test_the_store_rejects_bytes_that_do_not_match_their_checksum(storage, wrong_checksums, size):
    upload = storage.create("damaged")
    with pytest.raises(StorageUnavailable) as caught:
        upload.write(os.urandom(size))
        upload.commit()
    cause = caught.value.__cause__
    assert isinstance(cause, ClientError)
    assert cause.response["Error"]["Code"] == "BadDigest"
    assert storage.size("damaged") is None
    assert pending_uploads(storage) == []


def test_leftovers_are_aborted_only_once_they_are_stale(storage):
    interrupted = storage.create("interrupted")
    interrupted.write(os.urandom(TEST_PART_SIZE))
    assert pending_uploads(storage) == [storage.object_key("interrupted")]
    assert storage.remove_leftovers() == 0, "a young upload may be another process's, running"
    assert pending_uploads(storage) == [storage.object_key("interrupted")]
    storage.stale_after = timedelta(0)
    assert storage.remove_leftovers() == 1
    assert pending_uploads(storage) == []
    assert storage.size("interrupted") is None


def test_an_object_replaced_while_it_is_read_fails_the_read(storage, s3_server):
    first = os.urandom(2 * 1024 * 1024)
    upload = storage.create("replaced")
    upload.write(first)
    upload.commit()
    content = storage.open("replaced")
    assert content.read(1000) == first[:1000]
    s3_server.client().put_object(Bucket=storage.bucket, Key=storage.object_key("replaced"), Body=os.urandom(len(first)))
    content.seek(1024 * 1024)
    with pytest.raises(OSError):
        content.read(1000)
    content.close()


def test_keys_must_stay_inside_the_prefix(storage):
    for key in ("../other/key", "/absolute", ""):
        with pytest.raises(ValueError):
            storage.create(key)


def test_a_missing_bucket_is_not_usable(storage):
    assert not S3Storage("no-such-bucket-for-the-portal", client=storage.client).is_usable()


def test_an_unreachable_store_is_storage_unavailable_and_leaves_the_upload_abortable(storage):
    storage.client = unreachable_client()
    upload = storage.create("unreachable")
    with pytest.raises(StorageUnavailable):
        upload.write(b"x")
        upload.commit()
    for call in (lambda: storage.size("key"), lambda: storage.open("key"), lambda: storage.delete("key"),
                 lambda: list(storage.keys()), storage.remove_leftovers):
        with pytest.raises(StorageUnavailable):
            call()
    assert not storage.is_usable()
