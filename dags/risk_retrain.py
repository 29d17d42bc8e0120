"""
### risk_retrain: train a challenger, evaluate it, gate it against the champion, promote it

Runs every Monday 06:00 UTC and on demand (*Trigger* with the param `as_of`, or
`airflow dags trigger risk_retrain --conf '{"as_of": "2026-05-18"}'`). Drift does not trigger
it: drift is decided, and acted on, by `risk_daily`'s `train_if_due` (below).

1. **resolve_as_of**: the training day: the `as_of` param, else the day before the run
   (the last complete UTC day; asset-triggered runs have no logical date).
2. **train_gate_promote**: `riskctl train --as-of <day> --promote`, one Spark application:
   point-in-time training set, training, evaluation on the later validation window (the
   summary is printed into this task's log: average precision, recall at 1% and 0.1% FPR,
   precision at k, against the baselines), registration as the `challenger` alias, then the
   gate: the challenger becomes `champion` only if it beats the current champion's average
   precision on the same validation window holding at least 20 positive accounts (or when
   there is no champion). The log ends with
   `promoted ... to champion (...)` or `kept champion vN; challenger vM not promoted (...)`.

`riskctl promote` is deliberately not a task: it promotes unconditionally (an operator's
decision, by hand), which would bypass the gate. After a promote or rollback, days already
scored keep their version until republished: `riskctl score --start D1 --end D2 --rescore`.

The daily DAG already applies the retraining policy (`train_if_due`: first model, Mondays,
and drift, which that task computes for the day and records in `risk.drift_daily` before it
decides), exactly as `riskctl run` does. This DAG is for retraining outside that policy and is
**paused at creation**: unpausing it adds a weekly challenger beside the policy's own, so the
published scores can then differ from a `riskctl run` replay of the same days. Runbook:
docs/AIRFLOW.md.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, chain, dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from dags.common import START_DATE, check_settings, default_args, riskctl_task


@dag(
    dag_id="risk_retrain",
    schedule=CronTriggerTimetable("0 6 * * 1", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=True,
    default_args=default_args(),
    params={
        "as_of": Param(
            "",
            type="string",
            title="Train as of (YYYY-MM-DD)",
            description="Empty: the day before the run.",
        ),
    },
    tags=["risk", "spark", "model"],
    doc_md=__doc__,
)
def risk_retrain():
    @task(retries=0)
    def resolve_as_of(params: dict | None = None, dag_run=None) -> str:
        """The day to train as of; only a date string travels through XCom."""
        check_settings()
        given = ((params or {}).get("as_of") or "").strip()
        if given:
            return dt.date.fromisoformat(given).isoformat()  # a bad value fails here, clearly
        when = dag_run.logical_date or dag_run.run_after
        return (when - dt.timedelta(days=1)).date().isoformat()

    chain(
        resolve_as_of(),
        riskctl_task(
            "train_gate_promote",
            "train",
            "--as-of",
            "{{ ti.xcom_pull(task_ids='resolve_as_of') }}",
            "--promote",
        ),
    )


risk_retrain()
