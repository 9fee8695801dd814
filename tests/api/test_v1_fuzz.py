"""schemathesis against the portal in-process: every /api/v1 operation answers as its document says.

Each operation gets a bounded number of generated requests (valid and invalid
parameters, bodies and headers) through the WSGI app; every answer is checked
for server errors and against the document: status, content type, headers and
body schema. A second test sends requests that reach the success answers
(201, 200, 206, 304, 416, 204), which random bytes and random ids rarely do.
Both send an admin's token, as the document's bearer scheme asks; the generated
requests that leave it out or spoil it must get the documented 401.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck
from hypothesis import settings

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (requirements-dev.txt)")

from tests.helpers import signed_in_client  # noqa: E402
from tests.support import minimal_mp4  # noqa: E402  (after the skip when schemathesis is missing)

#: Generated requests per operation and phase: bounded, so the run stays well under a minute;
#: derandomized, so CI explores the same requests every time.
MAX_EXAMPLES = 100


# tus chunks are raw bytes under their own media type: sent as schemathesis sends any binary body.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

#: What schemathesis takes by default for a refused request, and for one missing a required header.
REJECTIONS = [400, 401, 403, 404, 405, 406, 409, 415, 422, 428, 429, "5xx"]
MISSING_HEADER = [400, 401, 403, 406, 415, 422]

#: A schema cannot say "the bytes are a video", so a schema-valid upload may still rightly be
#: refused: empty (400), not a video (415), not the stated checksum (422), too large (413).
CONFIG = {
    "operations": [
        {
            "include-operation-id": "uploadFile",
            "checks": {"positive_data_acceptance": {"expected-statuses": [201, 400, 413, 415, 422]}},
        },
        # tus answers a request without `Tus-Resumable: 1.0.0` with 412, as its protocol says.
        {
            "include-tag": "uploads",
            "checks": {
                "negative_data_rejection": {"expected-statuses": [*REJECTIONS, 412]},
                "missing_required_header": {"expected-statuses": [*MISSING_HEADER, 404, 412]},
            },
        },
        # A tus request is its headers: one the schema does not name is no reason to refuse it
        # (proxies and browsers add their own), so a creation with an unknown header is rightly served.
        # A first chunk longer than Upload-Length (400), or a whole file that is no video (415), is
        # schema-valid and rightly refused, as for uploadFile.
        {
            "include-operation-id": "createUpload",
            "checks": {
                "negative_data_rejection": {"enabled": False},
                "positive_data_acceptance": {"expected-statuses": [201, 400, 413, 415, 422]},
            },
        },
    ]
}


@pytest.fixture
def admin_token(app) -> str:
    """A token of every scope, whose owner may do everything: a refusal then is the request's fault.

    Its owner may also hold as many unfinished uploads as the fuzzer starts (it finishes none):
    with the default cap, every creation after the 20th would be the 429 of
    tests/uploads/test_open_uploads.py, and the rest of creation would go unfuzzed.
    """
    app.config["MAX_OPEN_UPLOADS"] = 1_000_000
    return signed_in_client(app).token


@pytest.fixture
def api_schema(app, admin_token):
    """The document the app serves, run against the app itself, with the admin's token.

    Loaded with ``from_dict`` rather than ``from_wsgi``, which leaves out the
    operation that serves the document, so that one is checked too. The token
    is given as the credentials of the document's bearer scheme, so the
    generated requests carry it, except those that test what happens without it.
    """
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    config = {**CONFIG, "auth": {"openapi": {"bearer": {"bearer": admin_token}}}}
    schema = schemathesis.openapi.from_dict(document, config=schemathesis.Config.from_dict(config))
    schema.app = app
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")
#: The operations on files here, the others in test_v1_fuzz_other_tags.py: two modules that two
#: workers run side by side (a module stays on one worker), about half the generated requests each.
FILES = "files"
#: What every generated request is run under.
FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@schema.include(tag=FILES).parametrize()
@FUZZ_SETTINGS
def test_every_operation_on_files_answers_as_documented(case):
    case.call_and_validate()


def test_successful_answers_match_the_document(app, api_schema, admin_token):
    """Cases made by hand get no credentials from the configuration: each call sends the token."""
    bearer = {"Authorization": f"Bearer {admin_token}"}
    video = minimal_mp4()
    digest = hashlib.sha256(video).hexdigest()
    upload = api_schema["/api/v1/files"]["POST"]

    created = upload.Case(media_type="multipart/form-data", body={"file": video, "sha256": digest})
    response = created.call_and_validate(headers=bearer)
    assert response.status_code == 201
    raw = upload.Case(media_type="application/octet-stream", body=video, query={"filename": "raw.mp4"})
    assert raw.call_and_validate(headers=bearer).status_code == 201
    video_id = response.json()["id"]
    path = {"video_id": video_id}

    listing = api_schema["/api/v1/files"]["GET"].Case(query={"q": "raw", "sort": "filename"})
    assert listing.call_and_validate(headers=bearer).json()["total"] == 1
    assert api_schema["/api/v1/files/{video_id}"]["GET"].Case(path_parameters=path).call_and_validate(headers=bearer).status_code == 200
    verify = api_schema["/api/v1/files/{video_id}/verify"]["POST"].Case(path_parameters=path)
    assert verify.call_and_validate(headers=bearer).json()["status"] == "ok"

    for method in ("GET", "HEAD"):
        content = api_schema["/api/v1/files/{video_id}/content"][method]
        answers = {
            200: {},
            206: {"Range": "bytes=0-1"},
            304: {"If-None-Match": f'"{digest}"'},
            416: {"Range": f"bytes={len(video)}-"},
        }
        for status, headers in answers.items():
            case = content.Case(path_parameters=path, headers=headers)
            assert case.call_and_validate(headers=bearer).status_code == status, (method, headers)

    # Nothing has processed the upload here: tests/media/test_posters.py checks the poster's 200 and 304.
    poster = api_schema["/api/v1/files/{video_id}/poster"]["GET"].Case(path_parameters=path)
    assert poster.call_and_validate(headers=bearer).json()["error"]["code"] == "poster_not_found"

    me = api_schema["/api/v1/me"]["GET"].Case().call_and_validate(headers=bearer).json()
    assert (me["username"], me["role"]) == ("tester", "admin")

    delete = api_schema["/api/v1/files/{video_id}"]["DELETE"].Case(path_parameters=path)
    assert delete.call_and_validate(headers=bearer).status_code == 204
