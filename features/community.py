"""Template communities judged as groups, and against the rest of their organisation.

A template community is the set of accounts whose main prompt scaffold is the same
(`template_scaffolds`). One quiet account says little; the pooled behaviour of the hundred
accounts sending the same paraphrased template says a lot. And an operator hiding inside a
legitimate reseller shares the reseller's networks, cards and client, but not its customers'
behaviour: its community asks for step-by-step reasoning far more than the rest of the org.

Per account in a community of at least `scaffold_min_accounts` (others get nulls, and
`community_accounts` 0, from the caller):
- `community_accounts`: accounts in it;
- `community_high_cot_share_7d`, `community_reasoning_share_7d`: pooled over its members'
  7-day requests;
- `community_young_share`: members younger than `young_account_days` (no registry record
  counts as young);
- `community_cot_lift_vs_org_7d`: the community's pooled high-CoT share minus that of the
  rest of the account's org (its scored accounts outside the community); null without an org
  or when the whole org is in the community;
- `community_sync_share_7d`: share of the account's active (event day, UTC hour) slots in which
  at least `community_sync_min_others` other members were active too (loose synchrony: the
  accounts of one operator work the same hours, people of one class only some of them).

Pure: frames of the day in, one row per community member out.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.params import DEFAULT_PARAMS, REASONING_TOPICS, FeatureParams
from features.windows import ratio


def _member_sums(sums: DataFrame, by: list[str]) -> DataFrame:
    reasoning: Column = sum((F.col(f"n_topic_{t}_7d") for t in REASONING_TOPICS), F.lit(0))
    return sums.select(
        *by,
        "account_id",
        F.col("requests_7d").alias("_req"),
        F.col("n_high_cot_7d").alias("_cot"),
        reasoning.alias("_reason"),
    )


def community_features(
    communities: DataFrame,
    sums: DataFrame,
    young: DataFrame,
    orgs: DataFrame,
    recent: DataFrame,
    params: FeatureParams = DEFAULT_PARAMS,
    by: Sequence[str] = (),
) -> DataFrame:
    """One row per account in a community of at least `scaffold_min_accounts` accounts.

    communities: account_id, community, community_accounts; sums: account_id, requests_7d,
    n_high_cot_7d, n_topic_<t>_7d (window sums of every scored account); young: account_id,
    young (1/0; absent = no registry record = young); orgs: account_id, org_id (registry as of
    D); recent: the 7 days' aggregate rows (account_id, event_date, hour_counts). `by`: key
    columns besides the account (the feature day of a range) that every input carries.
    """
    p, by = params, list(by)
    key = [*by, "account_id"]
    members = communities.where(F.col("community_accounts") >= p.scaffold_min_accounts).select(
        *key, "community", "community_accounts"
    )
    beh = _member_sums(sums, by)
    m = (
        members.join(beh, key, "left")
        .join(young.select(*key, "young"), key, "left")
        .join(orgs.select(*key, "org_id"), key, "left")
    )
    pooled = m.groupBy(*by, "community").agg(
        ratio(F.sum("_cot"), F.sum("_req")).alias("community_high_cot_share_7d"),
        ratio(F.sum("_reason"), F.sum("_req")).alias("community_reasoning_share_7d"),
        F.avg(F.coalesce("young", F.lit(1)).cast("double")).alias("community_young_share"),
    )

    # The rest of each org: every scored account of the org minus the community's members.
    in_org = beh.join(orgs.where(F.col("org_id").isNotNull()), key)
    org_tot = in_org.groupBy(*by, "org_id").agg(
        F.sum("_req").alias("_oreq"), F.sum("_cot").alias("_ocot")
    )
    org_comm = (
        m.where(F.col("org_id").isNotNull())
        .groupBy(*by, "org_id", "community")
        .agg(F.sum("_req").alias("_creq"), F.sum("_cot").alias("_ccot"))
    )
    rest = org_comm.join(org_tot, [*by, "org_id"]).select(
        *by,
        "org_id",
        "community",
        ratio(F.col("_ocot") - F.col("_ccot"), F.col("_oreq") - F.col("_creq")).alias("_rest_cot"),
    )

    sync = community_sync(members, recent, p, by)
    return (
        m.join(pooled, [*by, "community"])
        .join(rest, [*by, "org_id", "community"], "left")
        .join(sync, key, "left")
        .select(
            *key,
            "community_accounts",
            "community_high_cot_share_7d",
            "community_reasoning_share_7d",
            "community_young_share",
            (F.col("community_high_cot_share_7d") - F.col("_rest_cot")).alias(
                "community_cot_lift_vs_org_7d"
            ),
            "community_sync_share_7d",
        )
    )


def community_sync(
    members: DataFrame,
    recent: DataFrame,
    params: FeatureParams = DEFAULT_PARAMS,
    by: Sequence[str] = (),
) -> DataFrame:
    """account_id, community_sync_share_7d for the members with activity in the 7 days.

    members: account_id, community; recent: account_id, event_date, hour_counts (several rows
    of one account-day, from several landings, are one slot set).
    """
    by = list(by)
    key = [*by, "account_id"]
    slot = [*by, "community", "event_date", "hour"]
    slots = (
        recent.join(members.select(*key, "community"), key)
        .select(*key, "community", "event_date", F.posexplode("hour_counts").alias("hour", "n"))
        .where(F.col("n") > 0)
        .select(*key, "community", "event_date", "hour")
        .distinct()
    )
    active = slots.groupBy(*slot).agg(F.count(F.lit(1)).alias("_k"))
    in_step = (F.col("_k") - 1) >= F.lit(params.community_sync_min_others)
    return (
        slots.join(active, slot)
        .groupBy(*key)
        .agg(F.avg(in_step.cast("double")).alias("community_sync_share_7d"))
    )
