"""Everything for one day D, joined into one feature row per scored account, plus the clusters.

Pure: takes DataFrames and the day, returns DataFrames. The frames reused by several steps
are cached here (not I/O) and released by `DayBuild.release()`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features import (
    account_profile,
    clusters,
    community,
    components,
    harvest_score,
    links,
    network_diversity,
    propagation,
    simhash_lsh,
    template_scaffolds,
    windows,
)
from features.catalog import feature_columns
from features.params import DEFAULT_PARAMS, LINK_TYPES, FeatureParams


@dataclass
class DayInputs:
    day: dt.date
    activity: DataFrame  # account_activity_daily (any rows; filtered to "as of D" here)
    model_activity: DataFrame  # model_activity_daily
    accounts: DataFrame  # silver accounts
    enforcement: DataFrame  # silver enforcement
    previous_clusters: DataFrame  # account_clusters rows of D-1 (may be empty)
    week_ago_clusters: DataFrame  # account_clusters rows of D-7 (may be empty)


@dataclass
class DayBuild:
    features: DataFrame
    clusters: DataFrame
    _cached: list[DataFrame] = field(default_factory=list)

    def release(self) -> None:
        for df in self._cached:
            df.unpersist()
        self._cached.clear()


def build_day(inputs: DayInputs, params: FeatureParams = DEFAULT_PARAMS) -> DayBuild:
    day, p = inputs.day, params
    cached: list[DataFrame] = []

    def keep(df: DataFrame) -> DataFrame:
        df = df.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(df)
        return df

    recent, long = windows.day_windows(inputs.activity, day, keep)
    long = keep(long)
    sums = keep(windows.window_sums(recent, long, day, p))
    snapshot = keep(account_profile.accounts_as_of(inputs.accounts, day))
    billing = snapshot.select("account_id", "billing_country")

    behaviour = windows.behaviour_features(
        sums,
        windows.model_mix(recent, day, windows.new_models(inputs.model_activity, day, p)),
        windows.country_mix(long, day, billing),
        billing, p)
    profile = account_profile.profile_features(snapshot, day, p)
    sharing = account_profile.registry_sharing(snapshot)

    acc_hashes = keep(simhash_lsh.account_hashes(sums))
    prompt_edges, prompt_features = simhash_lsh.prompt_groups(acc_hashes, p, keep)
    scored_registry = snapshot.join(sums.select("account_id"), "account_id", "left_semi")
    members = links.memberships(scored_registry, sums, p)
    edges = (links.star_edges(members, p).unionByName(prompt_edges)
             .localCheckpoint(eager=True))
    comps = components.connected_components(edges, p.cc_max_rounds)
    cluster_rows = keep(clusters.assign_clusters(comps, edges, inputs.previous_clusters, day))

    bad = account_profile.known_bad_as_of(inputs.enforcement, day).withColumn(
        "known_bad", F.lit(1))
    member_info = (sums.select("account_id", "requests_7d", "sync_ip_slots_7d",
                               "sync_ip_shared_slots_7d")
                   .join(profile.select("account_id",
                                        F.col("is_young_account").alias("young")),
                         "account_id", "left")
                   .join(bad, "account_id", "left"))
    cluster_feats = clusters.cluster_features(
        cluster_rows, member_info, inputs.week_ago_clusters.select("account_id", "cluster_id"),
        day)

    scaffold_features, communities = template_scaffolds.scaffolds(acc_hashes, p)
    young = profile.select("account_id", F.col("is_young_account").alias("young"))
    group = community.community_features(
        keep(communities), sums, young, snapshot.select("account_id", "org_id"), recent, p)
    propagated = propagation.propagated_risk(
        links.memberships(snapshot, sums, p), bad, sums.select("account_id"), p)

    rows = (behaviour
            .join(profile, "account_id", "left")
            .join(sharing, "account_id", "left")
            .join(links.sharing_features(sums), "account_id", "left")
            .join(prompt_features, "account_id", "left")
            .join(cluster_feats, "account_id", "left")
            .join(scaffold_features, "account_id", "left")
            .join(network_diversity.network_diversity(sums), "account_id", "left")
            .join(group, "account_id", "left")
            .join(propagated, "account_id", "left"))
    defaults = {
        "has_account_record": 0, "simhash_neardup_accounts_7d": 0,
        "simhash_shared_prompts_7d": 0, "simhash_shared_share_7d": 0.0,
        "ip_prefix_max_accounts_7d": 0, "asn_max_accounts_7d": 0, "in_cluster": 0,
        "cluster_size": 1, "cluster_growth_7d": 0, "cluster_known_bad_others": 0,
        "scaffold_max_accounts_7d": 0, "scaffold_shared_share_7d": 0.0,
        "scaffold_idf_7d": 0.0, "community_accounts": 0, "known_bad_linked_accounts": 0,
        "propagated_risk": 0.0,
        **{f"cluster_link_{t}": 0 for t in LINK_TYPES},
    }
    rows = rows.fillna(defaults).withColumn(
        "cluster_requests_7d", F.coalesce("cluster_requests_7d", "requests_7d"))
    rows = rows.withColumn("harvest_score", harvest_score.harvest_score())
    rows = rows.withColumn("feature_date", F.lit(day))
    features = rows.select(*[F.col(f.name).cast(f.dtype).alias(f.name)
                             for f in feature_columns()])
    return DayBuild(features=features, clusters=cluster_rows, _cached=cached)
