"""``python bench/client_memory.py`` at a small size: it runs end to end and writes its figures.

The figures themselves depend on the machine and are never asserted; that the
client's memory stays flat is what the benchmark shows at large sizes.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import ROOT

pytestmark = [pytest.mark.bench, pytest.mark.server]


def test_the_client_memory_benchmark_runs_at_a_small_size(tmp_path):
    output = tmp_path / "client-memory.json"
    finished = subprocess.run(
        [sys.executable, "bench/client_memory.py", "--sizes", "1MiB", "3MiB", "--json", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "peak memory varies by" in finished.stdout
    figures = json.loads(output.read_text())
    assert [row["size"] for row in figures["sizes"]] == [1024 * 1024, 3 * 1024 * 1024]
    for row in figures["sizes"]:
        for kind in ("upload", "download"):
            assert row[kind]["peak_rss"] > 0 and row[kind]["mb_s"] > 0
