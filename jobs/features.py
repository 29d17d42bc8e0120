"""Feature job: per-account daily aggregates, features and linked-account clusters.

For each day D in order:
1. aggregate the silver interactions that LANDED on D (every event day they carry) into
   `account_activity_daily` and `model_activity_daily` (replaceWhere land_date = D);
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

from features import assemble, daily_activity
from features.params import DEFAULT_PARAMS, LONGEST_WINDOW, FeatureParams
from jobs import delta_io
from jobs.errors import PipelineError
from jobs.registry import (
    ACCOUNT_ACTIVITY,
    ACCOUNT_CLUSTERS_MAP,
    ACCOUNT_FEATURES,
    MODEL_ACTIVITY,
    SILVER_ACCOUNTS,
    SILVER_ENFORCEMENT,
    SILVER_INTERACTIONS,
)
from jobs.spark import get_spark

log = logging.getLogger("risk.features")

_INTERACTION_COLUMNS = [
    "account_id", "event_date", "land_date", "ts", "model", "endpoint", "ip_prefix", "ip_hash",
    "ip_asn", "ip_type", "country", "user_agent", "api_key_id", "input_tokens",
    "output_tokens", "thinking_enabled", "tool_count", "has_image", "turns", "prompt_simhash",
    "topic", "cot_request_score", "status",
]


def build_features(lake: str, days: list[dt.date]) -> None:
    """Build the feature tables for each day, in date order (clusters chain day to day)."""
    spark = get_spark()
    if not delta_io.exists(spark, SILVER_INTERACTIONS, lake):
        raise PipelineError(
            f"{SILVER_INTERACTIONS.name}: no table at {SILVER_INTERACTIONS.uri(lake)}; "
            "run `riskctl ingest` for these days first")
    for day in sorted(set(days)):
        build_features_day(spark, lake, day)


def _written_rows(spark, table, lake: str) -> int:
    """Rows the last commit wrote (Delta operation metrics; no re-read of the data)."""
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, table.uri(lake)).history(1).collect()[0]
    return int((row["operationMetrics"] or {}).get("numOutputRows", 0))


def aggregate_landed_day(spark, lake: str, day: dt.date,
                         params: FeatureParams = DEFAULT_PARAMS) -> None:
    """Step 1: the aggregates of everything that landed on `day`."""
    start = time.monotonic()
    silver = (delta_io.read(spark, SILVER_INTERACTIONS, lake)
              .where(F.col("land_date") == F.lit(day)).select(*_INTERACTION_COLUMNS)
              .persist(StorageLevel.MEMORY_AND_DISK))
    try:
        where = delta_io.predicate(land_date=day)
        delta_io.replace_where(daily_activity.daily_activity(silver, params), ACCOUNT_ACTIVITY,
                               lake, where)
        rows = _written_rows(spark, ACCOUNT_ACTIVITY, lake)
        delta_io.replace_where(daily_activity.model_activity(silver), MODEL_ACTIVITY, lake,
                               where)
    finally:
        silver.unpersist()
    if rows == 0:
        log.warning("day=%s table=%s rows=0: nothing landed in %s", day, ACCOUNT_ACTIVITY.name,
                    SILVER_INTERACTIONS.name)
    log.info("day=%s table=%s rows=%d secs=%.1f", day, ACCOUNT_ACTIVITY.name, rows,
             time.monotonic() - start)


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
    start = time.monotonic()
    aggregate_landed_day(spark, lake, day, params)
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
    log.info("day=%s table=%s rows=%d clustered_accounts=%d feature_secs=%.1f total_secs=%.1f",
             day, ACCOUNT_FEATURES.name, n_features, n_clustered, time.monotonic() - step,
             time.monotonic() - start)
