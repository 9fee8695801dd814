"""portal-client against a real portal (``python wsgi.py``): login, the environment, ls, info, rm, share, download.

Uploads (tus) are in test_upload.py. Files here are stored with the plain
``POST /api/v1/files``, so each test depends on one command only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
from pathlib import Path

import requests

from portal_client import api
from portal_client.cli import main
from tests.client.conftest import client_command
from tests.client.conftest import make_token
from tests.client.conftest import run_installed
from tests.client.conftest import stored_path
from tests.client.conftest import upload_through_api
from tests.support import ADMIN_USERNAME
from tests.support import free_port


def run(capsys, *args: str) -> tuple[int, str, str]:
    """``portal-client args`` in this process: its exit status, what it printed and what it said on stderr."""
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def type_token(monkeypatch, token: str) -> None:
    """The token typed at a terminal (where getpass asks for it)."""
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": token)


def test_login_keeps_url_and_token_for_the_user_only(folders, portal, monkeypatch, capsys):
    type_token(monkeypatch, portal.token)
    status, out, err = run(capsys, "login", portal.url + "/")
    assert status == 0, err
    assert ADMIN_USERNAME in out
    assert json.loads(folders.config_file.read_text()) == {"url": portal.url, "token": portal.token}
    assert stat.S_IMODE(folders.config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(folders.config_file.parent.stat().st_mode) == 0o700
    # Later commands need nothing else.
    status, out, err = run(capsys, "ls", "--json")
    assert status == 0, err
    assert isinstance(json.loads(out), list)


def test_login_with_the_installed_script_reads_a_piped_token(installed_client, folders, portal):
    environment = {**os.environ, "PYTHONPATH": str(installed_client)}
    done = subprocess.run(client_command(installed_client, "login", portal.url), input=portal.token + "\n",
                          env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(folders.config_file.read_text()) == {"url": portal.url, "token": portal.token}
    assert stat.S_IMODE(folders.config_file.stat().st_mode) == 0o600
    listed = run_installed(installed_client, "ls", "--json")
    assert listed.returncode == 0, listed.stderr


def test_login_with_a_refused_token_keeps_nothing(folders, portal, monkeypatch, capsys):
    type_token(monkeypatch, "not-a-token")
    status, out, err = run(capsys, "login", portal.url)
    assert status == 1
    assert "401" in err and "token" in err
    assert not folders.config_file.exists()


def test_login_to_what_is_not_a_url_says_how_to_give_one(folders, capsys):
    status, _out, err = run(capsys, "login", "localhost:8080")
    assert status == 1
    assert "http://" in err


def test_environment_wins_over_the_login_file(folders, portal, monkeypatch, capsys):
    type_token(monkeypatch, portal.token)
    assert run(capsys, "login", portal.url)[0] == 0
    monkeypatch.setenv("PORTAL_TOKEN", "revoked-token")
    status, _out, err = run(capsys, "ls")
    assert status == 1
    assert "401" in err and "PORTAL_TOKEN" in err
    monkeypatch.setenv("PORTAL_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("PORTAL_TOKEN", portal.token)
    status, _out, err = run(capsys, "ls")
    assert status == 1
    assert "Cannot reach" in err
    monkeypatch.setenv("PORTAL_URL", portal.url)
    assert run(capsys, "ls")[0] == 0


def test_a_damaged_login_file_says_to_remove_it(folders, capsys):
    folders.config_file.parent.mkdir(parents=True)
    folders.config_file.write_text("{not json")
    status, _out, err = run(capsys, "ls")
    assert status == 1
    assert str(folders.config_file) in err and "remove" in err


def test_without_a_login_it_says_to_log_in(folders, capsys):
    status, _out, err = run(capsys, "info", "anything")
    assert status == 1
    assert "portal-client login URL" in err


def test_a_portal_that_is_down_is_a_message_not_a_traceback(installed_client, folders, tmp_path):
    done = run_installed(installed_client, "ls", env={"PORTAL_URL": f"http://127.0.0.1:{free_port()}", "PORTAL_TOKEN": "x"})
    assert done.returncode == 1
    assert "Cannot reach the portal" in done.stderr
    assert "Traceback" not in done.stderr


def test_ls_lists_and_searches_and_prints_json(signed_in, portal, capsys):
    first, _ = upload_through_api(portal, "lsholiday-beach.mp4")
    second, _ = upload_through_api(portal, "lsconcert.mp4")
    status, out, err = run(capsys, "ls")
    assert status == 0, err
    assert first["id"] in out and second["id"] in out and "lsholiday-beach.mp4" in out
    status, out, err = run(capsys, "ls", "-q", "lsholiday", "--json")
    assert status == 0, err
    assert [item["id"] for item in json.loads(out)] == [first["id"]]


def describe_through_api(portal, video: dict, **details) -> None:
    """Give a stored video a title, description or tags, through v2's merge patch."""
    url = f"{portal.url}/api/v2/videos/{video['id']}"
    etag = portal.http.get(url, timeout=10).headers["ETag"]
    headers = {"If-Match": etag, "Content-Type": "application/merge-patch+json"}
    response = portal.http.patch(url, json=details, headers=headers, timeout=10)
    assert response.status_code == 200, response.text


