"""
### risk_daily: one UTC day of the risk pipeline, the same jobs as `riskctl run`

For the run's logical date `ds` (the day that just ended, UTC):

1. **wait_for_interactions**: waits until `<lake>/raw/interactions/date=<ds>/` holds a data file
   (reschedule mode: no worker slot is held while waiting). Only interactions are awaited: a day
   without account or enforcement changes is normal (the contract allows a missing folder; ingest
   writes an audit row of zeros). After `RISK_RAW_WAIT_HOURS` (default 6) the sensor **fails**
   (no soft fail: a skipped day would let the next day run on a lake with a hole in it). If the
   gateway really sent nothing that day, mark this task *success* and the day runs like
   `riskctl run` would.
2. **ingest**: raw files of the day to the clean tables, quarantine and `ops/ingest_audit`.
3. **validate**: the Great Expectations gate. A blocking expectation fails the task at once
   (no retry) with the job's message as the error; nothing downstream runs, nothing is published.
4. **features**: per-account features and linked-account clusters as of the day.
5. **train_if_due**: the one retraining policy (first model once enough labels are known, then
   Mondays, and on drift); a re-run reuses the model version of the day.
6. **score_and_publish**: the champion scores the day and both gold tables are replaced for that
   `score_date`; updates the assets `risk.account_scores_daily` and
   `risk.account_clusters_daily`. Before the first model exists (not enough labels yet) the job
   exits 4 and the task is **skipped** with the job's message: nothing is published, as
   `riskctl run` does, and the next day runs.

Each step is `spark-submit jobs/cli.py <step> --lake $RISK_LAKE --start <ds>` through the Spark
connection `spark_local`, in the one-slot pool `risk_spark`. Days run strictly in order (one
active run, every task depends on the same task of the previous day), so a backfill equals
`riskctl run` over the same days. The job's exit code decides: 2 (refused) and 3 (gate failed)
fail at once, crashes retry twice with exponential backoff. Every failed task writes one line
(day, task, the job's message) to `<lake>/ops/alerts.log` and the configured webhook or
e-mail. Runbook: docs/AIRFLOW.md.
"""

from __future__ import annotations

from airflow.sdk import PokeReturnValue, chain, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from core.errors import ExitCode
from dags.common import (
    ACCOUNT_CLUSTERS_ASSET,
    ACCOUNT_SCORES_ASSET,
    LAKE,
    SETTINGS,
    START_DATE,
    check_settings,
    default_args,
    raw_landed,
    riskctl_task,
)

RAW_WAIT_HOURS = SETTINGS.raw_wait_hours

# (task_id, riskctl subcommand) in the order jobs.run.run_day calls the same job functions.
STEPS = (
    ("ingest", "ingest"),
    ("validate", "validate"),
    ("features", "features"),
    ("train_if_due", "train-if-due"),
    ("score_and_publish", "score"),
)


@dag(
    dag_id="risk_daily",
    # A data-interval timetable: the run for day D starts after D ends and its `ds` is D (a
    # cron trigger timetable would hand the run the new, still-empty day instead).
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(depends_on_past=True),
    tags=["risk", "spark", "daily"],
    doc_md=__doc__,
)
def risk_daily():
    @task.sensor(
        task_id="wait_for_interactions",
        mode="reschedule",
        poke_interval=300,
        timeout=RAW_WAIT_HOURS * 3600,
        soft_fail=False,
    )
    def wait_for_interactions(ds: str | None = None) -> PokeReturnValue:
        """Waits for the day's API gateway log, the one raw source that lands every day."""
        check_settings()
        return PokeReturnValue(is_done=raw_landed(LAKE, "interactions", ds))

    tasks = [wait_for_interactions()]
    for task_id, command in STEPS:
        extra = (
            {
                "outlets": [ACCOUNT_SCORES_ASSET, ACCOUNT_CLUSTERS_ASSET],
                # no champion yet: `riskctl run` publishes nothing and goes on, so does the DAG
                "skip_on_exit_code": ExitCode.NO_CHAMPION,
            }
            if task_id == "score_and_publish"
            else {}
        )
        tasks.append(riskctl_task(task_id, command, "--start", "{{ ds }}", **extra))
    chain(*tasks)


risk_daily()
