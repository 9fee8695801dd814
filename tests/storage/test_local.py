"""The local folder backend: what only a folder has (paths inside it, temporary files of processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from portal.storage.local import LocalStorage
from tests.helpers import process_state


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "files")


@pytest.mark.parametrize("key", ["../../escape", "ab/../../escape", "/etc/passwd", "ab//cd", "ab/./cd", "ab\\..\\cd"])
def test_keys_cannot_leave_the_folder(storage, key):
    with pytest.raises(ValueError):
        storage.create(key)
    with pytest.raises(ValueError):
        storage.path(key)


def test_leftovers_of_dead_processes_and_of_this_pid_are_removed(storage):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    (storage.incoming / f"{dead_pid}-abc.part").write_bytes(b"x")
    (storage.incoming / f"{os.getpid()}-def.part").write_bytes(b"x")
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (storage.incoming / f"{alive.pid}-ghi.part").write_bytes(b"x")
        assert storage.remove_leftovers() == 2
        assert [path.name for path in storage.incoming.iterdir()] == [f"{alive.pid}-ghi.part"]
    finally:
        alive.kill()
        alive.wait()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="tells an exited process from a live one by Linux's /proc")
def test_leftovers_of_an_exited_but_unreaped_process_are_removed(storage):
    """A killed server's worker lingers as a zombie until reaped; it writes nothing more."""
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while process_state(exited.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        (storage.incoming / f"{exited.pid}-abc.part").write_bytes(b"x")
        assert storage.remove_leftovers() == 1
    finally:
        exited.wait()


def test_is_usable_needs_a_writable_folder(storage):
    assert storage.is_usable()
    storage.incoming.rmdir()
    assert not storage.is_usable()


def test_change_time_moves_on_any_write_and_cannot_be_set_back(storage):
    import time

    upload = storage.create("ab/cd/key")
    upload.write(b"original")
    upload.commit()
    first = storage.changed_at("ab/cd/key")
    time.sleep(0.02)
    path = storage.path("ab/cd/key")
    path.write_bytes(b"tampered")
    os.utime(path, (0, 0))
    assert storage.changed_at("ab/cd/key") > first
    assert storage.changed_at("ab/gone/key") is None


def test_a_batch_shows_its_uploads_only_once_flushed_and_an_abort_leaves_nothing(storage):
    batch = storage.batch()
    for name in ("a", "b"):
        upload = batch.create(f"objects/{name}")
        upload.write(name.encode() * 10)
        upload.commit()
    assert storage.size("objects/a") is None and not batch.due()
    assert len(list(storage.incoming.glob("*.part"))) == 2
    batch.flush()
    assert (storage.size("objects/a"), storage.size("objects/b")) == (10, 10)
    assert not list(storage.incoming.glob("*.part"))
    upload = batch.create("objects/c")
    upload.write(b"c")
    upload.commit()
    batch.abort()
    batch.flush()
    assert storage.size("objects/c") is None and not list(storage.incoming.glob("*.part"))


def test_a_batch_is_due_after_a_second(storage):
    batch = storage.batch()
    upload = batch.create("objects/a")
    upload.write(b"a")
    upload.commit()
    assert not batch.due()
    time.sleep(1.05)
    assert batch.due()
    batch.flush()
    assert not batch.due()
