"""
### lake_maintenance: compact, Z-order and vacuum the lake's Delta tables

Every Sunday 04:00 UTC (and on demand), `riskctl maintain` goes table by table through the
registry's Delta tables that exist under the lake:

- **OPTIMIZE** compacts the small files each daily write leaves, on the recent partitions only
  (older days are never rewritten by the pipeline, so they stay compacted). Tables analysts
  filter by one column are Z-ordered by it: `account_scores_daily` by `account_id`,
  `account_clusters_daily` by `cluster_id` (`jobs/maintenance.py` ZORDER_BY).
- **VACUUM** deletes files no version younger than the retention still needs. Retention is
  `RISK_VACUUM_RETENTION_HOURS` (default 168 h = 7 days; less is refused: the task fails at
  once naming the setting, the DAG stays listed): readers and time travel within a week stay
  safe, and so does a daily run writing at the same time.

The job logs one line per table and operation with the metrics Delta returns (files added and
removed, bytes, files deleted). Runbook: docs/AIRFLOW.md.
"""

from __future__ import annotations

from airflow.sdk import dag
from airflow.timetables.trigger import CronTriggerTimetable

from dags.common import SETTINGS, START_DATE, default_args, riskctl_task

# A bad value is reported by the task (check_settings), never by a DAG missing from the UI.
RETENTION_HOURS = SETTINGS.vacuum_retention_hours


@dag(
    dag_id="lake_maintenance",
    schedule=CronTriggerTimetable("0 4 * * 0", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["risk", "spark", "maintenance"],
    doc_md=__doc__,
)
def lake_maintenance():
    riskctl_task("optimize_and_vacuum", "maintain", "--retention-hours", str(RETENTION_HOURS))


lake_maintenance()
