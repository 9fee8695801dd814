"""``python bench/tus.py --quick``: the tus benchmark runs end to end and writes consistent figures.

How fast the machine is is never asserted: only that every figure is there,
finite, and that the verdict follows from the ratio.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.server]

ROOT = Path(__file__).resolve().parent.parent.parent


def test_quick_tus_run_compares_chunks_with_the_raw_body_and_watches_memory(tmp_path):
    output = tmp_path / "tus.json"
    finished = subprocess.run(
        [sys.executable, "bench/tus.py", "--quick", "--size", "4MiB", "--chunk", "1MiB", "--json", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "tus, 1 MiB PATCHes" in finished.stdout and "ratio >= 0.6" in finished.stdout
    result = json.loads(output.read_text())
    assert (result["meta"]["size"], result["meta"]["chunk"]) == (4 * 1024 * 1024, 1024 * 1024)
    [tus] = [item for item in result["figures"] if item["group"] == "upload" and item["against"] == "raw body"]
    assert math.isfinite(tus["value"]) and tus["value"] > 0 and math.isfinite(tus["reference"])
    assert tus["met"] == (tus["ratio"] >= 0.6)
    memory = [item for item in result["figures"] if item["group"] == "memory"]
    assert len(memory) == 5 and all(math.isfinite(item["value"]) for item in memory)
    [growth] = [item for item in memory if item["name"].startswith("server RSS growth")]
    assert growth["met"] == (growth["value"] < 32)
