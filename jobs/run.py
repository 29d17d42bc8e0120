"""`riskctl run`: the daily pipeline over a range of days, inside one Spark application.

For each day in order, exactly as the `risk_daily` DAG does (`run_day`): ingest what landed,
validate, build features, train/promote when the retraining policy says so, and publish both
gold tables. Before the first champion exists a day publishes nothing and says so.

A range (`run_days`) does the steps that only look at one landing at a time (ingest, the
quality gate, the landed-day aggregates) for all days first, each in a few commits instead of
one set per day, then the steps that chain day to day (clusters and features, drift, training,
scoring) in date order. The tables are the same as day by day: every per-day step reads only
what had landed by its day (`land_date <= D`). A day that fails the gate stops the run there:
the days before it are published, it and the days after it are not.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time

from core.errors import GateFailed, NoChampion
from core.spark import get_spark

log = logging.getLogger("risk.run")


def _timed(steps: dict[str, float], name: str, fn, *args, **kwargs):
    """Call fn and record its wall time under `name` (the per-step figures of the logs)."""
    start = time.monotonic()
    out = fn(*args, **kwargs)
    steps[name] = round(time.monotonic() - start, 1)
    return out


def run_day(lake: str, day: dt.date) -> dict:
    """One day of the pipeline; raises GateFailed when a blocking expectation fails."""
    from jobs.build_features import aggregate_landed_days
    from jobs.ingest import ingest_days
    from jobs.validate import validate_days

    steps: dict[str, float] = {}
    timed = functools.partial(_timed, steps)
    timed("ingest", ingest_days, lake, [day])
    timed("validate", validate_days, lake, [day])
    timed("features", aggregate_landed_days, get_spark(), lake, [day])
    result = chained_steps(lake, day)
    chained = result["steps"]
    steps["features"] = round(steps["features"] + chained.pop("features"), 1)
    result["steps"] = {**steps, **chained}
    return result


def chained_steps(lake: str, day: dt.date) -> dict:
    """The steps that chain day to day, for a day whose landings are ingested, gated and
    aggregated: clusters and features, drift, the retraining policy, scoring."""
    from jobs.build_features import build_day_tables
    from jobs.score import score_day
    from jobs.train import train_if_due

    steps: dict[str, float] = {}
    timed = functools.partial(_timed, steps)
    timed("features", build_day_tables, get_spark(), lake, day)
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
    """Run the days in order in one Spark application; exit code for the CLI.

    Raises GateFailed (exit 3) when a day fails the quality gate, after publishing the days
    before it.
    """
    from core.progress import bar
    from jobs.build_features import aggregate_landed_days
    from jobs.ingest import ingest_days
    from jobs.validate import gate_days

    spark = get_spark("riskctl-run")  # one session for every day and step
    days = sorted(set(days))
    batch: dict[str, float] = {}
    with bar(total=3, desc=f"riskctl run {days[0]}..{days[-1]}", unit="step") as phase:
        phase.set_postfix_str("ingest")
        _timed(batch, "ingest", ingest_days, lake, days)
        phase.update()
        phase.set_postfix_str("validate")
        failed = _timed(batch, "validate", gate_days, lake, days)
        stop = min(failed, default=None)
        passed = [d for d in days if stop is None or d < stop]
        phase.update()
        phase.set_postfix_str("aggregate")
        _timed(batch, "aggregate", aggregate_landed_days, spark, lake, passed)
        phase.update()
    log.info("days=%s..%s batch steps=%s", days[0], days[-1], batch)

    published = 0
    days_bar = bar(passed, desc="riskctl run", unit="day")
    for day in days_bar:
        days_bar.set_postfix_str(day.isoformat())
        result = chained_steps(lake, day)
        published += result["scored"] is not None
        log.info("day=%s done steps=%s", day, result["steps"])
    if stop is not None:
        log.error("day=%s stopped by the quality gate: %s", stop, failed[stop])
        raise GateFailed(f"{stop}: {failed[stop]}")  # the days before it are published
    if not published:
        print(f"riskctl run: no champion model for {days[0]}..{days[-1]} yet: features built, "
              "no gold tables published (the first model trains once enough labels are known)")
    return 0
