"""What the jobs write in the log: each line names the video and the step, and the last its outcome and its time.

Jobs run at once inside the test (``QUEUE_IMMEDIATE``); the lines are read from
pytest's log capture, as the consumer's handler would write them.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.jobs import jobs_of
from portal.library.models import Video
from portal.library.models import utcnow
from tests.helpers import signed_in_client
from tests.helpers import upload

LOGGERS = ("portal.jobs.tasks", "portal.media.processing")


@pytest.fixture
def job_lines(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.INFO, logger=name)

    def lines(video_id: str) -> list[str]:
        return [record.getMessage() for record in caplog.records if record.name in LOGGERS and video_id in record.getMessage()]

    return lines


def stored(client, path, name=None) -> str:
    response = upload(client, path.read_bytes(), name or path.name)
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_a_video_needing_a_copy_logs_its_probe_poster_and_copy_each_with_outcome_and_time(immediate_app, clips, job_lines):
    client = signed_in_client(immediate_app)
    video_id = stored(client, clips["hevc_mkv"])
    lines = job_lines(video_id)
    assert all(line.startswith(f"video {video_id}: ") for line in lines), lines
    steps = [line.removeprefix(f"video {video_id}: ") for line in lines]
    # Run at once, the copy job runs inside the probe's (a consumer runs it after): each job's lines in order.
    expected = [
        r"probe started \(job [0-9a-f-]{36}\)",
        r"probe read hevc/opus 320x240 in matroska, 2\.0 s",
        r"poster made, 320x240 at [\d.]+ s, \d+ bytes",
        r"copy started \(job [0-9a-f-]{36}\)",
        r"copy made \(transcode to mp4\), \d+ bytes",
        r"copy done in \d+\.\d\ds",
        r"probe done(, the copy is queued)? in \d+\.\d\ds",
    ]
    assert len(steps) == len(expected), steps
    for pattern, step in zip(expected, steps, strict=True):
        assert re.fullmatch(pattern, step), (pattern, steps)

def test_a_failed_probe_ends_with_failed_and_the_reason(immediate_app, clips, job_lines):
    client = signed_in_client(immediate_app)
    video_id = stored(client, clips["corrupt"], "broken.mp4")
    last = job_lines(video_id)[-1]
    assert re.fullmatch(
        rf"video {video_id}: probe failed: No picture of the h264 video stream could be decoded.* in \d+\.\d\ds", last
    ), last


def test_the_hourly_purge_logs_each_purged_video(immediate_app, clips, job_lines):
    client = signed_in_client(immediate_app)
    video_id = stored(client, clips["h264_aac"])
    assert client.delete(f"/api/v1/files/{video_id}").status_code == 204
    with immediate_app.app_context():
        db.session.execute(db.update(Video).where(Video.id == video_id).values(deleted_at=utcnow() - timedelta(days=31)))
        db.session.commit()
    huey = jobs_of(immediate_app).huey
    purge = next(task for task in huey._registry.periodic_tasks if task.name == "purge_trash")
    huey.execute(purge)
    assert re.fullmatch(
        rf"video {video_id}: purge done \(kept in the trash 30 days\) in \d+\.\d\ds", job_lines(video_id)[-1]
    ), job_lines(video_id)
