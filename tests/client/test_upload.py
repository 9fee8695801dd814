"""portal-client upload against a real portal's tus endpoint: stored with the right SHA-256, resumed after SIGKILL."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

from portal_client.cli import main
from portal_client.upload import fingerprint_of
from tests.client.conftest import ClientFolders
from tests.client.conftest import make_token
from tests.client.conftest import run_installed
from tests.support import RunningPortal
from tests.support import minimal_mp4

MIB = 1024 * 1024

#: The client with every block of a PATCH's body read slowly: a line slow enough to be cut mid-upload.
SLOW_CLIENT = """
import sys, time
import portal_client.upload as upload
read = upload.BodyReader.read
def slow(self, size=-1):
    data = read(self, size)
    time.sleep(0.02 * max(1, len(data) // 16384))  # about 800 KiB/s
    return data
upload.BodyReader.read = slow
from portal_client.cli import main
from portal_client.upload import fingerprint_of
sys.exit(main(sys.argv[1:]))
"""


def stored_sha256(portal: RunningPortal, file_id: str) -> str:
    response = portal.http.get(f"{portal.url}/api/v1/files/{file_id}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["sha256"]


def kept_upload_urls(folders: ClientFolders) -> list[str]:
    try:
        return list(json.loads(folders.uploads_file.read_text()).values())
    except (FileNotFoundError, ValueError):
        return []


def server_offset(portal: RunningPortal, url: str) -> int:
    response = portal.http.head(url, headers={"Tus-Resumable": "1.0.0"}, timeout=10)
    assert response.status_code == 200, response.status_code
    return int(response.headers["Upload-Offset"])


def test_upload_stores_the_file_with_its_sha256(installed_client, signed_in, portal, tmp_path):
    video = tmp_path / "upload.mp4"
    video.write_bytes(minimal_mp4(os.urandom(3 * MIB)))
    other = tmp_path / "second.mp4"
    other.write_bytes(minimal_mp4(os.urandom(100_000)))
    done = run_installed(installed_client, "upload", "--chunk-size", "1", str(video), str(other))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    for line, path in zip(lines, (video, other), strict=True):
        file_id, name, _label, sha256 = line.split()
        assert name == path.name
        assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest() == stored_sha256(portal, file_id)
    assert kept_upload_urls(signed_in) == []


def test_upload_of_what_is_not_a_video_says_so_and_keeps_nothing(signed_in, portal, tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_bytes(b"not a video\n" * 1000)
    missing = tmp_path / "missing.mp4"
    assert main(["upload", str(text), str(missing)]) == 1
    err = capsys.readouterr().err
    assert "415" in err and "notes.txt" in err
    assert "missing.mp4 is not a file" in err
    assert "Traceback" not in err
    assert kept_upload_urls(signed_in) == []


def test_upload_killed_mid_file_resumes_when_run_again(installed_client, signed_in, portal, tmp_path):
    video = tmp_path / "killed.mp4"
    video.write_bytes(minimal_mp4(os.urandom(6 * MIB)))
    env = {**os.environ, "PYTHONPATH": str(installed_client)}
    slow = subprocess.Popen([sys.executable, "-c", SLOW_CLIENT, "upload", "--chunk-size", "1", str(video)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        offset = 0
        while time.monotonic() < deadline and slow.poll() is None:
            urls = kept_upload_urls(signed_in)
            if urls and (offset := server_offset(portal, urls[0])) >= MIB:
                break
            time.sleep(0.05)
        assert slow.poll() is None, slow.communicate()
        slow.send_signal(signal.SIGKILL)
        slow.wait()
    finally:
        if slow.poll() is None:
            slow.kill()
            slow.wait()
        assert slow.stdout is not None and slow.stderr is not None
        slow.stdout.close()
        slow.stderr.close()
    [url] = kept_upload_urls(signed_in)
    before = server_offset(portal, url)
    assert MIB <= offset <= before < video.stat().st_size

    done = run_installed(installed_client, "upload", str(video))
    assert done.returncode == 0, done.stderr
    assert "resuming killed.mp4 at" in done.stderr
    file_id, _name, _label, sha256 = done.stdout.split()
    assert sha256 == hashlib.sha256(video.read_bytes()).hexdigest() == stored_sha256(portal, file_id)
    assert kept_upload_urls(signed_in) == []
    # The upload the killed run began is the one that finished: no new upload was started.
    finished = portal.http.head(url, headers={"Tus-Resumable": "1.0.0"}, timeout=10)
    assert "/api/v2/uploads/" in url, "the client speaks v2 to a portal that has it"
    assert finished.headers["Portal-Video-URL"].endswith("/api/v2/videos/" + file_id)


def test_a_kept_upload_the_portal_no_longer_has_starts_again(signed_in, portal, tmp_path, capsys):
    video = tmp_path / "forgotten.mp4"
    video.write_bytes(minimal_mp4(os.urandom(200_000)))
    signed_in.uploads_file.parent.mkdir(parents=True)
    gone = f"{portal.url}/api/v1/uploads/0000000000000000"
    signed_in.uploads_file.write_text(json.dumps({fingerprint_of(portal.url, str(video)): gone}))
    assert main(["upload", str(video)]) == 0, capsys.readouterr().err
    file_id = capsys.readouterr().out.split()[0]
    assert stored_sha256(portal, file_id) == hashlib.sha256(video.read_bytes()).hexdigest()
    assert kept_upload_urls(signed_in) == []



def test_a_dropped_connection_is_retried_from_the_portals_offset(signed_in, portal, tmp_path, capsys, monkeypatch):
    from portal_client import upload

    video = tmp_path / "dropped.mp4"
    video.write_bytes(minimal_mp4(os.urandom(3 * MIB)))
    perform = upload.StreamingRequest.perform
    calls = []

    def drop_the_second(self):
        calls.append(self._request_headers["upload-offset"])
        if len(calls) == 2:
            # Half of the chunk goes out, then the line drops.
            self._content_length //= 2
            perform(self)
            raise upload.TusUploadFailed(ConnectionError("connection reset"))
        perform(self)

    monkeypatch.setattr(upload.StreamingRequest, "perform", drop_the_second)
    monkeypatch.setattr(upload, "RETRY_DELAY", 0.01)
    assert main(["upload", "--chunk-size", "1", str(video)]) == 0, capsys.readouterr().err
    file_id, _name, _label, sha256 = capsys.readouterr().out.split()
    assert sha256 == hashlib.sha256(video.read_bytes()).hexdigest() == stored_sha256(portal, file_id)
    assert calls[:3] == ["0", str(MIB), str(MIB + MIB // 2)]


def test_a_crash_after_the_last_byte_finds_the_stored_file_when_run_again(signed_in, portal, tmp_path, capsys, monkeypatch):
    from portal_client import upload

    video = tmp_path / "finished.mp4"
    video.write_bytes(minimal_mp4(os.urandom(300_000)))
    monkeypatch.setattr(upload.UploadStore, "remove_item", lambda self, key: None)
    assert main(["upload", str(video)]) == 0, capsys.readouterr().err
    first = capsys.readouterr().out.split()[0]
    assert len(kept_upload_urls(signed_in)) == 1
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(signed_in.config_home))
    monkeypatch.setenv("XDG_STATE_HOME", str(signed_in.state_home))
    monkeypatch.setenv("PORTAL_URL", portal.url)
    monkeypatch.setenv("PORTAL_TOKEN", portal.token)
    patches = []
    monkeypatch.setattr(upload.StreamingRequest, "perform", lambda self: patches.append(self))
    assert main(["upload", str(video)]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.split()[0] == first
    assert patches == []
    assert kept_upload_urls(signed_in) == []


def test_upload_with_a_refused_or_too_narrow_token_says_what_to_fix(signed_in, portal, tmp_path, capsys, monkeypatch):
    video = tmp_path / "scoped.mp4"
    video.write_bytes(minimal_mp4(os.urandom(1000)))
    monkeypatch.setenv("PORTAL_TOKEN", "not-a-token")
    assert main(["upload", str(video)]) == 1
    assert "401" in capsys.readouterr().err
    monkeypatch.setenv("PORTAL_TOKEN", make_token(portal, ("read",)))
    assert main(["upload", str(video)]) == 1
    err = capsys.readouterr().err
    assert "403" in err and "upload" in err
    assert kept_upload_urls(signed_in) == []


def test_a_chunk_damaged_on_the_way_is_refused_by_its_checksum_and_sent_again(signed_in, portal, tmp_path, capsys, monkeypatch):
    from portal_client import upload

    video = tmp_path / "damaged-chunk.mp4"
    video.write_bytes(minimal_mp4(os.urandom(3 * MIB)))
    read = upload.BodyReader.read
    damaged: list[bool] = []

    def flip_a_byte_once(self, size=-1):
        data = read(self, size)
        if data and not damaged and self.left == 0 and self.length == MIB:
            damaged.append(True)
            return bytes([data[0] ^ 1]) + data[1:]
        return data

    monkeypatch.setattr(upload.BodyReader, "read", flip_a_byte_once)
    monkeypatch.setattr(upload, "RETRY_DELAY", 0.01)
    assert main(["upload", "--chunk-size", "1", str(video)]) == 0, capsys.readouterr().err
    file_id, _name, _label, sha256 = capsys.readouterr().out.split()
    assert damaged
    assert sha256 == hashlib.sha256(video.read_bytes()).hexdigest() == stored_sha256(portal, file_id)


def test_an_upload_stopped_by_a_refused_token_is_kept_to_continue(signed_in, portal, tmp_path, capsys, monkeypatch):
    from portal_client import upload

    video = tmp_path / "refused-midway.mp4"
    video.write_bytes(minimal_mp4(os.urandom(2 * MIB)))
    perform = upload.StreamingRequest.perform
    calls = []

    def refused_second(self):
        calls.append(self)
        if len(calls) == 2:
            self._request_headers["Authorization"] = "Bearer revoked"
        perform(self)

    monkeypatch.setattr(upload.StreamingRequest, "perform", refused_second)
    assert main(["upload", "--chunk-size", "1", str(video)]) == 1
    assert "401" in capsys.readouterr().err
    [url] = kept_upload_urls(signed_in)
    assert server_offset(portal, url) == MIB
    monkeypatch.setattr(upload.StreamingRequest, "perform", perform)
    assert main(["upload", "--chunk-size", "1", str(video)]) == 0
    captured = capsys.readouterr()
    assert "resuming refused-midway.mp4 at" in captured.err
    file_id = captured.out.split()[0]
    assert stored_sha256(portal, file_id) == hashlib.sha256(video.read_bytes()).hexdigest()


def test_a_file_changed_since_its_upload_began_starts_again_and_cancels_the_old_one(signed_in, portal, tmp_path, capsys, monkeypatch):
    from portal_client import upload

    video = tmp_path / "changed.mp4"
    video.write_bytes(minimal_mp4(os.urandom(2 * MIB)))
    perform = upload.StreamingRequest.perform

    def stop_after_the_first(self):
        if self._request_headers["upload-offset"] != "0":
            raise KeyboardInterrupt
        perform(self)

    monkeypatch.setattr(upload.StreamingRequest, "perform", stop_after_the_first)
    assert main(["upload", "--chunk-size", "1", str(video)]) == 130
    [old_url] = kept_upload_urls(signed_in)
    monkeypatch.setattr(upload.StreamingRequest, "perform", perform)
    video.write_bytes(minimal_mp4(os.urandom(MIB)))
    capsys.readouterr()
    assert main(["upload", str(video)]) == 0
    captured = capsys.readouterr()
    assert "resuming" not in captured.err
    assert stored_sha256(portal, captured.out.split()[0]) == hashlib.sha256(video.read_bytes()).hexdigest()
    assert kept_upload_urls(signed_in) == []
    assert portal.http.head(old_url, headers={"Tus-Resumable": "1.0.0"}, timeout=10).status_code in (404, 410)


def test_a_file_over_the_portals_limit_is_refused_before_any_byte_is_sent(folders, tmp_path, capsys, monkeypatch):
    small = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_MAX_CONTENT_LENGTH": "100000"})
    try:
        monkeypatch.setenv("PORTAL_URL", small.url)
        monkeypatch.setenv("PORTAL_TOKEN", small.token)
        video = tmp_path / "large.mp4"
        video.write_bytes(minimal_mp4(os.urandom(200_000)))
        assert main(["upload", str(video)]) == 1
        err = capsys.readouterr().err
        assert "413" in err and "Traceback" not in err
        assert kept_upload_urls(folders) == []
    finally:
        small.stop()
