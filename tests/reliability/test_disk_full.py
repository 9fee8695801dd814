"""The disk fills up during an upload: 507 with a clear message, nothing partial, service goes on.

The data folder is a small tmpfs mounted for the test (root only; CI runs as
root). waitress buffers request bodies in TMPDIR, which stays on the big disk,
so the bytes that run out of room are the portal's own writes into storage.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests

from tests.reliability.conftest import assert_database_and_folder_agree
from tests.reliability.conftest import leftovers
from tests.reliability.conftest import rows_on_disk
from tests.reliability.conftest import stored_keys
from tests.support import minimal_mp4

MIB = 1024 * 1024
DISK_SIZE = 6 * MIB


@pytest.fixture
def small_disk(tmp_path: Path):
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0755", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs as the data folder (needs root): {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


@pytest.fixture
def portal_on_small_disk(small_disk, start_portal, tmp_path):
    """The portal on the small disk; it is stopped before the disk is unmounted.

    Its free-space floor is off: these tests are about the disk really running
    out, which the floor's own 507 (tests/accounts/test_quota.py) would hide.
    """
    buffers = tmp_path / "waitress-buffers"
    buffers.mkdir()
    return start_portal(data_dir=small_disk / "data", env={"TMPDIR": str(buffers), "PORTAL_MIN_FREE_BYTES": "0"})


def upload_raw(portal, data: bytes, name: str = "clip.mp4") -> requests.Response:
    return portal.http.post(f"{portal.url}/api/v1/files", params={"filename": name}, data=data, timeout=60)


def upload_form(portal, data: bytes, name: str = "clip.mp4") -> requests.Response:
    return portal.http.post(f"{portal.url}/api/v1/files", files={"file": (name, data, "video/mp4")}, timeout=60)


def assert_insufficient_storage(response: requests.Response) -> None:
    assert response.status_code == 507, response.text
    error = response.json()["error"]
    assert error["code"] == "insufficient_storage"
    assert "no space left" in error["message"] and "Nothing was kept" in error["message"]


@pytest.mark.parametrize("send", [upload_raw, upload_form], ids=["raw", "multipart"])
def test_upload_larger_than_the_free_space_is_507_and_leaves_nothing(portal_on_small_disk, send):
    portal = portal_on_small_disk
    kept = minimal_mp4(os.urandom(300_000))
    first = send(portal, kept, "kept.mp4")
    assert first.status_code == 201, first.text

    assert_insufficient_storage(send(portal, minimal_mp4(os.urandom(2 * DISK_SIZE)), "too-big.mp4"))

    assert leftovers(portal.data_dir) == []
    assert stored_keys(portal.data_dir) == {first.json()["id"]}
    assert set(rows_on_disk(portal.data_dir)) == {first.json()["id"]}
    assert requests.get(portal.url + "/healthz", timeout=10).status_code == 200
    assert portal.http.get(first.json()["content_url"], timeout=30).content == kept


def test_portal_keeps_serving_once_space_is_freed(portal_on_small_disk):
    portal = portal_on_small_disk
    stored: dict[str, bytes] = {}
    for number in range(20):
        data = minimal_mp4(os.urandom(MIB))
        response = upload_raw(portal, data, f"fill-{number}.mp4")
        if response.status_code == 507:
            assert_insufficient_storage(response)
            break
        assert response.status_code == 201, response.text
        stored[response.json()["id"]] = data
    else:
        pytest.fail(f"a {DISK_SIZE}-byte disk took 20 MiB: the test is not filling the data folder")
    assert len(stored) >= 2
    assert_database_and_folder_agree(portal.data_dir)

    freed = sorted(stored)[:2]
    for video_id in freed:
        assert portal.http.delete(f"{portal.url}/api/v1/files/{video_id}", timeout=30).status_code == 204
        # The trash keeps the bytes: only a purge frees their space.
        assert portal.http.delete(f"{portal.url}/api/v1/trash/{video_id}", timeout=30).status_code == 204
        del stored[video_id]

    again = minimal_mp4(os.urandom(MIB))
    response = upload_raw(portal, again, "after.mp4")
    assert response.status_code == 201, response.text
    stored[response.json()["id"]] = again
    for video_id, data in stored.items():
        assert portal.http.get(f"{portal.url}/api/v1/files/{video_id}/content", timeout=30).content == data
    assert_database_and_folder_agree(portal.data_dir)


def test_disk_too_full_for_the_database_row_is_507_and_leaves_no_bytes(portal_on_small_disk):
    """The bytes fit, but SQLite cannot grow its files to record them: still 507, nothing kept."""
    portal = portal_on_small_disk
    filler = portal.data_dir / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    free = os.statvfs(portal.data_dir)
    assert free.f_bavail == 0
    # Room for the video's bytes (one page) and not one more page for the database.
    page = free.f_frsize
    os.truncate(filler, filler.stat().st_size - page)
    data = minimal_mp4(os.urandom(page - 100))
    statuses = []
    for attempt in range(4):
        response = upload_raw(portal, data, f"tight-{attempt}.mp4")
        statuses.append(response.status_code)
        if response.status_code != 201:
            break
    assert statuses[-1] == 507, [statuses, response.text]
    assert_insufficient_storage(response)
    assert_database_and_folder_agree(portal.data_dir)
    filler.unlink()
    assert upload_raw(portal, data, "after.mp4").status_code == 201
    assert_database_and_folder_agree(portal.data_dir)
