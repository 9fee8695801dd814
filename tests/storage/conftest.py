"""Every storage test that is about the protocol runs against both backends."""

from __future__ import annotations

import pytest

from portal.storage.local import LocalStorage
from portal.storage.s3 import S3Storage

#: Small parts, so multipart uploads are exercised without big files.
TEST_PART_SIZE = 5 * 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    url = request.getfixturevalue("s3_url")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    return S3Storage(bucket, prefix, part_size=TEST_PART_SIZE)


def pending_uploads(storage) -> list[str]:
    """Uploads begun and neither committed nor aborted: temporary files, or open multipart uploads."""
    if isinstance(storage, LocalStorage):
        return sorted(path.name for path in storage.incoming.iterdir())
    answer = storage.client.list_multipart_uploads(Bucket=storage.bucket, Prefix=storage.prefix + "/")
    return sorted(upload["Key"] for upload in answer.get("Uploads", []))
