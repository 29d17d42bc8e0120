"""The account-to-entity graph and the cross-account sharing counts.

Accounts are linked through entities (a payment fingerprint, a /24 prefix seen in 7 days, an
org, and near-duplicate prompt groups, whose stars `simhash_lsh.prompt_groups` builds itself
from the sizes it already has), never through account pairs: one fingerprint shared by
5,000 accounts is 12.5 million pairs but only 5,000 memberships. For connected components each
entity becomes a star (every member linked to the entity's smallest member), which keeps the
components and costs one edge per membership.

`by`: key columns the rows carry beside the account (e.g. `feature_date`, to link every day of
a range in one pass): entities, sizes and edges are then per value of those keys.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.params import DEFAULT_PARAMS, FeatureParams


def memberships(
    scored_registry: DataFrame,
    sums: DataFrame,
    params: FeatureParams = DEFAULT_PARAMS,
    by: Sequence[str] = (),
) -> DataFrame:
    """(kind, entity, account_id) of payment, org and IP prefix over the scored accounts.

    scored_registry: account_id, payment_fingerprint, org_id (registry as of D, scored accounts
    only); sums: account_id, link_prefixes_7d, requests_7d, n_iptype_residential_7d,
    n_iptype_mobile_7d. Only prefixes seen on hosted networks link (`link_prefixes_7d`), and
    accounts mostly on consumer networks bring no prefix memberships at all (see
    FeatureParams.prefix_link_max_consumer_share).
    """
    payment = scored_registry.where(F.col("payment_fingerprint").isNotNull()).select(
        *by,
        F.lit("payment").alias("kind"),
        F.col("payment_fingerprint").alias("entity"),
        "account_id",
    )
    org = scored_registry.where(F.col("org_id").isNotNull()).select(
        *by, F.lit("org").alias("kind"), F.col("org_id").alias("entity"), "account_id"
    )
    consumer = (F.col("n_iptype_residential_7d") + F.col("n_iptype_mobile_7d")) / F.col(
        "requests_7d"
    )
    prefix = sums.where(
        (F.col("requests_7d") > 0) & (consumer <= F.lit(params.prefix_link_max_consumer_share))
    ).select(
        *by,
        F.lit("ip_prefix").alias("kind"),
        F.explode("link_prefixes_7d").alias("entity"),
        "account_id",
    )
    return payment.unionByName(org).unionByName(prefix).distinct()


def star_edges(
    members: DataFrame, params: FeatureParams = DEFAULT_PARAMS, by: Sequence[str] = ()
) -> DataFrame:
    """(src, dst, kind): each member of a kept entity linked to the entity's smallest member.

    An entity is kept when it ties at least 2 (an IP prefix: `prefix_min_accounts`) and at most
    `hub_caps[kind]` accounts; above the cap it is a hub (carrier NAT, campus, cloud region,
    popular prompt) and dropped.
    """
    caps = F.create_map(
        *[x for k, v in sorted(params.hub_caps.items()) for x in (F.lit(k), F.lit(v))]
    )
    least = F.when(F.col("kind") == "ip_prefix", F.lit(params.prefix_min_accounts)).otherwise(2)
    sizes = members.groupBy(*by, "kind", "entity").agg(
        F.count(F.lit(1)).alias("n"), F.min("account_id").alias("center")
    )
    kept = sizes.where(
        (F.col("n") >= least) & (F.col("n") <= F.coalesce(caps[F.col("kind")], F.lit(0)))
    )
    return (
        members.join(kept, [*by, "kind", "entity"])
        .where(F.col("account_id") != F.col("center"))
        .select(*by, F.col("account_id").alias("src"), F.col("center").alias("dst"), "kind")
        .distinct()
    )


def sharing_features(sums: DataFrame, by: Sequence[str] = ()) -> DataFrame:
    """Per scored account: how many others share its /24 prefixes and ASNs in 7 days."""
    key = [*by, "account_id"]

    def per(column: str, max_name: str, share_name: str | None) -> DataFrame:
        rows = sums.select(*key, F.explode(column).alias("v"))
        sized = rows.join(rows.groupBy(*by, "v").agg(F.count(F.lit(1)).alias("n")), [*by, "v"])
        aggs = [(F.max("n") - 1).cast("int").alias(max_name)]
        if share_name:
            aggs.append(
                (F.sum(F.when(F.col("n") >= 2, 1).otherwise(0)) / F.count(F.lit(1))).alias(
                    share_name
                )
            )
        return sized.groupBy(*key).agg(*aggs)

    return (
        sums.select(*key)
        .join(
            per("prefixes_7d", "ip_prefix_max_accounts_7d", "ip_prefix_shared_share_7d"),
            key,
            "left",
        )
        .join(per("asns_7d", "asn_max_accounts_7d", None), key, "left")
        .fillna(0, ["ip_prefix_max_accounts_7d", "asn_max_accounts_7d"])
    )
