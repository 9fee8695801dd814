"""``python bench/run.py --library 300``: the library benchmark runs end to end on each database.

The run seeds real rows (owners, titles, tags, the search index), then checks
every answer it times (the right items, v1's exact total), so completing is
itself a test of the seeding and of the deep cursor; here the table and the
JSON are checked to hold every figure, and the verdicts to follow from the
figures. How fast the machine is, is never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import library

pytestmark = [pytest.mark.bench, pytest.mark.server]

ROOT = Path(__file__).resolve().parent.parent.parent

VIDEOS = 300
SAMPLES = 5
REQUESTS = {
    ("v2", "first page"),
    ("v2", "page 14 by cursor"),  # 25,000 pages deep where there are that many; here the last row but one
    ("v2", "search matching nothing"),
    ("v2", "search matching 10%"),
    ("v2", "search matching 10%, inside words"),  # for reference: no target
    ("v2", "tag filter"),
    ("v2", "one letter matching nothing"),
    ("v2", "two letters matching nothing"),
    ("v2", "search and a tag"),
    ("v2", "two tags"),
    ("v2", "owner, tag and word"),
    ("v1", "first page (exact total)"),
    ("v1", "page 25,000 (OFFSET)"),
    ("v1", "search matching nothing"),
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def library_run(request, tmp_path_factory) -> tuple[str, subprocess.CompletedProcess, dict]:
    database = request.param
    if database == "postgresql":
        try:
            library.postgres_bin()
        except SystemExit:
            pytest.skip("PostgreSQL is not installed (Debian package 'postgresql'); .ci/run installs it")
    output = tmp_path_factory.mktemp("bench") / "library.json"
    finished = subprocess.run(
        [sys.executable, "bench/run.py", "--library", str(VIDEOS), "--samples", str(SAMPLES), "--database", database,
         "--json", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return database, finished, json.loads(output.read_text())


def test_the_run_prints_one_table_with_every_request_in_process_and_over_http(library_run):
    database, finished, _result = library_run
    lines = finished.stdout.splitlines()
    for api, name in REQUESTS:
        for where in ("in-process", "HTTP"):
            assert any(database in line and f" {api} " in line and name in line and where in line for line in lines), (
                api, name, where)
    assert f"seed {VIDEOS} videos" in finished.stdout


def test_every_figure_has_its_samples_and_a_verdict_that_follows_from_them(library_run):
    database, _finished, result = library_run
    [run] = result["databases"]
    assert run["database"] == database and run["videos"] == VIDEOS and run["seed_seconds"] > 0
    assert run["seed_target_seconds"] is None  # a target only from 100,000 videos up
    timings = run["timings"]
    assert {(timing["api"], timing["request"]) for timing in timings} == REQUESTS
    assert len(timings) == 2 * len(REQUESTS)
    factor = 2 if database == "postgresql" else 1
    for timing in timings:
        assert len(timing["samples_ms"]) == SAMPLES and min(timing["samples_ms"]) > 0
        assert timing["p50_ms"] <= timing["p99_ms"] <= max(timing["samples_ms"])
        assert bool(timing["plan"]) is (timing["api"] == "v2")
        if timing["request"].endswith("inside words"):
            assert (timing["p50_target_ms"], timing["p99_target_ms"]) == (None, None)
        elif timing["api"] == "v2":
            assert (timing["p50_target_ms"], timing["p99_target_ms"]) == (10 * factor, 25 * factor)
        expected = all(
            target is None or value < target
            for value, target in ((timing["p50_ms"], timing["p50_target_ms"]), (timing["p99_ms"], timing["p99_target_ms"]))
        )
        assert timing["met"] is expected
    v1_first = next(t for t in timings if (t["api"], t["request"]) == ("v1", "first page (exact total)"))
    assert v1_first["p50_target_ms"] == 15
    assert "cursor=" in next(t["path"] for t in timings if "by cursor" in t["request"])
