"""The cross-account evidence as one feature family of the range pass (`features.assemble`):
prompt scaffolds (`template_scaffolds`), network diversity (`network_diversity`), template
communities judged as groups (`community`) and risk propagated from labels (`propagation`),
every frame keyed by (feature_date, account_id)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features import (
    account_profile,
    community,
    links,
    network_diversity,
    propagation,
    simhash_lsh,
    template_scaffolds,
)
from features.calendar import DAY, KEY

if TYPE_CHECKING:
    from features.assemble import RangeContext

# What a scored account absent from a family's frame takes.
DEFAULTS: dict[str, float] = {
    "scaffold_max_accounts_7d": 0,
    "scaffold_shared_share_7d": 0.0,
    "scaffold_idf_7d": 0.0,
    "community_accounts": 0,
    "known_bad_linked_accounts": 0,
    "propagated_risk": 0.0,
}


def build(ctx: RangeContext) -> DataFrame:
    p, by = ctx.params, [DAY]
    acc_hashes = ctx.keep(simhash_lsh.account_hashes(ctx.sums, by=by))
    scaffold_features, communities = template_scaffolds.scaffolds(acc_hashes, p, by, ctx.keep)
    registry = ctx.registry
    # No registry record counts as young (community.community_features).
    young = registry.select(
        *KEY,
        (F.datediff(F.col(DAY), F.to_date("created_at")) < p.young_account_days)
        .cast("int")
        .alias("young"),
    )
    group = community.community_features(
        ctx.keep(communities), ctx.sums, young, registry.select(*KEY, "org_id"), ctx.recent, p, by
    )
    # Registry identifiers of every account known on the day (a banned account stops sending
    # requests but keeps its card), prefixes of the scored ones.
    members = links.memberships(registry, ctx.sums, p, by)
    bad = account_profile.known_bad_as_of_days(ctx.inputs.enforcement, ctx.days)
    propagated = propagation.propagated_risk(members, bad, ctx.scored, p, by)
    return (
        ctx.scored.select(*KEY)
        .join(scaffold_features, KEY, "left")
        .join(network_diversity.network_diversity(ctx.sums, by), KEY, "left")
        .join(group, KEY, "left")
        .join(propagated, KEY, "left")
    )
