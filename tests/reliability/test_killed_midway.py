"""Commands and uploads killed (SIGKILL) part-way, in a real child process: nothing is lost, every stray is named.

Issue 27: "a crash at any point ... leaves neither an orphan that ``cleanup``
cannot find nor a video whose bytes were removed". Each test runs the real
thing in a child process (``flask --app wsgi trash purge --all``,
``flask --app wsgi storage dedupe``, a waitress server taking an upload),
polls the database or the storage until it is part-way, kills it, and then
checks what an operator would: every video still has whole bytes
(``verify``), every object no row names is named by ``cleanup``, and the
command run again (or the upload sent again) finishes.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.library.models import Original
from portal.library.models import Video
from portal.storage import storage_of
from tests.helpers import json_body
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.library.test_dedupe import _old_library
from tests.reliability.conftest import start_portal  # noqa: F401
from tests.support import ROOT
from tests.support import minimal_mp4
from tests.support import start_process
from tests.trash.conftest import trash
from tests.uploads.tus import TUS
from tests.uploads.tus import chunk_headers
from tests.uploads.tus import creation

SLOW_CLI = [sys.executable, "-m", "tests.reliability.slow_storage_cli"]


def command_environment(app) -> dict[str, str]:
    """The environment of a child ``flask --app wsgi`` on ``app``'s data folder, database and storage."""
    env = {
        **os.environ,
        "PORTAL_DATA_DIR": str(app.config["DATA_DIR"]),
        "PORTAL_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "PORTAL_SECRET_KEY": "test",
    }
    if app.config.get("STORAGE_URL"):
        env["PORTAL_STORAGE_URL"] = app.config["STORAGE_URL"]
    return env


