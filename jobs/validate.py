"""Validate: the Great Expectations gate on the clean tables, with results day by day.

For each day, each silver table's landed-day slice (`land_date = D`: what that day's ingest
wrote) is checked with its suite (quality/suites.py), plus one check from the ingest audit: at
most half of the day's lines quarantined (a renamed or retyped field upstream quarantines a
whole day; the gate then names the top reasons instead of letting a near-empty day through).
A range of days is checked in one pass per table: the suite's row-level expectations run once
over all the days' rows, and pass for every day when they pass for all of them; the row-count
expectations (freshness, volume) are evaluated per day on the day's row count. Only when a
row-level expectation fails on the range does each day run its own suite, so the results name
the days that fail. Results go to ops/validation_results
(replaced per table and day) and to the GX Data Docs site under `<lake>/ops/data_docs/`.
A failed blocking expectation raises `GateFailed` naming the table, the day and the failed
expectations: downstream steps for that day must not run. Warnings are logged and kept.

`validate_frame` is the reusable piece: any job can gate its own table with its own checks.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from core import delta_io
from core.errors import GateFailed, PipelineError
from core.progress import bar
from core.settings import is_remote
from core.tables import INGEST_AUDIT, QUARANTINE, RAW_SOURCES, SILVER, VALIDATION_RESULTS
from quality.suites import (
    BLOCKING,
    Check,
    CheckResult,
    SuiteRunner,
    quarantine_share_check,
    silver_checks,
)

log = logging.getLogger("risk.validate")

TRAILING_DAYS = 7
# Rows one pass of a table's suite caches and checks: a longer range is checked in consecutive
# passes (a seed-scale backfill lands ~1.3 M interactions a day; a small one stays one pass).
PASS_ROWS = 8_000_000


def _runner(lake: str) -> SuiteRunner:
    if is_remote(lake):
        log.warning(
            "lake=%s is remote: GX results are kept in ops/validation_results only, "
            "Data Docs are not built",
            lake,
        )
        return SuiteRunner(None)
    return SuiteRunner(f"{lake.rstrip('/')}/ops")


def _check_frame(
    runner: SuiteRunner, df, table_name: str, day: dt.date, checks: list[Check]
) -> list[CheckResult]:
    """Run the checks on a cached frame of just the columns they read."""
    from pyspark import StorageLevel

    start = time.monotonic()
    columns = sorted({c for check in checks for c in check.columns})
    frame = (df.select(*columns) if columns else df).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rows = frame.count()  # fills the cache once for every expectation
        results = runner.run(frame, table_name, f"{table_name}-{day.isoformat()}", checks)
    finally:
        frame.unpersist()
    for r in results:
        r.observed["rows"] = rows
    failed = [r.name for r in results if not r.success]
    log.info(
        "validated table=%s day=%s rows=%d checks=%d failed=%s secs=%.1f",
        table_name,
        day,
        rows,
        len(results),
        ",".join(failed) or "-",
        time.monotonic() - start,
    )
    for r in results:
        if not r.success and r.severity != BLOCKING:
            log.warning(
                "warning table=%s day=%s expectation=%s observed=%s",
                table_name,
                day,
                r.name,
                r.observed_json,
            )
    return results


# Expectations on a slice's row count: evaluated per day from the counts of a range's pass.
_ROW_COUNT = "expect_table_row_count_to_be_between"


def _per_day_only(check: Check) -> bool:
    return check.expectation.expectation_type == _ROW_COUNT


def _row_count_result(check: Check, rows: int) -> CheckResult:
    """The row-count expectation's verdict on `rows` (its bounds inclusive, None = open)."""
    kwargs = check.expectation.configuration.kwargs
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    ok = (low is None or rows >= low) and (high is None or rows <= high)
    return CheckResult(check.label, check.severity, bool(ok), {"rows": rows})


