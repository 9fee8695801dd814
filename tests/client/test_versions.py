"""portal-client speaks v2 to a portal that offers it, and v1 to one whose /api/v2 answers 404: real HTTP both ways.

The server's access log tells which version each request went to: against v2
no command sends anything to /api/v1, against the v1-only portal nothing but
the one look at /api/v2/openapi.json goes to /api/v2.
"""

from __future__ import annotations

import hashlib
import os
import re

import pytest

from portal_client.api import Portal
from portal_client.cli import main
from tests.client.conftest import upload_through_api
from tests.support import RunningPortal
from tests.support import minimal_mp4


def paths_since(portal: RunningPortal, start: int) -> list[str]:
    """The paths of the requests the server logged after ``start`` characters of its output."""
    return re.findall(r'"?(?:GET|HEAD|POST|PATCH|DELETE|OPTIONS) (/[^ ?"]*)', portal.output()[start:])


def every_command(capsys, tmp_path, name: str) -> str:
    """upload, ls, ls -q, info, share, download and rm of one new file, each of which must succeed; its id."""
    video = minimal_mp4(os.urandom(300_000))
    path = tmp_path / name
    path.write_bytes(video)
    assert main(["upload", str(path)]) == 0, capsys.readouterr().err
    video_id = capsys.readouterr().out.split()[0]
    for command in (["ls"], ["ls", "-q", name[:8]], ["info", video_id], ["share", video_id]):
        assert main(command) == 0, (command, capsys.readouterr().err)
        assert video_id in capsys.readouterr().out or command[0] == "share"
    target = tmp_path / "back.mp4"
    assert main(["download", video_id, "-o", str(target)]) == 0, capsys.readouterr().err
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(video).digest()
    assert main(["rm", video_id]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return video_id


def test_against_a_portal_with_v2_every_command_speaks_v2(signed_in, portal, capsys, tmp_path):
    assert Portal(portal.url, portal.token).version == "v2"
    start = len(portal.output())
    video_id = every_command(capsys, tmp_path, "versions-two.mp4")
    paths = paths_since(portal, start)
    assert paths, "the access log names the requests"
    assert not [path for path in paths if path.startswith("/api/v1/")]
    assert f"/api/v2/videos/{video_id}/content" in paths and any(path.startswith("/api/v2/uploads") for path in paths)
    assert portal.http.get(f"{portal.url}/api/v2/videos/{video_id}", timeout=10).status_code == 404, "in the trash"


def test_against_a_portal_without_v2_every_command_speaks_v1(v1_signed_in, v1_portal, capsys, tmp_path):
    assert Portal(v1_portal.url, v1_portal.token).version == "v1"
    start = len(v1_portal.output())
    video_id = every_command(capsys, tmp_path, "versions-one.mp4")
    paths = paths_since(v1_portal, start)
    assert [path for path in paths if path.startswith("/api/v2/")] == ["/api/v2/openapi.json"] * len(
        [path for path in paths if path.startswith("/api/v2/")]
    )
    assert f"/api/v1/files/{video_id}/content" in paths and any(path.startswith("/api/v1/uploads") for path in paths)
    assert v1_portal.http.get(f"{v1_portal.url}/api/v1/files/{video_id}", timeout=10).status_code == 404, "in the trash"


def test_login_names_the_user_from_either_version(folders, portal, v1_portal, capsys, monkeypatch):
    import io

    for server in (portal, v1_portal):
        monkeypatch.setattr("sys.stdin", io.StringIO(server.token + "\n"))
        assert main(["login", server.url]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"Signed in to {server.url} as admin (admin; scopes: ") and "read" in out


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_refusal_says_the_portals_own_words_in_either_version(signed_in, portal, v1_portal, capsys, monkeypatch, version):
    server = portal if version == "v2" else v1_portal
    monkeypatch.setenv("PORTAL_URL", server.url)
    monkeypatch.setenv("PORTAL_TOKEN", server.token)
    file, _ = upload_through_api(server, f"refusal-{version}.mp4")
    assert main(["share", file["id"], "--days", "100000"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("portal-client: 400: ") and "day" in err, err
