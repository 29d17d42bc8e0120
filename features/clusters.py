"""Components -> linked-account clusters with ids stable across days, and cluster features.

A cluster is a connected component of at least 2 scored accounts. Its id carries over from the
previous day's cluster whose members it holds the most of, provided it holds a majority of them
("a cluster keeps its id while most of its members persist"); when several old clusters merge,
the one contributing most members lends its id. Otherwise the id is new and deterministic:
a hash of the component's smallest member and the day, so re-running a day gives the same ids.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from features.params import LINK_TYPES


def new_cluster_id(smallest_member: F.Column, day: dt.date) -> F.Column:
    return F.concat(F.lit("cl_"), F.substring(
        F.sha2(F.concat_ws("|", smallest_member, F.lit(day.isoformat())), 256), 1, 16))


def assign_clusters(components: DataFrame, edges: DataFrame, previous: DataFrame,
                    day: dt.date) -> DataFrame:
    """The cluster table's rows for `day`.

    components: (node, component) with component = smallest member; edges: (src, dst, kind);
    previous: the cluster rows of the day before (account_id, cluster_id, cluster_first_date),
    possibly empty.
    """
    comp = components.select(F.col("node").alias("account_id"), "component")
    sizes = comp.groupBy("component").agg(F.count(F.lit(1)).cast("int").alias("cluster_size"))
    kinds = (edges.join(comp, edges["src"] == comp["account_id"])
             .groupBy("component")
             .agg(F.array_sort(F.collect_set("kind")).alias("link_types")))

    prev = previous.select("account_id", F.col("cluster_id").alias("prev_id"),
                           F.col("cluster_first_date").alias("prev_first"))
    prev_size = prev.groupBy("prev_id").agg(F.count(F.lit(1)).alias("prev_size"))
    overlap = (prev.join(comp, "account_id")
               .groupBy("prev_id", "prev_first", "component")
               .agg(F.count(F.lit(1)).alias("overlap"))
               .join(prev_size, "prev_id"))
    # Each old cluster goes to the component holding most of its members, if a majority.
    by_old = Window.partitionBy("prev_id").orderBy(F.desc("overlap"), "component")
    heirs = (overlap.withColumn("r", F.row_number().over(by_old))
             .where((F.col("r") == 1) & (F.col("overlap") * 2 > F.col("prev_size"))))
    # A component claimed by several old clusters keeps the id of the largest contribution.
    by_new = Window.partitionBy("component").orderBy(
        F.desc("overlap"), F.desc("prev_size"), "prev_id")
    inherited = (heirs.withColumn("r", F.row_number().over(by_new)).where(F.col("r") == 1)
                 .select("component", "prev_id", "prev_first"))

    clusters = (sizes.join(kinds, "component", "left").join(inherited, "component", "left")
                .select(
                    "component", "cluster_size",
                    F.coalesce("link_types", F.array().cast("array<string>")).alias(
                        "link_types"),
                    F.coalesce("prev_id", new_cluster_id(F.col("component"), day)).alias(
                        "cluster_id"),
                    F.coalesce("prev_first", F.lit(day)).alias("cluster_first_date"),
                ))
    return comp.join(clusters, "component").select(
        "account_id", F.lit(day).alias("feature_date"), "cluster_id", "cluster_size",
        "link_types", "cluster_first_date")


def cluster_features(clusters: DataFrame, members: DataFrame, week_ago: DataFrame,
                     day: dt.date) -> DataFrame:
    """Cluster features of the clustered accounts (others take the defaults in `assemble`).

    members: account_id, young (1/0; no registry record counts as young), known_bad (1/0),
    sync_ip_slots_7d, sync_ip_shared_slots_7d, requests_7d.
    week_ago: the cluster rows of day-7 (account_id, cluster_id), possibly empty.
    """
    c = clusters.join(members, "account_id", "left")
    per = c.groupBy("cluster_id").agg(
        F.avg(F.coalesce("young", F.lit(1))).alias("cluster_young_share"),
        F.sum("sync_ip_shared_slots_7d").alias("_shared"),
        F.sum("sync_ip_slots_7d").alias("_slots"),
        F.sum(F.coalesce("known_bad", F.lit(0))).alias("_bad"),
        F.sum(F.coalesce("requests_7d", F.lit(0))).cast("bigint").alias("cluster_requests_7d"),
    )
    then = week_ago.groupBy("cluster_id").agg(F.count(F.lit(1)).alias("_size_then"))
    out = c.join(per, "cluster_id").join(then, "cluster_id", "left")
    others_bad = (F.col("_bad") - F.coalesce("known_bad", F.lit(0))).cast("int")
    return out.select(
        "account_id", "cluster_id", "link_types",
        F.lit(1).alias("in_cluster"),
        "cluster_size",
        (F.col("cluster_size") - F.coalesce("_size_then", F.lit(0))).cast("int").alias(
            "cluster_growth_7d"),
        F.datediff(F.lit(day), "cluster_first_date").cast("int").alias("cluster_age_days"),
        "cluster_young_share",
        F.when(F.col("_slots") > 0, F.col("_shared") / F.col("_slots")).alias(
            "cluster_sync_share_7d"),
        others_bad.alias("cluster_known_bad_others"),
        (others_bad / (F.col("cluster_size") - 1)).alias("cluster_known_bad_share"),
        "cluster_requests_7d",
        *[F.array_contains("link_types", t).cast("int").alias(f"cluster_link_{t}")
          for t in LINK_TYPES],
    )
