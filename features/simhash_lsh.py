"""Near-duplicate prompt SimHashes across accounts, by banding (LSH), never all pairs.

Pigeonhole: cut the 64 bits into `blocks` blocks; two hashes at Hamming distance <= k differ in
at most k blocks, so at least `blocks - k` blocks are equal. Keying every hash on each choice of
`blocks - k` blocks and joining on the bucket (table and key) therefore finds every pair within
distance k; the candidates are then verified with `bit_count(h1 ^ h2) <= k`. The join is an
equi-join on the bucket (a sort-merge or hash join), so its cost follows the candidates, not all
pairs.

A bucket holding more than `lsh_bucket_cap` distinct hashes is not expanded into pairs (that
would be quadratic): its hashes share the key's ~26 exact bits, which unrelated hashes almost
never do, so the bucket as a whole is one near-duplicate group (a prompt template's family).

`by`: key columns the rows carry beside the hash (e.g. `feature_date`, to search every day of a
range in one pass): buckets, pairs, families and groups are then per value of those keys.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from itertools import combinations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from features.daily_activity import simhash_to_long
from features.params import DEFAULT_PARAMS, FeatureParams


def block_layout(blocks: int) -> list[tuple[int, int]]:
    """(offset, width) of each block over the 64 bits, widths as even as possible."""
    if not 1 <= blocks <= 64:
        raise ValueError(f"blocks must be in 1..64, got {blocks}")
    base, extra = divmod(64, blocks)
    widths = [base + (1 if i < extra else 0) for i in range(blocks)]
    offsets = [sum(widths[:i]) for i in range(blocks)]
    return list(zip(offsets, widths, strict=True))


def key_tables(k: int, blocks: int) -> list[tuple[int, ...]]:
    """The block choices keyed on: every set of `blocks - k` blocks."""
    if not 0 <= k < blocks:
        raise ValueError(f"need 0 <= k < blocks (k={k}, blocks={blocks})")
    return list(combinations(range(blocks), blocks - k))


def lsh_keys(h: Column, k: int, blocks: int) -> Column:
    """array<BIGINT>: the hash's bucket key in each table, the table number packed in.

    One BIGINT per bucket rather than a (table, key) pair: the bucket shuffle, the window
    count and the self-join then sort and compare one long (on a seed week's 7.9 M bucket rows
    the count over one long took 5.7-7.4 s against 12.8-17.7 s over the pair). When the key
    and the table number do not fit 63 bits together, the pair is hashed instead: a collision
    could only add candidates, and every candidate pair is verified by its distance.
    """
    layout = block_layout(blocks)
    tables = key_tables(k, blocks)
    table_bits = max(1, (len(tables) - 1).bit_length())
    keys = []
    for t, chosen in enumerate(tables):
        key, shift = F.lit(0).cast("bigint"), 0
        for j in chosen:
            offset, width = layout[j]
            part = F.shiftrightunsigned(h, offset).bitwiseAND(F.lit((1 << width) - 1))
            key = key.bitwiseOR(F.shiftleft(part, shift))
            shift += width
        if shift + table_bits <= 63:
            keys.append(F.lit(t << shift).cast("bigint").bitwiseOR(key))
        else:
            keys.append(F.xxhash64(F.lit(t), key))
    return F.array(*keys)


def hamming(a: Column, b: Column) -> Column:
    return F.bit_count(a.bitwiseXOR(b))


def near_duplicates(
    hashes: DataFrame,
    params: FeatureParams = DEFAULT_PARAMS,
    keep: Callable[[DataFrame], DataFrame] | None = None,
    by: Sequence[str] = (),
) -> tuple[DataFrame, DataFrame]:
    """Distinct hashes (column `h` BIGINT) -> (pairs, families).

    pairs: (h1, h2) with h1 < h2 and Hamming distance <= k, from buckets within the cap.
    families: (family STRING, h) for the hashes of each over-cap bucket.
    `keep` caches the shared buckets (those of >= 2 hashes), which both outputs read: a seed
    week keys 792,000 hashes into 7.9 M bucket rows, of which 1.56 M share a bucket.
    """
    p = params
    keep = keep or (lambda df: df)
    keyed = hashes.select(
        *by, "h", F.explode(lsh_keys(F.col("h"), p.simhash_k, p.simhash_blocks)).alias("key")
    )
    # One shuffle by key serves both the bucket sizes and the self-join below.
    sized = keep(
        keyed.withColumn("n", F.count(F.lit(1)).over(Window.partitionBy(*by, "key"))).where(
            F.col("n") >= 2
        )
    )
    small = sized.where(F.col("n") <= p.lsh_bucket_cap)
    a, b = small.alias("a"), small.alias("b")
    same = [F.col(f"a.{c}") == F.col(f"b.{c}") for c in (*by, "key")]
    pairs = (
        a.join(b, functools.reduce(lambda x, y: x & y, same) & (F.col("a.h") < F.col("b.h")))
        .where(hamming(F.col("a.h"), F.col("b.h")) <= p.simhash_k)
        .select(*[F.col(f"a.{c}") for c in by], F.col("a.h").alias("h1"), F.col("b.h").alias("h2"))
        .distinct()
    )
    families = sized.where(F.col("n") > p.lsh_bucket_cap).select(
        *by, F.format_string("f%d", "key").alias("family"), "h"
    )
    return pairs, families


def account_hashes(
    sums: DataFrame, column: str = "simhashes_7d", by: Sequence[str] = ()
) -> DataFrame:
    """(*by, account_id, h BIGINT) from the window's sampled hex SimHashes."""
    return (
        sums.select(*by, "account_id", F.explode(column).alias("hex"))
        .select(*by, "account_id", simhash_to_long(F.col("hex")).alias("h"))
        .distinct()
    )


