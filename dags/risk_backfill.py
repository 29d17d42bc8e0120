"""
### risk_backfill: a range of days in one Spark application, exactly `riskctl run`

Triggered by hand with the params `start` and `end` (the range's first and last UTC day), e.g.
`airflow dags trigger risk_backfill --conf '{"start": "2026-04-22", "end": "2026-06-05"}'`.

One task, **run_range**: `riskctl run --start <start> --end <end>`. Each step does every day
of the range at once (ingest, the quality gate, the features of all days in one pass, drift and
scoring per model version, training on the days the retraining policy names), so a backfill
costs one Spark application instead of one per day and step; the tables equal those that
`risk_daily` runs of the same days leave. A day that fails the quality gate fails the task
without retry, naming the day: the days before it are published, it and the later ones are not.
Updates the assets `risk.account_scores_daily` and `risk.account_clusters_daily`.

Use it instead of an Airflow backfill of `risk_daily` (one DAG run per day). Pause `risk_daily`
while a backfill runs over days it would also run. Runbook: docs/AIRFLOW.md.
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from dags.common import (
    ACCOUNT_CLUSTERS_ASSET,
    ACCOUNT_SCORES_ASSET,
    START_DATE,
    default_args,
    riskctl_task,
)


@dag(
    dag_id="risk_backfill",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params={
        "start": Param(type="string", format="date", title="First day (YYYY-MM-DD)"),
        "end": Param(type="string", format="date", title="Last day, inclusive (YYYY-MM-DD)"),
    },
    tags=["risk", "spark", "backfill"],
    doc_md=__doc__,
)
def risk_backfill():
    riskctl_task(
        "run_range",
        "run",
        "--start",
        "{{ params.start }}",
        "--end",
        "{{ params.end }}",
        outlets=[ACCOUNT_SCORES_ASSET, ACCOUNT_CLUSTERS_ASSET],
    )


risk_backfill()
