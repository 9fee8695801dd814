"""Titles, descriptions and tags on the pages: the search box, tag chips, and the edit form with its version."""

from __future__ import annotations

import html as html_module
import re

import pytest

from portal.extensions import db
from portal.library import catalog
from portal.library.service import get_video
from tests.helpers import signed_in_client
from tests.support import found
from tests.support import minimal_mp4
from tests.web.conftest import add_video
from tests.web.conftest import csrf_token

_VERSION = re.compile(r'<input[^>]*name="version"[^>]*value="([^"]*)"|<input[^>]*value="([^"]*)"[^>]*name="version"')


def titles_in_order(page: str) -> list[str]:
    return [html_module.unescape(title) for title in re.findall(r'<h2 class="video-card__title"><a href="/videos/[^"]+">([^<]+)</a>', page)]


def version_on(page: str) -> str:
    match = _VERSION.search(page)
    assert match, "the page has no details form"
    return html_module.unescape(match.group(1) or match.group(2))


def input_value(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', page
    )
    assert match, f"no input {name}"
    return html_module.unescape(match.group(1))


def set_details(app, video_id: str, **details) -> None:
    """Edit through the catalog as the video's owner would (the API's and the form's service)."""
    from portal.accounts.permissions import Caller
    from portal.accounts.service import get_user

    with app.test_request_context(), app.app_context():
        video = get_video(video_id)
        assert video.owner_name is not None
        owner = get_user(video.owner_name)
        catalog.update_details(video, by=Caller(user=owner), if_match=catalog.etag_of(video), **details)
        db.session.remove()


def save(client, video_id: str, version: str, title: str = "", description: str = "", tags: str = ""):
    return client.post(
        f"/videos/{video_id}/details",
        data={"csrf_token": csrf_token(client, f"/videos/{video_id}"), "version": version, "title": title,
              "description": description, "tags": tags},
    )


@pytest.fixture
def uma(app):
    return signed_in_client(app, "uma", role="uploader")


@pytest.fixture
def umas_video(uma) -> dict:
    return add_video(uma, minimal_mp4(bytes(100)), "VID_0001.mp4")


def test_the_owner_saves_title_description_and_tags_and_the_library_shows_the_title(app, uma, umas_video):
    page = uma.get(f"/videos/{umas_video['id']}").get_data(as_text=True)
    assert "Title, description and tags" in page
    assert input_value(page, "title") == "VID_0001"  # the file name's stem until one is set
    assert "aria-invalid" not in page  # no field is marked invalid before anything was sent
    response = save(uma, umas_video["id"], version_on(page), "Sunset over Lisbon", "From the castle.\nWindy.",
                    "travel, Portugal , travel,")
    assert response.status_code == 303, response.get_data(as_text=True)
    shown = uma.get(response.headers["Location"]).get_data(as_text=True)
    assert "<h1 class=\"video-title\">Sunset over Lisbon</h1>" in shown
    assert "From the castle.\nWindy." in shown and "Saved the details" in shown
    assert re.findall(r'rel="tag">([^<]+)</a>', shown) == ["travel", "Portugal"]
    assert titles_in_order(uma.get("/").get_data(as_text=True)) == ["Sunset over Lisbon"]


def test_a_video_without_a_title_is_shown_by_its_file_name(uma, umas_video):
    assert titles_in_order(uma.get("/").get_data(as_text=True)) == ["VID_0001.mp4"]


def test_an_empty_title_gives_back_the_file_name(app, uma, umas_video):
    set_details(app, umas_video["id"], title="Named")
    page = uma.get(f"/videos/{umas_video['id']}").get_data(as_text=True)
    assert save(uma, umas_video["id"], version_on(page), "  ").status_code == 303
    assert titles_in_order(uma.get("/").get_data(as_text=True)) == ["VID_0001.mp4"]


def test_a_save_after_someone_elses_shows_their_version_and_keeps_it(app, client, uma, umas_video):
    """Two editors open the same version; the second save is refused, and the form now holds the first's."""
    path = f"/videos/{umas_video['id']}"
    hers = version_on(uma.get(path).get_data(as_text=True))
    admins = version_on(client.get(path).get_data(as_text=True))
    assert hers == admins
    assert save(client, umas_video["id"], admins, "The admin's title", "", "checked").status_code == 303

    refused = save(uma, umas_video["id"], hers, "Uma's title", "Uma's words", "mine")
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "Someone else saved changes to this video while you were editing" in page
    assert input_value(page, "title") == "The admin's title"
    assert input_value(page, "tags") == "checked"
    assert version_on(page) != hers  # the next save names their version
    with app.app_context():
        video = get_video(umas_video["id"])
        assert (video.title, video.tags) == ("The admin's title", ["checked"])
    # Saving again from the page as it came back works.
    assert save(uma, umas_video["id"], version_on(page), "Uma's title").status_code == 303