def test_ls_q_searches_titles_descriptions_and_tags_as_v2_does_and_shows_titles(signed_in, portal, capsys):
    titled, _ = upload_through_api(portal, "VID_20261207_1015.mp4")
    describe_through_api(portal, titled, title="Kingfisher by the weir", description="Blue flash over the river")
    tagged, _ = upload_through_api(portal, "VID_20261207_1016.mp4")
    describe_through_api(portal, tagged, tags=["lsbirdwatch"])
    for word, wanted in (("kingfisher", titled), ("river", titled), ("lsbirdwatch", tagged), ("20261207_1016", tagged)):
        status, out, err = run(capsys, "ls", "-q", word)
        assert status == 0, err
        lines = out.splitlines()
        assert len(lines) == 1 and lines[0].startswith(wanted["id"]), (word, out)
    status, out, _ = run(capsys, "ls", "-q", "kingfisher")
    assert out.rstrip().endswith("Kingfisher by the weir  (VID_20261207_1015.mp4)"), out


def test_ls_q_says_no_videos_match_with_exit_status_3(signed_in, portal, capsys):
    status, out, err = run(capsys, "ls", "-q", "nothingcalledthis")
    assert (status, out) == (3, "")
    assert err == "no videos match 'nothingcalledthis'\n"
    status, out, _ = run(capsys, "ls", "-q", "nothingcalledthis", "--json")
    assert (status, json.loads(out)) == (3, [])


def test_ls_gathers_every_page_of_v1(v1_signed_in, v1_portal, capsys, monkeypatch):
    made = {upload_through_api(v1_portal, f"lspages-{n}.mp4", 1000)[0]["id"] for n in range(3)}
    pages = []
    original = api.Portal.json

    def two_per_page(self, method, path, expect=(200,), **kwargs):
        if path == "/files":
            kwargs["params"]["per_page"] = 2
            pages.append(kwargs["params"]["page"])
        return original(self, method, path, expect, **kwargs)

    monkeypatch.setattr(api.Portal, "json", two_per_page)
    status, out, err = run(capsys, "ls", "--json")
    assert status == 0, err
    assert made <= {item["id"] for item in json.loads(out)}
    assert pages[:2] == [1, 2]


def test_ls_q_follows_v2s_cursor_to_the_last_page(signed_in, portal, capsys, monkeypatch):
    made = {upload_through_api(portal, f"lscursor-{n}.mp4", 1000)[0]["id"] for n in range(3)}
    cursors = []
    original = api.Portal.request

    def two_per_page(self, method, url, expect=(200,), **kwargs):
        if url.endswith("/api/v2/videos"):
            kwargs["params"]["limit"] = 2
            cursors.append(kwargs["params"].get("cursor"))
        return original(self, method, url, expect, **kwargs)

    monkeypatch.setattr(api.Portal, "request", two_per_page)
    status, out, err = run(capsys, "ls", "-q", "lscursor", "--json")
    assert status == 0, err
    assert {item["id"] for item in json.loads(out)} == made
    assert len(cursors) == 2 and cursors[0] is None and cursors[1]


