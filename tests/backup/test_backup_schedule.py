"""Scheduled backups: PORTAL_BACKUP_DEST/EVERY/KEEP, the job consumer taking them, and where their outcome shows.

The schedule is run by ``flask --app wsgi jobs worker`` as the operator would
start it, on the SQLite queue and on a Redis one; outcomes are read back from
``/readyz``, the admins' page and ``/metrics``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.backup import destination
from portal.backup import manifests
from portal.backup import read_manifest
from portal.backup.models import BackupRun
from portal.backup.schedule import BackupBusy
from portal.backup.schedule import backup_lock
from portal.backup.schedule import run_if_due
from portal.config import parse_duration
from portal.extensions import db
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.media.conftest import redis_url  # noqa: F401  (the Redis server fixture of the queue's tests)
from tests.support import minimal_mp4

ROOT = Path(__file__).resolve().parents[2]


def portal(tmp_path: Path, database_url: str, **settings):
    config = {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test",
              "SQLALCHEMY_DATABASE_URI": database_url, **settings}
    return create_app(config)


@pytest.fixture
def scheduled(tmp_path, database_url):
    """A portal backing up every second to a folder of the test, keeping 2, with two small videos."""
    dest = tmp_path / "dest"
    app = portal(tmp_path, database_url, BACKUP_DEST=str(dest), BACKUP_EVERY="1s", BACKUP_KEEP=2)
    client = signed_in_client(app)
    for size in (100, 4000):
        assert upload(client, minimal_mp4(os.urandom(size)), f"clip{size}.mp4").status_code == 201
    yield app, dest, client
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def runs(app) -> list[BackupRun]:
    with app.app_context():
        found = list(db.session.execute(sa.select(BackupRun).order_by(BackupRun.id)).scalars())
        db.session.expunge_all()
        return found


# --- the settings ----------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [("24h", 86400), ("90m", 5400), ("3600s", 3600), ("1d", 86400),
                                               ("1h30m", 5400), ("2S", 2)])
def test_backup_every_reads_a_duration_with_its_unit(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("settings", "named", "says"), [
    ({"BACKUP_DEST": "/backups", "BACKUP_EVERY": "24"}, "PORTAL_BACKUP_EVERY", "with a unit"),
    ({"BACKUP_DEST": "/backups", "BACKUP_EVERY": 3600}, "PORTAL_BACKUP_EVERY", "3600s"),
    ({"BACKUP_DEST": "/backups", "BACKUP_EVERY": "0h"}, "PORTAL_BACKUP_EVERY", "longer than 0"),
    ({"BACKUP_DEST": "/backups", "BACKUP_EVERY": "daily"}, "PORTAL_BACKUP_EVERY", "24h"),
    ({"BACKUP_DEST": "/backups"}, "PORTAL_BACKUP_EVERY", "how often"),
    ({"BACKUP_EVERY": "24h"}, "PORTAL_BACKUP_DEST", "where the backups go"),
    ({"BACKUP_DEST": "s3://", "BACKUP_EVERY": "24h"}, "PORTAL_BACKUP_DEST", "bucket"),
    ({"BACKUP_KEEP": 0}, "PORTAL_BACKUP_KEEP", "1 or more"),
    ({"BACKUP_KEEP": "seven"}, "PORTAL_BACKUP_KEEP", "whole number"),
])
def test_a_backup_setting_no_schedule_could_use_is_refused_at_start_up_by_name(tmp_path, settings, named, says):
    with pytest.raises(ValueError) as refused:
        create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", **settings})
    assert named in str(refused.value)
    assert says in str(refused.value)
    # Refused before anything was made: no database, no data folder's contents.
    assert not (tmp_path / "data" / "portal.db").exists()


def test_the_backup_variables_are_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_BACKUP_DEST", str(tmp_path / "dest"))
    monkeypatch.setenv("PORTAL_BACKUP_EVERY", "90m")
    monkeypatch.setenv("PORTAL_BACKUP_KEEP", "3")
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test"})
    body = app.test_client().get("/readyz").get_json()
    assert body["details"]["backup"]["scheduled"] is True
    assert body["details"]["backup"]["every_seconds"] == 5400
    assert body["details"]["backup"]["keep"] == 3
    monkeypatch.setenv("PORTAL_BACKUP_EVERY", "90")
    with pytest.raises(ValueError, match="PORTAL_BACKUP_EVERY"):
        create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test"})


def test_without_a_schedule_readyz_says_so_and_no_backup_metric_is_served(app):
    client = signed_in_client(app)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "ready"
    assert ready.get_json()["details"]["backup"]["scheduled"] is False
    assert app.test_client().get("/healthz").get_json() == {"status": "ok"}
    assert "portal_backup_" not in client.get("/metrics").get_data(as_text=True)
    assert 'data-backup-schedule="off"' in client.get("/admin/users").get_data(as_text=True)
    with app.app_context():
        assert run_if_due() is None
    assert runs(app) == []


# --- the job queue takes them -------------------------------------------------------


def start_consumer(app, log: Path) -> subprocess.Popen:
    """``flask --app wsgi jobs worker --workers 2`` on the app's settings, in a process group of its own."""
    env = {
        **os.environ,
        "PORTAL_DATA_DIR": app.config["DATA_DIR"],
        "PORTAL_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "PORTAL_SECRET_KEY": "test",
        "PORTAL_BACKUP_DEST": app.config["BACKUP_DEST"],
        "PORTAL_BACKUP_EVERY": app.config["BACKUP_EVERY"],
        "PORTAL_BACKUP_KEEP": str(app.config["BACKUP_KEEP"]),
    }
    if app.config.get("QUEUE_URL"):
        env["PORTAL_QUEUE_URL"] = app.config["QUEUE_URL"]
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker", "--workers", "2"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )


