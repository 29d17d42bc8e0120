"""Feature job: per-account daily aggregates, features and linked-account clusters.

1. aggregate the silver interactions that LANDED on D (every event day they carry) into
   `account_activity_daily` and `model_activity_daily` (replaceWhere land_date = D; a range of
   days is aggregated in one pass, which writes the same rows);
then for each day D in order:
2. read the aggregates with land_date in D-27..D (the 28-day window cannot need older landings),
   the registry and the labels as of D, and yesterday's / last week's clusters;
3. write `account_clusters_map` and `account_features_daily` (replaceWhere feature_date = D).

Late data: records of earlier event days landing on D enter D's aggregates, so they count from
day D on; days before D are not restated (LAKE.md: late data never restates a published day).
Re-running D gives the same rows whatever landed since: every input is filtered to land_date <= D.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from pyspark import StorageLevel
from pyspark.sql import functions as F

from core import delta_io
from core.errors import PipelineError
from core.progress import bar
from core.spark import get_spark
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

_INTERACTION_COLUMNS = [
    "account_id", "event_date", "land_date", "ts", "model", "endpoint", "ip_prefix", "ip_hash",
    "ip_asn", "ip_type", "country", "user_agent", "api_key_id", "input_tokens",
    "output_tokens", "thinking_enabled", "tool_count", "has_image", "turns", "prompt_simhash",
    "topic", "cot_request_score", "status",
]


def build_features(lake: str, days: list[dt.date]) -> None:
    """Build the feature tables for the days: every landing aggregated in one pass, then each
    day's clusters and features in date order (clusters chain day to day)."""
    spark = get_spark()
    if not delta_io.exists(spark, SILVER_INTERACTIONS, lake):
        raise PipelineError(
            f"{SILVER_INTERACTIONS.name}: no table at {SILVER_INTERACTIONS.uri(lake)}; "
            "run `riskctl ingest` for these days first")
    wanted = sorted(set(days))
    aggregate_landed_days(spark, lake, wanted)
    for day in bar(wanted, desc="features"):
        build_day_tables(spark, lake, day)


def _written_rows(spark, table, lake: str) -> int:
    """Rows the last commit wrote (Delta operation metrics; no re-read of the data)."""
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, table.uri(lake)).history(1).collect()[0]
    return int((row["operationMetrics"] or {}).get("numOutputRows", 0))


def aggregate_landed_days(spark, lake: str, days: list[dt.date],
                          params: FeatureParams = DEFAULT_PARAMS) -> None:
    """Step 1: the aggregates of everything that landed on each of `days`, in one pass.

    The aggregates are keyed by land_date, and nothing in them mixes two landings, so several
    days at once write exactly the rows that one day at a time writes (one commit, not N).
    """
    if not days:
        return
    start = time.monotonic()
    silver = (delta_io.read(spark, SILVER_INTERACTIONS, lake)
              .where(F.col("land_date").isin(list(days))).select(*_INTERACTION_COLUMNS)
              .persist(StorageLevel.MEMORY_AND_DISK))
    try:
        where = delta_io.predicate(land_date=list(days))
        delta_io.replace_where(daily_activity.daily_activity(silver, params), ACCOUNT_ACTIVITY,
                               lake, where)
        rows = _written_rows(spark, ACCOUNT_ACTIVITY, lake)
        delta_io.replace_where(daily_activity.model_activity(silver), MODEL_ACTIVITY, lake,
                               where)
    finally:
        silver.unpersist()
    label = f"{days[0]}..{days[-1]}" if len(days) > 1 else str(days[0])
    if rows == 0:
        log.warning("days=%s table=%s rows=0: nothing landed in %s", label,
                    ACCOUNT_ACTIVITY.name, SILVER_INTERACTIONS.name)
    log.info("days=%s table=%s rows=%d secs=%.1f", label, ACCOUNT_ACTIVITY.name, rows,
             time.monotonic() - start)


def aggregate_landed_day(spark, lake: str, day: dt.date,
                         params: FeatureParams = DEFAULT_PARAMS) -> None:
    aggregate_landed_days(spark, lake, [day], params)


def day_inputs(spark, lake: str, day: dt.date) -> assemble.DayInputs:
    """Step 2's inputs, pruned to the partitions day D can need."""
    first_landing = day - dt.timedelta(days=LONGEST_WINDOW - 1)
    activity = delta_io.read(spark, ACCOUNT_ACTIVITY, lake).where(
        F.col("land_date").between(F.lit(first_landing), F.lit(day)))
    clusters = delta_io.read(spark, ACCOUNT_CLUSTERS_MAP, lake)

    def clusters_of(d: dt.date):
        return clusters.where(F.col("feature_date") == F.lit(d))

    return assemble.DayInputs(
        day=day,
        activity=activity,
        model_activity=delta_io.read(spark, MODEL_ACTIVITY, lake).where(
            F.col("land_date") <= F.lit(day)),
        accounts=delta_io.read(spark, SILVER_ACCOUNTS, lake).where(
            F.col("land_date") <= F.lit(day)),
        enforcement=delta_io.read(spark, SILVER_ENFORCEMENT, lake).where(
            F.col("land_date") <= F.lit(day)),
        previous_clusters=clusters_of(day - dt.timedelta(days=1)),
        week_ago_clusters=clusters_of(day - dt.timedelta(days=7)),
    )


def build_features_day(spark, lake: str, day: dt.date,
                       params: FeatureParams = DEFAULT_PARAMS) -> None:
    """Aggregate what landed on `day`, then write that day's clusters and features."""
    aggregate_landed_days(spark, lake, [day], params)
    build_day_tables(spark, lake, day, params)


def build_day_tables(spark, lake: str, day: dt.date,
                     params: FeatureParams = DEFAULT_PARAMS) -> None:
    """Step 2-3: day D's clusters and features (its landings must be aggregated already)."""
    step = time.monotonic()
    build = assemble.build_day(day_inputs(spark, lake, day), params)
    try:
        where = delta_io.predicate(feature_date=day)
        delta_io.replace_where(build.clusters, ACCOUNT_CLUSTERS_MAP, lake, where)
        n_clustered = _written_rows(spark, ACCOUNT_CLUSTERS_MAP, lake)
        delta_io.replace_where(build.features, ACCOUNT_FEATURES, lake, where)
        n_features = _written_rows(spark, ACCOUNT_FEATURES, lake)
    finally:
        build.release()
    log.info("day=%s table=%s rows=%d clustered_accounts=%d secs=%.1f",
             day, ACCOUNT_FEATURES.name, n_features, n_clustered, time.monotonic() - step)