def test_info_shows_the_file(signed_in, portal, capsys):
    file, data = upload_through_api(portal, "info.mp4")
    status, out, err = run(capsys, "info", file["id"])
    assert status == 0, err
    assert "info.mp4" in out and hashlib.sha256(data).hexdigest() in out and str(len(data)) in out


def test_an_unknown_id_is_a_404_with_the_portals_message(signed_in, capsys):
    status, _out, err = run(capsys, "info", "no-such-id")
    assert status == 1
    assert err.startswith("portal-client: 404")
    assert "Traceback" not in err


def test_rm_moves_the_file_to_the_trash(signed_in, portal, capsys):
    file, _ = upload_through_api(portal, "rm.mp4")
    status, out, err = run(capsys, "rm", file["id"])
    assert status == 0, err
    assert "trash" in out
    assert portal.http.get(file["url"], timeout=10).status_code == 404
    assert run(capsys, "rm", file["id"])[0] == 1


def test_rm_without_the_delete_scope_names_it(signed_in, portal, capsys, monkeypatch):
    file, _ = upload_through_api(portal, "rm-scope.mp4")
    monkeypatch.setenv("PORTAL_TOKEN", make_token(portal, ("read",)))
    status, _out, err = run(capsys, "rm", file["id"])
    assert status == 1
    assert "403" in err and "delete" in err


def test_share_prints_a_link_anyone_can_open(signed_in, portal, capsys):
    file, _ = upload_through_api(portal, "share.mp4")
    status, out, err = run(capsys, "share", file["id"], "--days", "3")
    assert status == 0, err
    link = out.strip()
    assert link.startswith(portal.url + "/s/")
    assert requests.get(link, timeout=10).status_code == 200
    assert run(capsys, "share", file["id"], "--days", "1000")[0] == 1


