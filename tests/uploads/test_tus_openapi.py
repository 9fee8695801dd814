"""A whole tus upload checked against the OpenAPI document: every answer's status, headers and body as documented."""

from __future__ import annotations

import pytest

from tests.api.test_v1_fuzz import admin_token  # noqa: F401  (fixtures of the fuzz test)
from tests.api.test_v1_fuzz import api_schema  # noqa: F401
from tests.support import minimal_mp4
from tests.uploads.tus import TUS
from tests.uploads.tus import chunk_headers
from tests.uploads.tus import creation
from tests.uploads.tus import sha256_hex

pytest.importorskip("schemathesis", reason="schemathesis is not installed (requirements-dev.txt)")


def header(response, name: str) -> str:
    """One header of a schemathesis response (its names are lower case, each with a list of values)."""
    return response.headers[name.lower()][0]


def test_a_tus_upload_answers_as_documented(api_schema, admin_token):  # noqa: F811
    bearer = {"Authorization": f"Bearer {admin_token}"}
    video = minimal_mp4()
    options = api_schema["/api/v1/uploads"]["OPTIONS"].Case()
    assert options.call_and_validate().status_code == 204
    create = api_schema["/api/v1/uploads"]["POST"].Case(headers=creation(len(video), filename="a.mp4", sha256=sha256_hex(video)))
    created = create.call_and_validate(headers=bearer)
    assert created.status_code == 201
    upload_id = header(created, "Location").rsplit("/", 1)[1]
    path = {"upload_id": upload_id}
    item = api_schema["/api/v1/uploads/{upload_id}"]
    head = item["HEAD"].Case(path_parameters=path, headers=TUS)
    assert header(head.call_and_validate(headers=bearer), "Upload-Offset") == "0"
    first = item["PATCH"].Case(
        path_parameters=path, headers=chunk_headers(0, checksum=video[:100]), body=video[:100],
        media_type="application/offset+octet-stream",
    )
    assert first.call_and_validate(headers=bearer).status_code == 204
    wrong = item["PATCH"].Case(
        path_parameters=path, headers=chunk_headers(0), body=video[100:], media_type="application/offset+octet-stream"
    )
    assert wrong.call_and_validate(headers=bearer).status_code == 409
    last = item["PATCH"].Case(
        path_parameters=path, headers=chunk_headers(100), body=video[100:], media_type="application/offset+octet-stream"
    )
    finished = last.call_and_validate(headers=bearer)
    assert finished.status_code == 204 and header(finished, "Portal-File-URL").endswith(upload_id)
    assert header(head.call_and_validate(headers=bearer), "Portal-File-URL") == header(finished, "Portal-File-URL")
    other = api_schema["/api/v1/uploads"]["POST"].Case(headers=creation(10)).call_and_validate(headers=bearer)
    cancel = item["DELETE"].Case(path_parameters={"upload_id": header(other, "Location").rsplit("/", 1)[1]}, headers=TUS)
    assert cancel.call_and_validate(headers=bearer).status_code == 204
