"""Backups taken while the portal works: uploads and deletes meanwhile, and a ``kill -9`` half-way."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
from pathlib import Path

from portal.extensions import db
from tests.backup.test_backup import dispose
from tests.backup.test_backup import objects_in
from tests.backup.test_backup import portal as sqlite_portal
from tests.backup.test_backup import run
from tests.backup.test_backup_postgres import portal
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.support import minimal_mp4
from tests.support import start_process
from tests.support import wait_until

#: Bounds of the uploads and deletes run beside the backup.
CHURN_ROUNDS = 300


def test_a_backup_taken_during_uploads_and_deletes_holds_every_video_it_names(empty_database, tmp_path):
    app = portal(tmp_path / "data", empty_database)
    client = signed_in_client(app)
    seeded = [upload(client, minimal_mp4(os.urandom(200_000)), f"seed{index}.mp4").get_json()["id"] for index in range(12)]
    churner = signed_in_client(app)
    backing_up = threading.Event()
    finished = threading.Event()
    during: list[str] = []
    errors: list[BaseException] = []

    def churn() -> None:
        """Upload a video and purge a seeded one, in turns, until the backup has finished."""
        try:
            for round_ in range(CHURN_ROUNDS):
                if finished.is_set():
                    return
                if round_ % 2 == 0 or not seeded:
                    made = upload(churner, minimal_mp4(os.urandom(50_000)), f"new{round_}.mp4")
                    assert made.status_code == 201, made.get_json()
                    step = f"uploaded {made.get_json()['id']}"
                else:
                    victim = seeded.pop()
                    assert churner.delete(f"/api/v1/files/{victim}").status_code in (200, 204)
                    assert churner.delete(f"/api/v2/trash/{victim}").status_code in (200, 204)
                    step = f"purged {victim}"
                if backing_up.is_set():
                    during.append(step)
        except BaseException as error:  # the test's thread says what failed
            errors.append(error)

    worker = threading.Thread(target=churn)
    worker.start()
    dest = tmp_path / "dest"
    try:
        assert wait_until(lambda: len(seeded) < 12 or bool(errors))
        backing_up.set()
        created = run(app, "create", str(dest))
    finally:
        finished.set()
        worker.join(timeout=60)
    assert not errors, errors
    assert created.exit_code == 0, created.output
    assert during, "nothing was uploaded or deleted while the backup ran"
    manifest = json.loads(next((dest / "backups").glob("*/manifest.json")).read_text())
    named = {entry["sha256"]: entry for entry in manifest["objects"]}
    for video in manifest["contents"]["videos"]:
        entry = named[video[4]]
        data = (dest / "objects" / video[4]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["size"], video[4]), video
    drilled = run(app, "drill", str(dest))
    assert drilled.exit_code == 0, drilled.output
    dispose(app)


def test_a_backup_killed_half_way_is_not_listed_and_a_rerun_completes_it(tmp_path):
    app = sqlite_portal(tmp_path / "data")
    client = signed_in_client(app)
    files = [upload(client, minimal_mp4(os.urandom(100_000)), f"clip{index}.mp4").get_json() for index in range(5)]
    with app.app_context():
        from portal.library.models import Video

        last = db.session.scalars(db.select(Video).order_by(Video.id.desc())).first()
        assert last is not None
        held_key, held_sha256 = last.storage_key, last.sha256
    dispose(app)
    # The last object the backup copies is a pipe: the backup waits in the middle of it until killed.
    held = Path(app.config["DATA_DIR"]) / "files" / held_key
    content = held.read_bytes()
    held.unlink()
    os.mkfifo(held)
    dest = tmp_path / "dest"
    env = {**os.environ, "PORTAL_DATA_DIR": app.config["DATA_DIR"],
           "PORTAL_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
    process = start_process([sys.executable, "-m", "flask", "--app", "wsgi", "backup", "create", str(dest)], env)
    try:
        assert wait_until(lambda: (dest / "objects").is_dir() and len(objects_in(dest)) == len(files) - 1, timeout=30)
        with open(held, "wb") as writer:
            writer.write(content[: len(content) // 2])
            writer.flush()
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        held.unlink()
        held.write_bytes(content)
    assert process.returncode == -signal.SIGKILL
    assert held_sha256 not in objects_in(dest)
    assert run(app, "list", str(dest)).output == ""
    again = run(app, "create", str(dest))
    assert again.exit_code == 0, again.output
    assert f"{len(files)} objects, 1 copied" in again.output
    assert len(run(app, "list", str(dest)).output.splitlines()) == 1
    checked = run(app, "verify", str(dest))
    assert checked.exit_code == 0 and "0 problems" in checked.output, checked.output
    dispose(app)
