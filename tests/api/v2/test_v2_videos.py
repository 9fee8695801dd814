"""/api/v2 over HTTP: the video resource, merge-patch edits under If-Match, cursor pages, problem details, the trash.

Runs on SQLite, and on PostgreSQL under ``PORTAL_TEST_DATABASE_URL`` (CI's second run).
"""

from __future__ import annotations

import io
import threading

import pytest

from portal.library.models import MAX_TAGS
from tests.helpers import signed_in_client

MERGE_PATCH = "application/merge-patch+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code"}


def upload(client, data: bytes, filename: str = "clip.mp4") -> dict:
    response = client.post(
        "/api/v2/videos", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def patch(client, video_id: str, body, etag: str | None, content_type: str = MERGE_PATCH):
    headers = {"If-Match": etag} if etag is not None else {}
    data = body if isinstance(body, (str, bytes)) else __import__("json").dumps(body)
    return client.patch(f"/api/v2/videos/{video_id}", data=data, content_type=content_type, headers=headers)


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.data
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert set(body) == PROBLEM_KEYS
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"].endswith(code) and body["detail"] and body["instance"].startswith("/api/v2")
    return body


def test_an_upload_is_titled_by_its_name_and_has_every_field(client, video_bytes):
    body = upload(client, video_bytes, "Holiday in Crete.mp4")
    assert body["title"] == "Holiday in Crete"
    assert (body["description"], body["tags"], body["filename"]) == ("", [], "Holiday in Crete.mp4")
    assert {"id", "content_type", "size", "sha256", "status", "owner", "created_at", "updated_at", "media",
            "processing", "playback", "links"} <= set(body)
    response = client.get(body["links"]["self"])
    assert response.headers["ETag"] == '"rev-1"'
    assert client.get(body["links"]["content"]).data == video_bytes


def test_a_raw_body_upload_works_as_in_v1(client, video_bytes):
    response = client.post("/api/v2/videos?filename=raw.mp4", data=video_bytes, content_type="video/mp4")
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/api/v2/videos/{response.get_json()['id']}")
    assert client.head(f"/api/v2/videos/{response.get_json()['id']}/content").status_code == 200


def test_a_query_sha256_beside_a_multipart_form_is_checked(client, video_bytes):
    form = {"file": (io.BytesIO(video_bytes), "clip.mp4")}
    malformed = client.post("/api/v2/videos?sha256=false", data=form, content_type="multipart/form-data")
    assert "64 hexadecimal characters" in assert_problem(malformed, 400, malformed.get_json()["code"])["detail"]
    form = {"file": (io.BytesIO(video_bytes), "clip.mp4")}
    other = "0" * 64
    assert_problem(client.post(f"/api/v2/videos?sha256={other}", data=form, content_type="multipart/form-data"), 422, "checksum_mismatch")
    assert client.get("/api/v2/videos").get_json()["items"] == []


@pytest.mark.parametrize("nested", ["[" * 30_000 + "]" * 30_000, '{"tags": ' + "[" * 40 + "]" * 40 + "}"], ids=["30000 arrays", "tags 40 deep"])
def test_a_patch_nested_deeper_than_any_body_needs_is_a_400_not_a_500(client, video_bytes, nested):
    video = upload(client, video_bytes)
    etag = client.get(video["links"]["self"]).headers["ETag"]
    body = assert_problem(patch(client, video["id"], nested, etag), 400, "bad_request")
    assert "nests deeper than 32 levels" in body["detail"]


def test_brackets_inside_strings_are_not_nesting(client, video_bytes):
    video = upload(client, video_bytes)
    etag = client.get(video["links"]["self"]).headers["ETag"]
    title = '[[[[' * 20 + '{"\\"'
    response = patch(client, video["id"], {"title": title}, etag)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["title"] == title


def test_patch_changes_details_and_the_etag_and_null_clears(client, video_bytes):
    video = upload(client, video_bytes, "beach.mp4")
    etag = client.get(video["links"]["self"]).headers["ETag"]
    response = patch(client, video["id"], {"title": "Windy beach", "description": "Cold.", "tags": ["sea", "wind", "sea"]}, etag)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["title"], body["description"], body["tags"]) == ("Windy beach", "Cold.", ["sea", "wind"])
    assert response.headers["ETag"] != etag
    cleared = patch(client, video["id"], {"title": None, "tags": None}, response.headers["ETag"]).get_json()
    assert (cleared["title"], cleared["description"], cleared["tags"]) == ("beach", "Cold.", [])


def test_patch_without_if_match_is_428_and_with_a_stale_one_412(client, video_bytes):
    video = upload(client, video_bytes)
    assert_problem(patch(client, video["id"], {"title": "New"}, None), 428, "precondition_required")
    assert_problem(patch(client, video["id"], {"title": "New"}, "*"), 428, "precondition_required")
    assert patch(client, video["id"], {"title": "First"}, '"rev-1"').status_code == 200
    assert_problem(patch(client, video["id"], {"title": "Second"}, '"rev-1"'), 412, "precondition_failed")
    assert_problem(patch(client, video["id"], {"title": "Second"}, 'W/"rev-2"'), 412, "precondition_failed")
    assert client.get(f"/api/v2/videos/{video['id']}").get_json()["title"] == "First"


