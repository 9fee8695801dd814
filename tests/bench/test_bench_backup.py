"""``python bench/backup.py --videos 20``: the backup benchmark runs end to end and writes consistent figures.

How fast the machine is is never asserted: only that every figure is there,
finite, and that each verdict follows from its figure (the run itself checks
that the first backup copied every object, the second none, and both verify).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.bench]

ROOT = Path(__file__).resolve().parent.parent.parent


def test_a_small_backup_run_compares_the_first_backup_with_cp_times_the_second_and_the_library_page(tmp_path):
    output = tmp_path / "backup.json"
    finished = subprocess.run(
        [sys.executable, "bench/backup.py", "--videos", "20", "--size", "4KiB", "--json", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "ratio >= 0.7" in finished.stdout and "projected to 10,000 videos" in finished.stdout
    assert "< 50 ms" in finished.stdout
    result = json.loads(output.read_text())
    assert (result["meta"]["videos"], result["meta"]["size"]) == (20, 4096)
    assert all(math.isfinite(item["value"]) and item["value"] > 0 for item in result["figures"])
    [first] = [item for item in result["figures"] if item["name"] == "backup create" and item["against"] == "cp -r"]
    assert first["met"] == (first["ratio"] >= 0.7)
    [second] = [item for item in result["figures"] if item["name"].startswith("unchanged, projected")]
    assert second["met"] == (second["value"] < 10)
    assert math.isclose(second["value"], result["samples"]["second_s"] / 20 * 10_000)
    [page] = [item for item in result["figures"] if item["name"] == "p99 while a first backup runs"]
    assert page["met"] == (page["value"] < 50)
    assert len(result["samples"]["page_during_ms"]) == 200 and result["samples"]["backups_during_pages"] >= 1
