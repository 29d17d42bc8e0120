"""Feature job: per-account daily aggregates, features and linked-account clusters.

1. aggregate the silver interactions that LANDED on each day (every event day they carry) into
   `account_activity_daily` and `model_activity_daily` (the tiles; replaceWhere on those
   land_dates, all days in one pass);
2. read the tiles with land_date in first-27..last (a 28-day window cannot need older
   landings), the registry and the labels, and the stored clusters of the days before the range
   (each day's previous day and the week before, where those are not in the range);
3. build every day's clusters and features in one pass (features/assemble.py) and write
   `account_clusters_map` and `account_features_daily` once each (replaceWhere on the range's
   feature dates). A single day is a range of one day.

Late data: records of earlier event days landing on D enter D's aggregates, so they count from
day D on; days before D are not restated (LAKE.md: late data never restates a published day).
Re-running D gives the same rows whatever landed since: every day D of a range keeps only the
rows with land_date <= D, and a range gives the rows of its days run one at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from pyspark import StorageLevel
from pyspark.sql import functions as F

from core import delta_io
from core.errors import PipelineError
from core.settings import profile
from core.spark import get_spark, session_conf
from core.tables import (
    SILVER_ACCOUNTS,
    SILVER_ENFORCEMENT,
    SILVER_INTERACTIONS,
)
from features import assemble, daily_activity
from features.params import DEFAULT_PARAMS, LONGEST_WINDOW, FeatureParams
from features.tables import (
    ACCOUNT_ACTIVITY,
    ACCOUNT_CLUSTERS_MAP,
    ACCOUNT_FEATURES,
    MODEL_ACTIVITY,
)

log = logging.getLogger("risk.features")

# Aggregate rows of the 7-day windows one pass may hold: a longer range is cut into consecutive
# passes, each bounded in memory and shuffle. The 7-day window, not the 28-day one, is what a
# day costs: the windowed sets, the prompt hashes, their LSH and scaffold keys, the links and the
# communities are all per day over 7 days of rows (a 9-day pass of a `small` lake, ~40,000 such
# rows a day, built in 290 s; 36 days in one pass did not finish in 16 min, and 45 ran out of a
# 6 GB driver's heap: docs/DESIGN.md). A tiny 45-day range stays one pass.
PASS_WINDOW_DAYS = 7
RANGE_WINDOW_ROWS = 400_000


def build_features(lake: str, days: list[dt.date]) -> None:
    """Build the feature tables for the days: every landing aggregated in one pass, then every
    day's clusters and features in one more."""
    spark = get_spark()
    if not delta_io.exists(spark, SILVER_INTERACTIONS, lake):
        raise PipelineError(
            f"{SILVER_INTERACTIONS.name}: no table at {SILVER_INTERACTIONS.uri(lake)}; "
            "run `riskctl ingest` for these days first"
        )
    wanted = sorted(set(days))
    aggregate_landed_days(spark, lake, wanted)
    build_range_tables(spark, lake, wanted)


def _written_rows(spark, table, lake: str) -> int:
    """Rows the last commit wrote (Delta operation metrics; no re-read of the data)."""
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, table.uri(lake)).history(1).collect()[0]
    return int((row["operationMetrics"] or {}).get("numOutputRows", 0))


