"""The library at ``/``: listing, search, sort, pages by cursor and the empty state."""

from __future__ import annotations

import re

import pytest

from portal.errors import format_bytes
from tests.support import found
from tests.support import minimal_mp4
from tests.web.conftest import add_video


def names_in_order(html: str) -> list[str]:
    return re.findall(r'<h2 class="video-card__title"><a href="/videos/[^"]+">([^<]+)</a>', html)


@pytest.fixture
def five_videos(client) -> list[dict]:
    """Names, sizes and upload order chosen so that every sort gives a different order."""
    specs = [("Cat.mp4", 3000), ("apple.mp4", 1000), ("Dog.mp4", 5000), ("banana.mp4", 2000), ("Émile.mp4", 4000)]
    return [add_video(client, minimal_mp4(bytes(size)), name) for name, size in specs]


def test_empty_library_invites_to_upload(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Your library is empty" in html
    assert 'href="/upload"' in html
    assert 'role="search"' not in html  # nothing to search yet


def test_library_shows_name_human_size_type_time_short_checksum_and_status(client):
    content = minimal_mp4(bytes(3000))
    video = add_video(client, content, "holiday.mp4")
    html = client.get("/").get_data(as_text=True)
    assert f'href="/videos/{video["id"]}">holiday.mp4</a>' in html
    assert f"<span>{format_bytes(len(content))}</span>" in html and "KiB" in format_bytes(len(content))
    assert ">MP4<" in html
    assert f'datetime="{video["created_at"][:19]}' in html
    assert video["sha256"][:12] in html
    assert video["sha256"] not in html.replace(f'title="SHA-256 {video["sha256"]}"', "")  # only the short form is shown
    assert "Verified" in html
    assert "1 video" in html


@pytest.mark.parametrize(
    "sort, expected",
    [
        (None, ["Émile.mp4", "banana.mp4", "Dog.mp4", "apple.mp4", "Cat.mp4"]),
        ("newest", ["Émile.mp4", "banana.mp4", "Dog.mp4", "apple.mp4", "Cat.mp4"]),
        ("name", ["apple.mp4", "banana.mp4", "Cat.mp4", "Dog.mp4", "Émile.mp4"]),
        ("size", ["Dog.mp4", "Émile.mp4", "Cat.mp4", "banana.mp4", "apple.mp4"]),
    ],
)
def test_library_sorts_by_get_parameter(client, five_videos, sort, expected):
    response = client.get("/", query_string={"sort": sort} if sort else {})
    assert response.status_code == 200
    assert names_in_order(response.get_data(as_text=True)) == expected


def test_sort_choice_is_kept_selected(client, five_videos):
    html = client.get("/?sort=size").get_data(as_text=True)
    assert '<option value="size" selected>' in html


def test_search_is_a_case_insensitive_part_of_the_name(client, five_videos):
    html = client.get("/?q=AN").get_data(as_text=True)
    assert names_in_order(html) == ["banana.mp4"]
    assert 'value="AN"' in html
    assert "1 video" in html and "matching “AN”" in html
    assert 'href="/"' in html  # a way back to everything


def test_search_without_a_match_says_so(client, five_videos):
    html = client.get("/?q=zebra").get_data(as_text=True)
    assert names_in_order(html) == []
    assert "No video matches “zebra”" in html


def test_pages_follow_each_other_by_cursor_keeping_search_and_sort(client, five_videos):
    first = client.get("/?sort=name&per_page=2").get_data(as_text=True)
    assert names_in_order(first) == ["apple.mp4", "banana.mp4"]
    assert 'rel="first"' not in first
    next_link = found(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "sort=name" in next_link and "per_page=2" in next_link and "cursor=" in next_link
    second = client.get(next_link).get_data(as_text=True)
    assert names_in_order(second) == ["Cat.mp4", "Dog.mp4"]
    assert 'href="/?sort=name&amp;per_page=2" rel="first"' in second
    last_link = found(r'href="([^"]+)" rel="next"', second).group(1).replace("&amp;", "&")
    last = client.get(last_link).get_data(as_text=True)
    assert names_in_order(last) == ["Émile.mp4"]
    assert 'rel="next"' not in last
    assert "5 videos" in last  # the library's exact size on every page


def test_a_page_after_the_last_video_offers_the_first(client, five_videos):
    first = client.get("/?per_page=4").get_data(as_text=True)
    next_link = found(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    # The one video on the next page goes to the trash before it is asked for.
    assert client.delete(five_videos[0]["url"]).status_code == 204
    response = client.get(next_link)
    assert response.status_code == 200
    assert "There are no more videos" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query", ["sort=biggest", "per_page=0", "per_page=abc", "per_page=1000", "q=" + "x" * 201, "cursor=made-up"]
)
def test_bad_listing_parameters_are_a_400_page(client, query):
    response = client.get("/?" + query)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert 'class="error-page' in response.get_data(as_text=True)


def test_library_shows_a_damaged_file_as_corrupt(client, data_dir, stored):
    [path] = [p for p in (data_dir / "files").rglob(stored["id"])]
    content = bytearray(path.read_bytes())
    content[-1] ^= 0xFF
    path.write_bytes(bytes(content))
    client.post(f"/api/v1/files/{stored['id']}/verify")
    assert "Corrupt" in client.get("/").get_data(as_text=True)


def test_library_names_formats_as_people_know_them(client):
    matroska = b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska" + bytes(500)
    add_video(client, matroska, "film.mkv")
    html = client.get("/").get_data(as_text=True)
    assert '<span class="video-card__format">MKV</span>' in html
