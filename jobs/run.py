"""`riskctl run`: the daily pipeline over a range of days, inside one Spark application.

For each day in order, exactly as the `risk_daily` DAG does: ingest what landed, validate,
build features, train/promote when the retraining policy says so, and publish both gold
tables. Before the first champion exists a day publishes nothing and says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from jobs.errors import GateFailed, NoChampion
from jobs.spark import get_spark

log = logging.getLogger("risk.run")


def run_day(lake: str, day: dt.date) -> dict:
    """One day of the pipeline; raises GateFailed when a blocking expectation fails."""
    from jobs.features import build_features
    from jobs.ingest import ingest_days
    from jobs.score import score_day
    from jobs.train import train_if_due
    from jobs.validate import validate_days

    steps: dict[str, float] = {}

    def timed(name, fn, *args, **kwargs):
        start = time.monotonic()
        out = fn(*args, **kwargs)
        steps[name] = round(time.monotonic() - start, 1)
        return out

    timed("ingest", ingest_days, lake, [day])
    timed("validate", validate_days, lake, [day])
    timed("features", build_features, lake, [day])
    drift_flag = timed("drift", _drift_flag, lake, day)
    trained = timed("train", train_if_due, lake, day, drift_flag=drift_flag)
    try:
        scored = timed("score", score_day, lake, day)
    except NoChampion as exc:
        log.warning("day=%s no champion model yet: published no scores (%s)", day, exc)
        scored = None
    return {"day": day.isoformat(), "steps": steps, "trained": trained, "scored": scored}


def _drift_flag(lake: str, day: dt.date) -> bool:
    """Drift of the day against the champion's training data; False until monitoring exists."""
    try:
        from jobs.drift import compute_drift
    except ImportError:
        return False
    return bool(compute_drift(lake, day).get("retrain", False))


def run_days(lake: str, days: list[dt.date]) -> int:
    """Run the days in order in one Spark application; exit code for the CLI."""
    from tqdm import tqdm

    get_spark("riskctl-run")  # one session for every day and step
    published = 0
    bar = tqdm(days, desc="riskctl run", unit="day", disable=None)
    for day in bar:
        bar.set_postfix_str(day.isoformat())
        try:
            result = run_day(lake, day)
        except GateFailed as exc:
            log.error("day=%s stopped by the quality gate: %s", day, exc)
            print(f"riskctl run: {day}: {exc}")
            return 1
        published += result["scored"] is not None
        log.info("day=%s done steps=%s", day, result["steps"])
    if not published:
        print(f"riskctl run: no champion model for {days[0]}..{days[-1]} yet: features built, "
              "no gold tables published (the first model trains once enough labels are known)")
    return 0
