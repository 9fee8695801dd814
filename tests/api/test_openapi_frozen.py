"""The generated documents of /api/v1 and /api/v2 lose nothing of the hand-written ones they replaced.

``fixtures/openapi-v1-before.json`` and ``-v2-before.json`` are the documents
as they were written by hand (the default settings). The live document may
say more, but every path, operation, status, response header, media type,
parameter and body or answer property (and whether it is required) that a
client could rely on then is still there.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def frozen(version: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"openapi-{version}-before.json").read_text())


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = {**document["components"]["schemas"][name], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def schema_facts(document: dict[str, Any], schema: dict[str, Any], where: str, seen: frozenset[str] = frozenset()) -> Iterator[str]:
    """Every property under ``schema`` (through refs, arrays and unions), and which of them are required."""
    ref = schema.get("$ref")
    if ref in seen:
        return
    seen = seen | {ref} if ref else seen
    schema = _resolve(document, schema)
    for name in schema.get("required", []):
        yield f"{where}.{name} required"
    for name, inner in schema.get("properties", {}).items():
        yield f"{where}.{name}"
        yield from schema_facts(document, inner, f"{where}.{name}", seen)
    if isinstance(schema.get("items"), dict):
        yield from schema_facts(document, schema["items"], f"{where}[]", seen)
    for key in ("oneOf", "anyOf", "allOf"):
        for inner in schema.get(key, []):
            yield from schema_facts(document, inner, where, seen)


def content_facts(document: dict[str, Any], content: dict[str, Any], where: str) -> Iterator[str]:
    for media_type, media in content.items():
        yield f"{where} {media_type}"
        yield from schema_facts(document, media.get("schema", {}), f"{where} {media_type} body")


def facts(document: dict[str, Any]) -> set[str]:
    """What a client may rely on, one line per fact: ``GET /api/v1/files 200 header ETag`` and the like."""
    found: set[str] = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            found.add(where)
            for parameter in item.get("parameters", []) + operation.get("parameters", []):
                found.add(f"{where} parameter {parameter['in']} {parameter['name']}")
                if parameter.get("required"):
                    found.add(f"{where} parameter {parameter['in']} {parameter['name']} required")
            body = operation.get("requestBody")
            if body is not None:
                found.add(f"{where} request")
                found |= set(content_facts(document, body.get("content", {}), f"{where} request"))
            for status, response in operation["responses"].items():
                found.add(f"{where} {status}")
                for header in response.get("headers", {}):
                    found.add(f"{where} {status} header {header}")
                found |= set(content_facts(document, response.get("content", {}), f"{where} {status}"))
    return found


def lost(before: dict[str, Any], now: dict[str, Any]) -> set[str]:
    return facts(before) - facts(now)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_live_document_keeps_everything_the_hand_written_one_said(client, version):
    now = client.get(f"/api/{version}/openapi.json").get_json()
    assert sorted(lost(frozen(version), now)) == []


def test_the_comparison_notices_a_lost_property_status_parameter_and_header():
    before = frozen("v2")
    now = copy.deepcopy(before)
    del now["components"]["schemas"]["Video"]["properties"]["links"]
    del now["paths"]["/api/v2/videos/{video_id}"]["patch"]["responses"]["412"]
    now["paths"]["/api/v2/videos"]["get"]["parameters"].pop()
    del now["paths"]["/api/v2/videos/{video_id}/content"]["get"]["responses"]["206"]["headers"]["Content-Range"]
    missing = lost(before, now)
    assert "GET /api/v2/videos/{video_id} 200 application/json body.links" in missing
    assert "PATCH /api/v2/videos/{video_id} 412" in missing
    assert "GET /api/v2/videos parameter query cursor" in missing
    assert "GET /api/v2/videos/{video_id}/content 206 header Content-Range" in missing
    assert lost(before, before) == set()
