"""Several portal processes, one library: a shared PostgreSQL database and a shared bucket."""

from __future__ import annotations

import os
import sys

import pytest
import requests

from tests.databases import POSTGRES_URL
from tests.databases import postgres_schema
from tests.support import RunningPortal
from tests.support import minimal_mp4

pytestmark = [pytest.mark.server, pytest.mark.postgres, pytest.mark.s3]

@pytest.fixture
def replicas(tmp_path, s3_url, s3_server):
    """Two ``python wsgi.py`` processes on their own ports and data folders, sharing database and bucket."""
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server: set PORTAL_TEST_POSTGRES_URL (.ci/run starts one)")
    with postgres_schema(POSTGRES_URL) as database_url:
        env = {
            **s3_server.environment(),
            "PORTAL_SQLALCHEMY_DATABASE_URI": database_url,
            "PORTAL_STORAGE_URL": s3_url,
            "PORTAL_SECRET_KEY": "shared-by-every-replica",
        }
        first = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "first", env)
        try:
            second = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "second", env)
            try:
                yield first, second
            finally:
                second.stop()
        finally:
            first.stop()


def objects_under(s3_server, s3_url: str) -> list[str]:
    bucket, _, prefix = s3_url.removeprefix("s3://").partition("/")
    answer = s3_server.client().list_objects_v2(Bucket=bucket, Prefix=prefix + "/")
    return [item["Key"] for item in answer.get("Contents", [])]


def test_an_upload_through_one_process_is_listed_streamed_and_deleted_through_the_other(replicas, s3_server, s3_url):
    first, second = replicas
    assert first.port != second.port
    data = minimal_mp4(os.urandom(6 * 1024 * 1024))
    created = first.http.post(first.url + "/api/v1/files?filename=Shared Clip.mp4", data=data, timeout=60)
    assert created.status_code == 201
    body = created.json()
    assert [key.rsplit("/", 1)[-1] for key in objects_under(s3_server, s3_url)] == [body["id"]]

    listing = second.http.get(second.url + "/api/v1/files", params={"q": "shared clip"}, timeout=10).json()
    assert [item["id"] for item in listing["items"]] == [body["id"]]
    content_url = second.url + body["content_url"].removeprefix(first.url)
    whole = second.http.get(content_url, timeout=60)
    assert (whole.status_code, whole.content) == (200, data)
    tail = second.http.get(content_url, headers={"Range": "bytes=5000000-"}, timeout=60)
    assert (tail.status_code, tail.content) == (206, data[5000000:])
    assert second.http.post(second.url + f"/api/v1/files/{body['id']}/verify", timeout=60).json()["status"] == "ok"

    assert second.http.delete(second.url + f"/api/v1/files/{body['id']}", timeout=10).status_code == 204
    assert first.http.get(first.url + f"/api/v1/files/{body['id']}", timeout=10).status_code == 404
    assert first.http.get(first.url + "/api/v1/files", timeout=10).json()["total"] == 0
    assert [item["id"] for item in first.http.get(first.url + "/api/v1/trash", timeout=10).json()["items"]] == [body["id"]]
    assert first.http.delete(first.url + f"/api/v1/trash/{body['id']}", timeout=10).status_code == 204
    assert objects_under(s3_server, s3_url) == []
    for portal in replicas:
        assert requests.get(portal.url + "/healthz", timeout=10).json() == {"status": "ok"}
