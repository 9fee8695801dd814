"""v1's search text (the listing's and the trash's) with a control character: nothing matches, on every database.

Stored names never hold one; PostgreSQL refuses a NUL in any text sent to it,
so the listing must not send one.
"""

from __future__ import annotations

import pytest

from tests.helpers import upload


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "clip\x07"])
def test_a_search_text_with_a_control_character_finds_nothing(client, video_bytes, text):
    uploaded = upload(client, video_bytes, "a b clip.mp4").get_json()
    listing = client.get("/api/v1/files", query_string={"q": text})
    assert listing.status_code == 200
    assert listing.get_json()["total"] == 0 and listing.get_json()["items"] == []
    assert client.delete(uploaded["url"]).status_code == 204
    in_trash = client.get("/api/v1/trash", query_string={"q": text})
    assert in_trash.status_code == 200 and in_trash.get_json()["total"] == 0
    assert client.get("/api/v1/trash", query_string={"q": "clip"}).get_json()["total"] == 1
