"""Components -> linked-account clusters with ids stable across days, and cluster features.

A cluster is a connected component of at least 2 scored accounts. Its id carries over from the
previous day's cluster whose members it holds the most of, provided it holds a majority of them
("a cluster keeps its id while most of its members persist"); when several old clusters merge,
the one contributing most members lends its id. Otherwise the id is new and deterministic:
a hash of the component's smallest member and the day, so re-running a day gives the same ids.

Every day of a range is assigned in one pass: which old cluster each component inherits from
depends only on memberships, so it is computed for all days at once; only the ids themselves
chain from day to day, and that chain is followed on the driver over the inheritances alone
(at most one per old cluster and day), never over the members.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from features.calendar import DAY, calendar_days
from features.params import LINK_TYPES

_ID_PREFIX = "cl_"
_ID_HEX = 16


def new_cluster_id(smallest_member: Column, day: dt.date | Column) -> Column:
    day_text = (
        F.lit(day.isoformat()) if isinstance(day, dt.date) else F.date_format(day, "yyyy-MM-dd")
    )
    return F.concat(
        F.lit(_ID_PREFIX),
        F.substring(F.sha2(F.concat_ws("|", smallest_member, day_text), 256), 1, _ID_HEX),
    )


def new_cluster_id_text(smallest_member: str, day: dt.date) -> str:
    """`new_cluster_id` computed on the driver (the same SHA-256 of the same UTF-8 text)."""
    digest = hashlib.sha256(f"{smallest_member}|{day.isoformat()}".encode()).hexdigest()
    return _ID_PREFIX + digest[:_ID_HEX]


def assign_cluster_days(
    components: DataFrame, edges: DataFrame, before: DataFrame, days: Sequence[dt.date]
) -> DataFrame:
    """The cluster table's rows for every day of `days`.

    components: (feature_date, account_id, component), component = the smallest member that
    day; edges: (feature_date, src, dst, kind); before: stored cluster rows (feature_date,
    account_id, cluster_id, cluster_first_date) of the days before the range's days (a day
    whose previous day is not in `days` inherits from them; may be empty).
    """
    days = calendar_days(days)
    spark = components.sparkSession
    comp = components.select(DAY, "account_id", "component")
    sizes = comp.groupBy(DAY, "component").agg(F.count(F.lit(1)).cast("int").alias("cluster_size"))
    kinds = (
        edges.join(comp.withColumnRenamed("account_id", "src"), [DAY, "src"])
        .groupBy(DAY, "component")
        .agg(F.array_sort(F.collect_set("kind")).alias("link_types"))
    )

    # The previous day's clusters of each day: computed in this pass when that day is in the
    # range (keyed by their component), else stored (keyed by their id).
    next_day = F.date_add(F.col(DAY), 1)
    in_range = set(days)
    chained = [d for d in days if d - dt.timedelta(days=1) in in_range]
    from_range = comp.where(next_day.isin(chained)).select(
        next_day.alias(DAY),
        "account_id",
        F.col("component").alias("prev_key"),
        F.lit(False).alias("stored"),
        F.lit(None).cast("date").alias("prev_first"),
    )
    starts = [d for d in days if d not in chained]
    from_table = before.where(next_day.isin(starts)).select(
        next_day.alias(DAY),
        "account_id",
        F.col("cluster_id").alias("prev_key"),
        F.lit(True).alias("stored"),
        F.col("cluster_first_date").alias("prev_first"),
    )
    prev = from_range.unionByName(from_table) if chained else from_table
    prev_size = prev.groupBy(DAY, "prev_key").agg(F.count(F.lit(1)).alias("prev_size"))
    overlap = (
        prev.join(comp, [DAY, "account_id"])
        .groupBy(DAY, "prev_key", "stored", "prev_first", "component")
        .agg(F.count(F.lit(1)).alias("overlap"))
        .join(prev_size, [DAY, "prev_key"])
    )
    # Each old cluster goes to the component holding most of its members, if a majority.
    by_old = Window.partitionBy(DAY, "prev_key").orderBy(F.desc("overlap"), "component")
    heirs = (
        overlap.withColumn("r", F.row_number().over(by_old))
        .where((F.col("r") == 1) & (F.col("overlap") * 2 > F.col("prev_size")))
        .drop("r")
        .collect()
    )
    inherited = chain_ids(heirs, days)
    ids = spark.createDataFrame(
        [(d, c, i, f) for (d, c), (i, f) in inherited.items()],
        f"{DAY} DATE, component STRING, prev_id STRING, prev_first DATE",
    )

    clusters = (
        sizes.join(kinds, [DAY, "component"], "left")
        .join(F.broadcast(ids), [DAY, "component"], "left")
        .select(
            DAY,
            "component",
            "cluster_size",
            F.coalesce("link_types", F.array().cast("array<string>")).alias("link_types"),
            F.coalesce("prev_id", new_cluster_id(F.col("component"), F.col(DAY))).alias(
                "cluster_id"
            ),
            F.coalesce("prev_first", F.col(DAY)).alias("cluster_first_date"),
        )
    )
    return comp.join(clusters, [DAY, "component"]).select(
        "account_id", DAY, "cluster_id", "cluster_size", "link_types", "cluster_first_date"
    )


def chain_ids(
    heirs: list, days: Sequence[dt.date]
) -> dict[tuple[dt.date, str], tuple[str, dt.date]]:
    """{(day, component): (cluster id, first date)} of the components that inherit an id.

    heirs: rows (feature_date, prev_key, stored, prev_first, component, overlap, prev_size),
    one per old cluster with a majority heir. A component claimed by several old clusters keeps
    the id of the largest contribution (then of the larger old cluster, then the smaller id).
    Days in date order: an old cluster of the day before is either stored (its id is prev_key)
    or was assigned the day before (inherited, or new: the hash of its component and day).
    """
    by_day: dict[dt.date, dict[str, list]] = {}
    for row in heirs:
        by_day.setdefault(row[DAY], {}).setdefault(row["component"], []).append(row)
    out: dict[tuple[dt.date, str], tuple[str, dt.date]] = {}
    for day in calendar_days(days):
        before = day - dt.timedelta(days=1)

        def old_id(row, before=before) -> tuple[str, dt.date]:
            if row["stored"]:
                return row["prev_key"], row["prev_first"]
            return out.get((before, row["prev_key"])) or (
                new_cluster_id_text(row["prev_key"], before),
                before,
            )

        for component, rows in by_day.get(day, {}).items():
            best = min((-r["overlap"], -r["prev_size"], old_id(r)) for r in rows)
            out[(day, component)] = best[2]
    return out


def assign_clusters(
    components: DataFrame, edges: DataFrame, previous: DataFrame, day: dt.date
) -> DataFrame:
    """The cluster table's rows for one day.

    components: (node, component) with component = smallest member; edges: (src, dst, kind);
    previous: the cluster rows of the day before (account_id, cluster_id, cluster_first_date),
    possibly empty.
    """
    on_day = F.lit(day).cast("date").alias(DAY)
    before = F.lit(day - dt.timedelta(days=1)).cast("date").alias(DAY)
    return assign_cluster_days(
        components.select(on_day, F.col("node").alias("account_id"), "component"),
        edges.select(on_day, "src", "dst", "kind"),
        previous.select(before, "account_id", "cluster_id", "cluster_first_date"),
        [day],
    )


def cluster_features(clusters: DataFrame, members: DataFrame, week_ago: DataFrame) -> DataFrame:
    """Cluster features of the clustered accounts on each day (others take the defaults in
    `assemble`).

    clusters: the cluster rows (`assign_cluster_days`); members: feature_date, account_id,
    young (1/0; no registry record counts as young), known_bad (1/0), sync_ip_slots_7d,
    sync_ip_shared_slots_7d, requests_7d; week_ago: (feature_date, account_id, cluster_id) of
    the clusters 7 days before each feature_date, keyed by that feature_date (may be empty).
    """
    key = [DAY, "account_id"]
    c = clusters.join(members, key, "left")
    per = c.groupBy(DAY, "cluster_id").agg(
        F.avg(F.coalesce("young", F.lit(1))).alias("cluster_young_share"),
        F.sum("sync_ip_shared_slots_7d").alias("_shared"),
        F.sum("sync_ip_slots_7d").alias("_slots"),
        F.sum(F.coalesce("known_bad", F.lit(0))).alias("_bad"),
        F.sum(F.coalesce("requests_7d", F.lit(0))).cast("bigint").alias("cluster_requests_7d"),
    )
    then = week_ago.groupBy(DAY, "cluster_id").agg(F.count(F.lit(1)).alias("_size_then"))
    out = c.join(per, [DAY, "cluster_id"]).join(then, [DAY, "cluster_id"], "left")
    others_bad = (F.col("_bad") - F.coalesce("known_bad", F.lit(0))).cast("int")
    return out.select(
        *key,
        "cluster_id",
        "link_types",
        F.lit(1).alias("in_cluster"),
        "cluster_size",
        (F.col("cluster_size") - F.coalesce("_size_then", F.lit(0)))
        .cast("int")
        .alias("cluster_growth_7d"),
        F.datediff(F.col(DAY), "cluster_first_date").cast("int").alias("cluster_age_days"),
        "cluster_young_share",
        F.when(F.col("_slots") > 0, F.col("_shared") / F.col("_slots")).alias(
            "cluster_sync_share_7d"
        ),
        others_bad.alias("cluster_known_bad_others"),
        (others_bad / (F.col("cluster_size") - 1)).alias("cluster_known_bad_share"),
        "cluster_requests_7d",
        *[
            F.array_contains("link_types", t).cast("int").alias(f"cluster_link_{t}")
            for t in LINK_TYPES
        ],
    )