def stop_consumer(consumer: subprocess.Popen) -> None:
    """SIGINT: huey lets the running job (a backup) end first."""
    if consumer.poll() is None:
        os.killpg(consumer.pid, signal.SIGINT)
        try:
            consumer.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(consumer.pid, signal.SIGKILL)
            consumer.wait(timeout=10)


def wait_for_runs(app, count: int, consumers: list[subprocess.Popen], log: Path, timeout: float = 90) -> list[BackupRun]:
    deadline = time.monotonic() + timeout
    while True:
        ended = [run for run in runs(app) if run.finished_at is not None]
        if len(ended) >= count:
            return ended
        if any(consumer.poll() is not None for consumer in consumers):
            raise AssertionError(f"a consumer exited:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(ended)} scheduled backups ended in {timeout}s, not {count}:\n{log.read_text()}")
        time.sleep(0.1)


@pytest.mark.parametrize("queue", ["sqlite", "redis"])
def test_the_consumer_takes_a_backup_every_period_one_at_a_time_and_keeps_the_newest(
        request, scheduled, tmp_path, queue):
    app, dest, _client = scheduled
    if queue == "redis":
        app.config["QUEUE_URL"] = request.getfixturevalue("redis_url")
    log = tmp_path / "consumer.log"
    # Two consumers of two workers each, on one queue: four processes that may each take the backup.
    consumers = [start_consumer(app, log), start_consumer(app, log)]
    try:
        wait_for_runs(app, 3, consumers, log)
    finally:
        for consumer in consumers:
            stop_consumer(consumer)
    done = runs(app)
    assert done and all(run.status == "succeeded" for run in done), [(run.status, run.message) for run in done]
    for earlier, later in zip(done, done[1:], strict=False):
        # One at a time, and one a period: each starts after the one before ended, and a second after it started.
        assert earlier.finished_at is not None and later.started_at >= earlier.finished_at
        assert later.started_at - earlier.started_at >= timedelta(seconds=1)
    with app.app_context():
        kept = [manifest["id"] for manifest in manifests(destination(str(dest)))]
    assert kept == [run.backup_id for run in done[-2:]], "pruned to PORTAL_BACKUP_KEEP=2, the newest kept"
    assert len({run.backup_id for run in done}) == len(done)
    verified = app.test_cli_runner().invoke(args=["backup", "verify", str(dest)])
    assert verified.exit_code == 0, verified.output
    assert ", 0 problems" in verified.output
    assert "scheduled backup" in log.read_text()


# --- outcomes, where they show -----------------------------------------------------


def metric(client, name: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} is not in /metrics"
    return float(found.group(1))


def test_a_failing_destination_is_recorded_as_a_failure_and_shown_everywhere_then_a_success(scheduled, tmp_path):
    app, dest, client = scheduled
    # A file where the destination folder should be: nothing can be written under it.
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("in the way")
    app.config["BACKUP_DEST"] = str(blocked)
    with app.app_context():
        run = run_if_due()
    assert run is not None
    (failed,) = runs(app)
    assert failed.status == "failed"
    assert failed.backup_id is None and failed.finished_at is not None and failed.message
    assert "not-a-folder" in failed.message or "directory" in failed.message.lower()

    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200, "a failed backup leaves the portal serving"
    last = ready.get_json()["details"]["backup"]["last"]
    assert last["status"] == "failed"
    assert "message" not in last and "not-a-folder" not in ready.get_data(as_text=True), "anyone may ask /readyz"
    assert last["started_at"] and last["finished_at"] and last["backup_id"] is None
    assert ready.get_json()["details"]["backup"]["last_success_at"] is None
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'data-backup-status="failed"' in page
    assert failed.message.replace("'", "&#39;") in page
    assert metric(client, "portal_backup_last_success_timestamp_seconds") == 0
    assert metric(client, "portal_backup_last_run_success") == 0

    # Not due again before its period; then, with the destination fixed, a success.
    with app.app_context():
        assert run_if_due() is None
    time.sleep(1.05)
    app.config["BACKUP_DEST"] = str(dest)
    with app.app_context():
        assert run_if_due() is not None
    succeeded = runs(app)[-1]
    assert succeeded.status == "succeeded" and succeeded.backup_id
    with app.app_context():
        assert read_manifest(destination(str(dest)), None)["id"] == succeeded.backup_id
    details = app.test_client().get("/readyz").get_json()["details"]["backup"]
    assert details["last"]["status"] == "succeeded" and details["last"]["backup_id"] == succeeded.backup_id
    assert details["last_success_at"] == details["last"]["finished_at"]
    assert abs(metric(client, "portal_backup_last_success_timestamp_seconds") - _unix(succeeded.finished_at)) < 0.01
    assert metric(client, "portal_backup_last_run_success") == 1
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'data-backup-status="succeeded"' in page and succeeded.backup_id in page


