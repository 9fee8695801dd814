"""/api/v2/openapi.json and /api/v2/docs: a valid document that matches v2's routes, examples that match their schemas."""

from __future__ import annotations

import re

import jsonschema
import pytest
from openapi_spec_validator import validate

from portal.api.v2.openapi import build_document
from tests.api.test_v1_openapi import HTTP_METHODS
from tests.api.test_v1_openapi import documented_operations
from tests.api.test_v1_openapi import media_examples
from tests.api.test_v1_openapi import routed_operations


@pytest.fixture
def v2_document(client) -> dict:
    response = client.get("/api/v2/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def undescribed(app, document: dict) -> set[tuple[str, str]]:
    """Routed v2 operations the document leaves out (Flask's implicit HEAD of a GET aside)."""
    routed = routed_operations(app, "api_v2")
    implicit_heads = {(path, "HEAD") for path, method in routed if method == "GET"}
    return routed - documented_operations(document) - implicit_heads


def test_document_is_valid_openapi_3_1(v2_document):
    assert v2_document["openapi"].startswith("3.1.")
    validate(v2_document)


def test_document_describes_every_v2_route_and_nothing_else(app, v2_document):
    assert documented_operations(v2_document) - routed_operations(app, "api_v2") == set()
    assert undescribed(app, v2_document) == set()
    assert all(path.startswith("/api/v2/") for path, _method in documented_operations(v2_document))


def test_route_comparison_notices_an_undescribed_v2_route(app):
    app.add_url_rule("/api/v2/videos/<video_id>/chapters", "api_v2.chapters", lambda video_id: "", methods=["GET"])
    with app.app_context():
        document = build_document()
    assert undescribed(app, document) == {("/api/v2/videos/{video_id}/chapters", "GET")}


def test_every_error_is_documented_as_problem_details(v2_document):
    for path, item in v2_document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            assert operation["operationId"] and operation["summary"], (path, method)
            assert "default" in operation["responses"], (path, method)
            for status, response in operation["responses"].items():
                if status != "default" and int(status) < 400:
                    continue
                assert set(response.get("content", {})) <= {"application/problem+json"}, (path, method, status)


def test_documented_examples_match_their_schemas(v2_document):
    schemas = {"components": {"schemas": v2_document["components"]["schemas"]}}
    checked = 0
    for item in v2_document["paths"].values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for status, response in operation["responses"].items():
                for media in response.get("content", {}).values():
                    for example in media_examples(media):
                        jsonschema.validate(example, {**media["schema"], **schemas}, cls=jsonschema.Draft202012Validator)
                        if status not in ("200", "201", "202", "default"):
                            assert example["status"] == int(status)
                        checked += 1
    assert checked >= 30


def test_video_schema_matches_a_real_video(client, v2_document, video_bytes):
    import io

    body = client.post(
        "/api/v2/videos", data={"file": (io.BytesIO(video_bytes), "clip.mp4")}, content_type="multipart/form-data"
    ).get_json()
    schemas = v2_document["components"]["schemas"]
    schema = {**schemas["Video"], "components": {"schemas": schemas}}
    jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator, format_checker=jsonschema.FormatChecker())
    assert set(body) == set(schemas["Video"]["properties"])


def test_docs_page_renders_the_v2_document_offline(client):
    page = client.get("/api/v2/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-spec-url="/api/v2/openapi.json"' in html
    assert re.search(r'src="/static/vendor/swagger-ui/swagger-ui-bundle\.[0-9a-f]{12}\.js"', html)
    assert "https://" not in html


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_optional_checksums_are_shown_in_words_and_prefilled_as_nothing_to_check(client, version):
    """Swagger UI fills every multipart field with its example, its default or a value made up from its
    pattern, and the parameters with their examples: an optional checksum filled so would fail each
    upload tried from the docs page (422). Its example is in its description; the form's value is ""."""
    document = client.get(f"/api/{version}/openapi.json").get_json()
    form = document["components"]["schemas"]["UploadForm"]
    sha256 = form["properties"]["sha256"]
    assert "sha256" not in form["required"]
    assert sha256["default"] == "" and "example" not in sha256 and "examples" not in sha256
    assert re.fullmatch(sha256["pattern"], "") and re.search(r"`[0-9a-f]{64}`", sha256["description"])
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for parameter in item.get("parameters", []) + operation.get("parameters", []):
                if not parameter.get("required"):
                    prefilled = {"example", "examples"} & (set(parameter) | set(parameter.get("schema", {})))
                    assert not prefilled, (path, method, parameter["name"])
    upload = document["paths"][f"/api/{version}/{'videos' if version == 'v2' else 'files'}"]["post"]
    query = next(parameter for parameter in upload["parameters"] if parameter["name"] == "sha256")
    assert re.search(r"`[0-9a-f]{64}`", query["description"])
