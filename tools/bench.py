"""`make bench`: what a range of days costs, per step, what one more day costs alone, and how a
day's cost grows with history.

Runs `riskctl run` as a backfill would (jobs.run.run_range) over every generated day but the
last, then the last day alone (the daily case: one day on top of the history). Prints one table
per scale: time and peak memory (RSS of this process and its children, i.e. the driver JVM and
Python workers) of ingest, validate, features, drift, train and score for the range and for
the day, lines and ingest lines/s, the end-to-end total; the feature step of the eighth and
the last day re-run alone, alternating (how a day's cost grows with history); and the daily
aggregate against a DuckDB reference over the same clean files. The last
day's ingest is also compared with DuckDB reading and checking the same raw files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from core.settings import settings
from jobs.run import STEPS

START = dt.date(2026, 4, 22)
# small runs 28 days so that its last day has a full 28-day window behind it.
DEFAULT_DAYS = {"tiny": 10, "small": 28, "medium": 14, "seed": 45}


class PeakRSS:
    """Samples the RSS of this process tree every 0.2 s; `.peak_mb` since the last reset."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                procs = [me, *me.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
            except psutil.Error:
                rss = 0
            self.peak = max(self.peak, rss)
            time.sleep(0.2)

    def reset(self) -> None:
        self.peak = 0

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20

    def close(self) -> None:
        self._stop.set()


def _lines_landed(lake: str, days: list[dt.date]) -> int:
    from pyspark.sql import functions as F

    from core import delta_io, tables
    from core.spark import get_spark

    audit = delta_io.read(get_spark(), tables.INGEST_AUDIT, lake)
    row = audit.where(F.col("land_date").isin(days)).agg(F.sum("lines_read")).collect()[0]
    return int(row[0] or 0)


def _measured(mem: PeakRSS, label: str, days: list[dt.date], run, lake: str) -> dict:
    mem.reset()
    t = time.monotonic()
    result = run()
    total = time.monotonic() - t
    lines = _lines_landed(lake, days)
    row = {
        "run": label,
        "days": len(days),
        **{s: result["steps"].get(s, 0.0) for s in STEPS},
        "total": round(total, 1),
        "lines": lines,
        "lines_per_s": round(lines / max(result["steps"].get("ingest", total), 1e-9)),
        "peak_mb": round(mem.peak_mb),
    }
    # Each row as soon as it exists: a long run that dies late keeps its figures.
    print("bench " + json.dumps(row), flush=True)
    return row


def bench(scale: str, days: int, workdir: str) -> dict:
    from jobs.run import run_day, run_range
    from simulator import generate

    lake = str(Path(workdir) / f"lake-{scale}")
    mem = PeakRSS()
    t0 = time.monotonic()
    gen = generate(lake, START, days, scale, seed=7, progress=True)
    gen_secs = time.monotonic() - t0
    gen_mb = mem.peak_mb
    all_days = [START + dt.timedelta(days=i) for i in range(days)]
    rows = []
    if days > 1:
        label = f"{all_days[0]}..{all_days[-2]}"
        rows.append(
            _measured(mem, label, all_days[:-1], lambda: run_range(lake, all_days[:-1]), lake)
        )
    last = all_days[-1]
    rows.append(_measured(mem, str(last), [last], lambda: run_day(lake, last), lake))
    mem.close()
    out = {
        "scale": scale,
        "days": days,
        "generate_secs": round(gen_secs, 1),
        "generate_lines": sum(gen.get("lines", {}).values()),
        "generate_lines_per_s": gen.get("lines_per_second"),
        "generate_peak_mb": round(gen_mb),
        "runs": rows,
        "end_to_end_s": round(sum(r["total"] for r in rows), 1),
        "peak_mb": max(r["peak_mb"] for r in rows),
    }
    if days >= 8:
        eighth = START + dt.timedelta(days=7)
        rerun = rerun_growth(lake, eighth, last)
        rerun.update(
            growth(
                {"features": rerun["eighth_median_s"], "lines": _lines_landed(lake, [eighth])},
                {"features": rerun["last_median_s"], "lines": _lines_landed(lake, [last])},
                "features",
            )
        )
        out["features_rerun"] = rerun
    try:
        from tools.duckdb_reference import compare_features

        out["duckdb"] = compare_features(lake, last)
    except Exception as exc:  # the reference must never cost the table measured before it
        out["duckdb"] = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        from tools.duckdb_reference import compare_ingest

        out["duckdb_ingest"] = compare_ingest(lake, last, rows[-1].get("ingest"))
    except Exception as exc:
        out["duckdb_ingest"] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def growth(early: dict, late: dict, step: str) -> dict:
    """The late day's cost of `step` over the early day's, raw and per line landed that day.

    The generated lakes are not stationary (campaigns start mid-way: a `small` lake's 28th day
    lands ~1.5x the lines of its 7th), so the raw ratio mixes a busier day with a longer
    history; the per-line ratio is the part history alone could explain.
    """
    raw = late[step] / max(early[step], 1e-9)
    volume = max(late["lines"], 1) / max(early["lines"], 1)
    return {
        f"{step}_last_over_eighth": round(raw, 2),
        f"{step}_per_line_last_over_eighth": round(raw / volume, 2),
    }


