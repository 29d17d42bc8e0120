"""`make bench`: what a day costs, per step, and how it grows with history.

Prints one table per scale: time and peak memory (RSS of this process and its children, i.e.
the driver JVM and Python workers) of generate, ingest, validate, features, train and score,
per day and in total; lines/s; the ratio of the last day's cost to the eighth day's; the
feature step against a DuckDB reference over the same clean files, and the last day's ingest
against DuckDB reading and checking the same raw files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

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


def _lines_landed(lake: str, day: dt.date) -> int:
    from pyspark.sql import functions as F

    from core import delta_io, tables
    from core.spark import get_spark

    audit = delta_io.read(get_spark(), tables.INGEST_AUDIT, lake)
    row = audit.where(F.col("land_date") == F.lit(day)).agg(F.sum("lines_read")).collect()[0]
    return int(row[0] or 0)


def bench(scale: str, days: int, workdir: str) -> dict:
    from jobs.run import run_day
    from simulator import generate

    lake = str(Path(workdir) / f"lake-{scale}")
    mem = PeakRSS()
    t0 = time.monotonic()
    gen = generate(lake, START, days, scale, seed=7, progress=True)
    gen_secs = time.monotonic() - t0
    gen_mb = mem.peak_mb
    rows = []
    for i in range(days):
        day = START + dt.timedelta(days=i)
        mem.reset()
        t = time.monotonic()
        result = run_day(lake, day)
        total = time.monotonic() - t
        lines = _lines_landed(lake, day)
        rows.append({"day": day.isoformat(), **result["steps"], "total": round(total, 1),
                     "lines": lines, "lines_per_s": round(lines / max(result["steps"].get(
                         "ingest", total), 1e-9)), "peak_mb": round(mem.peak_mb)})
        # Each day's row as soon as it exists: a long run that dies late keeps its figures.
        print("bench " + json.dumps(rows[-1]), flush=True)
    mem.close()
    out = {"scale": scale, "days": days, "generate_secs": round(gen_secs, 1),
           "generate_lines": sum(gen.get("lines", {}).values()),
           "generate_lines_per_s": gen.get("lines_per_second"),
           "generate_peak_mb": round(gen_mb), "per_day": rows}
    if days >= 8:
        out["last_over_eighth"] = round(rows[-1]["total"] / max(rows[7]["total"], 1e-9), 2)
        out.update(growth(rows[7], rows[-1], "features"))
        out["features_rerun"] = rerun_growth(lake, START + dt.timedelta(days=7),
                                             START + dt.timedelta(days=days - 1))
    try:
        from tools.duckdb_reference import compare_features

        out["duckdb"] = compare_features(lake, START + dt.timedelta(days=days - 1))
    except Exception as exc:  # the reference must never cost the table measured before it
        out["duckdb"] = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        from tools.duckdb_reference import compare_ingest

        out["duckdb_ingest"] = compare_ingest(lake, START + dt.timedelta(days=days - 1),
                                              rows[-1].get("ingest"))
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
    return {f"{step}_last_over_eighth": round(raw, 2),
            f"{step}_per_line_last_over_eighth": round(raw / volume, 2)}


def rerun_growth(lake: str, early: dt.date, late: dt.date, repeats: int = 3) -> dict:
    """The feature step of `early` and `late` run again after the whole run, alternating.

    The in-run figures are one sample each, taken hours apart on a machine whose spread on
    identical work is +-10-20 %, so their ratio mixes history with noise. Re-running both
    days in the same process state, interleaved, compares like with like. Safe on the lake:
    a day's feature step reads only what had landed by that day and replaces its own rows.
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
    return {"eighth_s": early_secs, "last_s": late_secs, "eighth_median_s": early_m,
            "last_median_s": late_m, "last_over_eighth": round(late_m / max(early_m, 1e-9), 2)}


def print_table(result: dict) -> None:
    steps = ["ingest", "validate", "features", "drift", "train", "score"]
    print(f"\n== scale={result['scale']} days={result['days']} "
          f"generate={result['generate_secs']}s ({result['generate_lines']} lines, "
          f"{result['generate_lines_per_s']} lines/s) peak={result['generate_peak_mb']} MB ==")
    header = ["day", *steps, "total", "lines", "lines_per_s", "peak_mb"]
    print(" ".join(f"{h:>11}" for h in header))
    for row in result["per_day"]:
        print(" ".join(f"{str(row.get(h, '-')):>11}" for h in header))
    totals = {s: round(sum(r.get(s, 0) for r in result["per_day"]), 1) for s in steps}
    total = round(sum(r["total"] for r in result["per_day"]), 1)
    print(f"{'TOTAL':>11} " + " ".join(f"{totals[s]:>11}" for s in steps) + f" {total:>11}")
    if "last_over_eighth" in result:
        print(f"last day / eighth day cost: {result['last_over_eighth']}; features step: "
              f"{result['features_last_over_eighth']}, per line landed: "
              f"{result['features_per_line_last_over_eighth']}")
    if "features_rerun" in result:
        r = result["features_rerun"]
        print(f"features step re-run after the run, alternating (eighth day {r['eighth_s']} s, "
              f"last day {r['last_s']} s): last / eighth of the medians: "
              f"{r['last_over_eighth']}")
    if result.get("duckdb"):
        print("feature step vs DuckDB reference:", json.dumps(result["duckdb"]))
    if result.get("duckdb_ingest"):
        print("ingest (last day) vs DuckDB reading the same raw files:",
              json.dumps(result["duckdb_ingest"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="small",
                        help="comma-separated: tiny, small, medium, seed")
    parser.add_argument("--days", type=int)
    parser.add_argument("--workdir", default=os.environ.get("RISK_BENCH_DIR"))
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
