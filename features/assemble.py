"""Everything for a range of days, joined into one feature row per scored account and day, plus
the clusters.

Pure: takes DataFrames and the days, returns DataFrames keyed by (feature_date, account_id).
All days are computed in one pass (features/calendar.py): the windows of every day come out of
one join of the aggregates to the calendar, linking and components run over every day at once,
and only the cluster ids chain from day to day (features/clusters.py). A single day is a range
of one day. The frames reused by several steps are cached here (not I/O) and released by
`RangeBuild.release()`.

A feature family plugs in as a `Family`: a function of the range's `RangeContext` (its inputs,
days, scored accounts, window sums, registry and clusters) returning a frame keyed by
(feature_date, account_id), left-joined onto the scored rows, with the values an account absent
from it takes. Its columns must be in the catalog (features/catalog.py), which sets the
table's schema. List it in `EXTRA_FAMILIES`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features import (
    account_profile,
    clusters,
    components,
    group_evidence,
    harvest_score,
    links,
    simhash_lsh,
    windows,
)
from features.calendar import DAY, KEY, calendar_days
from features.catalog import feature_columns
from features.params import DEFAULT_PARAMS, LINK_TYPES, FeatureParams


@dataclass
class RangeInputs:
    days: Sequence[dt.date]
    activity: DataFrame  # account_activity_daily (any rows; filtered to "as of D" here)
    model_activity: DataFrame  # model_activity_daily
    accounts: DataFrame  # silver accounts
    enforcement: DataFrame  # silver enforcement
    # Stored account_clusters rows of days before the range: D-1 and D-7 of its days where
    # those are not in the range themselves (rows of days in the range are ignored).
    clusters_before: DataFrame


@dataclass
class RangeContext:
    """What a feature family reads: every frame keyed by (feature_date, account_id)."""

    inputs: RangeInputs
    days: list[dt.date]
    params: FeatureParams
    scored: DataFrame  # the scored accounts of each day (active in its 7 days)
    sums: DataFrame  # windows.window_sums: windowed counts, histograms and sets
    registry: DataFrame  # account_profile.accounts_as_of_days: every account with a record
    clusters: DataFrame  # clusters.assign_cluster_days: the clustered accounts
    keep: Callable[[DataFrame], DataFrame]  # cache a frame until the build is released
    recent: DataFrame  # windows.day_windows: each day's 7 days of aggregate rows


@dataclass(frozen=True)
class Family:
    name: str
    build: Callable[[RangeContext], DataFrame]
    defaults: dict[str, float] = field(default_factory=dict)


# Feature families beyond the built-in ones, joined in this order.
EXTRA_FAMILIES: tuple[Family, ...] = (
    Family("group_evidence", group_evidence.build, group_evidence.DEFAULTS),
)


@dataclass
class RangeBuild:
    features: DataFrame
    clusters: DataFrame
    _cached: list[DataFrame] = field(default_factory=list)

    def release(self) -> None:
        for df in self._cached:
            df.unpersist()
        self._cached.clear()


def _node(day: F.Column, account: str) -> F.Column:
    """A component node: the day and the account, so one run separates the days (a string
    whose order within a day is the account's)."""
    return F.concat_ws("|", F.date_format(day, "yyyy-MM-dd"), F.col(account))


def _account_of(node: str) -> F.Column:
    return F.substring(F.col(node), 12, 1 << 30)


def build_range(
    inputs: RangeInputs,
    params: FeatureParams = DEFAULT_PARAMS,
    families: Sequence[Family] = EXTRA_FAMILIES,
) -> RangeBuild:
    days, p = calendar_days(inputs.days), params
    cached: list[DataFrame] = []

    def keep(df: DataFrame) -> DataFrame:
        df = df.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(df)
        return df

    recent, long, scored = windows.day_windows(inputs.activity, days, keep)
    long = keep(long)
    sums = keep(windows.window_sums(recent, long, p))
    snapshot = keep(account_profile.accounts_as_of_days(inputs.accounts, days))
    billing = snapshot.select(*KEY, "billing_country")

    behaviour = windows.behaviour_features(
        sums,
        windows.model_mix(recent, windows.new_models(inputs.model_activity, days, p)),
        windows.country_mix(long, billing),
        billing,
        p,
    )
    profile = account_profile.profile_features(snapshot, p)
    sharing = account_profile.registry_sharing(snapshot)

    by = [DAY]
    prompt_edges, prompt_features = simhash_lsh.prompt_groups(
        keep(simhash_lsh.account_hashes(sums, by=by)), p, keep, by
    )
    scored_registry = snapshot.join(sums.select(*KEY), KEY, "left_semi")
    members = links.memberships(scored_registry, sums, p, by)
    # Read by the components (which cut their own lineage) and by the clusters' link kinds.
    edges = keep(links.star_edges(members, p, by).unionByName(prompt_edges))
    comps = components.connected_components(
        edges.select(_node(F.col(DAY), "src").alias("src"), _node(F.col(DAY), "dst").alias("dst")),
        p.cc_max_rounds,
    )
    # Read four times by the cluster assignment (sizes, link kinds, overlaps, members).
    comps = keep(
        comps.select(
            F.to_date(F.substring("node", 1, 10)).alias(DAY),
            _account_of("node").alias("account_id"),
            _account_of("component").alias("component"),
        )
    )
    before = inputs.clusters_before.where(~F.col(DAY).isin(days))
    cluster_rows = keep(clusters.assign_cluster_days(comps, edges, before, days))

    bad = account_profile.known_bad_as_of_days(inputs.enforcement, days).withColumn(
        "known_bad", F.lit(1)
    )
    member_info = (
        sums.select(*KEY, "requests_7d", "sync_ip_slots_7d", "sync_ip_shared_slots_7d")
        .join(profile.select(*KEY, F.col("is_young_account").alias("young")), KEY, "left")
        .join(bad, KEY, "left")
    )
    # Each day's view of the clusters a week earlier, from this pass or from the table.
    week_ago = (
        cluster_rows.select(*KEY, "cluster_id")
        .unionByName(before.select(*KEY, "cluster_id"))
        .withColumn(DAY, F.date_add(F.col(DAY), 7))
        .where(F.col(DAY).isin(days))
    )
    cluster_feats = clusters.cluster_features(cluster_rows, member_info, week_ago)

    rows = (
        behaviour.join(profile, KEY, "left")
        .join(sharing, KEY, "left")
        .join(links.sharing_features(sums, by), KEY, "left")
        .join(prompt_features, KEY, "left")
        .join(cluster_feats, KEY, "left")
    )
    defaults: dict[str, bool | float | int | str] = {
        "has_account_record": 0,
        "simhash_neardup_accounts_7d": 0,
        "simhash_shared_prompts_7d": 0,
        "simhash_shared_share_7d": 0.0,
        "ip_prefix_max_accounts_7d": 0,
        "asn_max_accounts_7d": 0,
        "in_cluster": 0,
        "cluster_size": 1,
        "cluster_growth_7d": 0,
        "cluster_known_bad_others": 0,
        **{f"cluster_link_{t}": 0 for t in LINK_TYPES},
    }
    context = RangeContext(inputs, days, p, scored, sums, snapshot, cluster_rows, keep, recent)
    for family in families:
        rows = rows.join(family.build(context), KEY, "left")
        defaults.update(family.defaults)
    rows = rows.fillna(defaults).withColumn(
        "cluster_requests_7d", F.coalesce("cluster_requests_7d", "requests_7d")
    )
    # Computed from the columns above, the families' included.
    rows = rows.withColumn("harvest_score", harvest_score.harvest_score())
    features = rows.select(*[F.col(f.name).cast(f.dtype).alias(f.name) for f in feature_columns()])
    return RangeBuild(features=features, clusters=cluster_rows, _cached=cached)


# --- one day -------------------------------------------------------------------------------------


@dataclass
class DayInputs:
    day: dt.date
    activity: DataFrame  # account_activity_daily (any rows; filtered to "as of D" here)
    model_activity: DataFrame  # model_activity_daily
    accounts: DataFrame  # silver accounts
    enforcement: DataFrame  # silver enforcement
    previous_clusters: DataFrame  # account_clusters rows of D-1 (may be empty)
    week_ago_clusters: DataFrame  # account_clusters rows of D-7 (may be empty)


DayBuild = RangeBuild


def build_day(inputs: DayInputs, params: FeatureParams = DEFAULT_PARAMS) -> RangeBuild:
    """The range build of the one day `inputs.day`."""
    day = inputs.day

    def on(frame: DataFrame, offset: int) -> DataFrame:
        return frame.withColumn(DAY, F.lit(day - dt.timedelta(days=offset)).cast("date"))

    before = on(inputs.previous_clusters, 1).unionByName(on(inputs.week_ago_clusters, 7))
    return build_range(
        RangeInputs(
            [day],
            inputs.activity,
            inputs.model_activity,
            inputs.accounts,
            inputs.enforcement,
            before,
        ),
        params,
    )
