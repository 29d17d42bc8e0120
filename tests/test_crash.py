"""Crash safety, quick variant: `riskctl ingest` killed with SIGKILL mid-run, then run again,
leaves exactly what one clean run leaves (one kill point in `make test`, another in
`make test-slow`). The reference run and the re-run go through the test session's Spark (the
`ingest_days` that `riskctl ingest` calls); only the killed run needs its own process.
The full harness (`python -m tools.crash_trials`) kills `riskctl run` at random points of
ingest, features, training and scoring over many trials.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools.compare import diff, snapshot

DAY = dt.date(2026, 4, 22)
DAYS = [DAY, DAY + dt.timedelta(days=1)]
TABLES = [
    "bronze_interactions",
    "interactions",
    "accounts",
    "quarantine",
    "duplicates",
    "ingest_files",
    "ingest_audit",
]


def _ingest(lake: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "jobs.cli",
        "ingest",
        "--lake",
        lake,
        "--start",
        str(DAY),
        "--end",
        str(DAY + dt.timedelta(days=1)),
    ]
    return subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ},
    )


def _commits(lake: str) -> int:
    return sum(1 for _ in Path(lake).glob("**/_delta_log/*.json"))


# One kill point runs in `make test` (the quick variant); the other in `make test-slow`.
@pytest.mark.parametrize("commits", [2, pytest.param(5, marks=pytest.mark.slow)])
def test_killed_ingest_rerun_equals_clean_run(spark, tmp_path, commits):
    from jobs.ingest import ingest_days
    from simulator import generate

    raw = str(tmp_path / "raw_lake")
    generate(raw, DAY, 2, "tiny", seed=5, progress=False)
    clean = str(tmp_path / "clean")
    shutil.copytree(raw, clean)
    ingest_days(clean, DAYS)
    expected = snapshot(clean, TABLES)
    assert expected["ingest_audit"], "clean run wrote no audit"

    crashed = str(tmp_path / "crashed")
    shutil.copytree(raw, crashed)
    proc = _ingest(crashed)
    # Killed right after its `commits`-th Delta commit: some tables of the day are written,
    # the others not (a half-done landing, whatever the machine's speed).
    while _commits(crashed) < commits and proc.poll() is None:
        time.sleep(0.02)
    if proc.poll() is not None:  # ended (or failed) before the kill point: say how
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        pytest.fail(f"ingest ended with {proc.returncode} before commit {commits}:\n{err[-2000:]}")
    os.killpg(proc.pid, signal.SIGKILL)  # the driver JVM and Python workers too
    proc.wait()
    partial = snapshot(crashed, TABLES)
    assert proc.returncode == -signal.SIGKILL, "the run ended before the kill"
    ingest_days(crashed, DAYS)
    assert diff(expected, snapshot(crashed, TABLES)) == {}
    # negative control: the comparison does see the half-done lake and a doctored table
    assert diff(expected, partial)
    doctored = {**expected, "ingest_audit": expected["ingest_audit"][1:]}
    assert diff(expected, doctored)
    assert Path(crashed, "ops", "ingest_audit").exists()
