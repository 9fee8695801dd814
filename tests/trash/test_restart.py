"""The trash is in the database, not in a process: a video deleted before a restart is restored after it."""

from __future__ import annotations

import sys

import pytest

from tests.support import RunningPortal
from tests.support import minimal_mp4

#: Every test here starts `python wsgi.py`.
pytestmark = pytest.mark.server


def test_a_video_trashed_before_a_restart_is_restored_after_it(tmp_path):
    data = minimal_mp4(b"kept across a restart" * 100)
    portal = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data")
    try:
        created = portal.http.post(
            f"{portal.url}/api/v1/files", params={"filename": "restart.mp4"}, data=data,
            headers={"Content-Type": "video/mp4"}, timeout=30,
        )
        assert created.status_code == 201, created.text
        video_id = created.json()["id"]
        assert portal.http.delete(f"{portal.url}/api/v1/files/{video_id}", timeout=30).status_code == 204
    finally:
        portal.stop()

    restarted = RunningPortal([sys.executable, "wsgi.py"], portal.data_dir)
    try:
        url = restarted.url
        assert restarted.http.get(f"{url}/api/v1/files/{video_id}", timeout=30).status_code == 404
        [item] = restarted.http.get(f"{url}/api/v1/trash", timeout=30).json()["items"]
        assert item["id"] == video_id and item["deleted_by"] == "admin"
        restored = restarted.http.post(f"{url}/api/v1/trash/{video_id}/restore", timeout=30)
        assert restored.status_code == 200, restored.text
        assert restored.json()["sha256"] == created.json()["sha256"]
        assert restarted.http.get(f"{url}/api/v1/files/{video_id}/content", timeout=30).content == data
    finally:
        restarted.stop()
