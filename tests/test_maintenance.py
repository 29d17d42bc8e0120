"""`riskctl maintain`: OPTIMIZE + Z-order on recent partitions, VACUUM with a safe retention."""

from __future__ import annotations

import datetime as dt

import pytest

from core import delta_io, tables
from core.errors import PipelineError
from jobs import maintenance

DAY0 = dt.date(2026, 5, 1)


def _write_scores(spark, lake: str, days: list[dt.date], files_per_day: int = 3) -> None:
    """One commit; each of the `files_per_day` write tasks holds rows of every day."""
    rows = [
        (f"acct-{i:04d}", day, i / 100.0, "low", None, [], "m", "1", dt.datetime(2026, 5, 2))
        for day in days
        for i in range(30)
    ]
    df = spark.createDataFrame(rows, tables.ACCOUNT_SCORES.schema).repartition(
        files_per_day, "account_id"
    )
    where = f"score_date >= DATE'{days[0]}' AND score_date <= DATE'{days[-1]}'"
    delta_io.replace_where(df, tables.ACCOUNT_SCORES, lake, where)


def _files_per_day(spark, lake: str) -> dict[dt.date, int]:
    from delta.tables import DeltaTable

    df = DeltaTable.forPath(spark, tables.ACCOUNT_SCORES.uri(lake)).toDF()
    files = df.inputFiles()
    out: dict[dt.date, int] = {}
    for f in files:
        day = dt.date.fromisoformat(f.split("score_date=")[1].split("/")[0])
        out[day] = out.get(day, 0) + 1
    return out


def test_optimize_recent_days_zorder_and_safe_vacuum(spark, lake, monkeypatch):
    monkeypatch.setattr(maintenance, "RECENT_DAYS", 3)  # the window logic, on few partitions
    days = [DAY0 + dt.timedelta(days=i) for i in range(maintenance.RECENT_DAYS + 2)]
    _write_scores(spark, lake, days)
    before = _files_per_day(spark, lake)
    assert all(n == 3 for n in before.values())
    rows_before = sorted(
        map(tuple, spark.read.format("delta").load(tables.ACCOUNT_SCORES.uri(lake)).collect())
    )

    results = maintenance.maintain(lake)

    opt = results["account_scores_daily"]["optimize"]
    assert opt["zorder"] == "account_id"
    assert opt["where"] == f"score_date >= DATE'{days[2].isoformat()}'"
    assert opt["files_removed"] == 3 * maintenance.RECENT_DAYS
    after = _files_per_day(spark, lake)
    assert all(after[d] == 1 for d in days[2:])  # recent days compacted to one file each
    assert after[days[0]] == after[days[1]] == 3  # older days left alone
    rows_after = sorted(
        map(tuple, spark.read.format("delta").load(tables.ACCOUNT_SCORES.uri(lake)).collect())
    )
    assert rows_after == rows_before  # maintenance never changes content
    # The compacted-away files are minutes old: a 168 h retention deletes none of them.
    assert results["account_scores_daily"]["vacuum"]["files_deleted"] == 0


def test_vacuum_deletes_unreferenced_files_past_retention(spark, lake):
    """Positive control for the metrics: with the safety check off, the old files go."""
    _write_scores(spark, lake, [DAY0, DAY0 + dt.timedelta(days=1)])
    maintenance.optimize(spark, tables.ACCOUNT_SCORES, lake)
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    spark.conf.set("spark.databricks.delta.vacuum.logging.enabled", "true")
    try:
        out = maintenance.vacuum(spark, tables.ACCOUNT_SCORES, lake, 0)
    finally:
        spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "true")
    assert out["files_deleted"] == 6


def test_retention_below_a_week_is_refused(lake):
    with pytest.raises(PipelineError, match="below the safe 168 h"):
        maintenance.maintain(lake, retention_hours=24)
