"""Near-duplicate SimHash search: exact at distance <= k, never an all-pairs join."""

from __future__ import annotations

import random

import pytest

from features.params import FeatureParams
from features.simhash_lsh import (
    block_layout,
    key_tables,
    near_duplicates,
    prompt_groups,
)
from tests.support.frames import assert_frames_equal


def _signed(u: int) -> int:
    return u - (1 << 64) if u >= 1 << 63 else u


def _flip(h: int, bits: list[int]) -> int:
    for b in bits:
        h ^= 1 << b
    return h


def test_block_layout_covers_64_bits_and_keys_follow_pigeonhole():
    layout = block_layout(5)
    assert [w for _, w in layout] == [13, 13, 13, 13, 12]
    assert layout[-1][0] + layout[-1][1] == 64
    assert len(key_tables(3, 5)) == 10  # choose 2 of 5
    assert key_tables(3, 4) == [(0,), (1,), (2,), (3,)]  # classic k+1 bands
    with pytest.raises(ValueError):
        key_tables(5, 5)


@pytest.mark.parametrize("blocks", [4, 5])
def test_pairs_within_k_found_beyond_k_not(spark, blocks):
    rng = random.Random(7)
    base = [rng.getrandbits(64) for _ in range(6)]
    expected, rows = set(), []
    for b in base:
        rows.append(b)
        # One variant per distance 1..6, bits spread over every block (worst case for banding).
        for d in range(1, 7):
            bits = rng.sample(range(64), d)
            v = _flip(b, bits)
            rows.append(v)
            if d <= 3:
                expected.add(tuple(sorted((_signed(b), _signed(v)))))
    # Variants of one base are also near each other when their flips overlap enough; add
    # exactly the truth by brute force over this small set (the test's oracle, not the code's).
    signed = sorted({_signed(x) for x in rows})
    truth = {
        (a, b)
        for i, a in enumerate(signed)
        for b in signed[i + 1 :]
        if bin((a ^ b) & ((1 << 64) - 1)).count("1") <= 3
    }
    assert expected <= truth and len(truth) >= 18  # real content: 3 per base at least
    hashes = spark.createDataFrame([(h,) for h in signed], "h BIGINT")
    pairs, families = near_duplicates(hashes, FeatureParams(simhash_blocks=blocks))
    found = {(r.h1, r.h2) for r in pairs.collect()}
    assert found == truth
    assert families.count() == 0
    # Negative control: k=2 must lose the distance-3 pairs.
    pairs2, _ = near_duplicates(hashes, FeatureParams(simhash_k=2, simhash_blocks=blocks))
    assert {(r.h1, r.h2) for r in pairs2.collect()} < truth


def test_wide_keys_hash_their_bucket_and_still_find_every_pair(spark):
    """k=1 over 20 blocks keys on 60-61 bits, which leaves no room for the table number: the
    bucket is then a hash of table and key, and every pair within k is still found."""
    p = FeatureParams(simhash_k=1, simhash_blocks=20)
    widest_key = 64 - min(w for _, w in block_layout(20))
    assert widest_key + (len(key_tables(1, 20)) - 1).bit_length() > 63  # the hashed branch
    rng = random.Random(13)
    rows = set()
    for _ in range(8):
        b = rng.getrandbits(64)
        rows |= {b, _flip(b, rng.sample(range(64), 1)), _flip(b, rng.sample(range(64), 2))}
    signed = sorted({_signed(x) for x in rows})
    truth = {
        (a, b)
        for i, a in enumerate(signed)
        for b in signed[i + 1 :]
        if bin((a ^ b) & ((1 << 64) - 1)).count("1") <= 1
    }
    assert len(truth) >= 8
    hashes = spark.createDataFrame([(h,) for h in signed], "h BIGINT")
    pairs, _ = near_duplicates(hashes, p)
    assert {(r.h1, r.h2) for r in pairs.collect()} == truth
    # Negative control: k=0 finds none of them (the hashes are distinct).
    pairs0, _ = near_duplicates(hashes, FeatureParams(simhash_k=0, simhash_blocks=20))
    assert pairs0.count() == 0