def _check_days(
    runner: SuiteRunner,
    df,
    table_name: str,
    days: list[dt.date],
    checks_of: dict[dt.date, list[Check]],
) -> dict[dt.date, list[CheckResult]]:
    """The checks of each day on the days' rows of `df` (column `land_date`), in one pass when
    the row-level checks pass on all of them (see the module docstring)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    start = time.monotonic()
    every = [c for checks in checks_of.values() for c in checks]
    columns = sorted({c for check in every for c in check.columns} | {"land_date"})
    frame = df.select(*columns).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        # One job fills the cache and counts every day's rows.
        counts = {
            r["land_date"]: int(r["count"]) for r in frame.groupBy("land_date").count().collect()
        }
        row_level = {c.label: c for c in every if not _per_day_only(c)}
        label = (
            f"{table_name}-{days[0]}..{days[-1]}" if len(days) > 1 else f"{table_name}-{days[0]}"
        )
        ranged = runner.run(frame, table_name, label, list(row_level.values()))
        if all(r.success for r in ranged):
            out = {
                day: [
                    _row_count_result(c, counts.get(day, 0))
                    if _per_day_only(c)
                    else CheckResult(c.label, c.severity, True, {"rows": counts.get(day, 0)})
                    for c in checks_of[day]
                ]
                for day in days
            }
        else:
            out = {
                day: _check_frame(
                    runner, frame.where(F.col("land_date") == day), table_name, day, checks_of[day]
                )
                for day in days
            }
    finally:
        frame.unpersist()
    for day, results in out.items():
        failed = [r.name for r in results if not r.success]
        log.info(
            "validated table=%s day=%s rows=%d checks=%d failed=%s",
            table_name,
            day,
            counts.get(day, 0),
            len(results),
            ",".join(failed) or "-",
        )
        for r in results:
            if not r.success and r.severity != BLOCKING:
                log.warning(
                    "warning table=%s day=%s expectation=%s observed=%s",
                    table_name,
                    day,
                    r.name,
                    r.observed_json,
                )
    log.info(
        "validated table=%s days=%d secs=%.1f", table_name, len(days), time.monotonic() - start
    )
    return out


def _result_rows(table_name: str, day: dt.date, results: list[CheckResult]) -> list[tuple]:
    now = dt.datetime.now(dt.UTC)  # a stamp only
    return [(table_name, day, r.name, r.severity, r.success, r.observed_json, now) for r in results]


def _write_results(
    spark, lake: str, days: list[dt.date], rows: list[tuple], tables: list[str]
) -> None:
    """Replace the results of `tables` on `days` with `rows` (one commit)."""
    frame = spark.createDataFrame(rows, VALIDATION_RESULTS.schema)
    delta_io.replace_where(
        frame, VALIDATION_RESULTS, lake, delta_io.predicate(table_name=tables, run_date=days)
    )


def _detail(r: CheckResult) -> str:
    if "unexpected_count" in r.observed:
        return f" [unexpected_count={r.observed['unexpected_count']}]"
    if "top_reasons" in r.observed:
        reasons = ", ".join(f"{k}: {v}" for k, v in r.observed["top_reasons"].items())
        return (
            f" [{r.observed['rows_quarantined']} of {r.observed['lines_read']} lines "
            f"quarantined; top reasons {reasons}: has the upstream schema changed?]"
        )
    return ""


def _audit_rows(spark, lake: str, days: list[dt.date]) -> dict:
    """{(source, land_date): (lines_read, rows_accepted, rows_quarantined)} for the days and the
    week before the first (trailing volume): one read of the audit for the whole range."""
    from pyspark.sql import functions as F

    since = days[0] - dt.timedelta(days=TRAILING_DAYS)
    return {
        (r.source, r.land_date): (int(r.lines_read), int(r.rows_accepted), int(r.rows_quarantined))
        for r in delta_io.read(spark, INGEST_AUDIT, lake)
        .where(F.col("land_date").between(since, days[-1]))
        .collect()
    }


def _quarantine_results(spark, lake: str, days: list[dt.date], audit: dict) -> dict:
    """{(source, day): CheckResult} of the quarantine-share check of each audited day."""
    from pyspark.sql import functions as F

    wanted = set(days)
    mine = {k: v for k, v in audit.items() if k[1] in wanted}
    reasons: dict = {}
    if any(q for _, _, q in mine.values()):
        for r in (
            delta_io.read(spark, QUARANTINE, lake)
            .where(F.col("land_date").isin(days))
            .groupBy("source", "land_date", "reason")
            .count()
            .collect()
        ):
            reasons.setdefault((r.source, r.land_date), {})[r.reason] = int(r["count"])
    return {
        key: quarantine_share_check(n, q, reasons.get(key, {})) for key, (n, _, q) in mine.items()
    }


def _gate_message(failures: dict[str, list[CheckResult]], day: dt.date, docs: str | None) -> str:
    parts = []
    for table_name, failed in failures.items():
        items = ", ".join(f"{r.name}{_detail(r)}" for r in failed)
        parts.append(f"table={table_name} day={day} failed: {items}")
    where = f"; Data Docs: {docs}" if docs else ""
    return (
        "validation gate failed: " + "; ".join(parts) + f"{where}; results in "
        "ops/validation_results. Downstream steps for the day are blocked: fix the upstream "
        "data or the ingest, re-run `riskctl ingest` and `riskctl validate` for the day"
    )


def validate_frame(
    lake: str, df, table_name: str, day: dt.date, checks: list[Check], raise_on_failure: bool = True
) -> list[CheckResult]:
    """Gate any DataFrame: run `checks`, store results (table_name, day), build Data Docs.

    Raises GateFailed when a blocking check fails (unless `raise_on_failure` is False).
    """
    runner = _runner(lake)
    results = _check_frame(runner, df, table_name, day, checks)
    _write_results(
        df.sparkSession, lake, [day], _result_rows(table_name, day, results), [table_name]
    )
    failed = [r for r in results if not r.success and r.severity == BLOCKING]
    if failed and raise_on_failure:
        raise GateFailed(_gate_message({table_name: failed}, day, runner.docs_index))
    return results


def _passes(
    days: list[dt.date], rows: dict[dt.date, int], budget: int = PASS_ROWS
) -> list[list[dt.date]]:
    """The days cut into consecutive runs of at most `budget` rows (`rows`: accepted rows a
    day, from the audit; a day over the budget alone is a run of its own)."""
    out: list[list[dt.date]] = []
    used = 0
    for day in days:
        if not out or (out[-1] and used + rows.get(day, 0) > budget):
            out.append([])
            used = 0
        out[-1].append(day)
        used += rows.get(day, 0)
    return out


def _trailing_mean(audit: dict, source: str, day: dt.date) -> float | None:
    """Mean accepted rows a landed day over the previous week (from the audit), if any."""
    week = [
        audit[(source, day - dt.timedelta(days=i))][1]
        for i in range(1, TRAILING_DAYS + 1)
        if (source, day - dt.timedelta(days=i)) in audit
    ]
    return sum(week) / len(week) if week and sum(week) else None


def gate_days(lake: str, days: list[dt.date]) -> dict[dt.date, str]:
    """Check the silver tables for every day; {day: gate message} for the days that failed.

    Every table of every day is checked and every result is kept (one commit for all days,
    replacing those days' earlier results): a range costs one write, not one per day.
    """
    from pyspark.sql import functions as F

    from core.spark import get_spark

    spark = get_spark("risk-validate")
    for source in RAW_SOURCES:
        if not delta_io.exists(spark, SILVER[source], lake):
            raise PipelineError(
                f"table {SILVER[source].name} does not exist under {lake}: run "
                "`riskctl ingest` for the days first"
            )
    runner = _runner(lake)
    wanted = sorted(set(days))
    rows: list[tuple] = []
    failed_days: dict[dt.date, str] = {}
    audit = _audit_rows(spark, lake, wanted) if wanted else {}
    share = _quarantine_results(spark, lake, wanted, audit)
    checked: dict[str, dict[dt.date, list[CheckResult]]] = {}
    for source in RAW_SOURCES:
        table = SILVER[source]
        checked[source] = {}
        for part in _passes(wanted, {d: audit.get((source, d), (0, 0, 0))[1] for d in wanted}):
            df = delta_io.read(spark, table, lake).where(F.col("land_date").isin(part))
            checks_of = {
                day: silver_checks(
                    source, _trailing_mean(audit, source, day) if source == "interactions" else None
                )
                for day in part
            }
            checked[source].update(_check_days(runner, df, table.name, part, checks_of))
    for day in bar(wanted, desc="validate"):
        failures = {}
        for source in RAW_SOURCES:
            table = SILVER[source]
            results = checked[source][day]
            if (source, day) in share:
                results.append(share[(source, day)])
            rows += _result_rows(table.name, day, results)
            failed = [r for r in results if not r.success and r.severity == BLOCKING]
            if failed:
                failures[table.name] = failed
        if failures:
            failed_days[day] = _gate_message(failures, day, runner.docs_index)
            log.error("%s", failed_days[day])
    if wanted:
        _write_results(spark, lake, wanted, rows, [SILVER[s].name for s in RAW_SOURCES])
    return failed_days


def validate_days(lake: str, days: list[dt.date], raise_on_failure: bool = True) -> bool:
    """Validate the silver tables of the days; True when no blocking check failed.

    Raises GateFailed for the first day with a blocking failure (after every day's results
    are stored), unless `raise_on_failure` is False.
    """
    failed = gate_days(lake, days)
    if failed and raise_on_failure:
        raise GateFailed(failed[min(failed)])
    return not failed
