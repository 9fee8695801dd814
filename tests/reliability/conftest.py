"""Fixtures for the fault, load and hostile-input tests: a real server, and views of what it stored.

Most of these run ``python wsgi.py`` (waitress, production settings) in a child
process, because what they prove is about the real server: its buffering,
worker threads, broken connections and process death.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Callable
from typing import Iterator

import pytest

from portal.storage.local import INCOMING
from tests.support import RunningPortal

PortalFactory = Callable[..., RunningPortal]


@pytest.fixture
def start_portal(tmp_path: Path) -> Iterator[PortalFactory]:
    """Start ``python wsgi.py`` on a data folder (default ``tmp_path/data``); stopped at teardown."""
    started: list[RunningPortal] = []

    def start(data_dir: Path | None = None, env: dict[str, str] | None = None, command: list[str] | None = None):
        data_dir = data_dir or tmp_path / "data"
        log_path = tmp_path / f"portal-{len(started)}.log"
        running = RunningPortal(command or [sys.executable, "wsgi.py"], data_dir, env, log_path=log_path)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def rows_on_disk(data_dir: Path) -> dict[str, tuple[int, str]]:
    """``{id: (size, sha256)}`` read straight from the SQLite file, as an operator would."""
    with sqlite3.connect(f"file:{data_dir / 'portal.db'}?mode=ro", uri=True, timeout=30) as connection:
        return {row[0]: (row[1], row[2]) for row in connection.execute("SELECT id, size, sha256 FROM videos")}


def stored_keys(data_dir: Path) -> set[str]:
    """Names of the stored files (their ids), outside the temporary folder."""
    root = data_dir / "files"
    return {path.name for path in root.rglob("*") if path.is_file() and INCOMING not in path.relative_to(root).parts}


def leftovers(data_dir: Path) -> list[Path]:
    """Temporary files of unfinished uploads."""
    incoming = data_dir / "files" / INCOMING
    return sorted(incoming.iterdir()) if incoming.exists() else []


def assert_database_and_folder_agree(data_dir: Path) -> None:
    """No row without its bytes, no bytes without their row, nothing half-written.

    A video's bytes are the original of its SHA-256 (shared by the videos with
    the same bytes), stored under the upload key of the first of them.
    """
    assert leftovers(data_dir) == []
    with sqlite3.connect(f"file:{data_dir / 'portal.db'}?mode=ro", uri=True, timeout=30) as connection:
        originals = dict(connection.execute("SELECT sha256, storage_key FROM originals").fetchall())
    assert {sha256 for _size, sha256 in rows_on_disk(data_dir).values()} == set(originals)
    assert {key.rpartition("/")[2] for key in originals.values()} == stored_keys(data_dir)