def test_of_two_editors_of_one_version_only_one_saves(app, client, video_bytes):
    video = upload(client, video_bytes)
    other = signed_in_client(app, "second-admin", "admin")
    etag = client.get(video["links"]["self"]).headers["ETag"]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def save(editor, title):
        barrier.wait()
        statuses.append(patch(editor, video["id"], {"title": title}, etag).status_code)

    threads = [threading.Thread(target=save, args=(editor, title)) for editor, title in ((client, "A"), (other, "B"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 412]
    after = client.get(video["links"]["self"])
    assert after.headers["ETag"] == '"rev-2"'


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"size": 3}, 422, "invalid_details"),
        ({"title": ""}, 422, "invalid_details"),
        ({"title": "x" * 256}, 422, "invalid_details"),
        ({"description": "x" * 5001}, 422, "invalid_details"),
        ({"tags": ["x" * 51]}, 422, "invalid_details"),
        ({"tags": [""]}, 422, "invalid_details"),
        ({"tags": [f"t{n}" for n in range(MAX_TAGS + 1)]}, 422, "invalid_details"),
        ({"tags": "sea"}, 422, "invalid_details"),
        (["title"], 422, "invalid_details"),
        ("{not json", 400, "bad_request"),
    ],
)
def test_patch_refuses_bad_details_and_changes_nothing(client, video_bytes, body, status, code):
    video = upload(client, video_bytes)
    assert_problem(patch(client, video["id"], body, '"rev-1"'), status, code)
    assert client.get(video["links"]["self"]).headers["ETag"] == '"rev-1"'


def test_patch_needs_a_merge_patch_body(client, video_bytes):
    video = upload(client, video_bytes)
    assert_problem(patch(client, video["id"], {"title": "x"}, '"rev-1"', content_type="application/json"), 415,
                   "unsupported_body_type")


def test_only_the_owner_or_an_admin_edits(app, video_bytes):
    owner = signed_in_client(app, "owner", "uploader")
    video = upload(owner, video_bytes)
    assert_problem(patch(signed_in_client(app, "someone", "uploader"), video["id"], {"title": "x"}, '"rev-1"'), 403, "forbidden")
    assert_problem(patch(signed_in_client(app, "watcher", "viewer"), video["id"], {"title": "x"}, '"rev-1"'), 403, "forbidden")
    assert patch(owner, video["id"], {"title": "Mine"}, '"rev-1"').status_code == 200
    assert patch(signed_in_client(app, "boss", "admin"), video["id"], {"title": "Ours"}, '"rev-2"').status_code == 200


def test_listing_searches_filters_by_tag_and_owner(app, client, video_bytes):
    first = upload(client, video_bytes, "Holiday.mp4")
    second = upload(client, video_bytes, "Москва.mp4")
    patch(client, second["id"], {"tags": ["city", "winter"]}, '"rev-1"')
    patch(client, first["id"], {"tags": ["winter"]}, '"rev-1"')
    listing = client.get("/api/v2/videos").get_json()
    assert listing["total"] == {"value": 2, "relation": "eq"} and listing["next_cursor"] is None
    assert [item["filename"] for item in client.get("/api/v2/videos?q=OLID").get_json()["items"]] == ["Holiday.mp4"]
    assert [item["filename"] for item in client.get("/api/v2/videos?q=москв").get_json()["items"]] == ["Москва.mp4"]
    assert len(client.get("/api/v2/videos?tag=winter").get_json()["items"]) == 2
    assert [item["filename"] for item in client.get("/api/v2/videos?tag=winter&tag=city").get_json()["items"]] == ["Москва.mp4"]
    assert client.get("/api/v2/videos?owner=TESTER").get_json()["total"]["value"] == 2
    assert client.get("/api/v2/videos?owner=nobody").get_json()["total"]["value"] == 0
    # v1's q stays a substring of the file name only, with its exact total.
    assert client.get("/api/v1/files?q=winter").get_json()["total"] == 0


def test_cursor_pages_are_stable_while_videos_are_added(client, video_bytes):
    ids = [upload(client, video_bytes, f"v{number}.mp4")["id"] for number in range(5)]
    seen: list[str] = []
    url = "/api/v2/videos?limit=2"
    while True:
        page = client.get(url).get_json()
        seen += [item["id"] for item in page["items"]]
        upload(client, video_bytes, "added.mp4")
        if page["next_cursor"] is None:
            break
        url = f"/api/v2/videos?limit=2&cursor={page['next_cursor']}"
    assert seen == list(reversed(ids))


