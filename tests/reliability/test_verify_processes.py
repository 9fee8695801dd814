"""Verifies on two server processes of one database: one reading per stored object, two at a time per user in all.

Two ``python wsgi.py`` servers share a data folder and a database; their
storage reads slowly and notes each object it opens
(:mod:`tests.reliability.slow_reads_wsgi`), so that requests sent to both at
once overlap and the reads the storage really did are counted.
"""

from __future__ import annotations

import os
import sys
import threading

from tests.reliability.conftest import start_portal  # noqa: F401
from tests.support import minimal_mp4

SLOW_READS = [sys.executable, "-m", "tests.reliability.slow_reads_wsgi"]
SIZE = 3 * 1024 * 1024


def at_once(*requests) -> list:
    """Send each ``(portal, video id)`` verify in a thread of its own, together; their answers in order."""
    answers: list = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def send(index: int, portal, video_id: str) -> None:
        start.wait()
        answers[index] = portal.http.post(f"{portal.url}/api/v1/files/{video_id}/verify", timeout=120)

    threads = [threading.Thread(target=send, args=(index, *request)) for index, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return answers


def test_verifies_on_two_processes_share_one_reading_of_an_object_and_a_user_runs_two_in_all(
    start_portal, database_url, tmp_path  # noqa: F811
):
    reads = tmp_path / "reads.log"
    env = {"PORTAL_SQLALCHEMY_DATABASE_URI": database_url, "PORTAL_TEST_READS_LOG": str(reads)}
    first = start_portal(command=SLOW_READS, env=env)
    second = start_portal(data_dir=first.data_dir, command=SLOW_READS, env=env)
    same = minimal_mp4(os.urandom(SIZE))
    ids = {}
    for name, data in (("a", same), ("a2", same), ("b", minimal_mp4(os.urandom(SIZE))), ("c", minimal_mp4(os.urandom(SIZE)))):
        sent = first.http.post(f"{first.url}/api/v1/files?filename={name}.mp4", data=data, timeout=60)
        assert sent.status_code == 201, sent.text
        ids[name] = sent.json()["id"]

    # Two videos of the same bytes, verified at once on two processes: one reading, one result.
    reads.write_text("")
    one, other = at_once((first, ids["a"]), (second, ids["a2"]))
    assert one.status_code == other.status_code == 200, (one.text, other.text)
    assert one.json()["status"] == other.json()["status"] == "ok"
    assert one.json()["verified_at"] == other.json()["verified_at"], "one reading, recorded once"
    assert len(reads.read_text().split()) == 1, reads.read_text()

    # Three verifies of one user's at once, two on one process and one on the other: two run, one is 429.
    answers = at_once((first, ids["a"]), (second, ids["b"]), (first, ids["c"]))
    assert sorted(answer.status_code for answer in answers) == [200, 200, 429], [answer.text for answer in answers]
    [refused] = [answer for answer in answers if answer.status_code == 429]
    assert refused.headers["Retry-After"] == "5" and refused.json()["error"]["code"] == "too_many_verifies"
    # Once they ended, the user may verify again, on either process.
    assert second.http.post(f"{second.url}/api/v1/files/{ids['c']}/verify", timeout=60).status_code == 200