def test_plan_has_no_all_pairs_join(spark):
    hashes = spark.createDataFrame([(i * 7919,) for i in range(50)], "h BIGINT")
    pairs, _ = near_duplicates(hashes, FeatureParams())
    plan = pairs._jdf.queryExecution().executedPlan().toString()
    assert "CartesianProduct" not in plan and "BroadcastNestedLoopJoin" not in plan
    assert "SortMergeJoin" in plan or "BroadcastHashJoin" in plan or "ShuffledHashJoin" in plan
    # Negative control: a cross join does show up as such in a plan.
    cross = hashes.alias("a").crossJoin(hashes.alias("b"))
    cross_plan = cross._jdf.queryExecution().executedPlan().toString()
    assert "CartesianProduct" in cross_plan or "BroadcastNestedLoopJoin" in cross_plan


def test_over_cap_bucket_becomes_one_family(spark):
    rng = random.Random(3)
    template = rng.getrandbits(64)
    # 30 paraphrases flipping bits only in the top block: they share every key without it.
    variants = {_signed(_flip(template, rng.sample(range(52, 64), 2))) for _ in range(60)}
    hashes = spark.createDataFrame([(h,) for h in variants], "h BIGINT")
    pairs, families = near_duplicates(hashes, FeatureParams(lsh_bucket_cap=10))
    fam = families.collect()
    assert {r.h for r in fam} == variants
    assert len({r.family for r in fam}) >= 1
    # With a large cap the same hashes are verified pair by pair instead.
    pairs_big, fam_big = near_duplicates(hashes, FeatureParams(lsh_bucket_cap=1000))
    assert fam_big.count() == 0 and pairs_big.count() > 0


def test_prompt_groups_count_other_accounts(spark):
    t = 0x0123456789ABCDEF
    near = _flip(t, [0, 30, 60])  # distance 3 from t
    far = _flip(t, [1, 20, 40, 62])  # distance 4 from t
    rows = [
        ("a", _signed(t)),
        ("b", _signed(near)),
        ("c", _signed(t)),
        ("d", _signed(far)),
        ("a", 42),
    ]
    acc = spark.createDataFrame(rows, "account_id STRING, h BIGINT")
    edges, feats = prompt_groups(acc, FeatureParams())
    f = {r.account_id: r for r in feats.collect()}
    assert f["a"].simhash_neardup_accounts_7d == 2  # b (near) and c (same)
    assert f["a"].simhash_shared_prompts_7d == 1 and f["a"].simhash_shared_share_7d == 0.5
    assert f["b"].simhash_neardup_accounts_7d == 2
    # d is at distance 4 from t and 7 from `near`: no near-duplicate
    assert f["d"].simhash_neardup_accounts_7d == 0 and f["d"].simhash_shared_share_7d == 0.0
    # The group of t holds a, b, c: a star on its smallest member; d links to nobody.
    assert {(r.src, r.dst, r.kind) for r in edges.collect()} == {
        ("b", "a", "prompt_simhash"),
        ("c", "a", "prompt_simhash"),
    }


def _oracle_edges(rows: list[tuple[str, int]], p: FeatureParams) -> set[tuple[str, str]]:
    """The prompt star edges by brute force over all hash pairs (the test's oracle)."""
    accounts: dict[int, set[str]] = {}
    for a, h in rows:
        accounts.setdefault(h, set()).add(a)
    hashes = sorted(accounts)
    edges = set()
    for g in hashes:
        near = [h for h in hashes if bin((g ^ h) & ((1 << 64) - 1)).count("1") <= p.simhash_k]
        hood = set().union(*(accounts[h] for h in near))
        cap = p.hub_caps["prompt_simhash"]
        if 2 <= len(hood) <= cap and (len(near) >= 2 or len(hood) <= p.prompt_exact_cap):
            centre = min(hood)
            edges |= {(a, centre) for a in hood if a != centre}
    return edges


def _template_rows(seed: int) -> list[tuple[str, int]]:
    """Templates paraphrased by a few accounts each, one common exact prompt, noise."""
    rng = random.Random(seed)
    rows = []
    for t in range(6):
        base = rng.getrandbits(64)
        for i in range(rng.randint(2, 7)):
            rows.append((f"t{t}_{i:02d}", _signed(_flip(base, rng.sample(range(64), 1)))))
    common = _signed(rng.getrandbits(64))
    rows += [(f"c{i:02d}", common) for i in range(8)]  # "hi": one exact hash, 8 accounts
    rows += [(f"n{i:02d}", _signed(rng.getrandbits(64))) for i in range(20)]
    return rows