def rerun_growth(lake: str, early: dt.date, late: dt.date, repeats: int = 3) -> dict:
    """The feature step of `early` and `late`, each run alone again after the run, alternating:
    what one day costs with a short and with a long history behind it.

    One sample each would be +-10-20 % noise on this machine; re-running both days in the same
    process state, interleaved, compares like with like. Safe on the lake: a day's feature step
    reads only what had landed by that day and replaces its own rows.
    """
    from core.spark import get_spark
    from jobs.build_features import build_features_day

    spark = get_spark()
    secs: dict[dt.date, list[float]] = {early: [], late: []}
    for _ in range(repeats):
        for day in (early, late):
            t = time.monotonic()
            build_features_day(spark, lake, day)  # the step the in-run figure times
            secs[day].append(round(time.monotonic() - t, 1))
    return rerun_summary(secs[early], secs[late])


def rerun_summary(early_secs: list[float], late_secs: list[float]) -> dict:
    """Medians of the re-runs and their ratio (late over early)."""
    early_m, late_m = statistics.median(early_secs), statistics.median(late_secs)
    return {
        "eighth_s": early_secs,
        "last_s": late_secs,
        "eighth_median_s": early_m,
        "last_median_s": late_m,
        "last_over_eighth": round(late_m / max(early_m, 1e-9), 2),
    }


def print_table(result: dict) -> None:
    print(
        f"\n== scale={result['scale']} days={result['days']} "
        f"generate={result['generate_secs']}s ({result['generate_lines']} lines, "
        f"{result['generate_lines_per_s']} lines/s) peak={result['generate_peak_mb']} MB =="
    )
    header = ["run", "days", *STEPS, "total", "lines", "lines_per_s", "peak_mb"]
    width = max(11, *(len(str(r["run"])) for r in result["runs"]))
    print(f"{header[0]:>{width}} " + " ".join(f"{h:>11}" for h in header[1:]))
    for row in result["runs"]:
        print(
            f"{str(row['run']):>{width}} "
            + " ".join(f"{str(row.get(h, '-')):>11}" for h in header[1:])
        )
    print(
        f"end to end: {result['end_to_end_s']} s for {result['days']} days "
        f"({round(result['end_to_end_s'] / max(result['days'], 1), 1)} s a day), "
        f"peak {result['peak_mb']} MB"
    )
    if "features_rerun" in result:
        r = result["features_rerun"]
        print(
            f"features step of one day re-run alone, alternating (eighth day {r['eighth_s']} s, "
            f"last day {r['last_s']} s): last / eighth of the medians: "
            f"{r['last_over_eighth']}, per line landed: "
            f"{r['features_per_line_last_over_eighth']}"
        )
    if result.get("duckdb"):
        print("daily aggregate vs DuckDB reference:", json.dumps(result["duckdb"]))
    if result.get("duckdb_ingest"):
        print(
            "ingest (last day) vs DuckDB reading the same raw files:",
            json.dumps(result["duckdb_ingest"]),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--scale", default="small", help="comma-separated: tiny, small, medium, seed"
    )
    parser.add_argument("--days", type=int)
    parser.add_argument("--workdir", default=settings().bench_dir)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    # The jobs' own step logs (which day, which table, rows, seconds) beside the table.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("py4j", "urllib3", "alembic", "great_expectations", "mlflow", "XGBoost-PySpark"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    workdir = args.workdir or tempfile.mkdtemp(prefix="risk-bench-")
    results = []
    for scale in args.scale.split(","):
        result = bench(scale, args.days or DEFAULT_DAYS[scale], workdir)
        print_table(result)
        results.append(result)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