def aggregate_landed_days(
    spark, lake: str, days: list[dt.date], params: FeatureParams = DEFAULT_PARAMS
) -> None:
    """Step 1: the aggregates of everything that landed on each of `days`, in one pass.

    The aggregates are keyed by land_date, and nothing in them mixes two landings, so several
    days at once write exactly the rows that one day at a time writes (one commit, not N).
    """
    if not days:
        return
    start = time.monotonic()
    silver = (
        delta_io.read(spark, SILVER_INTERACTIONS, lake)
        .where(F.col("land_date").isin(list(days)))
        .select(*daily_activity.INTERACTION_COLUMNS)
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        where = delta_io.predicate(land_date=list(days))
        delta_io.replace_where(
            daily_activity.daily_activity(silver, params), ACCOUNT_ACTIVITY, lake, where
        )
        rows = _written_rows(spark, ACCOUNT_ACTIVITY, lake)
        delta_io.replace_where(daily_activity.model_activity(silver), MODEL_ACTIVITY, lake, where)
    finally:
        silver.unpersist()
    label = f"{days[0]}..{days[-1]}" if len(days) > 1 else str(days[0])
    if rows == 0:
        log.warning(
            "days=%s table=%s rows=0: nothing landed in %s",
            label,
            ACCOUNT_ACTIVITY.name,
            SILVER_INTERACTIONS.name,
        )
    log.info(
        "days=%s table=%s rows=%d secs=%.1f",
        label,
        ACCOUNT_ACTIVITY.name,
        rows,
        time.monotonic() - start,
    )


def aggregate_landed_day(
    spark, lake: str, day: dt.date, params: FeatureParams = DEFAULT_PARAMS
) -> None:
    aggregate_landed_days(spark, lake, [day], params)


def range_inputs(spark, lake: str, days: list[dt.date]) -> assemble.RangeInputs:
    """Step 2's inputs, pruned to the partitions the days can need."""
    first, last = days[0], days[-1]
    first_landing = first - dt.timedelta(days=LONGEST_WINDOW - 1)
    activity = delta_io.read(spark, ACCOUNT_ACTIVITY, lake).where(
        F.col("land_date").between(F.lit(first_landing), F.lit(last))
    )
    wanted = set(days)
    before = sorted({d - dt.timedelta(days=k) for d in days for k in (1, 7)} - wanted)
    clusters_before = (
        delta_io.read(spark, ACCOUNT_CLUSTERS_MAP, lake).where(F.col("feature_date").isin(before))
        if before
        else None
    )
    if clusters_before is None:
        clusters_before = spark.createDataFrame([], ACCOUNT_CLUSTERS_MAP.schema)
    known = F.col("land_date") <= F.lit(last)
    return assemble.RangeInputs(
        days=days,
        activity=activity,
        model_activity=delta_io.read(spark, MODEL_ACTIVITY, lake).where(known),
        accounts=delta_io.read(spark, SILVER_ACCOUNTS, lake).where(known),
        enforcement=delta_io.read(spark, SILVER_ENFORCEMENT, lake).where(known),
        clusters_before=clusters_before,
    )


def build_features_day(
    spark, lake: str, day: dt.date, params: FeatureParams = DEFAULT_PARAMS
) -> None:
    """Aggregate what landed on `day`, then write that day's clusters and features."""
    aggregate_landed_days(spark, lake, [day], params)
    build_range_tables(spark, lake, [day], params)


def build_day_tables(
    spark, lake: str, day: dt.date, params: FeatureParams = DEFAULT_PARAMS
) -> None:
    """Step 2-3 for one day (its landings must be aggregated already)."""
    build_range_tables(spark, lake, [day], params)


def build_range_tables(
    spark,
    lake: str,
    days: list[dt.date],
    params: FeatureParams = DEFAULT_PARAMS,
    budget: int = RANGE_WINDOW_ROWS,
) -> None:
    """Step 2-3: the days' clusters and features, one pass and one commit per table (their
    landings must be aggregated already); a range too large for one pass is cut into
    consecutive ones (`budget`), each reading the clusters the one before wrote."""
    days = sorted(set(days))
    for part in passes(spark, lake, days, budget):
        _build_pass(spark, lake, part, params)


def passes(
    spark, lake: str, days: list[dt.date], budget: int = RANGE_WINDOW_ROWS
) -> list[list[dt.date]]:
    """The days cut into consecutive runs whose 7-day windows hold at most `budget` aggregate
    rows (a day over the budget alone is a pass of its own)."""
    if len(days) <= 1:
        return [days] if days else []
    first = days[0] - dt.timedelta(days=PASS_WINDOW_DAYS - 1)
    landed = {
        r["land_date"]: int(r["count"])
        for r in (
            delta_io.read(spark, ACCOUNT_ACTIVITY, lake)
            .where(F.col("land_date").between(F.lit(first), F.lit(days[-1])))
            .groupBy("land_date")
            .count()
            .collect()
        )
    }
    out: list[list[dt.date]] = [[]]
    used = 0
    for day in days:
        cost = sum(landed.get(day - dt.timedelta(days=k), 0) for k in range(PASS_WINDOW_DAYS))
        if out[-1] and used + cost > budget:
            out.append([])
            used = 0
        out[-1].append(day)
        used += cost
    return out


def pass_conf() -> dict[str, str]:
    """SQL confs of a feature pass. Adaptive execution re-plans between every shuffle stage, and
    a pass is ~185 stages over a few thousand rows each: on the local profile (4 shuffle
    partitions, nothing to coalesce) the re-planning cost more than it saved (one small day
    92 s with it, 72 s without; three days 121 s and 100 s). A cluster keeps it (skew, larger
    partitions)."""
    return {"spark.sql.adaptive.enabled": "false"} if profile().name == "local" else {}


def _build_pass(spark, lake: str, days: list[dt.date], params: FeatureParams) -> None:
    step = time.monotonic()
    with session_conf(spark, pass_conf()):
        build = assemble.build_range(range_inputs(spark, lake, days), params)
        try:
            where = delta_io.predicate(feature_date=days)
            delta_io.replace_where(build.clusters, ACCOUNT_CLUSTERS_MAP, lake, where)
            n_clustered = _written_rows(spark, ACCOUNT_CLUSTERS_MAP, lake)
            delta_io.replace_where(build.features, ACCOUNT_FEATURES, lake, where)
            n_features = _written_rows(spark, ACCOUNT_FEATURES, lake)
        finally:
            build.release()
    label = f"{days[0]}..{days[-1]}" if len(days) > 1 else str(days[0])
    log.info(
        "days=%s table=%s rows=%d clustered_accounts=%d secs=%.1f",
        label,
        ACCOUNT_FEATURES.name,
        n_features,
        n_clustered,
        time.monotonic() - step,
    )
