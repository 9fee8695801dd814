"""/api/v1/openapi.json and /api/v1/docs: a valid document that matches the routes, a page that works offline."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

from portal.api.v1.openapi import build_document
from tests.helpers import upload

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

    OPTIONS is answered by Flask for every route and says nothing about the API.
    """
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(blueprint + "."):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            operations |= {(path, method) for method in rule.methods - {"OPTIONS"}}
    return operations


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


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
    assert undescribed_operations(app, build_document()) == {
        ("/api/v1/files/{video_id}/thumbnail", "GET"),
        ("/api/v1/files/{video_id}/thumbnail", "PUT"),
    }


def test_route_comparison_notices_a_described_operation_without_route(app):
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
                    if "example" in media:
                        schema = {**media["schema"], **resolver_doc}
                        jsonschema.validate(media["example"], schema, cls=jsonschema.Draft202012Validator)
                        checked += 1
    assert checked >= 10


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
    assert set(upload_operation["responses"]) == {"201", "400", "413", "415", "422", "503", "507"}


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
    assert set(sort["schema"]["enum"]) == {"created_at", "-created_at", "filename", "-filename", "size", "-size"}


# --- the interactive page -----------------------------------------------------


def test_docs_page_loads_swagger_ui_from_the_portal_only(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
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
