"""Text subtitle tracks inside an upload become the video's captions when it is processed."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.media.conftest import make_clip

SRT = "1\n00:00:00,300 --> 00:00:01,200\nHello <i>there</i> & co\n\n2\n00:00:01,500 --> 00:00:02,000\nSecond\nline\n"


@pytest.fixture(scope="module")
def subtitled(tmp_path_factory) -> dict[str, bytes]:
    """An MKV with an SRT track (English, titled) and an ASS one (French), an MP4 with a mov_text one (German),
    and an MKV with a DVD picture subtitle."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (Debian package 'ffmpeg'); .ci/run installs it")
    folder = tmp_path_factory.mktemp("subtitled")
    (folder / "talk.srt").write_text(SRT)
    plain = make_clip(folder / "plain.mkv", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")

    def mux(name: str, *args: str) -> bytes:
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(plain), "-i", str(folder / "talk.srt"), *args,
             "-y", str(folder / name)],
            check=True,
        )
        return (folder / name).read_bytes()

    return {
        "mkv": mux("two.mkv", "-i", str(folder / "talk.srt"), "-map", "0", "-map", "1", "-map", "2", "-c:v", "copy", "-c:a", "copy",
                   "-c:s:0", "srt", "-c:s:1", "ass", "-metadata:s:s:0", "language=eng", "-metadata:s:s:0", "title=English SDH",
                   "-metadata:s:s:1", "language=fre"),
        "mp4": mux("movtext.mp4", "-map", "0", "-map", "1", "-c:v", "copy", "-c:a", "copy", "-c:s", "mov_text",
                   "-metadata:s:s:0", "language=ger"),
    }


def test_text_subtitle_tracks_become_captions_with_their_language_and_title(immediate_app, subtitled):
    client = signed_in_client(immediate_app)
    video = upload(client, subtitled["mkv"], "talk.mkv").get_json()
    assert client.get(video["url"]).get_json()["processing"]["state"] == "done"
    listed = client.get(f"/api/v2/videos/{video['id']}/captions").get_json()["items"]
    assert [(item["language"], item["label"], item["source"]) for item in listed] == [
        ("en", "English SDH", "embedded"), ("fr", "fr", "embedded"),
    ]
    english = client.get(listed[0]["url"]).get_data(as_text=True)
    assert english == (
        "WEBVTT\n\n1\n00:00:00.300 --> 00:00:01.200\nHello there &amp; co\n\n"
        "2\n00:00:01.500 --> 00:00:02.000\nSecond\nline\n"
    )
    assert client.get(listed[1]["url"]).get_data(as_text=True) == english

    # Processed again: the same captions, not stored twice; one sent by a person is never overwritten.
    etag = client.get(listed[0]["url"]).headers["ETag"]
    replaced = client.put(listed[1]["url"], query_string={"label": "Français"}, data=SRT.replace("Hello", "Bonjour"),
                          headers={"If-Match": client.get(listed[1]["url"]).headers["ETag"]})
    assert replaced.status_code == 200
    assert client.post(f"/api/v2/videos/{video['id']}/process").status_code == 202
    again = client.get(f"/api/v2/videos/{video['id']}/captions").get_json()["items"]
    assert [(item["language"], item["label"], item["source"]) for item in again] == [
        ("en", "English SDH", "embedded"), ("fr", "Français", "upload"),
    ]
    assert client.get(again[0]["url"]).headers["ETag"] == etag


def test_a_mov_text_track_of_an_mp4_becomes_a_caption(immediate_app, subtitled):
    client = signed_in_client(immediate_app)
    video = upload(client, subtitled["mp4"], "talk.mp4").get_json()
    (caption,) = client.get(f"/api/v2/videos/{video['id']}/captions").get_json()["items"]
    assert (caption["language"], caption["source"]) == ("de", "embedded")
    assert "Hello there &amp; co" in client.get(caption["url"]).get_data(as_text=True)


def test_the_facts_list_every_subtitle_track_and_the_page_shows_them(immediate_app, subtitled):
    client = signed_in_client(immediate_app)
    video = upload(client, subtitled["mkv"], "talk.mkv").get_json()
    with immediate_app.app_context():
        from portal.extensions import db
        from portal.library.models import Video

        assert db.session.get_one(Video, video["id"]).subtitle_tracks == [
            {"codec": "srt", "language": "eng", "title": "English SDH", "text": True},
            {"codec": "ssa", "language": "fre", "title": None, "text": True},
        ]
    page = client.get(f"/videos/{video['id']}").get_data(as_text=True)
    assert "Subtitles in the file" in page and "English SDH" in page
