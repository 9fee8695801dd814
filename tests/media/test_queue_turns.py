"""Owners take turns in the job queue (round robin within each kind of job), on SQLite and Redis.

Before, huey took the queued jobs of a kind oldest first: a user's three
queued copies all ran before the copy of another user's upload that came a
moment after the first had started. Jobs are taken off the real queue by hand
(``huey.dequeue``/``execute``), as a consumer would, so the order is exact.
"""

from __future__ import annotations

from portal.extensions import db
from portal.jobs import PRIORITY_COPIES
from portal.jobs import PRIORITY_FACTS
from portal.jobs import jobs_of
from portal.jobs.turns import job_started
from portal.jobs.turns import turn_of
from portal.jobs.turns import turn_priority
from portal.library.models import Video
from tests.helpers import json_body
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.media.test_queue import queue_app  # noqa: F401 (the fixture: SQLite and Redis)


def owner_of(app, video_id: str) -> str:
    with app.app_context():
        return db.session.get_one(Video, video_id).owner_name or ""


def run_next(app) -> tuple[str, str]:
    """Take the next job off the queue and run it, as a consumer does: its name, and whose video it was for."""
    huey = jobs_of(app).huey
    task = huey.dequeue()
    assert task is not None, "the queue is empty"
    huey.execute(task)
    return task.name, owner_of(app, task.args[0])


def test_another_users_upload_is_copied_before_the_first_users_second_queued_copy(queue_app, clips):  # noqa: F811
    # An MKV is remuxed: every upload gets a copy job after its facts.
    clip = clips["h264_mkv"].read_bytes()
    alice, bob = signed_in_client(queue_app, "alice"), signed_in_client(queue_app, "bob")
    alices = [json_body(upload(alice, clip, f"alice-{n}.mkv"))["id"] for n in range(3)]
    assert [run_next(queue_app) for _ in alices] == [("probe_video", "alice")] * 3
    # Alice's first copy starts; then Bob uploads.
    assert run_next(queue_app) == ("make_playable_copy", "alice")
    bobs = json_body(upload(bob, clip, "bob.mkv"))["id"]
    # Facts still go first, then Bob's copy takes its turn before Alice's other two.
    order = [run_next(queue_app) for _ in range(4)]
    assert order == [
        ("probe_video", "bob"),
        ("make_playable_copy", "bob"),
        ("make_playable_copy", "alice"),
        ("make_playable_copy", "alice"),
    ]
    assert jobs_of(queue_app).huey.pending_count() == 0
    with queue_app.app_context():
        states = [db.session.get_one(Video, video_id, populate_existing=True).processing_state for video_id in [*alices, bobs]]
    assert states == ["done"] * 4


def test_owners_with_queued_jobs_take_one_turn_each_and_each_owners_jobs_keep_their_order(queue_app):  # noqa: F811
    huey = jobs_of(queue_app).huey
    ran: list[str] = []

    @huey.task(name="test_turn", context=True)
    def job(label: str, task=None) -> None:
        job_started(huey, PRIORITY_COPIES, task.priority)
        ran.append(label)

    def queue(owner: str, count: int) -> None:
        for n in range(1, count + 1):
            job(f"{owner}{n}", priority=turn_priority(huey, PRIORITY_COPIES, owner))

    def run(count: int) -> None:
        for _ in range(count):
            huey.execute(huey.dequeue())

    queue("a", 4)
    queue("b", 2)
    run(3)
    # A newcomer joins the round after the job that started last; owners then alternate.
    queue("c", 2)
    run(5)
    assert ran == ["a1", "b1", "a2", "b2", "c1", "a3", "c2", "a4"]
    assert huey.pending_count() == 0
    # Once the queue is empty no owner has a job waiting: the next come first served.
    queue("a", 1)
    queue("d", 1)
    run(2)
    assert ran[-2:] == ["a1", "d1"]


def test_a_turn_stays_within_its_kinds_priority_and_facts_still_go_before_every_copy(queue_app):  # noqa: F811
    huey = jobs_of(queue_app).huey

    @huey.task(name="test_kind")
    def job(kind: str) -> None:
        """Never run: only queued and taken off."""

    queued: dict[str, list[float]] = {"copy": [], "facts": []}
    for _ in range(3):
        for kind, base in (("copy", PRIORITY_COPIES), ("facts", PRIORITY_FACTS)):
            priority = turn_priority(huey, base, "owner")
            assert base - 1 < priority < base
            queued[kind].append(priority)
            job(kind, priority=priority)
    assert [turn_of(PRIORITY_COPIES, priority) for priority in queued["copy"]] == [2, 4, 6]
    assert [turn_of(PRIORITY_FACTS, priority) for priority in queued["facts"]] == [2, 4, 6]
    assert [huey.dequeue().args[0] for _ in range(6)] == ["facts"] * 3 + ["copy"] * 3
    # A job queued before turns existed (its kind's own priority) is turn 0: it goes first in its kind.
    assert turn_of(PRIORITY_COPIES, PRIORITY_COPIES) == 0
