"""Prompt scaffolds shared across accounts: paraphrase families, weighted like IDF.

`simhash_lsh` finds prompts within a few bits of each other (filled-in templates). A paraphrase
moves more bits: two paraphrases of one template can differ in a dozen bits while each still
keeps most bits of the template. So instead of verifying pairs, each prompt SimHash is keyed in
`scaffold_tables` tables on a fixed random subset of its bits (bit-sampling LSH): a prompt
whose changed bits all fall outside a table's subset lands in the template's own bucket of that
table. Such a bucket, the *scaffold*, collects the template's paraphrases across every account
using it; an unrelated prompt shares it only by chance. The subsets are as wide as the day's
distinct prompts require for buckets to outnumber them ~32 to 1 (`width_for`): fewer bits keep
more paraphrases in their template's bucket, more bits keep unrelated prompts apart at seed
scale. No pair is ever formed: the cost is one count per bucket.

Per account, over its sampled prompts of the 7 days (`simhashes_7d`), each prompt takes the
scaffold shared by most accounts among its tables:
- `scaffold_max_accounts_7d`: most other accounts sharing one of its scaffolds;
- `scaffold_shared_share_7d`: share of its prompts whose scaffold at least
  `scaffold_min_accounts` accounts share;
- `scaffold_idf_7d`: the mean, over its prompts, of ln(N / df) for shared scaffolds (0 for the
  others), N the accounts with sampled prompts and df the scaffold's accounts: co-use weighted
  like IDF, so that a scaffold everybody sends ("hi", a famous benchmark item) counts for
  little and one that a group of accounts sends and nobody else counts for much.
The account's *template community* is its main scaffold: the one shared by most accounts
(ties: the smallest key), when shared by at least `scaffold_min_accounts`.

Pure: (account_id, h) rows in, per-account rows out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from features.params import DEFAULT_PARAMS, FeatureParams


def table_masks(tables: int, bits: int, seed: int) -> list[int]:
    """The bit subset of each table as a 64-bit mask (signed, as Spark's BIGINT holds it): the
    first `bits` positions of a fixed random order of the 64 bits per table, so a table's
    subset for fewer bits is part of its subset for more."""
    if not 1 <= bits <= 64 or tables < 1:
        raise ValueError(f"need 1 <= bits <= 64 and tables >= 1 (bits={bits}, tables={tables})")
    rng = np.random.default_rng(seed)
    masks = []
    for _ in range(tables):
        m = 0
        for b in rng.permutation(64)[:bits]:
            m |= 1 << int(b)
        masks.append(m - (1 << 64) if m >= 1 << 63 else m)
    return masks


def width_for(n_hashes: Column, params: FeatureParams = DEFAULT_PARAMS) -> Column:
    """Bits a table keys on for `n_hashes` distinct prompts: ceil(log2 n) + headroom, so that an
    unrelated prompt shares its bucket with fewer than 2^-headroom others on average whatever
    the scale, within [scaffold_bits_min, scaffold_bits_max]."""
    p = params
    log2 = F.ceil(F.log2(F.greatest(n_hashes, F.lit(2)).cast("double")))
    return F.least(
        F.lit(p.scaffold_bits_max),
        F.greatest(F.lit(p.scaffold_bits_min), log2 + F.lit(p.scaffold_bits_headroom)),
    ).cast("int")


def scaffold_keys(h: Column, width: Column, params: FeatureParams = DEFAULT_PARAMS) -> Column:
    """array<BIGINT>: the hash's bucket in each table on `width` of its bits (the table number
    and the width hashed in with the kept bits)."""
    p = params
    lo, hi = p.scaffold_bits_min, p.scaffold_bits_max
    by_width = [table_masks(p.scaffold_tables, b, p.scaffold_seed) for b in range(lo, hi + 1)]
    keys = []
    for t in range(p.scaffold_tables):
        mask = F.element_at(
            F.array(*[F.lit(m[t]).cast("bigint") for m in by_width]), width - F.lit(lo - 1)
        )
        keys.append(F.xxhash64(F.lit(t), width, h.bitwiseAND(mask)))
    return F.array(*keys)


def scaffolds(
    acc_hashes: DataFrame,
    params: FeatureParams = DEFAULT_PARAMS,
    by: Sequence[str] = (),
    keep: Callable[[DataFrame], DataFrame] | None = None,
) -> tuple[DataFrame, DataFrame]:
    """(account_id, h BIGINT) -> (per-account features, template communities).

    `by`: columns that split the rows into independent groups (the feature day of a range
    computed in one pass); every output carries them.

    features: account_id, scaffold_max_accounts_7d, scaffold_shared_share_7d, scaffold_idf_7d
    (accounts with at least one hash).
    communities: account_id, community (BIGINT scaffold key), community_accounts, for the
    accounts whose main scaffold is shared by at least `scaffold_min_accounts` accounts.
    `keep` caches each (account, hash)'s best bucket, which both outputs read: without it the
    16-table explode, its bucket counts and the join back ran twice (a quarter of a small
    lake's feature pass).
    """
    p, by = params, list(by)
    keep = keep or (lambda df: df)
    rows = acc_hashes.select(*by, "account_id", "h").distinct()
    sizes = rows.groupBy(*by).agg(
        F.countDistinct("account_id").alias("_n"), F.countDistinct("h").alias("_h")
    )
    with_width = rows.join(F.broadcast(sizes), by) if by else rows.crossJoin(F.broadcast(sizes))
    keyed = with_width.select(
        *by,
        "account_id",
        "h",
        "_n",
        F.explode(scaffold_keys(F.col("h"), width_for(F.col("_h"), p), p)).alias("key"),
    )
    # Accounts per bucket: one account sending two paraphrases into one bucket counts once.
    df = (
        keyed.select(*by, "account_id", "key")
        .distinct()
        .groupBy(*by, "key")
        .agg(F.count(F.lit(1)).alias("df"))
    )
    # Each (account, hash): its most shared bucket, ties to the smallest key.
    best = keep(
        keyed.join(df, [*by, "key"])
        .groupBy(*by, "account_id", "h")
        .agg(
            F.max(F.struct("df", (-F.col("key")).alias("neg_key"))).alias("b"),
            F.first("_n").alias("_n"),
        )
        .select(
            *by,
            "account_id",
            "h",
            "_n",
            F.col("b.df").alias("df"),
            (-F.col("b.neg_key")).alias("key"),
        )
    )
    shared = F.col("df") >= F.lit(p.scaffold_min_accounts)
    idf = F.when(shared, F.log(F.col("_n") / F.col("df"))).otherwise(F.lit(0.0))
    features = best.groupBy(*by, "account_id").agg(
        (F.max("df") - 1).cast("int").alias("scaffold_max_accounts_7d"),
        F.avg(shared.cast("double")).alias("scaffold_shared_share_7d"),
        F.avg(idf).alias("scaffold_idf_7d"),
    )
    by_account = Window.partitionBy(*by, "account_id").orderBy(F.desc("df"), "key")
    communities = (
        best.where(shared)
        .withColumn("_r", F.row_number().over(by_account))
        .where(F.col("_r") == 1)
        .select(*by, "account_id", F.col("key").alias("community"))
    )
    sizes = communities.groupBy(*by, "community").agg(
        F.count(F.lit(1)).cast("int").alias("community_accounts")
    )
    return features, communities.join(sizes, [*by, "community"])
