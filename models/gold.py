"""Pure transforms from one day's scored accounts to the two gold tables of LAKE.md."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

HIGH_BANDS = ("high", "critical")
SAMPLE_ACCOUNTS = 20


def attach_clusters(
    scores: DataFrame,
    clusters: DataFrame,
    features: DataFrame,
    keys: Sequence[str] = ("account_id",),
) -> DataFrame:
    """Scores joined to the day's cluster membership and 7-day request counts.

    `clusters` has *keys, cluster_id, link_types (accounts in no cluster are absent);
    `features` has *keys, requests_7d. `keys`: account_id, with feature_date for several days.
    """
    keys = list(keys)
    return scores.join(clusters.select(*keys, "cluster_id", "link_types"), keys, "left").join(
        features.select(*keys, F.col("requests_7d").cast("long")), keys, "left"
    )


def account_scores(staged: DataFrame) -> DataFrame:
    """gold/account_scores_daily rows: exactly the contract's columns."""
    return staged.select(
        "account_id",
        "score_date",
        "risk_score",
        "risk_band",
        "cluster_id",
        "reasons",
        "model_name",
        "model_version",
        "scored_at",
    )


def account_clusters(staged: DataFrame, score_date: dt.date | None = None) -> DataFrame:
    """gold/account_clusters_daily: one row per cluster and day with its members' risk.

    `score_date`: the day of every staged row; None: each row's own `score_date`.
    sample_accounts: up to 20 members, riskiest first (ties by account id, so re-runs agree).
    """
    members = staged.where(F.col("cluster_id").isNotNull())
    if score_date is not None:
        members = members.withColumn("score_date", F.lit(score_date).cast("date"))
    ranked = F.struct(-F.col("risk_score"), F.col("account_id"))
    return (
        members.groupBy("score_date", "cluster_id")
        .agg(
            F.count("*").cast("int").alias("n_accounts"),
            F.sum(F.col("risk_band").isin(*HIGH_BANDS).cast("int"))
            .cast("int")
            .alias("n_high_risk"),
            F.max("risk_score").alias("max_risk_score"),
            F.avg("risk_score").alias("mean_risk_score"),
            F.coalesce(F.sum("requests_7d"), F.lit(0)).cast("long").alias("requests_7d"),
            F.array_sort(F.array_distinct(F.flatten(F.collect_list("link_types")))).alias(
                "link_types"
            ),
            F.slice(
                F.array_sort(
                    F.collect_list(F.struct(ranked.alias("k"), F.col("account_id").alias("a")))
                ),
                1,
                SAMPLE_ACCOUNTS,
            ).alias("_sample"),
        )
        .withColumn("sample_accounts", F.transform("_sample", lambda s: s["a"]))
        .select(
            "cluster_id",
            "score_date",
            "n_accounts",
            "n_high_risk",
            "max_risk_score",
            "mean_risk_score",
            "requests_7d",
            "link_types",
            "sample_accounts",
        )
    )
