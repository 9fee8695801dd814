"""``python bench/run.py --quick``: the benchmark runs end to end and writes its figures.

Completion, the shape of the JSON and the consistency of its figures (finite
rates, ratios and verdicts that follow from them) are checked; how fast the
machine is depends on the machine and is never asserted.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.server]

ROOT = Path(__file__).resolve().parent.parent.parent


def nginx_installed() -> bool:
    return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict]:
    if not nginx_installed():
        pytest.skip("nginx is not installed (Debian package 'nginx'); .ci/run installs it")
    pytest.importorskip("fastapi", reason="the FastAPI baseline needs requirements-dev.txt installed")
    output = tmp_path_factory.mktemp("bench") / "last.json"
    finished = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--json", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished, json.loads(output.read_text())


def figure(result: dict, group: str, name: str, against: str = "") -> dict:
    matches = [
        item for item in result["figures"] if (item["group"], item["name"], item["against"]) == (group, name, against)
    ]
    assert len(matches) == 1, f"no single figure {group}/{name}/{against}"
    return matches[0]


def test_quick_run_prints_one_table_with_ratios(quick_run):
    finished, _result = quick_run
    assert "ratio" in finished.stdout
    for label in ("raw body", "multipart", "whole file, verified", "1 MiB ranges", "bytes=0- stream", "API req/s"):
        assert label in finished.stdout


def test_quick_run_measures_uploads_against_the_limit_the_floor_and_fastapi(quick_run):
    _finished, result = quick_run
    for name in ("raw body", "multipart"):
        for against in ("hash+copy limit", "waitress floor", "FastAPI"):
            item = figure(result, "upload", name, against)
            assert item["value"] > 0 and item["reference"] > 0
            assert item["ratio"] == pytest.approx(item["value"] / item["reference"])


def test_quick_run_measures_a_repeated_upload_against_its_first(quick_run):
    """The same bytes again are hashed but not stored twice: the figure is the repeat's time over the first's."""
    _finished, result = quick_run
    item = figure(result, "upload", "repeated upload of the same 8 MiB", "its first upload")
    assert item["value"] > 0 and item["reference"] > 0 and item["target"] == "ratio <= 1.0"
    assert item["ratio"] == pytest.approx(item["value"] / item["reference"])
    assert item["met"] is (item["ratio"] <= 1.0)
    samples = result["samples"]["repeated_upload"]
    assert len(samples["first_s"]) == len(samples["repeated_s"]) == result["meta"]["repeat"]


def test_quick_run_measures_downloads_against_nginx(quick_run):
    _finished, result = quick_run
    for name in ("whole file, verified", "bytes=0- stream", "1 MiB ranges"):
        item = figure(result, "download", name, "nginx")
        assert item["value"] > 0 and item["reference"] > 0
        # The figures are real measurements, and the ratio and verdict follow from them.
        assert math.isfinite(item["value"]) and math.isfinite(item["reference"])
        assert item["ratio"] == pytest.approx(item["value"] / item["reference"])
        assert item["met"] is (item["ratio"] >= item["minimum_ratio"])
    assert set(result["samples"]["downloads"]["nginx"]["ranges"]) == {"mb_s", "p50_ms", "p99_ms"}


def test_quick_run_records_memory_and_listing_figures(quick_run):
    _finished, result = quick_run
    assert figure(result, "memory", "server RSS peak, whole-file download", "FastAPI")["value"] > 10
    api = figure(result, "listing", "API first page p50", "FastAPI")
    assert api["value"] > 0 and api["target"] == "< 15 ms"
    assert figure(result, "listing", "API req/s, 16 clients", "FastAPI")["value"] > 0
    # The pages are measured signed in (through the /login form), not as a redirect to it.
    assert result["samples"]["listing"]["first page"]["page"]["p50_ms"] > 0
    assert result["samples"]["listing"]["throughput"]["page"]["rps"] > 0
    assert figure(result, "upload", "web form", "hash+copy limit")["value"] > 0
    assert result["meta"]["videos"] == 10_000


def test_quick_run_measures_concurrent_downloads_against_nginx(quick_run):
    _finished, result = quick_run
    item = figure(result, "download", "16 concurrent whole files, verified", "nginx")
    assert item["value"] > 0 and item["reference"] > 0
    assert item["ratio"] == pytest.approx(item["value"] / item["reference"])
    assert len(result["samples"]["concurrent_downloads"]["portal"]) == result["meta"]["repeat"]


def test_quick_run_measures_the_listing_with_slow_viewers(quick_run):
    _finished, result = quick_run
    viewers = result["meta"]["viewers"]
    assert viewers == 40  # the quick size
    api = figure(result, "viewers", f"API listing p99, {viewers} slow viewers")
    page = figure(result, "viewers", f"library page p99, {viewers} slow viewers")
    assert api["value"] > 0 and page["value"] > 0 and api["target"] == "< 500 ms"
    sample = result["samples"]["slow_viewers"]
    assert sample["viewers"] == viewers and sample["probes"]["/"]["count"] > 0
    assert figure(result, "viewers", f"server RSS growth, {viewers} slow viewers")["value"] is not None
