"""`riskctl maintain`: OPTIMIZE (with Z-ordering where analysts filter) and VACUUM, table by table.

Every registry table that exists under the lake is compacted, then vacuumed with a retention of
at least 168 hours, so readers and writers running at the same time never lose a file they
still need. Partitioned tables are compacted only on their most recent days: the pipeline never
rewrites older days (late data never restates a published day), so they stay compacted, and a
Z-order, which rewrites every file it selects, does not rewrite the whole history each week.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from core import tables
from core.errors import PipelineError
from core.spark import get_spark

log = logging.getLogger("risk.maintain")

MIN_RETENTION_HOURS = 168
# Partitions of the last N days (counted back from the table's newest day) get compacted.
RECENT_DAYS = 14
# Columns analysts filter on: files are clustered by them (they are not partition columns).
ZORDER_BY: dict[str, tuple[str, ...]] = {
    "account_scores_daily": ("account_id",),
    "account_clusters_daily": ("cluster_id",),
}


def date_partition(table: tables.Table) -> str | None:
    """The table's first DATE partition column, if any."""
    types = {}
    for column in tables.split_ddl(table.schema):
        name, _, kind = column.partition(" ")
        types[name] = kind.strip().upper()
    return next((c for c in table.partition_by if types.get(c) == "DATE"), None)


def _recent_predicate(spark, table: tables.Table, path: str) -> str | None:
    column = date_partition(table)
    if column is None:
        return None
    newest = spark.sql(f"SELECT max({column}) AS d FROM delta.`{path}`").collect()[0]["d"]
    if newest is None:
        return None
    since = newest - dt.timedelta(days=RECENT_DAYS - 1)
    return f"{column} >= DATE'{since.isoformat()}'"


def optimize(spark, table: tables.Table, lake: str) -> dict:
    """OPTIMIZE one table (Z-ordered when ZORDER_BY names it); returns Delta's metrics."""
    from delta.tables import DeltaTable

    path = table.uri(lake)
    builder = DeltaTable.forPath(spark, path).optimize()
    where = _recent_predicate(spark, table, path)
    if where:
        builder = builder.where(where)
    zorder = ZORDER_BY.get(table.name)
    rows = (builder.executeZOrderBy(*zorder) if zorder else builder.executeCompaction()).collect()
    metrics = rows[0]["metrics"].asDict(recursive=True) if rows else {}
    return {
        "where": where or "all",
        "zorder": ",".join(zorder) if zorder else "-",
        "files_removed": metrics.get("numFilesRemoved", 0),
        "files_added": metrics.get("numFilesAdded", 0),
        "bytes_removed": (metrics.get("filesRemoved") or {}).get("totalSize", 0),
        "bytes_added": (metrics.get("filesAdded") or {}).get("totalSize", 0),
        "partitions": metrics.get("partitionsOptimized", 0),
    }


def vacuum(spark, table: tables.Table, lake: str, retention_hours: int) -> dict:
    """VACUUM one table; returns the deletion metrics Delta records in the table's history."""
    from delta.tables import DeltaTable

    delta_table = DeltaTable.forPath(spark, table.uri(lake))
    delta_table.vacuum(float(retention_hours))
    for row in delta_table.history(5).collect():
        if row["operation"] == "VACUUM END":
            metrics = row["operationMetrics"] or {}
            return {
                "files_deleted": int(metrics.get("numDeletedFiles", 0)),
                "dirs_vacuumed": int(metrics.get("numVacuumedDirectories", 0)),
            }
    return {"files_deleted": "unrecorded"}


def maintain(lake: str, retention_hours: int = MIN_RETENTION_HOURS) -> dict[str, dict]:
    """OPTIMIZE then VACUUM every existing registry table; one log line per table and step.

    A table that fails is logged and the others still run; the job then fails at the end
    (non-zero exit, so the Airflow task retries: the usual cause is a concurrent write).
    """
    if retention_hours < MIN_RETENTION_HOURS:
        raise PipelineError(
            f"--retention-hours {retention_hours} is below the safe {MIN_RETENTION_HOURS} h: "
            "readers and time travel within a week could lose files; use 168 or more"
        )
    from delta.tables import DeltaTable

    spark = get_spark("riskctl-maintain")
    # Record VACUUM's counts in the Delta log (local and HDFS-like stores handle it safely).
    spark.conf.set("spark.databricks.delta.vacuum.logging.enabled", "true")
    results: dict[str, dict] = {}
    failed: list[str] = []
    for name, table in tables.TABLES.items():
        if not DeltaTable.isDeltaTable(spark, table.uri(lake)):
            continue
        for step, fn, args in (("optimize", optimize, ()), ("vacuum", vacuum, (retention_hours,))):
            started = time.monotonic()
            try:
                out = fn(spark, table, lake, *args)
            except Exception as exc:  # one table's conflict must not stop the others
                log.error(
                    "maintain table=%s step=%s failed error=%s",
                    name,
                    step,
                    str(exc).splitlines()[0][:300],
                )
                failed.append(f"{name}:{step}")
                continue
            out["secs"] = round(time.monotonic() - started, 1)
            results.setdefault(name, {})[step] = out
            log.info(
                "maintain table=%s step=%s %s",
                name,
                step,
                " ".join(f"{k}={v}" for k, v in out.items()),
            )
    log.info(
        "maintain done tables=%d failed=%d retention_hours=%d",
        len(results),
        len(failed),
        retention_hours,
    )
    if failed:
        # Not a PipelineError: a crash-like failure, so the scheduler retries with backoff.
        raise RuntimeError(f"maintenance failed for {', '.join(failed)}; see the log above")
    return results
