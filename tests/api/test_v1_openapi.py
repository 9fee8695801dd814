"""/api/v1/openapi.json and /api/v1/docs: a valid document that matches the routes, a page that works offline."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

from portal import create_app
from portal.accounts import service as accounts
from portal.api.v1.openapi import build_document
from portal.api.v1.routes import NO_FILE_IN_FORM
from portal.errors import CsrfTokenMissing
from portal.errors import DatabaseUnavailable
from portal.errors import RangeNotSatisfiable
from portal.errors import StoreUnreachable
from portal.errors import UploadTooLarge
from portal.http.errors import BEARER_CHALLENGE
from portal.http.errors import ERROR_STATUSES
from portal.library.formats import FORMATS
from portal.library.listing import DEFAULT_SORT
from portal.library.listing import MAX_PAGE
from portal.library.listing import MAX_PER_PAGE
from portal.library.listing import MAX_QUERY_LENGTH
from portal.library.listing import SORT_VALUES
from tests.helpers import add_user
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.web.conftest import csrf_token

ROOT = Path(__file__).resolve().parents[2]
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def documented_operations(document: dict) -> set[tuple[str, str]]:
    return {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def routed_operations(app, blueprint: str = "api_v1") -> set[tuple[str, str]]:
    """What the blueprint answers, with Flask's ``<name>`` written as OpenAPI's ``{name}``.

    OPTIONS is answered by Flask for every route and says nothing about the API,
    unless a view answers it (tus's ``OPTIONS /api/v1/uploads``).
    """
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(blueprint + "."):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            implicit = {"OPTIONS"} if rule.provide_automatic_options else set()
            operations |= {(path, method) for method in rule.methods - implicit}
    return operations


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def media_examples(media: dict) -> list:
    """A media type's example, or each of its named examples."""
    if "example" in media:
        return [media["example"]]
    return [example["value"] for example in media.get("examples", {}).values()]


def error_examples(document: dict):
    """(path, method, status, body) of every JSON error example the document shows."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for status, response in operation["responses"].items():
                media = response.get("content", {}).get("application/json", {})
                if media.get("schema") == {"$ref": "#/components/schemas/Error"}:
                    for body in media_examples(media):
                        yield path, method, int(status), body["error"]


def documented_error(document: dict, path: str, method: str, status: int, code: str) -> dict:
    """The one example of ``code`` under that status; several would leave the test unsure which it checks."""
    found = [
        error
        for example_path, example_method, example_status, error in error_examples(document)
        if (example_path, example_method, example_status, error["code"]) == (path, method, status, code)
    ]
    assert found, f"{method.upper()} {path} documents no {status} {code}"
    return found[0]


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    validate(document)


def undescribed_operations(app, document: dict) -> set[tuple[str, str]]:
    """Routed operations the document does not describe.

    Flask answers HEAD for every GET route (the GET without its body), so a HEAD
    may go undescribed; the download, whose HEAD is part of the contract, describes it.
    """
    routed = routed_operations(app)
    implicit_heads = {(path, "HEAD") for path, method in routed if method == "GET"}
    return routed - documented_operations(document) - implicit_heads


def test_document_describes_every_route_and_nothing_else(app, document):
    assert documented_operations(document) - routed_operations(app) == set(), "described, but no route answers it"
    assert undescribed_operations(app, document) == set(), "routed, but not described"
    assert ("/api/v1/files/{video_id}/content", "HEAD") in documented_operations(document)


def test_route_comparison_notices_an_undescribed_route(app):
    app.add_url_rule(
        "/api/v1/files/<video_id>/thumbnail", "api_v1.thumbnail", lambda video_id: "", methods=["GET", "PUT"]
    )
    with app.app_context():
        document = build_document()
    assert undescribed_operations(app, document) == {
        ("/api/v1/files/{video_id}/thumbnail", "GET"),
        ("/api/v1/files/{video_id}/thumbnail", "PUT"),
    }


def test_route_comparison_notices_a_described_operation_without_route(app):
    with app.app_context():
        document = build_document()
    document["paths"]["/api/v1/files"]["put"] = document["paths"]["/api/v1/files"]["post"]
    assert documented_operations(document) - routed_operations(app) == {("/api/v1/files", "PUT")}


def test_every_operation_documents_its_responses_with_schemas(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            assert operation["operationId"] and operation["summary"], (path, method)
            for status, response in operation["responses"].items():
                assert response["description"], (path, method, status)
                for media in response.get("content", {}).values():
                    assert "schema" in media, (path, method, status)


def test_documented_examples_match_their_schemas(document):
    """The examples shown in the page are what a client will really get, shape for shape."""
    schemas = document["components"]["schemas"]
    resolver_doc = {"components": {"schemas": schemas}}
    checked = 0
    for item in document["paths"].values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for response in operation["responses"].values():
                for media in response.get("content", {}).values():
                    schema = {**media["schema"], **resolver_doc}
                    for example in media_examples(media):
                        jsonschema.validate(example, schema, cls=jsonschema.Draft202012Validator)
                        checked += 1
    assert checked >= 20


def test_file_schema_matches_a_real_upload(client, document, video_bytes):
    body = upload(client, video_bytes).get_json()
    schemas = document["components"]["schemas"]
    schema = {**schemas["File"], "components": {"schemas": schemas}}
    jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator, format_checker=jsonschema.FormatChecker())
    assert set(body) == set(schemas["File"]["properties"])


def test_upload_documents_multipart_and_raw_body(document):
    upload_operation = document["paths"]["/api/v1/files"]["post"]
    content = upload_operation["requestBody"]["content"]
    form = document["components"]["schemas"]["UploadForm"]
    assert set(content) == {"multipart/form-data", "application/octet-stream"}
    assert form["required"] == ["file"]
    assert set(form["properties"]) == {"file", "sha256"}
    parameters = {(parameter["in"], parameter["name"]) for parameter in upload_operation["parameters"]}
    assert parameters == {("query", "filename"), ("query", "sha256"), ("header", "Content-Digest")}
    assert set(upload_operation["responses"]) == {"201", "400", "401", "403", "413", "415", "422", "503", "507"}


def test_download_documents_ranges_and_conditions(document):
    download = document["paths"]["/api/v1/files/{video_id}/content"]["get"]
    headers = {parameter["name"] for parameter in download["parameters"] if parameter["in"] == "header"}
    assert headers == {"Range", "If-None-Match", "If-Range"}
    responses = download["responses"]
    assert {"200", "206", "304", "404", "409", "416"} <= set(responses)
    assert {"ETag", "Content-Disposition", "Accept-Ranges", "Repr-Digest"} <= set(responses["200"]["headers"])
    assert "Content-Range" in responses["206"]["headers"]
    assert "Content-Range" in responses["416"]["headers"]


def test_list_documents_its_parameters(document):
    parameters = document["paths"]["/api/v1/files"]["get"]["parameters"]
    assert {parameter["name"] for parameter in parameters} == {"page", "per_page", "q", "sort"}
    sort = next(parameter for parameter in parameters if parameter["name"] == "sort")
    assert set(sort["schema"]["enum"]) == {
        "created_at", "-created_at", "filename", "-filename", "size", "-size", "duration", "-duration"
    }


# --- the interactive page -----------------------------------------------------


def test_docs_page_loads_swagger_ui_from_the_portal_only(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    # Everything but the skip link's "#main": the page sits under the portal's header.
    sources = [source for source in re.findall(r'(?:src|href)="([^"]+)"', page) if not source.startswith("#")]
    assert sources, page
    for source in sources:
        assert source.startswith("/"), f"{source} is not served by the portal"
        assert client.get(source).status_code == 200, source
    assert "<script>" not in page and "<script >" not in page, "inline scripts would break the CSP"
    assert 'data-spec-url="/api/v1/openapi.json"' in page


def test_docs_page_keeps_the_portals_strict_policy(client):
    """No inline script or style: the browser tests prove Swagger UI works under it."""
    policy = client.get("/api/v1/docs").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_vendored_swagger_ui_ships_its_licence():
    vendor = ROOT / "static" / "vendor" / "swagger-ui"
    assert "Apache License" in (vendor / "LICENSE").read_text()
    assert (vendor / "NOTICE").is_file()
    assert (vendor / "swagger-ui-bundle.js").stat().st_size > 100_000
    assert (vendor / "swagger-ui.css").is_file()


# --- the document says what the code enforces ----------------------------------


def test_every_documented_error_code_has_the_status_of_its_domain_error(document):
    table = set(ERROR_STATUSES.values())
    examples = list(error_examples(document))
    assert len(examples) >= 20
    for path, method, status, error in examples:
        assert (status, error["code"]) in table, (path, method, status, error)
        assert error["message"], (path, method, status)


def test_stored_bytes_operations_document_storage_unavailable(document):
    for path, method in [
        ("/api/v1/files", "post"),
        ("/api/v1/files/{video_id}/content", "get"),
        ("/api/v1/files/{video_id}/verify", "post"),
        ("/api/v1/files/{video_id}", "delete"),
    ]:
        error = documented_error(document, path, method, 503, "storage_unavailable")
        assert error["message"] == StoreUnreachable().message
    assert "503" in document["paths"]["/api/v1/files/{video_id}/content"]["head"]["responses"]


def test_every_file_operation_documents_the_database_503(document):
    for path, item in document["paths"].items():
        for method in set(item) & HTTP_METHODS - {"head"}:
            if path.startswith("/api/v1/files"):
                error = documented_error(document, path, method, 503, "service_unavailable")
                assert error["message"] == DatabaseUnavailable().message


def test_per_page_default_follows_the_setting(tmp_path):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "PER_PAGE": 7})
    document = signed_in_client(app).get("/api/v1/openapi.json").get_json()
    listing = document["paths"]["/api/v1/files"]["get"]
    per_page = next(parameter for parameter in listing["parameters"] if parameter["name"] == "per_page")
    assert per_page["schema"]["default"] == 7
    assert per_page["schema"]["maximum"] == MAX_PER_PAGE
    assert listing["responses"]["200"]["content"]["application/json"]["example"]["per_page"] == 7


def test_listing_limits_and_defaults_come_from_the_listing(app, document):
    parameters = {parameter["name"]: parameter for parameter in document["paths"]["/api/v1/files"]["get"]["parameters"]}
    assert parameters["per_page"]["schema"]["default"] == app.config["PER_PAGE"]
    assert parameters["page"]["schema"]["maximum"] == MAX_PAGE
    assert parameters["q"]["schema"]["maxLength"] == MAX_QUERY_LENGTH
    assert parameters["sort"]["schema"]["default"] == DEFAULT_SORT
    assert parameters["sort"]["schema"]["enum"] == list(SORT_VALUES)


def test_formats_come_from_the_formats_table(document):
    upload_operation = document["paths"]["/api/v1/files"]["post"]
    message = documented_error(document, "/api/v1/files", "post", 415, "unsupported_media_type")["message"]
    for video_format in FORMATS:
        assert video_format.name in message
        assert video_format.name in upload_operation["description"]
    content_type = document["components"]["schemas"]["File"]["properties"]["content_type"]
    assert set(content_type["enum"]) == {video_format.content_type for video_format in FORMATS}


def test_too_large_example_is_what_the_limited_portal_says(limited_app, video_bytes):
    client = signed_in_client(limited_app)
    document = client.get("/api/v1/openapi.json").get_json()
    documented = documented_error(document, "/api/v1/files", "post", 413, "too_large")
    assert documented["message"] == UploadTooLarge(limited_app.config["MAX_CONTENT_LENGTH"]).message
    too_large = video_bytes + b"\0" * limited_app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/api/v1/files?filename=big.mp4", data=too_large, content_type="video/mp4")
    assert response.status_code == 413
    assert response.get_json()["error"] == documented


def test_error_examples_are_what_the_api_answers(client, document):
    """The documented body, word for word, of the errors whose message depends on nothing but the request."""
    cases = [
        (client.get("/api/v1/files/no-such-id"), "/api/v1/files/{video_id}", "get"),
        (client.post("/api/v1/files/no-such-id/verify"), "/api/v1/files/{video_id}/verify", "post"),
        (client.get("/api/v1/files?per_page=101"), "/api/v1/files", "get"),
        (upload(client, b"plain text, not a video"), "/api/v1/files", "post"),
        (upload(client, b""), "/api/v1/files", "post"),
    ]
    for response, path, method in cases:
        error = response.get_json()["error"]
        assert error in [
            example for p, m, status, example in error_examples(document) if (p, m, status) == (path, method, response.status_code)
        ], (path, method, response.status_code, error)


def test_form_encoded_upload_is_documented_as_missing_file(client, document):
    response = client.post("/api/v1/files", data={"sha256": ""}, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    examples = [error for p, m, status, error in error_examples(document) if (p, m, status) == ("/api/v1/files", "post", 400)]
    assert response.get_json()["error"] in examples
    assert {"code": "missing_file", "message": NO_FILE_IN_FORM} in examples


def test_unsatisfiable_range_is_documented_with_its_header_and_body(client, document, video_bytes):
    content = "/api/v1/files/{video_id}/content"
    body = upload(client, video_bytes).get_json()
    response = client.get(body["content_url"], headers={"Range": f"bytes={len(video_bytes)}-"})
    assert response.status_code == 416
    documented = document["paths"][content]["get"]["responses"]["416"]
    assert re.fullmatch(documented["headers"]["Content-Range"]["schema"]["pattern"], response.headers["Content-Range"])
    assert response.get_json()["error"]["code"] == documented_error(document, content, "get", 416, "range_not_satisfiable")["code"]
    assert response.get_json()["error"]["message"] == RangeNotSatisfiable(len(video_bytes)).message
    assert "Content-Range" in document["paths"][content]["head"]["responses"]["416"]["headers"]


# --- who may call ----------------------------------------------------------------

OPEN_OPERATIONS = {("/api/v1/openapi.json", "get"), ("/api/v1/docs", "get"), ("/api/v1/uploads", "options")}


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def test_every_operation_but_the_documentation_needs_the_bearer_token(document):
    assert document["components"]["securitySchemes"]["bearer"] | {"description": ""} == {
        "type": "http", "scheme": "bearer", "description": "",
    }
    for path, method, operation in operations(document):
        if (path, method) in OPEN_OPERATIONS:
            assert operation["security"] == [], (path, method)
            assert not {"401", "403"} & set(operation["responses"]), (path, method)
        else:
            assert operation["security"] == [{"bearer": []}], (path, method)
            unauthorized = operation["responses"]["401"]
            assert unauthorized["headers"]["WWW-Authenticate"]["schema"]["const"] == BEARER_CHALLENGE, (path, method)
            if path != "/api/v1/me":
                assert "403" in operation["responses"], (path, method)


def test_public_viewing_documents_listing_and_watching_without_credentials(tmp_path):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "PUBLIC_VIEWING": True})
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    anyone = {
        (path, method) for path, method, operation in operations(document) if {} in operation.get("security", [{}])
    }
    assert anyone == {
        ("/api/v1/files", "get"),
        ("/api/v1/files/{video_id}", "get"),
        ("/api/v1/files/{video_id}/content", "get"),
        ("/api/v1/files/{video_id}/content", "head"),
        ("/api/v1/files/{video_id}/playback", "get"),
        ("/api/v1/files/{video_id}/playback", "head"),
        ("/api/v1/files/{video_id}/poster", "get"),
    }


def test_unauthorized_examples_are_what_the_api_answers(app, document):
    anonymous = app.test_client()
    answers = [
        anonymous.get("/api/v1/files"),
        anonymous.get("/api/v1/files", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"}),
        anonymous.get("/api/v1/files", headers={"Authorization": "Bearer ptl_no-such-token"}),
    ]
    documented = [error for p, m, status, error in error_examples(document) if (p, m, status) == ("/api/v1/files", "get", 401)]
    assert len(documented) == 3
    for response in answers:
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == BEARER_CHALLENGE
        assert response.get_json()["error"] in documented
    assert {response.get_json()["error"]["message"] for response in answers} == {error["message"] for error in documented}


def test_forbidden_examples_are_what_the_api_answers(app, document, video_bytes):
    """The examples' alice and bob, for real: alice's refusals word for word, as an uploader, then a viewer."""
    add_user(app, "bob", "uploader")
    video_id = upload(signed_in_client(app, "bob"), video_bytes).get_json()["id"]
    add_user(app, "alice", "uploader")
    alice, read_only = signed_in_client(app, "alice"), signed_in_client(app, "alice", scopes=["read"])
    file_path = "/api/v1/files/{video_id}"
    as_uploader = [
        (alice.delete(f"/api/v1/files/{video_id}"), file_path, "delete"),
        (read_only.delete(f"/api/v1/files/{video_id}"), file_path, "delete"),
        (signed_in_client(app, "alice", scopes=["upload"]).get(f"/api/v1/files/{video_id}"), file_path, "get"),
    ]
    with app.app_context():
        accounts.set_role("alice", "viewer")
    # The token alice made as an uploader carries every scope: her role, not the token, now refuses.
    as_viewer = [
        (alice.delete(f"/api/v1/files/{video_id}"), file_path, "delete"),
        (upload(alice, video_bytes), "/api/v1/files", "post"),
    ]
    for response, path, method in as_uploader + as_viewer:
        assert response.status_code == 403, response.get_json()
        documented = [error for p, m, status, error in error_examples(document) if (p, m, status) == (path, method, 403)]
        assert response.get_json()["error"] in documented, (path, method)


def csrf_header(client) -> dict[str, str]:
    """The CSRF token of ``client``'s session, as the pages' scripts send it (every signed-in page has one)."""
    return {"X-CSRFToken": csrf_token(client, "/")}


def test_csrf_failure_is_documented_for_every_change_and_is_what_cookie_callers_get(client, document, video_bytes):
    video_id = upload(client, video_bytes).get_json()["id"]
    cookie_only = client.without_token()
    headers = csrf_header(cookie_only)
    cases = [
        (upload(cookie_only, video_bytes), "/api/v1/files", "post"),
        (cookie_only.post(f"/api/v1/files/{video_id}/verify"), "/api/v1/files/{video_id}/verify", "post"),
        (cookie_only.delete(f"/api/v1/files/{video_id}"), "/api/v1/files/{video_id}", "delete"),
    ]
    for response, path, method in cases:
        assert response.status_code == 400
        assert response.get_json()["error"] == documented_error(document, path, method, 400, "csrf_failed")
        assert response.get_json()["error"]["message"] == CsrfTokenMissing().message
    assert cookie_only.post(f"/api/v1/files/{video_id}/verify", headers=headers).status_code == 200


def test_me_answers_as_its_schema_says(app, client, document):
    schemas = document["components"]["schemas"]
    schema = {**schemas["Me"], "components": {"schemas": schemas}}
    with_token = client.get("/api/v1/me").get_json()
    with_cookie = client.without_token().get("/api/v1/me").get_json()
    for body in (with_token, with_cookie):
        jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)
    assert set(with_token) == {"username", "role", "scopes", "token_id", "trash"}
    assert with_cookie == {"username": "tester", "role": "admin", "trash": {"count": 0, "bytes": 0}}