def test_a_save_without_a_version_changes_nothing(app, uma, umas_video):
    assert save(uma, umas_video["id"], "", "Blind write").status_code in (409, 428)
    with app.app_context():
        assert get_video(umas_video["id"]).title == "VID_0001"


def test_details_the_catalog_refuses_come_back_with_the_reason_and_the_input(app, uma, umas_video):
    page = uma.get(f"/videos/{umas_video['id']}").get_data(as_text=True)
    tags = ", ".join(f"t{number}" for number in range(21))
    response = save(uma, umas_video["id"], version_on(page), "Kept input", "", tags)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "at most 20 tags" in body
    assert input_value(body, "title") == "Kept input" and input_value(body, "tags") == tags
    with app.app_context():
        assert get_video(umas_video["id"]).tags == []


@pytest.mark.parametrize("role", ["viewer", "uploader"])
def test_others_see_no_form_and_their_post_is_refused(app, uma, umas_video, role):
    other = signed_in_client(app, f"other-{role}", role=role)
    page = other.get(f"/videos/{umas_video['id']}").get_data(as_text=True)
    assert "Title, description and tags" not in page and 'name="version"' not in page
    version = version_on(uma.get(f"/videos/{umas_video['id']}").get_data(as_text=True))
    response = save(other, umas_video["id"], version, "Taken over")
    assert response.status_code == 403
    with app.app_context():
        assert get_video(umas_video["id"]).title == "VID_0001"


def test_a_visitor_cannot_post_details(app, umas_video):
    response = app.test_client().post(f"/videos/{umas_video['id']}/details", data={"title": "x"})
    assert response.status_code in (302, 303, 400, 401)
    with app.app_context():
        assert get_video(umas_video["id"]).title == "VID_0001"


def test_the_search_box_finds_titles_descriptions_and_tags_in_any_script(app, client):
    videos = [add_video(client, minimal_mp4(bytes(n)), f"clip{n}.mp4") for n in range(1, 5)]
    set_details(app, videos[0]["id"], title="Holiday in Ελλάδα")
    set_details(app, videos[1]["id"], description="Straße at night, 東京")
    set_details(app, videos[2]["id"], tags=["Family", "garden"])
    for query, expected in [
        ("olid", ["Holiday in Ελλάδα"]),
        ("ΕΛΛΆΔΑ", ["Holiday in Ελλάδα"]),
        ("STRASSE", ["clip2.mp4"]),  # "ß" case-folds to "ss"
        ("straße", ["clip2.mp4"]),
        ("東京", ["clip2.mp4"]),
        ("famil", ["clip3.mp4"]),
        ("clip4", ["clip4.mp4"]),
    ]:
        page = client.get("/", query_string={"q": query}).get_data(as_text=True)
        assert titles_in_order(page) == expected, query
    assert "Search titles, descriptions and tags" in page


def test_tags_are_chips_that_filter_the_library(app, client):
    videos = [add_video(client, minimal_mp4(bytes(n)), f"clip{n}.mp4") for n in range(1, 4)]
    set_details(app, videos[0]["id"], tags=["beach", "family"])
    set_details(app, videos[1]["id"], tags=["family"])
    library = client.get("/").get_data(as_text=True)
    chip = re.search(r'<a class="chip" href="([^"]+)" rel="tag">family</a>', library)
    assert chip and html_module.unescape(chip.group(1)) == "/?tag=family"
    filtered = client.get(html_module.unescape(chip.group(1))).get_data(as_text=True)
    assert titles_in_order(filtered) == ["clip2.mp4", "clip1.mp4"]
    assert "tagged “family”" in filtered
    # A chip on a filtered page narrows further; the active filter's chip takes its tag off.
    narrower = found(r'<a class="chip" href="([^"]+)" rel="tag">beach</a>', filtered).group(1)
    both = client.get(html_module.unescape(narrower)).get_data(as_text=True)
    assert titles_in_order(both) == ["clip1.mp4"]
    off = re.search(r'<a class="chip chip--active" href="([^"]+)" aria-label="Stop filtering by tag “beach”"', both)
    assert off
    assert titles_in_order(client.get(html_module.unescape(off.group(1))).get_data(as_text=True)) == [
        "clip2.mp4", "clip1.mp4"]
    # The video's page links its tags to the filter too.
    page = client.get(f"/videos/{videos[0]['id']}").get_data(as_text=True)
    assert '<a class="chip" href="/?tag=beach" rel="tag">beach</a>' in page
    nothing = client.get("/?tag=nowhere").get_data(as_text=True)
    assert "No video matches" in nothing and "“nowhere”" in nothing
