"""Verifies of one video that overlap share one reading of it; a user runs at most two at a time.

The stored original is replaced by a named pipe, so that a reading of it waits
until the test writes the bytes: every request is then surely in progress at
once, and a second reading (which the pipe could not serve) would hang or see
other bytes. What the test writes is the real file (a few MiB), or a damaged copy.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from portal.library import integrity
from tests.helpers import json_body
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.support import minimal_mp4
from tests.support import wait_until
from tests.web.conftest import csrf_token

SIZE = 4 * 1024 * 1024


@pytest.fixture
def held(app, client, data_dir):
    """A stored video of a few MiB whose original is a pipe: (its id, the pipe, its real bytes)."""
    data = minimal_mp4(os.urandom(SIZE))
    video_id = json_body(upload(client, data))["id"]
    [path] = (data_dir / "files").rglob(video_id)
    path.unlink()
    os.mkfifo(path)
    yield video_id, path, data
    if path.is_fifo():
        path.unlink()
        path.write_bytes(data)


def feed(path: Path, content: bytes) -> None:
    """Write ``content`` to the pipe for the one reading waiting on it, then put the real file back."""
    writer = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # refused (ENXIO) when no one is reading
    os.set_blocking(writer, True)
    with os.fdopen(writer, "wb") as pipe:
        pipe.write(content)


class Requests:
    """Verify requests, each in a thread of its own, and what each answered."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.answers: dict[str, Any] = {}

    def start(self, name: str, send) -> None:
        def run() -> None:
            self.answers[name] = send()

        thread = threading.Thread(target=run, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    def wait(self, timeout: float = 20) -> None:
        for thread in self.threads:
            thread.join(timeout)
        hung = [thread.name for thread in self.threads if thread.is_alive()]
        assert not hung, f"still reading, as if the file were read again: {hung}"


def verifies_in_progress(app) -> int:
    """The verifies in progress on every process: rows of the database."""
    with app.app_context():
        return integrity.verifies_in_progress()


def api_v1(client, video_id: str):
    return lambda: client.post(f"/api/v1/files/{video_id}/verify")


def api_v2(client, video_id: str):
    return lambda: client.post(f"/api/v2/videos/{video_id}/verify")


def web(client, video_id: str):
    token = csrf_token(client, f"/videos/{video_id}")
    return lambda: client.post(f"/videos/{video_id}/verify", data={"csrf_token": token}, follow_redirects=True)


def clients(app, *names: str) -> list:
    return [signed_in_client(app, name) for name in names]


def start_six(app, video_id: str) -> Requests:
    """Two verifies each by three users, through v1, v2 and the page, all waiting on the one reading."""
    tester, tester2, alice, alice2, bob, bob2 = clients(app, "tester", "tester", "alice", "alice", "bob", "bob")
    requests = Requests()
    for name, send in (
        ("tester v1", api_v1(tester, video_id)), ("tester v2", api_v2(tester2, video_id)),
        ("alice v1", api_v1(alice, video_id)), ("alice web", web(alice2, video_id)),
        ("bob v2", api_v2(bob, video_id)), ("bob web", web(bob2, video_id)),
    ):
        requests.start(name, send)
    assert wait_until(lambda: verifies_in_progress(app) == 6), verifies_in_progress(app)
    return requests


def test_overlapping_verifies_of_one_video_share_one_reading_and_answer_its_ok(app, held):
    video_id, pipe, data = held
    requests = start_six(app, video_id)
    feed(pipe, data)
    requests.wait()
    answers = requests.answers
    json_answers = [answers[name] for name in ("tester v1", "tester v2", "alice v1", "bob v2")]
    assert [answer.status_code for answer in json_answers] == [200] * 4
    assert {answer.get_json()["status"] for answer in json_answers} == {"ok"}
    assert len({answer.get_json()["verified_at"] for answer in json_answers}) == 1, "one reading, recorded once"
    for name in ("alice web", "bob web"):
        assert "match their SHA-256" in answers[name].get_data(as_text=True)
    assert verifies_in_progress(app) == 0


def test_a_mismatch_found_by_the_one_reading_is_every_answer(app, held):
    video_id, pipe, data = held
    requests = start_six(app, video_id)
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0xFF
    feed(pipe, bytes(damaged))
    requests.wait()
    answers = requests.answers
    json_answers = [answers[name] for name in ("tester v1", "tester v2", "alice v1", "bob v2")]
    assert {answer.get_json()["status"] for answer in json_answers} == {"corrupt"}
    assert len({answer.get_json()["verified_at"] for answer in json_answers}) == 1
    for name in ("alice web", "bob web"):
        assert "do not match their SHA-256: the file is damaged" in answers[name].get_data(as_text=True)


def test_a_third_verify_of_one_user_is_429_with_retry_after_while_others_go_on(app, held):
    video_id, pipe, data = held
    first, second, third = clients(app, "tester", "tester", "tester")
    requests = Requests()
    requests.start("first", api_v1(first, video_id))
    requests.start("second", api_v2(second, video_id))
    assert wait_until(lambda: verifies_in_progress(app) == 2)

    refused = third.post(f"/api/v1/files/{video_id}/verify")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "5"
    error = refused.get_json()["error"]
    assert error["code"] == "too_many_verifies"
    assert "You have 2 verifies in progress" in error["message"]
    problem = third.post(f"/api/v2/videos/{video_id}/verify")
    assert problem.status_code == 429 and problem.headers["Retry-After"] == "5"
    assert problem.get_json()["code"] == "too_many_verifies"
    page = web(third, video_id)
    token = csrf_token(third, f"/videos/{video_id}")
    form = third.post(f"/videos/{video_id}/verify", data={"csrf_token": token})
    assert form.status_code == 303 and form.headers["Retry-After"] == "5"
    assert "You have 2 verifies in progress" in third.get(form.headers["Location"]).get_data(as_text=True)

    [alice] = clients(app, "alice")
    requests.start("alice", api_v1(alice, video_id))
    assert wait_until(lambda: verifies_in_progress(app) == 3), "another user's verify is not refused"
    feed(pipe, data)
    requests.wait()
    assert {answer.get_json()["status"] for answer in requests.answers.values()} == {"ok"}
    pipe.unlink()
    pipe.write_bytes(data)
    assert page().status_code == 200, "once they finished, the user may verify again"
    assert third.post(f"/api/v1/files/{video_id}/verify").get_json()["status"] == "ok"


def test_verifies_left_by_a_killed_process_stop_counting_when_their_lease_runs_out(app, client, video_bytes):
    """Two rows of the user's, as a process killed mid-verify leaves them: 429 while they are live, not after."""
    from datetime import timedelta

    from portal.accounts.models import User
    from portal.extensions import db
    from portal.library.models import VerifyRun
    from portal.library.models import utcnow

    video_id = json_body(upload(client, video_bytes))["id"]
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.username == "tester"))
        now = utcnow()
        for hashing in (True, False):
            db.session.add(VerifyRun(user_id=user_id, object_key="original/00/00/gone", hashing=hashing, started_at=now,
                                     expires_at=now + timedelta(seconds=30)))
        db.session.commit()
    assert client.post(f"/api/v1/files/{video_id}/verify").status_code == 429
    with app.app_context():
        db.session.execute(db.update(VerifyRun).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    answer = client.post(f"/api/v1/files/{video_id}/verify")
    assert answer.status_code == 200 and answer.get_json()["status"] == "ok"
    with app.app_context():
        assert integrity.verifies_in_progress() == 0
        assert db.session.scalars(db.select(VerifyRun)).all() == [], "its own row went, and the expired ones with it"
