"""Exact values of the cross-account evidence families on tiny hand-made frames: prompt
scaffolds (paraphrase families weighted like IDF), network diversity, template communities
judged as groups, and risk propagated from labelled accounts. Each equality has a negative
control that must fail."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from pyspark.sql import functions as F

from core.enums import TOPICS
from features import community, network_diversity, propagation, template_scaffolds
from features.params import DEFAULT_PARAMS, REASONING_TOPICS

P = DEFAULT_PARAMS
D = dt.date(2026, 5, 20)


def _signed(u: int) -> int:
    return u - (1 << 64) if u >= 1 << 63 else u


def _bits(mask: int) -> list[int]:
    return [b for b in range(64) if (mask >> b) & 1]


def _rows(df, key="account_id"):
    return {r[key]: r.asDict() for r in df.collect()}


# --- prompt scaffolds ---------------------------------------------------------------------------

TEMPLATE = 0x0123456789ABCDEF


def _paraphrases() -> dict[str, int]:
    """Three paraphrases of TEMPLATE that change 9 bits each (pairwise ~18 apart: no radius-3
    near-duplicate search pairs them) but keep every bit of table 0; one paraphrase that
    changes a bit of every table; one unrelated prompt."""
    # A handful of hashes: the tables key on the narrowest width.
    masks = template_scaffolds.table_masks(P.scaffold_tables, P.scaffold_bits_min, P.scaffold_seed)
    outside = [b for b in range(64) if b not in _bits(masks[0] % (1 << 64))]
    inside_all = {b for m in masks for b in _bits(m % (1 << 64))}
    assert len(outside) >= 27 and len(inside_all) == 64
    # One bit of each table's subset that no other paraphrase changes: in every table this
    # paraphrase differs from the template and from the three others.
    used = set(outside[0:27])
    every_table = []
    for m in masks:
        every_table.append(next(b for b in _bits(m % (1 << 64)) if b not in used))

    def flip(bits):
        h = TEMPLATE
        for b in bits:
            h ^= 1 << b
        return _signed(h)

    return {
        "p1": flip(outside[0:9]),
        "p2": flip(outside[9:18]),
        "p3": flip(outside[18:27]),
        "far": flip(sorted(set(every_table))),
        "other": _signed(0xF0E1D2C3B4A59687),
    }


def test_table_masks_are_fixed_nested_subsets():
    masks = template_scaffolds.table_masks(4, 24, 7)
    assert masks == template_scaffolds.table_masks(4, 24, 7)
    assert [bin(m % (1 << 64)).count("1") for m in masks] == [24] * 4
    assert masks != template_scaffolds.table_masks(4, 24, 8)
    wider = template_scaffolds.table_masks(4, 28, 7)
    assert all(m & w == m for m, w in zip(masks, wider, strict=True))  # 24 bits within 28
    with pytest.raises(ValueError):
        template_scaffolds.table_masks(4, 65, 7)


def test_width_grows_with_the_days_prompts(spark):
    df = spark.createDataFrame([(6,), (48_000,), (4_400_000,), (1 << 50,)], "n bigint")
    got = [r[0] for r in df.select(template_scaffolds.width_for(F.col("n"), P)).collect()]
    headroom = P.scaffold_bits_headroom
    assert got == [P.scaffold_bits_min, 16 + headroom, 23 + headroom, P.scaffold_bits_max]


def test_paraphrases_share_their_template_scaffold(spark):
    h = _paraphrases()
    rows = [
        (a, h[k])
        for a, k in (("a1", "p1"), ("a2", "p2"), ("a3", "p3"), ("a4", "far"), ("a5", "other"))
    ]
    # a1 also sends an unrelated prompt: half of its prompts are shared.
    rows.append(("a1", _signed(0x1111111111111111)))
    frame = spark.createDataFrame(rows, "account_id string, h bigint")
    feats, comms = template_scaffolds.scaffolds(frame, P)
    got = _rows(feats)
    n = 5  # accounts with sampled prompts
    idf = math.log(n / 3)
    assert got["a1"]["scaffold_max_accounts_7d"] == 2
    assert got["a1"]["scaffold_shared_share_7d"] == pytest.approx(0.5)
    assert got["a1"]["scaffold_idf_7d"] == pytest.approx(idf / 2)
    for a in ("a2", "a3"):
        assert (got[a]["scaffold_max_accounts_7d"], got[a]["scaffold_shared_share_7d"]) == (2, 1.0)
        assert got[a]["scaffold_idf_7d"] == pytest.approx(idf)
    # Negative controls: a paraphrase touching every table's bits, and an unrelated prompt.
    for a in ("a4", "a5"):
        assert (
            got[a]["scaffold_max_accounts_7d"],
            got[a]["scaffold_shared_share_7d"],
            got[a]["scaffold_idf_7d"],
        ) == (0, 0.0, 0.0)
    c = _rows(comms)
    assert set(c) == {"a1", "a2", "a3"}
    assert len({r["community"] for r in c.values()}) == 1
    assert {r["community_accounts"] for r in c.values()} == {3}


def test_two_accounts_are_not_a_scaffold(spark):
    h = _paraphrases()
    frame = spark.createDataFrame([("a1", h["p1"]), ("a2", h["p2"])], "account_id string, h bigint")
    feats, comms = template_scaffolds.scaffolds(frame, P)
    got = _rows(feats)
    assert got["a1"]["scaffold_max_accounts_7d"] == 1  # the pair is seen ...
    assert got["a1"]["scaffold_shared_share_7d"] == 0.0  # ... but below scaffold_min_accounts
    assert comms.count() == 0


# --- network diversity --------------------------------------------------------------------------


def test_network_diversity(spark):
    rows = [
        ("proxy", 4, ["1.0.0.0/24", "2.0.0.0/24", "3.0.0.0/24", "4.0.0.0/24"], [], [1, 2, 3]),
        ("office", 10, ["5.0.0.0/24", "6.0.0.0/24"], ["5.0.0.0/24"], [9]),
        ("empty", 0, [], [], []),
    ]
    sums = spark.createDataFrame(
        rows,
        "account_id string, requests_7d bigint, "
        "prefixes_7d array<string>, link_prefixes_7d array<string>, "
        "asns_7d array<bigint>",
    )
    got = _rows(network_diversity.network_diversity(sums))
    assert got["proxy"] == {
        "account_id": "proxy",
        "consumer_prefixes_7d": 4,
        "prefixes_per_request_7d": 1.0,
        "consumer_prefix_share_7d": 1.0,
        "asns_per_prefix_7d": 0.75,
    }
    assert got["office"] == {
        "account_id": "office",
        "consumer_prefixes_7d": 1,
        "prefixes_per_request_7d": 0.2,
        "consumer_prefix_share_7d": 0.5,
        "asns_per_prefix_7d": 0.5,
    }
    assert got["empty"]["prefixes_per_request_7d"] is None
    assert got["proxy"] != got["office"]  # negative control: the comparison sees values


# --- template communities -----------------------------------------------------------------------


def _sums(spark, rows):
    """rows: (account_id, requests, high_cot, reasoning)."""
    cols = ["account_id", "requests_7d", "n_high_cot_7d"] + [f"n_topic_{t}_7d" for t in TOPICS]
    data = []
    for a, req, cot, reason in rows:
        topics = [reason if t == REASONING_TOPICS[0] else 0 for t in TOPICS]
        data.append((a, req, cot, *topics))
    return spark.createDataFrame(data, cols)


def test_community_pooled_behaviour_lift_and_sync(spark):
    # Community 1: x1..x3 (x1, x2 inside org R, x3 without an org); org R also has two ordinary
    # customers c1, c2. Community 2 has two accounts only: below scaffold_min_accounts.
    comms = spark.createDataFrame(
        [("x1", 1, 3), ("x2", 1, 3), ("x3", 1, 3), ("y1", 2, 2), ("y2", 2, 2)],
        "account_id string, community bigint, community_accounts int",
    )
    sums = _sums(
        spark,
        [
            ("x1", 10, 8, 10),
            ("x2", 10, 6, 5),
            ("x3", 20, 10, 20),
            ("c1", 30, 3, 0),
            ("c2", 10, 1, 0),
            ("y1", 5, 5, 5),
            ("y2", 5, 5, 5),
        ],
    )
    young = spark.createDataFrame(
        [("x1", 1), ("x2", 0), ("c1", 0)], "account_id string, young int"
    )  # x3: no record = young
    orgs = spark.createDataFrame(
        [("x1", "R"), ("x2", "R"), ("x3", None), ("c1", "R"), ("c2", "R")],
        "account_id string, org_id string",
    )

    def hours(*hs):
        return [1 if h in hs else 0 for h in range(24)]

    recent = spark.createDataFrame(
        [
            ("x1", D, hours(9, 10)),
            ("x2", D, hours(9)),
            ("x3", D, hours(9, 22)),
            # a second landing of x1's day repeats hour 9: still one slot
            ("x1", D, hours(9)),
            ("x1", D - dt.timedelta(days=1), hours(9)),
        ],
        "account_id string, event_date date, hour_counts array<bigint>",
    )
    got = _rows(community.community_features(comms, sums, young, orgs, recent, P))
    assert set(got) == {"x1", "x2", "x3"}  # community 2 is too small
    cot, reason = 24 / 40, 35 / 40
    rest_cot = 4 / 40  # c1 + c2
    for a in ("x1", "x2", "x3"):
        assert got[a]["community_accounts"] == 3
        assert got[a]["community_high_cot_share_7d"] == pytest.approx(cot)
        assert got[a]["community_reasoning_share_7d"] == pytest.approx(reason)
        assert got[a]["community_young_share"] == pytest.approx(2 / 3)
    assert got["x1"]["community_cot_lift_vs_org_7d"] == pytest.approx(cot - rest_cot)
    assert got["x3"]["community_cot_lift_vs_org_7d"] is None  # no org
    # Slots: (D, 9) has all three (2 others each): in step; (D, 10), (D, 22) and (D-1, 9) not.
    assert got["x1"]["community_sync_share_7d"] == pytest.approx(1 / 3)
    assert got["x2"]["community_sync_share_7d"] == pytest.approx(1.0)
    assert got["x3"]["community_sync_share_7d"] == pytest.approx(0.5)
    # Negative control: the whole org inside the community leaves no rest to compare with.
    orgs2 = spark.createDataFrame(
        [("x1", "S"), ("x2", "S"), ("x3", "S")], "account_id string, org_id string"
    )
    got2 = _rows(community.community_features(comms, sums, young, orgs2, recent, P))
    assert got2["x1"]["community_cot_lift_vs_org_7d"] is None
    assert got2["x1"]["community_cot_lift_vs_org_7d"] != got["x1"]["community_cot_lift_vs_org_7d"]


# --- propagation --------------------------------------------------------------------------------


def test_propagation_weights_rare_identifiers(spark):
    # Card K: b1 (banned), b2 (banned), s1 (scored). Org O: 10 accounts, o0 banned, s1 and s2
    # scored. Prefix X on 300 accounts (over its hub cap), one banned: links nothing.
    members = [("payment", "K", a) for a in ("b1", "b2", "s1")]
    members += [("org", "O", f"o{i}") for i in range(8)] + [("org", "O", "s1"), ("org", "O", "s2")]
    members += [("ip_prefix", "X", f"x{i}") for i in range(299)] + [("ip_prefix", "X", "s3")]
    frame = spark.createDataFrame(members, "kind string, entity string, account_id string")
    bad = spark.createDataFrame([("b1",), ("b2",), ("o0",), ("x0",)], "account_id string")
    scored = spark.createDataFrame([("s1",), ("s2",), ("s3",), ("s4",)], "account_id string")
    got = _rows(propagation.propagated_risk(frame, bad, scored, P))

    def rarity(n, kind):
        return max(0.0, 1 - math.log(n) / math.log(P.hub_caps[kind]))

    card = rarity(3, "payment") * 2 / (2 + P.propagation_smoothing)
    org = rarity(10, "org") * 1 / (9 + P.propagation_smoothing)
    assert got["s1"]["propagated_risk"] == pytest.approx(1 - (1 - card) * (1 - org))
    assert got["s1"]["known_bad_linked_accounts"] == 3
    assert got["s2"]["propagated_risk"] == pytest.approx(org)
    assert got["s2"]["known_bad_linked_accounts"] == 1
    # Over the cap and unlinked: nothing.
    assert (got["s3"]["propagated_risk"], got["s3"]["known_bad_linked_accounts"]) == (0.0, 0)
    assert (got["s4"]["propagated_risk"], got["s4"]["known_bad_linked_accounts"]) == (0.0, 0)
    assert got["s1"]["propagated_risk"] > got["s2"]["propagated_risk"] > 0  # card outweighs org


def test_own_label_never_counts(spark):
    frame = spark.createDataFrame(
        [("payment", "K", "b1"), ("payment", "K", "s1")],
        "kind string, entity string, account_id string",
    )
    bad = spark.createDataFrame([("b1",)], "account_id string")
    scored = spark.createDataFrame([("b1",), ("s1",)], "account_id string")
    got = _rows(propagation.propagated_risk(frame, bad, scored, P))
    assert got["b1"]["propagated_risk"] == 0.0  # its only neighbour is clean
    assert got["s1"]["propagated_risk"] > 0.0
    assert got["s1"]["known_bad_linked_accounts"] == 1


def test_rarity_column(spark):
    df = spark.createDataFrame(
        [(2, "payment"), (5000, "payment"), (2, "unknown")], "n int, kind string"
    )
    got = [r[0] for r in df.select(propagation.rarity(F.col("n"), F.col("kind"), P)).collect()]
    assert got[0] == pytest.approx(1 - math.log(2) / math.log(5000))
    assert got[1] == pytest.approx(0.0)
    assert got[2] == 0.0


# --- a range of days in one pass (`by`): each day is its own world ------------------------------


def test_families_keep_the_days_of_a_range_apart(spark):
    h = _paraphrases()
    d1, d2 = D, D + dt.timedelta(days=1)
    # On d1 three accounts share the scaffold; on d2 only a1 and a2 send it (below the minimum).
    rows = [
        (d1, "a1", h["p1"]),
        (d1, "a2", h["p2"]),
        (d1, "a3", h["p3"]),
        (d2, "a1", h["p1"]),
        (d2, "a2", h["p2"]),
        (d2, "a3", h["other"]),
    ]
    frame = spark.createDataFrame(rows, "feature_date date, account_id string, h bigint")
    feats, comms = template_scaffolds.scaffolds(frame, P, by=["feature_date"])
    got = {(r["feature_date"], r["account_id"]): r for r in feats.collect()}
    assert got[(d1, "a1")]["scaffold_shared_share_7d"] == 1.0
    assert got[(d2, "a1")]["scaffold_shared_share_7d"] == 0.0  # control: the days differ
    assert got[(d2, "a1")]["scaffold_max_accounts_7d"] == 1
    assert {(r["feature_date"], r["account_id"]) for r in comms.collect()} == {
        (d1, "a1"),
        (d1, "a2"),
        (d1, "a3"),
    }
    # Propagation: b1 is labelled on d2 only.
    members = spark.createDataFrame(
        [(d, "payment", "K", a) for d in (d1, d2) for a in ("b1", "s1")],
        "feature_date date, kind string, entity string, account_id string",
    )
    bad = spark.createDataFrame([(d2, "b1")], "feature_date date, account_id string")
    scored = spark.createDataFrame([(d1, "s1"), (d2, "s1")], "feature_date date, account_id string")
    prop = {
        r["feature_date"]: r["propagated_risk"]
        for r in propagation.propagated_risk(members, bad, scored, P, by=["feature_date"]).collect()
    }
    assert prop[d1] == 0.0 and prop[d2] > 0.0
