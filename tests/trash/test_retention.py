"""Retention: PORTAL_TRASH_DAYS, the periodic purge and ``flask trash purge``, with a clock the tests move."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest

from portal import create_app
from portal.jobs import jobs_of
from portal.library import trash as trash_service
from tests.helpers import row_count
from tests.helpers import signed_in_client
from tests.helpers import stored_files
from tests.helpers import upload
from tests.trash.conftest import trash

DAY = timedelta(days=1)


@pytest.fixture
def clock(monkeypatch):
    """The trash's clock, moved by the test: ``clock.move(days=31)``."""

    class Clock:
        now = datetime.now(timezone.utc)

        def move(self, **delta: float) -> None:
            self.now += timedelta(**delta)

    moved = Clock()
    monkeypatch.setattr(trash_service, "utcnow", lambda: moved.now)
    return moved


def purge_command(app, *args: str):
    result = app.test_cli_runner().invoke(args=["trash", "purge", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_video_is_purged_once_its_days_in_the_trash_are_over(app, client, data_dir, video_bytes, clock):
    old = upload(client, video_bytes, "old.mp4").get_json()
    trash(client, old)
    clock.move(days=10)
    # Bytes of its own: identical ones would share the old one's stored object.
    recent = upload(client, video_bytes + b"recent", "recent.mp4").get_json()
    trash(client, recent)
    clock.move(days=20, seconds=-1)
    assert "purged 0 videos" in purge_command(app)
    clock.move(seconds=1)
    output = purge_command(app)
    assert f"purged {old['id']} old.mp4" in output and "purged 1 videos from the trash" in output
    assert [item["id"] for item in client.get("/api/v1/trash").get_json()["items"]] == [recent["id"]]
    assert [path.name for path in stored_files(data_dir)] == [recent["id"]]
    clock.move(days=10)
    assert f"purged {recent['id']} recent.mp4" in purge_command(app)
    assert row_count(app) == 0 and stored_files(data_dir) == []


def test_purge_all_empties_the_trash_however_recent(app, client, data_dir, video_bytes):
    # Bytes of each one's own: identical ones would share one stored object.
    trash(client, upload(client, video_bytes + b"a", "a.mp4").get_json())
    trash(client, upload(client, video_bytes + b"b", "b.mp4").get_json())
    kept = upload(client, video_bytes, "kept.mp4").get_json()
    assert "purged 2 videos from the trash" in purge_command(app, "--all")
    assert [path.name for path in stored_files(data_dir)] == [kept["id"]]


def test_purge_at_follows_the_setting(app, client, video_bytes):
    body = upload(client, video_bytes).get_json()
    trash(client, body)
    app.config["TRASH_DAYS"] = 7
    [item] = client.get("/api/v1/trash").get_json()["items"]
    assert item["purge_at"][:10] == (datetime.fromisoformat(item["deleted_at"][:-1]) + 7 * DAY).date().isoformat()


def test_cleanup_purges_what_is_past_its_days_too(app, client, data_dir, video_bytes, clock):
    body = upload(client, video_bytes).get_json()
    trash(client, body)
    clock.move(days=30)
    result = app.test_cli_runner().invoke(args=["cleanup"])
    assert result.exit_code == 0, result.output
    assert f"purged {body['id']} clip.mp4" in result.output
    assert stored_files(data_dir) == []


def test_the_periodic_job_purges_the_expired_hourly(app, client, data_dir, video_bytes, clock):
    [task] = [task for task in jobs_of(app).huey._registry._periodic_tasks if task.__name__ == "purge_trash"]
    assert task().validate_datetime(datetime(2026, 5, 1, 9, 17))
    assert not task().validate_datetime(datetime(2026, 5, 1, 9, 18))
    gone = upload(client, video_bytes, "gone.mp4").get_json()
    trash(client, gone)
    clock.move(days=29)
    # Bytes of its own: identical ones would share the gone one's stored object.
    kept = upload(client, video_bytes + b"kept", "kept.mp4").get_json()
    trash(client, kept)
    clock.move(days=1)
    task().execute()
    assert [item["id"] for item in client.get("/api/v1/trash").get_json()["items"]] == [kept["id"]]
    assert [path.name for path in stored_files(data_dir)] == [kept["id"]]


def test_zero_days_deletes_at_once_as_before_the_trash(tmp_path, video_bytes):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "TRASH_DAYS": 0})
    client = signed_in_client(app)
    body = upload(client, video_bytes).get_json()
    trash(client, body)
    assert row_count(app) == 0 and stored_files(tmp_path / "data") == []
    assert client.get("/api/v1/trash").get_json()["total"] == 0


def test_zero_days_purges_what_an_earlier_setting_left_in_the_trash(app, client, data_dir, video_bytes):
    trash(client, upload(client, video_bytes).get_json())
    app.config["TRASH_DAYS"] = 0
    assert "purged 1 videos" in purge_command(app)
    assert stored_files(data_dir) == []


@pytest.mark.parametrize("value", ["-1", "1.5", "\"thirty\"", "true", "null"])
def test_a_bad_setting_stops_the_start_with_what_to_fix(tmp_path, monkeypatch, value):
    monkeypatch.setenv("PORTAL_TRASH_DAYS", value)
    with pytest.raises(ValueError, match="PORTAL_TRASH_DAYS must be a whole number of days from 0 up"):
        create_app({"DATA_DIR": str(tmp_path)})


def test_the_setting_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_TRASH_DAYS", "7")
    assert create_app({"DATA_DIR": str(tmp_path)}).config["TRASH_DAYS"] == 7
    monkeypatch.delenv("PORTAL_TRASH_DAYS")
    assert create_app({"DATA_DIR": str(tmp_path)}).config["TRASH_DAYS"] == 30


def test_verify_checks_files_in_the_trash_too(app, client, data_dir, video_bytes):
    body = upload(client, video_bytes).get_json()
    trash(client, body)
    [path] = stored_files(data_dir)
    path.write_bytes(b"garbage")
    result = app.test_cli_runner().invoke(args=["verify"])
    assert result.exit_code == 1
    assert f"CORRUPT: {body['id']} clip.mp4" in result.output
    restored = client.post(f"/api/v1/trash/{body['id']}/restore").get_json()
    assert restored["status"] == "corrupt"
