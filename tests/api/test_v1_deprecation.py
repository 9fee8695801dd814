"""v1's answers say it is deprecated (RFC 9745), name v2's equivalent, and with PORTAL_V1_SUNSET its sunset (RFC 8594)."""

from __future__ import annotations

import io
from email.utils import parsedate_to_datetime

import pytest

from portal import create_app
from portal.api.v1.deprecation import DEPRECATED_AT
from tests.helpers import signed_in_client


def successor(response) -> str:
    links = [link for link in response.headers.getlist("Link") if 'rel="successor-version"' in link]
    assert len(links) == 1, response.headers
    return links[0].split(">")[0].lstrip("<")


def test_every_v1_answer_is_deprecated_and_names_its_v2_successor(client, video_bytes):
    created = client.post("/api/v1/files", data={"file": (io.BytesIO(video_bytes), "a.mp4")}, content_type="multipart/form-data")
    video_id = created.get_json()["id"]
    assert created.headers["Deprecation"] == f"@{int(DEPRECATED_AT.timestamp())}"
    assert successor(created) == "/api/v2/videos"
    assert "Sunset" not in created.headers, "unset by default"
    expected = {
        f"/api/v1/files/{video_id}": f"/api/v2/videos/{video_id}",
        f"/api/v1/files/{video_id}/content": f"/api/v2/videos/{video_id}/content",
        f"/api/v1/files/{video_id}/shares": f"/api/v2/videos/{video_id}/shares",
        "/api/v1/me": "/api/v2/me",
        "/api/v1/trash": "/api/v2/trash",
        "/api/v1/openapi.json": "/api/v2/openapi.json",
    }
    for path, v2 in expected.items():
        response = client.get(path)
        assert response.headers["Deprecation"].startswith("@") and successor(response) == v2, path
    assert client.options("/api/v1/uploads").headers["Deprecation"]
    assert successor(client.options("/api/v1/uploads")) == "/api/v2/uploads"


def test_errors_of_v1_are_deprecated_too_and_v2_is_not(client):
    missing = client.get("/api/v1/files/nope")
    assert missing.status_code == 404 and missing.headers["Deprecation"]
    assert successor(missing) == "/api/v2/videos/nope"
    refused = signed_in_client(client.application, "vera", "viewer").delete("/api/v1/trash")
    assert refused.status_code == 403 and refused.headers["Deprecation"]
    v2 = client.get("/api/v2/me")
    assert "Deprecation" not in v2.headers and "Sunset" not in v2.headers


@pytest.mark.parametrize(("value", "expected"), [
    ("2027-06-30", "Wed, 30 Jun 2027 00:00:00 GMT"),
    ("2027-06-30T14:30:00+02:00", "Wed, 30 Jun 2027 12:30:00 GMT"),
])
def test_a_sunset_setting_adds_an_http_date(tmp_path, database_url, value, expected):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "d"), "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": database_url,
                      "V1_SUNSET": value})
    response = signed_in_client(app).get("/api/v1/me")
    assert response.headers["Sunset"] == expected
    assert parsedate_to_datetime(response.headers["Sunset"]).tzinfo is not None
    assert "Sunset" not in signed_in_client(app, "other").get("/api/v2/me").headers


@pytest.mark.parametrize("value", ["next year", "2027-02-30", "30/06/2027", "2027"])
def test_a_sunset_that_is_not_a_date_is_refused_at_start_up(tmp_path, monkeypatch, value):
    monkeypatch.setenv("PORTAL_V1_SUNSET", value)
    with pytest.raises(ValueError, match="PORTAL_V1_SUNSET must be a date such as 2027-06-30"):
        create_app({"DATA_DIR": str(tmp_path)})