def prompt_groups(
    acc_hashes: DataFrame,
    params: FeatureParams = DEFAULT_PARAMS,
    keep: Callable[[DataFrame], DataFrame] | None = None,
    by: Sequence[str] = (),
) -> tuple[DataFrame, DataFrame]:
    """(account_id, h) -> (star edges, per-account features).

    A group is either the neighbourhood of one hash g (g and every hash within distance k of
    it) or an over-cap bucket family; its members are the accounts that sent one of its hashes.
    edges: (src, dst, kind="prompt_simhash"), every member of a linking group tied to the
    group's smallest member, as `links.star_edges` does for the other kinds (groups of 2 to
    `hub_caps["prompt_simhash"]` accounts; see below for single-hash groups).
    features: account_id, simhash_neardup_accounts_7d, simhash_shared_prompts_7d,
    simhash_shared_share_7d.
    `keep` caches the shared LSH buckets, the near-duplicate pairs and the neighbourhoods,
    which both outputs read (the caller releases them).

    Why edges and not memberships: a seed-scale week has ~180,000 neighbourhoods holding
    9.2 M (group, account) rows; passing them through the generic membership union, size
    count and join cost three shuffles of those rows, while the sizes and smallest members
    come for free from the one shuffle by g that de-duplicates the neighbourhoods.
    """
    p = params
    keep = keep or (lambda df: df)
    by = list(by)
    pairs, families = near_duplicates(acc_hashes.select(*by, "h").distinct(), p, keep, by)
    pairs = keep(pairs)
    neighbours = (
        acc_hashes.select(*by, F.col("h").alias("g"), "h")
        .distinct()
        .unionByName(pairs.select(*by, F.col("h1").alias("g"), F.col("h2").alias("h")))
        .unionByName(pairs.select(*by, F.col("h2").alias("g"), F.col("h1").alias("h")))
        .withColumn("n_hashes", F.count(F.lit(1)).over(Window.partitionBy(*by, "g")))
    )
    by_g = Window.partitionBy(*by, "g")
    # One shuffle by g serves the de-duplication, the group sizes and the smallest members
    # (hash partitioning on g satisfies both the (g, account) aggregate and the g window).
    hood = keep(
        neighbours.join(acc_hashes, [*by, "h"])
        .select(
            *by, "g", "account_id", "n_hashes", (F.col("g") == F.col("h")).cast("int").alias("own")
        )
        .repartition(*by, "g")
        .groupBy(*by, "g", "account_id")
        .agg(F.max("own").alias("own"), F.max("n_hashes").alias("n_hashes"))
        .withColumn("n", F.count(F.lit(1)).over(by_g))
        .withColumn("center", F.min("account_id").over(by_g))
    )
    fam_rows = families.join(acc_hashes, [*by, "h"]).select(*by, "family", "h", "account_id")
    fam_sizes = fam_rows.groupBy(*by, "family").agg(
        F.countDistinct("account_id").alias("n"), F.min("account_id").alias("center")
    )
    fam = fam_rows.join(fam_sizes, [*by, "family"])

    # Per (account, own hash): how many accounts share the hash's group (largest group).
    own_hood = hood.where(F.col("own") == 1).select(*by, "account_id", F.col("g").alias("h"), "n")
    per_hash = (
        own_hood.unionByName(fam.select(*by, "account_id", "h", "n"))
        .groupBy(*by, "account_id", "h")
        .agg((F.max("n") - 1).alias("others"))
    )
    shared = F.sum(F.when(F.col("others") > 0, 1).otherwise(0))
    features = per_hash.groupBy(*by, "account_id").agg(
        F.max("others").cast("int").alias("simhash_neardup_accounts_7d"),
        shared.cast("int").alias("simhash_shared_prompts_7d"),
        (shared / F.count(F.lit(1))).alias("simhash_shared_share_7d"),
    )

    # A group of one exact hash (no paraphrase seen) shared by many accounts is a common
    # prompt ("hi", "test"): it links only up to `prompt_exact_cap` accounts. A group holding
    # several near-duplicate variants is a template being paraphrased and links up to the
    # prompt hub cap; above it, it is a hub (a popular benchmark prompt) and links nobody.
    cap = p.hub_caps.get("prompt_simhash", 0)
    sized = (F.col("n") >= 2) & (F.col("n") <= cap)
    linking = hood.where(sized & ((F.col("n_hashes") >= 2) | (F.col("n") <= p.prompt_exact_cap)))
    edges = (
        linking.select(*by, "account_id", "center")
        .unionByName(fam.where(sized).select(*by, "account_id", "center"))
        .where(F.col("account_id") != F.col("center"))
        .distinct()
        .select(
            *by,
            F.col("account_id").alias("src"),
            F.col("center").alias("dst"),
            F.lit("prompt_simhash").alias("kind"),
        )
    )
    return edges, features
