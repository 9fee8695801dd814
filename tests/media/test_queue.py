"""The job queue itself: SQLite and Redis, priorities, and real consumer processes that are killed and restarted.

Most tests take jobs off the queue by hand (``huey.dequeue``/``execute``),
which goes through the real storage cheaply; the consumer tests run
``flask --app wsgi jobs worker`` as the operator would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal import create_app
from portal.extensions import db
from portal.jobs import PRIORITY_COPIES
from portal.jobs import jobs_of
from portal.library.models import Video
from tests.helpers import json_body
from tests.helpers import local_storage_of
from tests.helpers import signed_in_client
from tests.helpers import upload

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "redis"])
def queue_app(request, tmp_path, database_url):
    """The portal with its queue in SQLite (the default) or in a Redis server of the test's own."""
    config = {
        "TESTING": True,
        "DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "test",
        "SQLALCHEMY_DATABASE_URI": database_url,
    }
    if request.param == "redis":
        config["QUEUE_URL"] = request.getfixturevalue("redis_url")
    app = create_app(config)
    yield app
    with app.app_context():
        db.engine.dispose()


def state_of(app, video_id: str) -> tuple[str, str | None]:
    with app.app_context():
        video = db.session.get_one(Video, video_id, populate_existing=True)
        return video.processing_state, video.processing_error


def wait_for_state(app, video_id: str, wanted: str, consumer: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while state_of(app, video_id)[0] != wanted:
        if consumer.poll() is not None:
            raise AssertionError(f"the consumer exited with {consumer.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"video {video_id} is {state_of(app, video_id)}, not {wanted}, after {timeout}s")
        time.sleep(0.05)


def start_consumer(app, log: Path) -> subprocess.Popen:
    """``flask --app wsgi jobs worker`` on the app's data folder, database and queue, in a process group of its own."""
    env = {
        **os.environ,
        "PORTAL_DATA_DIR": app.config["DATA_DIR"],
        "PORTAL_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "PORTAL_SECRET_KEY": "test",
    }
    if app.config.get("QUEUE_URL"):
        env["PORTAL_QUEUE_URL"] = app.config["QUEUE_URL"]
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )


def kill_consumer(consumer: subprocess.Popen) -> None:
    """SIGKILL the consumer and its job workers (its process group), as a crash or an OOM kill would."""
    os.killpg(consumer.pid, signal.SIGKILL)
    consumer.wait(timeout=10)


def stop_consumer(consumer: subprocess.Popen) -> None:
    if consumer.poll() is None:
        os.killpg(consumer.pid, signal.SIGTERM)
        try:
            consumer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill_consumer(consumer)


def test_queued_jobs_wait_in_the_queue_for_a_consumer(queue_app, clips):
    client = signed_in_client(queue_app)
    video_id = upload(client, clips["no_audio"].read_bytes()).json["id"]
    # Another app on the same settings (a restarted portal, a consumer) finds the job.
    restarted = create_app(dict(queue_app.config))
    huey = jobs_of(restarted).huey
    assert huey.pending_count() == 1
    huey.execute(huey.dequeue())
    assert state_of(queue_app, video_id) == ("done", None)


def test_facts_go_before_copies_whatever_came_first(queue_app, clips):
    huey = jobs_of(queue_app).huey
    copies_made = []

    @huey.task(name="test_copy", priority=PRIORITY_COPIES)
    def make_copy():
        copies_made.append(True)

    make_copy()
    client = signed_in_client(queue_app)
    upload(client, clips["no_audio"].read_bytes())
    first = huey.dequeue()
    assert first.name == "probe_video"
    assert huey.dequeue().name == "test_copy"


def test_a_consumer_process_makes_the_facts(queue_app, clips, tmp_path):
    client = signed_in_client(queue_app)
    video_id = upload(client, clips["vp9_opus"].read_bytes(), "clip.webm").json["id"]
    consumer = start_consumer(queue_app, tmp_path / "consumer.log")
    try:
        wait_for_state(queue_app, video_id, "done", consumer)
        assert json_body(client.get(f"/api/v1/files/{video_id}"))["media"]["video_codec"] == "vp9"
    finally:
        stop_consumer(consumer)
    assert "job consumer: 1 at a time" in (tmp_path / "consumer.log").read_text()


def blocking_original(app, video_id: str) -> tuple[Path, bytes]:
    """Replace the stored bytes by a FIFO, so that a job opening them waits there: a job caught half-way."""
    with app.app_context():
        path = local_storage_of(app).path(db.session.get_one(Video, video_id).storage_key)
    data = path.read_bytes()
    path.unlink()
    os.mkfifo(path)
    return path, data


def test_a_job_killed_half_way_runs_again_when_a_consumer_restarts(app, clips, tmp_path):
    client = signed_in_client(app)
    video_id = upload(client, clips["h264_aac"].read_bytes()).json["id"]
    path, data = blocking_original(app, video_id)
    log = tmp_path / "consumer.log"
    consumer = start_consumer(app, log)
    try:
        wait_for_state(app, video_id, "running", consumer)
    finally:
        kill_consumer(consumer)
    # huey took the job off its queue when it started it: only the row knows it never finished.
    # (The consumer's scheduler may have queued a periodic task meanwhile, at :17 or :47.)
    assert "probe_video" not in [task.name for task in jobs_of(app).huey.pending()]
    path.unlink()
    path.write_bytes(data)
    consumer = start_consumer(app, log)
    try:
        wait_for_state(app, video_id, "done", consumer)
    finally:
        stop_consumer(consumer)
    assert "queueing again 1 jobs a stopped consumer left running" in log.read_text()


def test_a_job_over_its_time_limit_is_stopped_and_says_so(app, clips, tmp_path):
    # A job carries the limit of the portal that queued it.
    app = create_app({**app.config, "PROBE_TIMEOUT": 1})
    client = signed_in_client(app)
    video_id = upload(client, clips["no_audio"].read_bytes()).json["id"]
    blocking_original(app, video_id)
    consumer = start_consumer(app, tmp_path / "consumer.log")
    try:
        wait_for_state(app, video_id, "failed", consumer)
    finally:
        stop_consumer(consumer)
    assert state_of(app, video_id)[1] == "Processing took longer than its limit of 1 seconds, so it was stopped."
