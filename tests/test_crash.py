"""Crash safety, quick variant: `riskctl ingest` killed with SIGKILL mid-run, then run again,
leaves exactly what one clean run leaves (one kill point in `make test`, another in
`make test-slow`). The full harness (`python -m infra.crash_trials`)
kills `riskctl run` at random points of ingest, features, training and scoring over many trials.
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

from infra.compare import diff, snapshot

DAY = dt.date(2026, 4, 22)
TABLES = ["bronze_interactions", "interactions", "accounts", "quarantine", "duplicates",
          "ingest_files", "ingest_audit"]


def _ingest(lake: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "jobs.cli", "ingest", "--lake", lake, "--start", str(DAY),
           "--end", str(DAY + dt.timedelta(days=1))]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, env={**os.environ})


# One kill point runs in `make test` (the quick variant); the other in `make test-slow`.
@pytest.mark.parametrize("fraction", [0.45, pytest.param(0.8, marks=pytest.mark.slow)])
def test_killed_ingest_rerun_equals_clean_run(tmp_path, fraction):
    from simulator import generate

    raw = str(tmp_path / "raw_lake")
    generate(raw, DAY, 2, "tiny", seed=5, progress=False)
    clean = str(tmp_path / "clean")
    shutil.copytree(raw, clean)
    t0 = time.monotonic()
    proc = _ingest(clean)
    assert proc.wait() == 0, proc.stderr.read().decode()[-2000:]
    clean_secs = time.monotonic() - t0
    expected = snapshot(clean, TABLES)
    assert expected["ingest_audit"], "clean run wrote no audit"

    crashed = str(tmp_path / "crashed")
    shutil.copytree(raw, crashed)
    proc = _ingest(crashed)
    try:
        proc.wait(timeout=clean_secs * fraction)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver JVM and Python workers too
        proc.wait()
    partial = snapshot(crashed, TABLES)
    proc = _ingest(crashed)
    assert proc.wait() == 0, proc.stderr.read().decode()[-2000:]
    assert diff(expected, snapshot(crashed, TABLES)) == {}
    # negative control: the comparison does see a half-done lake (when the kill landed early
    # enough to leave one) or a doctored table
    doctored = {**expected, "ingest_audit": expected["ingest_audit"][1:]}
    assert diff(expected, doctored)
    if partial != expected:
        assert diff(expected, partial)
    assert Path(crashed, "ops", "ingest_audit").exists()
