"""The load test script, run at a small size: no errors, every file intact, database and folder agree.

By hand, at a large size: ``python scripts/loadtest.py --duration 120 --workers 16``
(see docs/reliability.md).
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from portal import create_app
from portal.extensions import db
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.support import minimal_mp4

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "loadtest.py"


def load_script():
    spec = importlib.util.spec_from_file_location("loadtest", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["loadtest"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.server
def test_small_load_run_has_no_errors_and_leaves_everything_consistent(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--duration", "3", "--workers", "4", "--threads", "4",
         "--max-size", "200000", "--max-requests", "3000", "--data-dir", str(tmp_path / "data"), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["errors"] == 0 and report["problems"] == []
    assert 0 < report["requests"] <= 3000 + 4
    assert set(report["by_kind"]) == {"upload", "download", "range", "list", "lookup", "verify", "others", "delete", "gone"}
    # Every video in the library was downloaded and checked; the deleted ones wait in the trash,
    # their rows and files still matching (compare_database_and_folder, in "problems").
    with sqlite3.connect(f"file:{tmp_path / 'data' / 'portal.db'}?mode=ro", uri=True) as connection:
        [(in_library,)] = connection.execute("SELECT count(*) FROM videos WHERE deleted_at IS NULL")
    assert report["files_checked"] == in_library
    assert report["files_checked"] > 0


def test_consistency_check_finds_orphan_rows_orphan_files_and_leftovers(tmp_path):
    """The script's final check must be able to fail."""
    data_dir = tmp_path / "data"
    app = create_app({"TESTING": True, "DATA_DIR": str(data_dir), "SECRET_KEY": "test"})
    client = signed_in_client(app)
    kept = upload(client, minimal_mp4()).get_json()
    lost = upload(client, minimal_mp4()).get_json()
    with app.app_context():
        db.engine.dispose()
    loadtest = load_script()
    assert loadtest.compare_database_and_folder(data_dir) == []

    [lost_path] = (data_dir / "files").rglob(lost["id"])
    lost_path.unlink()
    (data_dir / "files" / "ab").mkdir(exist_ok=True)
    (data_dir / "files" / "ab" / "stray").write_bytes(b"x")
    (data_dir / "files" / ".incoming" / "1-dead.part").write_bytes(b"x")
    [kept_path] = (data_dir / "files").rglob(kept["id"])
    kept_path.write_bytes(b"short")
    problems = loadtest.compare_database_and_folder(data_dir)
    assert f"orphan row (no file): {lost['id']}" in problems
    assert "orphan file (no row): stray" in problems
    assert "temporary file left: 1-dead.part" in problems
    assert any(problem.startswith(f"size of {kept['id']}") for problem in problems)


def test_every_file_check_finds_a_corrupt_file(start_portal):
    portal = start_portal()
    loadtest = load_script()
    data = minimal_mp4()
    created = portal.http.post(portal.url + "/api/v1/files?filename=a.mp4", data=data, timeout=30).json()
    assert loadtest.check_every_listed_file(portal.url, {}, 30, portal.auth_headers) == (1, [])
    [path] = (portal.data_dir / "files").rglob(created["id"])
    path.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    checked, problems = loadtest.check_every_listed_file(portal.url, {}, 30, portal.auth_headers)
    assert checked == 1 and problems
