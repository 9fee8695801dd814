"""The declaration layer (portal/api/spec.py): one declaration, both documents, built once per app."""

from __future__ import annotations

from portal.api.v1 import openapi as v1_openapi


def test_the_document_is_built_once_per_app(app, monkeypatch):
    built = []
    original = v1_openapi.build_document

    def counting() -> dict:
        built.append(1)
        return original()

    monkeypatch.setattr(v1_openapi, "build_document", counting)
    client = app.test_client()
    first = client.get("/api/v1/openapi.json").get_json()
    second = client.get("/api/v1/openapi.json").get_json()
    assert first == second and len(built) == 1


def test_a_shared_view_is_in_both_documents_with_each_versions_errors(client):
    v1 = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/files/{video_id}/content"]["get"]
    v2 = client.get("/api/v2/openapi.json").get_json()["paths"]["/api/v2/videos/{video_id}/content"]["get"]
    assert (v1["operationId"], v2["operationId"]) == ("downloadFile", "downloadVideo")
    assert v1["summary"] == v2["summary"] and v2["tags"] == ["videos"]
    assert v1["responses"]["404"]["content"]["application/json"]["example"]["error"]["code"] == "not_found"
    problem = v2["responses"]["404"]["content"]["application/problem+json"]["example"]
    assert (problem["status"], problem["code"]) == (404, "not_found")
    assert problem["instance"].startswith("/api/v2/videos/") and "{" not in problem["instance"]


def test_the_auth_mark_makes_the_security_and_the_refusals(client):
    paths = client.get("/api/v2/openapi.json").get_json()["paths"]
    me = paths["/api/v2/me"]["get"]
    assert me["security"] == [{"bearer": []}] and "401" in me["responses"] and "403" not in me["responses"]
    edit = paths["/api/v2/videos/{video_id}"]["patch"]["responses"]
    assert edit["400"]["content"]["application/problem+json"]["example"]["code"] == "csrf_failed"
    assert "403" in edit and "503" in edit
    assert paths["/api/v2/openapi.json"]["get"]["security"] == []
