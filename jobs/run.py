"""`riskctl run`: the daily pipeline over a range of days, inside one Spark application.

The same jobs the `risk_daily` DAG runs for one day, in the same order, each doing every day
of the range it can at once:

1. ingest what landed on each day (jobs/ingest.py batches the landings);
2. the quality gate, one pass per table (results per day); a day that fails stops the range
   there: the days before it are published, it and the days after it are not;
3. the landed-day aggregates (tiles) of every passed day, then the clusters and features of
   every passed day in one pass (jobs/build_features.py); each table is written once;
4. drift, the retraining policy and scoring, which chain through the model: the days are cut
   into segments at the days the policy trains on (a model trained on D serves D and later
   days). Drift of a segment is one pass against its champion, the days before a training are
   scored (one pass per model version) before the training can promote another model, and a
   promotion restarts drift at the next day against the new champion.

The tables equal those of running the days one at a time: every step of a day reads only what
had landed by that day (`land_date <= D`), and features never depend on the model. Before the
first champion exists the label-free scorer publishes the day (models.label_free; its
model_name and model_version mark the rows).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time

from core.errors import GateFailed
from core.spark import get_spark

log = logging.getLogger("risk.run")

# The steps a day goes through, in order (the `risk_daily` DAG's tasks; drift is part of its
# train-if-due task): every step's time is recorded under one of these names.
STEPS = ("ingest", "validate", "features", "drift", "train", "score")

# Labels far above any policy threshold: "would a training be due if labels were plentiful?"
_PLENTY = 1 << 30


class _Steps(dict):
    """Seconds per step name (the per-step figures of the logs), shown on a progress bar."""

    def __init__(self, desc: str) -> None:
        from core.progress import bar

        super().__init__()
        self.progress = bar(desc=desc, unit="step")

    def close(self) -> None:
        self.progress.close()


def _timed(steps: dict[str, float], name: str, fn, *args, **kwargs):
    """Call fn and add its wall time to `name`; a `_Steps` shows the step on its bar."""
    progress = getattr(steps, "progress", None)
    if progress is not None:
        progress.set_postfix_str(name)
    start = time.monotonic()
    out = fn(*args, **kwargs)
    steps[name] = round(steps.get(name, 0.0) + time.monotonic() - start, 1)
    if progress is not None:
        progress.update()
    return out


def run_day(lake: str, day: dt.date) -> dict:
    """One day of the pipeline; raises GateFailed when a blocking expectation fails."""
    result = run_range(lake, [day])
    if result["failed"]:
        raise GateFailed(result["failed"][day])
    return result


def run_range(lake: str, days: list[dt.date]) -> dict:
    """The pipeline over the days (see the module docstring). Returns what happened: per-step
    seconds, the days published, trainings, and {day: gate message} of a failed day."""
    from jobs.build_features import aggregate_landed_days, build_range_tables
    from jobs.ingest import ingest_days
    from jobs.validate import gate_days

    spark = get_spark("riskctl-run")  # one session for every day and step
    days = sorted(set(days))
    steps = _Steps(f"riskctl run {days[0]}..{days[-1]}")
    timed = functools.partial(_timed, steps)
    timed("ingest", ingest_days, lake, days)
    failed = timed("validate", gate_days, lake, days)
    stop = min(failed, default=None)
    passed = [d for d in days if stop is None or d < stop]
    out = {
        "days": [d.isoformat() for d in days],
        "steps": steps,
        "published": [],
        "trained": [],
        "failed": {stop: failed[stop]} if stop is not None else {},
    }
    if passed:
        timed("features", aggregate_landed_days, spark, lake, passed)
        timed("features", build_range_tables, spark, lake, passed)
        out.update(model_steps(lake, passed, steps))
    steps.close()
    out["steps"] = dict(steps)
    log.info("days=%s..%s steps=%s published=%d", days[0], days[-1], steps, len(out["published"]))
    return out


def model_steps(lake: str, days: list[dt.date], steps: dict[str, float]) -> dict:
    """Drift, the retraining policy and scoring of the days, whose features are built."""
    from jobs.drift import compute_drift_days, write_drift
    from jobs.score import recorded_models
    from jobs.train import train_if_due
    from models import model_registry
    from models.label_free import LABEL_FREE_VERSION
    from models.policy import decide

    timed = functools.partial(_timed, steps)
    spark = get_spark()
    recorded = recorded_models(spark, lake, days)
    trained_on = {d: model_registry.version_trained_as_of(lake, d.isoformat()) for d in days}
    champion = model_registry.champion_version(lake)
    trained_as_of: dict[str, str] = {}

    def serving(day: dt.date) -> str:
        """The version that scores the day: the one that scored it before, else the champion,
        unless trained as of a later day, else the label-free scorer (a re-run of a day before
        the first model publishes it again, as the first run did)."""
        if day in recorded:
            return recorded[day]
        if champion is None:
            return LABEL_FREE_VERSION
        if champion not in trained_as_of:
            trained_as_of[champion] = model_registry.version_tags(lake, champion).get(
                "trained_as_of", ""
            )
        return LABEL_FREE_VERSION if trained_as_of[champion] > day.isoformat() else champion

    labels: dict[dt.date, tuple[int, int]] = {}

    def decision(day: dt.date, drift_flag: bool):
        state = {
            "has_champion": champion is not None,
            "version_for_day": trained_on[day],
            "drift_flag": drift_flag,
        }
        if not decide(day, n_positive=_PLENTY, n_clusters=_PLENTY, **state).train:
            return decide(day, n_positive=0, n_clusters=0, **state)
        if day not in labels:
            labels[day] = timed("train", _label_counts, spark, lake, day)
        n_positive, n_clusters = labels[day]
        return decide(day, n_positive=n_positive, n_clusters=n_clusters, **state)

    def due(dec) -> bool:
        return dec.train or dec.reuse_version is not None

    pending: dict[dt.date, str] = {}  # days waiting to be scored -> model version
    published: list[dt.date] = []
    trained: list[dict] = []
    handles: dict[str, object] = {}

    def flush() -> None:
        if pending:
            timed("score", _publish, lake, dict(pending), handles)
            published.extend(pending)
            pending.clear()

    i = 0
    while i < len(days):
        # Drift of the days up to the next one the policy trains on whatever the drift.
        end = next((j for j in range(i, len(days)) if due(decision(days[j], False))), len(days) - 1)
        segment = days[i : end + 1]
        drift = timed("drift", compute_drift_days, lake, segment)
        unwritten: list[dt.date] = []
        restart = None
        for day in segment:
            unwritten.append(day)
            flag = bool(drift[day].get("retrain", False))
            if due(decision(day, flag)):
                timed("drift", write_drift, lake, {d: drift[d] for d in unwritten})
                unwritten = []
                flush()  # the days before keep the model that served them
                result = timed("train", train_if_due, lake, day, drift_flag=flag)
                if result is not None:
                    trained.append(result)
                now = model_registry.champion_version(lake)
                restart, champion = (day if now != champion else None), now
            pending[day] = serving(day)
            if restart is not None:
                break
        timed("drift", write_drift, lake, {d: drift[d] for d in unwritten})
        i = days.index(restart) + 1 if restart is not None else end + 1
    flush()
    return {"published": [d.isoformat() for d in published], "trained": trained}


def _label_counts(spark, lake: str, day: dt.date) -> tuple[int, int]:
    """(positive accounts, their clusters) known as of the day (models.labels)."""
    from core import delta_io
    from core.tables import SILVER_ENFORCEMENT
    from models import labels as lb

    if not delta_io.exists(spark, SILVER_ENFORCEMENT, lake):
        return 0, 0
    return lb.label_counts(lb.labels_as_of(delta_io.read(spark, SILVER_ENFORCEMENT, lake), day))


def _publish(lake: str, versions: dict[dt.date, str], handles: dict[str, object]) -> dict:
    """Score the days, each with its model version (loaded once into `handles`; the label-free
    scorer's version needs no model), in one pass per version."""
    from jobs.score import publish, scorer

    for version in sorted(set(versions.values()) - set(handles)):
        handles[version] = scorer(lake, version)
    return publish(lake, {day: handles[v] for day, v in versions.items()})


def run_days(lake: str, days: list[dt.date]) -> int:
    """Run the days in one Spark application; exit code for the CLI."""
    days = sorted(set(days))
    result = run_range(lake, days)
    if result["failed"]:
        stop, message = next(iter(result["failed"].items()))
        log.error("day=%s stopped by the quality gate: %s", stop, message)
        raise GateFailed(f"{stop}: {message}")  # the days before it are published
    return 0
