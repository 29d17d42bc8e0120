"""Risk that flows from accounts already labelled distillation along shared identifiers.

An identifier (payment fingerprint, org, hosted /24 prefix) ties the accounts that hold it. How
much a known-bad holder says about the others depends on how rare the identifier is: a card
shared by 40 fresh accounts of which 20 are banned says a lot about the other 20; an org of
thousands of reseller customers with two bans says little. Each (account, identifier) gets

    evidence = rarity(n) * bad_others / (others + smoothing)

where n is the number of accounts holding the identifier, `bad_others` the labelled ones among
the others, and rarity(n) = max(0, 1 - ln(n) / ln(hub_cap[kind])) falls from 1 for a pair to 0
at the kind's hub cap (the same caps that keep hubs out of the link graph). An account combines
its identifiers as independent evidence (noisy-OR). Labels are those known as of D (decided and
landed by the end of D, not reinstated: `account_profile.known_bad_as_of`), and an account's own
label never counts for itself, so a training row of a positive account before its decision
sees only what was known about its neighbours then.

Pure: memberships and labels in, one row per scored account out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.params import DEFAULT_PARAMS, FeatureParams


def rarity(n: F.Column, kind: F.Column, params: FeatureParams = DEFAULT_PARAMS) -> F.Column:
    """1 - ln(n) / ln(cap of the kind), floored at 0 (0 for a kind without a cap)."""
    caps = F.create_map(
        *[
            x
            for k, v in sorted(params.hub_caps.items())
            for x in (F.lit(k), F.lit(math.log(max(v, 2))))
        ]
    )
    log_cap = F.coalesce(caps[kind], F.lit(0.0))
    return F.when(log_cap > 0, F.greatest(F.lit(0.0), F.lit(1.0) - F.log(n) / log_cap)).otherwise(
        F.lit(0.0)
    )


def propagated_risk(
    members: DataFrame,
    known_bad: DataFrame,
    scored: DataFrame,
    params: FeatureParams = DEFAULT_PARAMS,
    by: Sequence[str] = (),
) -> DataFrame:
    """account_id, known_bad_linked_accounts, propagated_risk for every scored account.

    members: (kind, entity, account_id) over every account that may carry a label (registry
    identifiers of the whole registry as of D, prefixes of the scored accounts);
    known_bad: account_id of the accounts labelled as of D; scored: account_id.
    `known_bad_linked_accounts` sums the labelled others over the account's identifiers that
    are below their hub cap (an account linked twice to one banned account counts it twice:
    two identifiers, two pieces of evidence). `by`: key columns besides the account (the
    feature day of a range) that every input and the output carry.
    """
    p, by = params, list(by)
    key = [*by, "account_id"]
    bad = known_bad.select(*key).distinct().withColumn("_bad", F.lit(1))
    m = (
        members.select(*by, "kind", "entity", "account_id")
        .distinct()
        .join(bad, key, "left")
        .withColumn("_bad", F.coalesce("_bad", F.lit(0)))
    )
    sizes = m.groupBy(*by, "kind", "entity").agg(
        F.count(F.lit(1)).alias("_n"), F.sum("_bad").alias("_b")
    )
    per = m.join(scored.select(*key), key, "left_semi").join(
        sizes.where((F.col("_n") >= 2) & (F.col("_b") > 0)), [*by, "kind", "entity"]
    )
    others_bad = F.col("_b") - F.col("_bad")
    weight = rarity(F.col("_n"), F.col("kind"), p)
    evidence = F.least(
        F.lit(1.0 - 1e-9), weight * others_bad / (F.col("_n") - 1 + F.lit(p.propagation_smoothing))
    )
    linked = F.when(weight > 0, others_bad).otherwise(0)
    agg = per.groupBy(*key).agg(
        F.sum(linked).cast("int").alias("known_bad_linked_accounts"),
        (F.lit(1.0) - F.exp(F.sum(F.log1p(-evidence)))).alias("propagated_risk"),
    )
    return (
        scored.select(*key)
        .join(agg, key, "left")
        .fillna({"known_bad_linked_accounts": 0, "propagated_risk": 0.0})
    )
