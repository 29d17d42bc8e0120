"""Crash-safety harness: SIGKILL `riskctl run` at random points, run it again, compare.

A base lake is run cleanly up to the day before the target day and kept. For the reference,
a copy runs the target day (or the target range, `--end`) cleanly. Each trial copies the base,
starts `riskctl run` for the target day or range, kills the whole process group (driver JVM
and Python workers) with SIGKILL after a random delay inside the clean run's duration (so kills
land in ingest, validation, features, training and scoring), runs the day or range again to
completion, and compares every table with the reference (ignoring only the wall-clock
columns), and the MLflow model registry too (versions, their decision tags, aliases). Any
difference is a failed trial. Each trial also reports the job the kill landed in (the logger of
the killed run's last log line).

    python -m tools.crash_trials --lake DIR --day D [--end E] --trials 100 [--seed 1]
        [--base-done]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from core.settings import child_environment, settings
from tools.compare import diff, snapshot

RISKCTL = [sys.executable, "-m", "jobs.cli"]


_JOB_LINE = re.compile(r" [A-Z]+ risk\.(\w+) ")


def _run(
    lake: str,
    start: dt.date,
    end: dt.date,
    kill_after: float | None = None,
    log_path: str | None = None,
) -> float:
    """Run `riskctl run`; with kill_after, SIGKILL its process group then. Returns seconds.

    The log goes to a file (a pipe nobody reads would stall a chatty run before its kill).
    """
    cmd = [*RISKCTL, "run", "--lake", lake, "--start", str(start), "--end", str(end)]
    log_file = Path(log_path or f"{lake.rstrip('/')}.log")
    t0 = time.monotonic()
    with log_file.open("wb") as err:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
            env=child_environment(TQDM_DISABLE="1"),
        )
        if kill_after is None:
            proc.wait()
            if proc.returncode != 0:
                tail = log_file.read_bytes()[-2000:].decode(errors="replace")
                raise RuntimeError(f"riskctl run failed ({proc.returncode}): {tail}")
            return time.monotonic() - t0
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return time.monotonic() - t0


def last_job(log_path: str) -> str:
    """The job (risk.<name> logger) of the last log line: where a killed run was."""
    jobs = _JOB_LINE.findall(Path(log_path).read_text(errors="replace"))
    return jobs[-1] if jobs else "start-up"


def _copy(src: str, dst: str) -> str:
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, symlinks=True)
    return dst


def trials(
    raw_lake: str,
    day: dt.date,
    n: int,
    seed: int,
    workdir: str,
    first_day: dt.date | None = None,
    base_done: bool = False,
    end: dt.date | None = None,
) -> dict:
    rng = random.Random(seed)
    work = Path(workdir)
    base = str(work / "base")
    _copy(raw_lake, base)
    first = first_day or _first_raw_day(raw_lake)
    if first < day and not base_done:
        _run(base, first, day - dt.timedelta(days=1))
    end = end or day
    reference = _copy(base, str(work / "reference"))
    clean_secs = _run(reference, day, end)
    expected = snapshot(reference, mlflow=True)
    results = []
    for i in range(n):
        lake = _copy(base, str(work / "trial"))
        delay = rng.uniform(0.5, clean_secs)
        killed_log = str(work / "trial-killed.log")
        _run(lake, day, end, kill_after=delay, log_path=killed_log)
        job = last_job(killed_log)
        _run(lake, day, end)
        problems = diff(expected, snapshot(lake, mlflow=True))
        results.append(
            {"trial": i, "kill_after_s": round(delay, 1), "killed_in": job, "differences": problems}
        )
        status = "ok" if not problems else f"DIFF {list(problems)}"
        print(
            f"trial {i + 1}/{n}: killed after {delay:.1f}s of {clean_secs:.0f}s in {job} "
            f"-> {status}",
            flush=True,
        )
    failed = [r for r in results if r["differences"]]
    killed_in = dict(Counter(r["killed_in"] for r in results).most_common())
    return {
        "day": str(day),
        "end": str(end),
        "trials": n,
        "failed": len(failed),
        "clean_run_s": round(clean_secs, 1),
        "killed_in": killed_in,
        "failures": failed,
    }


def _first_raw_day(lake: str) -> dt.date:
    days = sorted(
        p.name.split("=", 1)[1]
        for p in Path(lake, "raw", "interactions").iterdir()
        if p.name.startswith("date=")
    )
    return dt.date.fromisoformat(days[0])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lake", required=True, help="a lake holding the raw zone to use")
    parser.add_argument("--day", required=True, type=dt.date.fromisoformat)
    parser.add_argument(
        "--end",
        type=dt.date.fromisoformat,
        help="the last day of the range each trial runs (default: --day)",
    )
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir")
    parser.add_argument(
        "--base-done",
        action="store_true",
        help="the lake already holds the days before --day (e.g. a `make demo` "
        "lake): skip running them; the trials then re-run --day",
    )
    args = parser.parse_args()
    if settings().mlflow_tracking_uri:
        # Every trial lake would share one registry: the reference and the trials would then
        # see each other's versions. The harness needs each lake's own embedded store.
        parser.error("unset MLFLOW_TRACKING_URI: each trial lake needs its own MLflow store")
    workdir = args.workdir or tempfile.mkdtemp(prefix="risk-crash-")
    summary = trials(
        args.lake, args.day, args.trials, args.seed, workdir, base_done=args.base_done, end=args.end
    )
    print(json.dumps({k: v for k, v in summary.items() if k != "failures"}))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