def test_download_with_the_installed_script_writes_the_checked_file(installed_client, signed_in, portal, tmp_path):
    file, data = upload_through_api(portal, "download.mp4", 3_000_000)
    done = run_installed(installed_client, "download", file["id"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "download.mp4").read_bytes() == data
    assert not (tmp_path / "download.mp4.part").exists()
    again = run_installed(installed_client, "download", file["id"], cwd=tmp_path)
    assert again.returncode == 1
    assert "exists already" in again.stderr


def test_download_resumes_a_partial_file_with_range_and_if_range(signed_in, portal, capsys, tmp_path, monkeypatch):
    file, data = upload_through_api(portal, "resume.mp4", 2_000_000)
    target = tmp_path / "out.mp4"
    (tmp_path / "out.mp4.part").write_bytes(data[:700_000])
    sent = []
    original = api.Portal.request

    def recording(self, method, url, expect=(200,), **kwargs):
        response = original(self, method, url, expect, **kwargs)
        sent.append((method, dict(kwargs.get("headers") or {}), response.status_code))
        return response

    monkeypatch.setattr(api.Portal, "request", recording)
    status, out, err = run(capsys, "download", file["id"], "-o", str(target))
    assert status == 0, err
    assert target.read_bytes() == data
    assert not (tmp_path / "out.mp4.part").exists()
    [(_, headers, code)] = [entry for entry in sent if entry[0] == "GET" and "Range" in entry[1]]
    assert headers["Range"] == "bytes=700000-"
    assert headers["If-Range"] == f'"{file["sha256"]}"'
    assert code == 206


def test_download_into_a_folder_uses_the_files_name(signed_in, portal, capsys, tmp_path):
    file, data = upload_through_api(portal, "into-folder.mp4")
    status, out, err = run(capsys, "download", file["id"], "-o", str(tmp_path))
    assert status == 0, err
    assert (tmp_path / "into-folder.mp4").read_bytes() == data


def test_download_into_a_missing_folder_says_so(signed_in, portal, capsys, tmp_path):
    file, _ = upload_through_api(portal, "no-folder.mp4", 1000)
    status, _out, err = run(capsys, "download", file["id"], "-o", str(tmp_path / "missing" / "x.mp4"))
    assert status == 1
    assert "There is no folder" in err and "Traceback" not in err


def test_a_download_cut_mid_file_is_continued_with_range_on_its_own(signed_in, portal, capsys, tmp_path, monkeypatch):
    from portal_client import download

    file, data = upload_through_api(portal, "cut.mp4", 3_000_000)
    iter_content = requests.Response.iter_content
    ranges = []

    def cut_once(self, chunk_size=1, decode_unicode=False):
        if not self.url.endswith("/content") or self.request.method != "GET":
            yield from iter_content(self, chunk_size, decode_unicode)
            return
        ranges.append(self.request.headers.get("Range"))
        for number, chunk in enumerate(iter_content(self, chunk_size, decode_unicode)):
            if len(ranges) == 1 and number == 2:
                raise requests.exceptions.ChunkedEncodingError("connection reset")
            yield chunk

    monkeypatch.setattr(requests.Response, "iter_content", cut_once)
    monkeypatch.setattr(download, "RETRY_DELAY", 0.01)
    target = tmp_path / "cut.mp4"
    status, _out, err = run(capsys, "download", file["id"], "-o", str(target))
    assert status == 0, err
    assert target.read_bytes() == data
    assert ranges == [None, f"bytes={2 * download.CHUNK_SIZE}-"]


def test_a_damaged_stored_file_is_refused_and_nothing_is_left_under_path(signed_in, portal, capsys, tmp_path, monkeypatch):
    from portal_client import download

    monkeypatch.setattr(download, "RETRY_DELAY", 0.01)
    file, data = upload_through_api(portal, "damaged.mp4", 3_000_000)
    path = stored_path(portal, file["id"])
    damaged = bytearray(data)
    damaged[-1000:] = b"\0" * 1000
    path.write_bytes(bytes(damaged))

    refused = []
    check_digests = download.check_digests

    def recording(*args):
        try:
            check_digests(*args)
        except download.Mismatch as mismatch:
            refused.append(mismatch.resumed)
            raise

    monkeypatch.setattr(download, "check_digests", recording)

    # Resumed: the portal sends a range of a file straight from storage; the client's own hash refuses
    # it, then fetches the whole file again, which the portal refuses as it reads it.
    resumed = tmp_path / "resumed.mp4"
    (tmp_path / "resumed.mp4.part").write_bytes(data[:1_000_000])
    status, _out, err = run(capsys, "download", file["id"], "-o", str(resumed))
    assert status == 1
    assert refused[:1] == [True]
    assert not resumed.exists()
    assert "Traceback" not in err

    # Whole: the portal breaks the connection (or refuses the file); either way nothing lands under PATH.
    whole = tmp_path / "whole.mp4"
    for _attempt in range(2):
        status, _out, err = run(capsys, "download", file["id"], "-o", str(whole))
        assert status == 1
        assert "Traceback" not in err
        assert not whole.exists()


def test_a_part_file_of_other_bytes_is_fetched_again_whole(signed_in, portal, capsys, tmp_path):
    file, data = upload_through_api(portal, "stale-part.mp4", 2_000_000)
    target = tmp_path / "stale-part.mp4"
    (tmp_path / "stale-part.mp4.part").write_bytes(b"left from another file" * 1000)
    status, _out, err = run(capsys, "download", file["id"], "-o", str(target))
    assert status == 0, err
    assert target.read_bytes() == data
    assert not (tmp_path / "stale-part.mp4.part").exists()


def test_the_installed_package_needs_none_of_the_servers_dependencies(installed_client: Path):
    [metadata] = installed_client.glob("portal_client-*.dist-info/METADATA")
    requires = [line.split(":", 1)[1].strip().split()[0].split(">")[0].lower() for line in metadata.read_text().splitlines()
                if line.startswith("Requires-Dist:")]
    assert sorted(requires) == ["platformdirs", "requests", "tqdm", "tuspy"]
    assert (installed_client / "bin" / "portal-client").exists()
