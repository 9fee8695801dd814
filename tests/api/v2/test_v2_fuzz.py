"""schemathesis against /api/v2 in-process: every operation answers as its document says.

As v1's (tests/api/test_v1_fuzz.py): a bounded, derandomized number of
generated requests per operation through the WSGI app, each answer checked for
server errors and against the document (status, content type, headers, body
schema); then requests made by hand that reach the success answers.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck
from hypothesis import settings

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (requirements-dev.txt)")

from tests.api.test_v1_fuzz import MISSING_HEADER  # noqa: E402
from tests.api.test_v1_fuzz import REJECTIONS  # noqa: E402
from tests.helpers import signed_in_client  # noqa: E402
from tests.support import minimal_mp4  # noqa: E402  (after the skip when schemathesis is missing)

MAX_EXAMPLES = 60


def _accepting(operation_id: str, *statuses: int) -> dict:
    return {"include-operation-id": operation_id, "checks": {"positive_data_acceptance": {"expected-statuses": list(statuses)}}}


#: A schema cannot say "the bytes are a video", "the cursor is one this portal signed" or "the ETag is the
#: current one", so schema-valid requests may still rightly be refused with these. What a schema can say,
#: the document does (control characters in `q`, `tag`, `owner`, a title or tags; `If-Match: *`), so no
#: status is allowed here for it: the listings are checked again without their cursor, wanting 200 alone.
CONFIG = {
    "operations": [
        _accepting("uploadVideo", 201, 400, 413, 415, 422),
        _accepting("listVideos", 200, 400),
        _accepting("listTrash", 200, 400),
        _accepting("editVideo", 200, 404, 412),
        _accepting("putCaption", 200, 201, 400, 404, 412, 413, 422, 428),
        _accepting("deleteCaption", 204, 404, 412, 428),
        _accepting("getCaption", 200, 304, 404),
        _accepting("listCaptions", 200, 404),
        # A token may revoke itself: the fuzzer's own (test_revoking_tokens_answers_as_documented), after which
        # it is refused (401).
        _accepting("revokeToken", 204, 401, 404),
        _accepting("getToken", 200, 404),
        # A scope above the role or the token.
        _accepting("createToken", 201, 400),
        # Another user's tokens are an admin's signed in (403 with the fuzzer's token), or nobody's (404).
        _accepting("listTokens", 200, 403, 404),
        # Users are an admin's signed in to the web: the session's cookie is given for their scheme, without the
        # CSRF header a change needs (400); the changes are made in test_account_and_upload_answers_match_the_document
        # and tests/api/v2/test_v2_account.py.
        _accepting("listUsers", 200),
        _accepting("getUser", 200, 404),
        _accepting("createUser", 400),
        _accepting("changeUser", 400, 404),
        # v1's tus server: 412 without `Tus-Resumable: 1.0.0`, as its protocol says; a creation's first chunk
        # past Upload-Length (400), or a whole file that is no video (415), is schema-valid and rightly refused.
        {
            "include-tag": "uploads",
            "checks": {
                "negative_data_rejection": {"expected-statuses": [*REJECTIONS, 412]},
                "missing_required_header": {"expected-statuses": [*MISSING_HEADER, 404, 412]},
            },
        },
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
def admin(app):
    """As v1's fuzz: the fuzzer's tus creations, which it never finishes, are not capped."""
    app.config["MAX_OPEN_UPLOADS"] = 1_000_000
    return signed_in_client(app)


@pytest.fixture
def admin_token(admin) -> str:
    return admin.token


@pytest.fixture
def api_schema(app, admin):
    """The document against the app: the admin's token for the bearer scheme, their session's cookie for the other."""
    document = app.test_client().get("/api/v2/openapi.json").get_json()
    session = admin.get_cookie("session")
    assert session is not None
    auth = {"bearer": {"bearer": admin.token}, "session": {"api_key": session.value}}
    schema = schemathesis.openapi.from_dict(document, config=schemathesis.Config.from_dict({**CONFIG, "auth": {"openapi": auth}}))
    schema.app = app
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")
#: Revoking may revoke the fuzzer's own token, which every other operation needs: run in a test (an app) of its own.
SELF_REVOKING = "revokeToken"

LISTINGS = ("listVideos", "listTrash")


@pytest.fixture
def listing_schema(app, admin_token, api_schema):
    """The document's listings without their ``cursor``: every other parameter the schema allows must give 200."""
    document = app.test_client().get("/api/v2/openapi.json").get_json()
    paths = {}
    for path in ("/api/v2/videos", "/api/v2/trash"):
        operation = document["paths"][path]["get"]
        assert operation["operationId"] in LISTINGS
        operation["parameters"] = [parameter for parameter in operation["parameters"] if parameter["name"] != "cursor"]
        paths[path] = document["paths"][path]
    document["paths"] = paths
    config = {
        "operations": [_accepting(operation_id, 200) for operation_id in LISTINGS],
        "auth": {"openapi": {"bearer": {"bearer": admin_token}}},
    }
    listings = schemathesis.openapi.from_dict(document, config=schemathesis.Config.from_dict(config))
    listings.app = app
    return listings