def _unix(moment) -> float:
    from portal.library.models import as_utc

    return as_utc(moment).timestamp()


def test_a_run_a_dead_process_left_running_is_marked_interrupted_by_the_next(scheduled):
    app, _dest, _client = scheduled
    with app.app_context():
        db.session.add(BackupRun(status="running"))
        db.session.commit()
    time.sleep(1.05)
    with app.app_context():
        assert run_if_due() is not None
    left, taken = runs(app)
    assert left.status == "interrupted" and left.finished_at is not None
    assert taken.status == "succeeded"


def test_while_another_holds_the_lock_no_backup_is_taken(scheduled):
    app, dest, _client = scheduled
    with app.app_context():
        with backup_lock(wait=False):
            # Another holder, as another process would be: the lock is not its to take.
            with pytest.raises(BackupBusy):
                with backup_lock(wait=False):
                    pass
            assert run_if_due() is None
        assert runs(app) == []
        assert not (dest / "backups").exists()
        assert run_if_due() is not None
    assert [run.status for run in runs(app)] == ["succeeded"]


def test_only_admins_see_the_backups_section(scheduled):
    app, _dest, admin = scheduled
    with app.app_context():
        run_if_due()
    assert "data-backups" in admin.get("/admin/users").get_data(as_text=True)
    for role in ("uploader", "viewer"):
        other = signed_in_client(app, username=f"a-{role}", role=role)
        answer = other.get("/admin/users")
        assert answer.status_code == 403
        assert "data-backups" not in answer.get_data(as_text=True)
    visitor = app.test_client().get("/admin/users")
    assert visitor.status_code in (302, 303, 401)
    assert "data-backups" not in visitor.get_data(as_text=True)


# --- prune and list order -------------------------------------------------------------


def rename_backup(dest: Path, old: str, new: str) -> None:
    shutil.move(dest / "backups" / old, dest / "backups" / new)
    path = dest / "backups" / new / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["id"] = new
    path.write_text(json.dumps(manifest))


def test_prune_keeps_the_newest_of_two_backups_made_in_one_second(tmp_path, database_url):
    """Ids in one second sort by their random suffix: the newer backup must still be the one kept."""
    app = portal(tmp_path, database_url)
    client = signed_in_client(app)
    dest = tmp_path / "dest"
    cli = app.test_cli_runner()
    assert upload(client, minimal_mp4(os.urandom(50)), "first.mp4").status_code == 201
    assert cli.invoke(args=["backup", "create", str(dest)]).exit_code == 0
    (older,) = [path.name for path in (dest / "backups").iterdir()]
    later = upload(client, minimal_mp4(os.urandom(60)), "later.mp4").get_json()
    assert cli.invoke(args=["backup", "create", str(dest)]).exit_code == 0
    (newer,) = [path.name for path in (dest / "backups").iterdir() if path.name != older]
    # The same second, the older backup's suffix sorting last.
    rename_backup(dest, older, "20260101T000000Z-ffffff")
    rename_backup(dest, newer, "20260101T000000Z-000000")
    listed = cli.invoke(args=["backup", "list", str(dest)]).output.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["20260101T000000Z-ffffff", "20260101T000000Z-000000"]
    pruned = cli.invoke(args=["backup", "prune", str(dest), "--keep", "1"])
    assert pruned.exit_code == 0, pruned.output
    assert "removed backup 20260101T000000Z-ffffff" in pruned.output
    assert (dest / "objects" / later["sha256"]).exists(), "the newer backup's objects are kept"
    checked = cli.invoke(args=["backup", "verify", str(dest)])
    assert checked.exit_code == 0 and "backup 20260101T000000Z-000000: 2 objects checked, 0 problems" in checked.output
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