def test_a_tampered_cursor_or_one_of_another_sort_is_400(client, video_bytes):
    for number in range(3):
        upload(client, video_bytes, f"v{number}.mp4")
    cursor = client.get("/api/v2/videos?limit=1").get_json()["next_cursor"]
    # The signature's first character, not its last: base64's last character carries padding bits, and
    # two letters that differ only there decode to the same signature.
    payload, signature = cursor.rsplit(".", 1)
    forged = f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert_problem(client.get(f"/api/v2/videos?cursor={forged}"), 400, "invalid_cursor")
    assert_problem(client.get(f"/api/v2/videos?cursor={cursor}&sort=size"), 400, "invalid_cursor")
    assert_problem(client.get("/api/v2/videos?limit=0"), 400, "bad_request")
    assert_problem(client.get("/api/v2/videos?sort=filename"), 400, "bad_request")


def test_every_error_is_a_problem_even_unknown_paths_and_methods(app, client):
    assert_problem(client.get("/api/v2/nothing-here"), 404, "not_found")
    assert_problem(client.put("/api/v2/videos"), 405, "method_not_allowed")
    assert_problem(client.get("/api/v2/videos/not-an-id"), 404, "not_found")
    assert_problem(app.test_client().get("/api/v2/videos"), 401, "unauthorized")
    # v1 keeps its own shape.
    assert client.get("/api/v1/files/not-an-id").get_json()["error"]["code"] == "not_found"


def test_trash_restore_and_purge_keep_search_right(client, video_bytes):
    video = upload(client, video_bytes, "Northern lights.mp4")
    patch(client, video["id"], {"tags": ["aurora"]}, '"rev-1"')
    assert client.delete(f"/api/v2/videos/{video['id']}").status_code == 204
    assert client.get("/api/v2/videos?q=northern").get_json()["items"] == []
    assert client.get("/api/v2/videos?tag=aurora").get_json()["items"] == []
    assert_problem(client.get(f"/api/v2/videos/{video['id']}"), 404, "not_found")
    trashed = client.get("/api/v2/trash").get_json()
    assert [item["id"] for item in trashed["items"]] == [video["id"]]
    assert trashed["items"][0]["deleted_by"] == "tester"
    restored = client.post(f"/api/v2/trash/{video['id']}/restore")
    assert restored.status_code == 200 and restored.get_json()["tags"] == ["aurora"]
    assert [item["id"] for item in client.get("/api/v2/videos?q=northern").get_json()["items"]] == [video["id"]]
    client.delete(f"/api/v2/videos/{video['id']}")
    assert client.delete(f"/api/v2/trash/{video['id']}").status_code == 204
    assert client.get("/api/v2/trash").get_json()["total"] == {"value": 0, "relation": "eq"}
    assert client.get("/api/v2/videos?q=northern").get_json()["items"] == []


def test_shares_verify_and_poster_under_v2_names(client, video_bytes):
    video = upload(client, video_bytes)
    made = client.post(f"/api/v2/videos/{video['id']}/shares", json={"days": 3})
    assert made.status_code == 201
    listed = client.get(f"/api/v2/videos/{video['id']}/shares").get_json()["items"]
    assert [share["id"] for share in listed] == [made.get_json()["id"]]
    assert client.delete(f"/api/v2/shares/{made.get_json()['id']}").status_code == 204
    assert client.post(f"/api/v2/videos/{video['id']}/verify").get_json()["status"] == "ok"
    assert_problem(client.get(f"/api/v2/videos/{video['id']}/poster"), 404, "poster_not_found")
    ranged = client.get(f"/api/v2/videos/{video['id']}/content", headers={"Range": "bytes=0-1"})
    assert ranged.status_code == 206 and ranged.data == video_bytes[:2]
    assert_problem(client.get(f"/api/v2/videos/{video['id']}/content", headers={"Range": f"bytes={len(video_bytes)}-"}),
                   416, "range_not_satisfiable")


def test_a_cookie_caller_needs_the_csrf_token_to_edit(client, video_bytes):
    video = upload(client, video_bytes)
    response = patch(client.without_token(), video["id"], {"title": "x"}, '"rev-1"')
    assert_problem(response, 400, "csrf_failed")


@pytest.mark.parametrize(("limit", "shown"), [("2.0", 2), ("1.00", 1)])
def test_a_whole_number_limit_written_as_a_float_is_taken(client, video_bytes, limit, shown):
    """JSON Schema's ``integer`` is any whole number, 2.0 too; schemathesis found it refused with 400."""
    for number in range(3):
        upload(client, video_bytes, f"v{number}.mp4")
    response = client.get(f"/api/v2/videos?limit={limit}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(response.get_json()["items"]) == shown


@pytest.mark.parametrize("limit", ["2.5", "1e2", "2.", ".0", "0.0", "101.0", "-1.0", "٢"])
def test_a_limit_that_is_not_a_whole_number_from_1_to_100_is_400(client, limit):
    assert_problem(client.get(f"/api/v2/videos?limit={limit}"), 400, "bad_request")