listings = schemathesis.pytest.from_fixture("listing_schema").include(operation_id=list(LISTINGS))


@schema.exclude(operation_id=SELF_REVOKING).parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_documented(case):
    case.call_and_validate()


@schema.include(operation_id=SELF_REVOKING).parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_revoking_tokens_answers_as_documented(case):
    case.call_and_validate()


@listings.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_schema_valid_listing_without_a_cursor_is_answered(case):
    case.call_and_validate()


def header(response, name: str) -> str:
    """One header of a schemathesis response, whose headers are lists under lower-case names."""
    value = {key.lower(): value for key, value in response.headers.items()}[name.lower()]
    return value[0] if isinstance(value, list) else value


def test_successful_answers_match_the_document(app, api_schema, admin_token):
    bearer = {"Authorization": f"Bearer {admin_token}"}
    video = minimal_mp4()
    digest = hashlib.sha256(video).hexdigest()
    upload = api_schema["/api/v2/videos"]["POST"]
    created = upload.Case(media_type="multipart/form-data", body={"file": video, "sha256": digest}).call_and_validate(headers=bearer)
    assert created.status_code == 201
    video_id = created.json()["id"]
    path = {"video_id": video_id}

    listing = api_schema["/api/v2/videos"]["GET"].Case(query={"q": "clip", "limit": 1}).call_and_validate(headers=bearer)
    assert listing.status_code == 200
    one = api_schema["/api/v2/videos/{video_id}"]["GET"].Case(path_parameters=path).call_and_validate(headers=bearer)
    etag = header(one, "ETag")
    edit = api_schema["/api/v2/videos/{video_id}"]["PATCH"].Case(
        path_parameters=path, media_type="application/merge-patch+json", body={"title": "Edited", "tags": ["a"]},
        headers={"If-Match": etag},
    )
    assert edit.call_and_validate(headers=bearer).json()["title"] == "Edited"
    stale = api_schema["/api/v2/videos/{video_id}"]["PATCH"].Case(
        path_parameters=path, media_type="application/merge-patch+json", body={"title": "Late"},
        headers={"If-Match": etag},
    )
    assert stale.call_and_validate(headers=bearer).status_code == 412
    for method in ("GET", "HEAD"):
        content = api_schema["/api/v2/videos/{video_id}/content"][method]
        for status, headers in {200: {}, 206: {"Range": "bytes=0-1"}, 304: {"If-None-Match": f'"{digest}"'}}.items():
            case = content.Case(path_parameters=path, headers=headers)
            assert case.call_and_validate(headers=bearer).status_code == status
    caption_path = {**path, "language": "en"}
    srt = b"1\n00:00:01,000 --> 00:00:02,000\nHello\n"
    put_caption = api_schema["/api/v2/videos/{video_id}/captions/{language}"]["PUT"]
    added = put_caption.Case(path_parameters=caption_path, query={"label": "English"}, media_type="application/octet-stream", body=srt)
    caption_etag = header(added.call_and_validate(headers=bearer), "ETag")
    captions_list = api_schema["/api/v2/videos/{video_id}/captions"]["GET"].Case(path_parameters=path)
    assert captions_list.call_and_validate(headers=bearer).json()["items"][0]["language"] == "en"
    caption = api_schema["/api/v2/videos/{video_id}/captions/{language}"]["GET"].Case(path_parameters=caption_path)
    assert caption.call_and_validate(headers=bearer).status_code == 200
    replaced = put_caption.Case(
        path_parameters=caption_path, query={"label": "English"}, media_type="application/octet-stream", body=srt,
        headers={"If-Match": caption_etag},
    )
    assert replaced.call_and_validate(headers=bearer).status_code == 200
    removed = api_schema["/api/v2/videos/{video_id}/captions/{language}"]["DELETE"].Case(
        path_parameters=caption_path, headers={"If-Match": caption_etag}
    )
    assert removed.call_and_validate(headers=bearer).status_code == 204
    verify = api_schema["/api/v2/videos/{video_id}/verify"]["POST"].Case(path_parameters=path)
    assert verify.call_and_validate(headers=bearer).json()["status"] == "ok"
    delete = api_schema["/api/v2/videos/{video_id}"]["DELETE"].Case(path_parameters=path)
    assert delete.call_and_validate(headers=bearer).status_code == 204
    trashed = api_schema["/api/v2/trash"]["GET"].Case().call_and_validate(headers=bearer)
    assert trashed.json()["total"]["value"] == 1
    restore = api_schema["/api/v2/trash/{video_id}/restore"]["POST"].Case(path_parameters=path)
    assert restore.call_and_validate(headers=bearer).status_code == 200