def kill_part_way(app, args: list[str], part_way: Callable[[], bool], log: Path) -> None:
    """Run the command in a child process and SIGKILL it as soon as ``part_way()`` holds (polled, bounded)."""
    process = start_process([*SLOW_CLI, *args], command_environment(app), log)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if part_way():
                process.send_signal(signal.SIGKILL)
                assert process.wait(timeout=30) == -signal.SIGKILL
                return
            if process.poll() is not None:
                pytest.fail(f"{args} ended ({process.returncode}) before it was part-way:\n{log.read_text()}")
            time.sleep(0.002)
        pytest.fail(f"{args} never got part-way:\n{log.read_text()}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def run_to_the_end(app, args: list[str]) -> str:
    finished = subprocess.run(
        [*SLOW_CLI, *args], cwd=ROOT, env=command_environment(app), capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished.stdout


def count(app, statement) -> int:
    with app.app_context():
        try:
            return int(db.session.scalar(statement) or 0)
        finally:
            db.session.rollback()


def stored(app) -> set[str]:
    return set(storage_of(app).keys())


def assert_no_video_lost_and_every_stray_named(app) -> set[str]:
    """Each video's bytes there and counted; each object no row names reported by ``cleanup``; those objects."""
    with app.app_context():
        # A video's bytes are its original's object (a row made without one keeps its upload key).
        videos = db.session.execute(
            sa.select(Video.id, Video.sha256, sa.func.coalesce(Original.storage_key, Video.upload_key))
            .outerjoin(Original, Original.sha256 == Video.sha256)
        ).all()
        refs = dict(db.session.execute(sa.select(Original.sha256, Original.refs)).all())
        named = set(db.session.scalars(sa.select(Original.storage_key)))
        db.session.rollback()
    keys = stored(app)
    assert [video_id for video_id, _sha256, key in videos if key not in keys] == [], "a video lost its bytes"
    assert refs == Counter(sha256 for _id, sha256, _key in videos), "an original's count is not its videos'"
    strays = keys - named
    runner = app.test_cli_runner()
    cleanup = runner.invoke(args=["cleanup"])
    assert cleanup.exit_code == 0, cleanup.output
    assert set(re.findall(r"no row describes stored file (\S+):", cleanup.output)) == strays
    verified = runner.invoke(args=["verify"])
    assert verified.exit_code == 0, verified.output
    assert f"checked {len(videos)} files: {len(videos)} ok" in verified.output
    return strays


def test_a_purge_of_the_trash_killed_at_several_points_loses_no_bytes_and_leaves_only_named_strays(storage_app, tmp_path):
    """40 trashed videos: 10 contents of 3 videos each and 10 of one; the purge is killed three times, then finished."""
    client = signed_in_client(storage_app)
    shared = [minimal_mp4(bytes([number]) * 4096) for number in range(10)]
    alone = [minimal_mp4(bytes([100 + number]) * 4096) for number in range(10)]
    bodies = []
    for round_ in range(3):
        bodies += [json_body(upload(client, data, f"shared-{round_}.mp4")) for data in shared]
    bodies += [json_body(upload(client, data, "alone.mp4")) for data in alone]
    # Trashed interleaved, so that the purge (oldest trashed first) frees the shared objects late.
    for body in bodies[::2] + bodies[1::2]:
        trash(client, body)
    total = len(bodies)
    assert len(stored(storage_app)) == 20
    rows = sa.select(sa.func.count()).select_from(Video)
    strays: set[str] = set()
    # Killed just after a row's commit (seen in the database), just after an object's deletion (seen in the
    # storage, which may be before the next commit), and late, when the shared objects are being freed.
    points = [
        lambda: count(storage_app, rows) <= total - 1,
        lambda: len(stored(storage_app)) <= 20 - 3,
        lambda: count(storage_app, rows) <= total - 30,
    ]
    for kills, part_way in enumerate(points, start=1):
        kill_part_way(storage_app, ["trash", "purge", "--all"], part_way, tmp_path / f"purge-{kills}.log")
        left = count(storage_app, rows)
        assert 0 < left < total
        strays = assert_no_video_lost_and_every_stray_named(storage_app)
        assert len(strays) <= kills, "at most the object of the video purged as it was killed is left over, per kill"
    output = run_to_the_end(storage_app, ["trash", "purge", "--all"])
    assert f"purged {left} videos from the trash" in output
    assert count(storage_app, rows) == 0
    assert assert_no_video_lost_and_every_stray_named(storage_app) == strays == stored(storage_app)


def test_storage_dedupe_killed_at_several_points_loses_no_bytes_and_finishes_when_run_again(empty_database, tmp_path):
    """40 old videos, 10 contents of 4 own copies each; the first video's copy of one content is damaged."""
    contents = [minimal_mp4(bytes([number]) * 8192) for number in range(10)]
    ids = [f"00000000-0000-4000-8000-{index:012d}" for index in range(40)]
    app = _old_library(empty_database, tmp_path, [(video_id, contents[index % 10], "ok") for index, video_id in enumerate(ids)])
    damaged_key = f"original/00/00/{ids[3]}"  # the oldest of content 3's videos: the copy its original names
    storage = storage_of(app)
    with app.app_context():
        assert db.session.scalar(sa.select(Original.storage_key).where(Original.storage_key == damaged_key))
    upload_ = storage.create(damaged_key)
    upload_.write(b"\0" * len(contents[3]))
    upload_.commit()

    def second_copies_left() -> int:
        return len(stored(app)) - 10

    def check() -> None:
        with app.app_context():
            named = set(db.session.scalars(sa.select(Original.storage_key)))
            db.session.rollback()
        damaged_still_named = damaged_key in named
        keys = stored(app)
        runner = app.test_cli_runner()
        cleanup = runner.invoke(args=["cleanup"]).output
        assert "no row describes" not in cleanup, cleanup
        assert set(re.findall(r"stored file (\S+) is a second copy", cleanup)) == keys - named
        verified = runner.invoke(args=["verify"])
        # Only content 3's videos are found corrupt, and only while the damaged copy is still the one they use.
        corrupt = set(re.findall(r"CORRUPT: (\S+)", verified.output))
        assert corrupt == ({video_id for index, video_id in enumerate(ids) if index % 10 == 3} if damaged_still_named else set())
        assert "MISSING" not in verified.output

    for kills, removed_at_least in enumerate((1, 10, 20), start=1):

        def part_way(at_least: int = removed_at_least) -> bool:
            return second_copies_left() <= 30 - at_least

        kill_part_way(app, ["storage", "dedupe"], part_way, tmp_path / f"dedupe-{kills}.log")
        assert 0 < second_copies_left() <= 30 - removed_at_least
        check()
    output = run_to_the_end(app, ["storage", "dedupe"])
    assert re.search(r"removed \d+ second copies, \d+ bytes saved", output)
    assert second_copies_left() == 0
    check()
    assert run_to_the_end(app, ["verify"]).endswith("checked 40 files: 40 ok, 0 corrupt or missing\n")
    assert "removed 0 second copies" in run_to_the_end(app, ["storage", "dedupe"])
    with app.app_context():
        db.engine.dispose()


BIG = 16 * 1024 * 1024


def send_without_waiting(portal, request_line: str, headers: dict[str, str], body: bytes) -> socket.socket:
    port = int(portal.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    sock.sendall(f"{request_line} HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}Content-Length: {len(body)}\r\n\r\n".encode())
    sock.sendall(body)
    return sock


def run_command(database_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir), "PORTAL_SQLALCHEMY_DATABASE_URI": database_url}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def assert_cleanup_and_verify_clean(database_url: str, data_dir: Path, videos: int) -> None:
    cleanup = run_command(database_url, data_dir, "cleanup")
    assert cleanup.returncode == 0 and "no row describes" not in cleanup.stdout, cleanup.stdout + cleanup.stderr
    verified = run_command(database_url, data_dir, "verify")
    assert verified.returncode == 0 and f"checked {videos} files: {videos} ok" in verified.stdout, verified.stdout


@pytest.mark.parametrize("kind", ["raw", "tus"])
def test_an_upload_whose_server_is_killed_while_bytes_stream_leaves_nothing_unnamed_and_sent_again_completes(
    start_portal, database_url, tmp_path, kind  # noqa: F811
):
    """The bytes of one earlier video sent again, so the upload would share its object: nothing of it may go."""
    env = {"PORTAL_SQLALCHEMY_DATABASE_URI": database_url}
    slow = [sys.executable, "-m", "tests.reliability.slow_storage_wsgi"]
    portal = start_portal(command=slow, env=env)
    data = minimal_mp4(os.urandom(BIG))
    earlier = portal.http.post(f"{portal.url}/api/v1/files?filename=earlier.mp4", data=data, timeout=120)
    assert earlier.status_code == 201, earlier.text
    files = portal.data_dir / "files"
    if kind == "raw":
        folder = files / ".incoming"
        sock = send_without_waiting(portal, "POST /api/v1/files?filename=again.mp4",
                                    {**portal.auth_headers, "Content-Type": "video/mp4"}, data)
    else:
        created = portal.http.post(f"{portal.url}/api/v1/uploads", headers=creation(len(data), filename="again.mp4"))
        assert created.status_code == 201, created.text
        location = urlsplit(created.headers["Location"]).path
        folder = files / ".resumable"
        sock = send_without_waiting(portal, f"PATCH {location}", {**portal.auth_headers, **chunk_headers(0)}, data)

    def streaming() -> bool:
        return any(0 < path.stat().st_size < len(data) for path in folder.glob("*") if path.is_file())

    try:
        deadline = time.monotonic() + 60
        while not streaming():
            assert time.monotonic() < deadline, "the upload never streamed into storage"
            time.sleep(0.005)
        portal.process.send_signal(signal.SIGKILL)
        portal.process.wait(timeout=30)
    finally:
        sock.close()

    assert_cleanup_and_verify_clean(database_url, portal.data_dir, 1)
    restarted = start_portal(data_dir=portal.data_dir, env=env)
    if kind == "raw":
        again = restarted.http.post(f"{restarted.url}/api/v1/files?filename=again.mp4", data=data, timeout=120)
        assert again.status_code == 201, again.text
        video = again.json()
    else:
        offset = int(restarted.http.head(f"{restarted.url}{location}", headers=TUS).headers["Upload-Offset"])
        assert offset < len(data)
        # The killed chunk's lease still holds the upload (423) until it runs out, as a tus client is told.
        deadline = time.monotonic() + 60
        while (rest := restarted.http.patch(f"{restarted.url}{location}", data=data[offset:],
                                            headers=chunk_headers(offset), timeout=120)).status_code == 423:
            assert time.monotonic() < deadline, "the killed chunk's lease never ran out"
            time.sleep(0.5)
        assert rest.status_code == 204, rest.text
        video = restarted.http.get(rest.headers["Portal-File-URL"], timeout=30).json()
    assert restarted.http.get(f"{restarted.url}/api/v1/files/{video['id']}/content", timeout=120).content == data
    restarted.stop()
    assert_cleanup_and_verify_clean(database_url, portal.data_dir, 2)
    originals = [path for path in (files / "original").rglob("*") if path.is_file()]
    assert len(originals) == 1, "the bytes are stored once"