def test_prompt_edges_equal_brute_force_stars(spark):
    rows = _template_rows(11)
    acc = spark.createDataFrame(rows, "account_id STRING, h BIGINT")
    p = FeatureParams(
        prompt_exact_cap=5, hub_caps={**FeatureParams().hub_caps, "prompt_simhash": 8}
    )
    edges, _ = prompt_groups(acc, p)
    got = {(r.src, r.dst) for r in edges.collect()}
    truth = _oracle_edges(rows, p)
    assert got == truth and len(truth) >= 10
    assert not any(a.startswith("c") for e in got for a in e)  # 8 > exact cap of 5
    # Negative controls: a larger exact cap links the common prompt's 8 accounts, and a
    # smaller hub cap drops templates, both in the oracle and in the code.
    wide = FeatureParams(prompt_exact_cap=10, hub_caps=p.hub_caps)
    got_wide = {(r.src, r.dst) for r in prompt_groups(acc, wide)[0].collect()}
    assert got_wide != got and got_wide == _oracle_edges(rows, wide)
    narrow = FeatureParams(
        prompt_exact_cap=5, hub_caps={**FeatureParams().hub_caps, "prompt_simhash": 3}
    )
    got_narrow = {(r.src, r.dst) for r in prompt_groups(acc, narrow)[0].collect()}
    assert got_narrow < got and got_narrow == _oracle_edges(rows, narrow)


def test_over_cap_family_links_as_one_group(spark):
    rng = random.Random(5)
    template = rng.getrandbits(64)
    variants = sorted({_signed(_flip(template, rng.sample(range(52, 64), 2))) for _ in range(40)})
    rows = [(f"v{i:02d}", h) for i, h in enumerate(variants)]
    acc = spark.createDataFrame(rows, "account_id STRING, h BIGINT")
    edges, _ = prompt_groups(acc, FeatureParams(lsh_bucket_cap=10))
    got = {(r.src, r.dst) for r in edges.collect()}
    # The family holds every variant: each account ends on one star around the smallest.
    assert {s for s, _ in got} == {a for a, _ in rows} - {"v00"}
    assert {d for _, d in got} == {"v00"}
    # Negative control: a hub cap below the family's size links none of it through the
    # family (pairs within distance k still link, so only the star on v00 disappears).
    capped = FeatureParams(
        lsh_bucket_cap=10, hub_caps={**FeatureParams().hub_caps, "prompt_simhash": 5}
    )
    got_capped = {(r.src, r.dst) for r in prompt_groups(acc, capped)[0].collect()}
    assert not {a for a, _ in rows} - {"v00"} <= {s for s, d in got_capped if d == "v00"}


def test_prompt_groups_cache_what_both_outputs_read(spark):
    """With `keep` the pairs and neighbourhoods are cached once for both outputs, and the
    outputs are the same as without it."""
    t = 0x0123456789ABCDEF
    rows = [
        ("a", _signed(t)),
        ("b", _signed(_flip(t, [0, 30, 60]))),
        ("c", _signed(t)),
        ("d", _signed(_flip(t, [1, 20, 40, 62]))),
    ]
    acc = spark.createDataFrame(rows, "account_id STRING, h BIGINT")
    kept = []

    def keep(df):
        df = df.persist()
        kept.append(df)
        return df

    plain_e, plain_f = prompt_groups(acc, FeatureParams())
    kept_e, kept_f = prompt_groups(acc, FeatureParams(), keep)
    assert len(kept) == 3 and all(df.storageLevel.useMemory for df in kept)
    assert_frames_equal(kept_e, plain_e)
    assert_frames_equal(kept_f, plain_f)
    # Negative control: the comparison sees a difference when there is one.
    with pytest.raises(AssertionError):
        assert_frames_equal(kept_f, plain_f.where("account_id != 'd'"))
    for df in kept:
        df.unpersist()