def test_account_and_upload_answers_match_the_document(app, api_schema, admin):
    """Tokens, users and tus under v2, each success checked against the document (users with the session)."""
    from tests.web.conftest import csrf_token

    bearer = {"Authorization": f"Bearer {admin.token}"}
    made = api_schema["/api/v2/tokens"]["POST"].Case(media_type="application/json", body={"label": "x", "scopes": ["read"]})
    token = made.call_and_validate(headers=bearer).json()
    assert api_schema["/api/v2/tokens"]["GET"].Case().call_and_validate(headers=bearer).status_code == 200
    one = api_schema["/api/v2/tokens/{token_id}"]["GET"].Case(path_parameters={"token_id": token["id"]})
    assert one.call_and_validate(headers=bearer).json()["id"] == token["id"]
    revoke = api_schema["/api/v2/tokens/{token_id}"]["DELETE"].Case(path_parameters={"token_id": token["id"]})
    assert revoke.call_and_validate(headers=bearer).status_code == 204

    # The users' operations with the session's cookie, which schemathesis's WSGI calls do not carry: sent by the
    # test client, each answer validated against its operation.
    from schemathesis.specs.openapi.checks import ignored_auth

    # The cookie is the test client's, not the Case's: that check would take it for none.
    session_only = {"excluded_checks": [ignored_auth]}
    token_header = admin.environ_base.pop("HTTP_AUTHORIZATION")
    csrf = {"X-CSRFToken": csrf_token(admin, "/")}
    users = api_schema["/api/v2/users"]
    added = admin.post("/api/v2/users", json={"name": "carol", "password": "a-long-password", "role": "uploader"}, headers=csrf)
    assert added.status_code == 201
    users["POST"].Case(media_type="application/json", body={}).validate_response(added, **session_only)
    users["GET"].Case().validate_response(admin.get("/api/v2/users"), **session_only)
    one_user = api_schema["/api/v2/users/{user_id}"]
    url = f"/api/v2/users/{added.get_json()['id']}"
    one_user["GET"].Case(path_parameters={"user_id": 1}).validate_response(admin.get(url), **session_only)
    changed = admin.patch(url, data='{"disabled": true, "quota": "1GiB"}', content_type="application/merge-patch+json", headers=csrf)
    assert changed.get_json()["disabled"] is True
    one_user["PATCH"].Case(path_parameters={"user_id": 1}, media_type="application/merge-patch+json", body={}).validate_response(changed, **session_only)
    me = admin.get("/api/v2/me").get_json()
    last = admin.patch(f"/api/v2/users/{me['id']}", data='{"role": "viewer"}', content_type="application/merge-patch+json", headers=csrf)
    assert last.status_code == 409
    one_user["PATCH"].Case(path_parameters={"user_id": 1}, media_type="application/merge-patch+json", body={}).validate_response(last, **session_only)
    admin.environ_base["HTTP_AUTHORIZATION"] = token_header

    video = minimal_mp4()
    tus = {"Tus-Resumable": "1.0.0"}
    assert api_schema["/api/v2/uploads"]["OPTIONS"].Case().call_and_validate().status_code == 204
    created = api_schema["/api/v2/uploads"]["POST"].Case(headers={**tus, "Upload-Length": str(len(video))}).call_and_validate(headers=bearer)
    upload_path = {"upload_id": header(created, "Location").rsplit("/", 1)[1]}
    status = api_schema["/api/v2/uploads/{upload_id}"]["HEAD"].Case(path_parameters=upload_path, headers=tus)
    assert status.call_and_validate(headers=bearer).status_code == 200
    chunk = api_schema["/api/v2/uploads/{upload_id}"]["PATCH"].Case(
        path_parameters=upload_path, headers={**tus, "Upload-Offset": "0"}, media_type="application/offset+octet-stream", body=video
    ).call_and_validate(headers=bearer)
    assert "/api/v2/videos/" in header(chunk, "Portal-Video-URL")
    other = api_schema["/api/v2/uploads"]["POST"].Case(headers={**tus, "Upload-Length": "10"}).call_and_validate(headers=bearer)
    cancel = api_schema["/api/v2/uploads/{upload_id}"]["DELETE"].Case(
        path_parameters={"upload_id": header(other, "Location").rsplit("/", 1)[1]}, headers=tus
    )
    assert cancel.call_and_validate(headers=bearer).status_code == 204
