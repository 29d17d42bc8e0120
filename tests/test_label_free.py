"""The label-free scorer: the harvest score's exact value on a tiny frame, its bands and reasons,
and (in tests/test_end_to_end.py) the gold rows it publishes before any model exists."""

from __future__ import annotations

import math

import pytest

from features import harvest_score as hs
from features.catalog import CATALOG
from models import label_free


def _row(**over) -> dict:
    """A feature row with every harvest input at its 'no evidence' value."""
    row = {"account_id": "a"}
    for name in hs.harvest_inputs():  # the terms' features and what their shrinkage reads
        row[name] = None
    row.update(over)
    return row


def _frame(spark, rows: list[dict]):
    cols = ["account_id", *hs.harvest_inputs()]
    schema = ", ".join(["account_id string"] + [f"{c} double" for c in cols[1:]])
    df = spark.createDataFrame([tuple(r[c] for c in cols) for r in rows], schema)
    return df.withColumn("harvest_score", hs.harvest_score())


def _expected(row: dict) -> float:
    z = hs.HARVEST_BIAS
    for t in hs.HARVEST_TERMS:
        v = row.get(t.feature)
        if t.shrink:
            n = row.get("requests_7d") or 0.0
            prior = row.get(hs.COMMUNITY_PRIOR[t.feature])
            prior = hs.PRIOR_SHARE if prior is None else prior
            v = ((v or 0.0) * n + t.shrink * prior) / (n + t.shrink)
        if v is None:
            e = t.missing
        else:
            x = math.log1p(max(v, 0.0)) if t.log else v
            e = min(1.0, max(0.0, (x - t.lo) / (t.hi - t.lo)))
        z += t.weight * e
    return 1 / (1 + math.exp(-z))


def test_terms_are_catalog_features():
    assert all(t.feature in CATALOG and CATALOG[t.feature].model for t in hs.HARVEST_TERMS)
    assert CATALOG["harvest_score"].model


def test_harvest_score_exact(spark):
    group = _row(
        account_id="group",
        scaffold_shared_share_7d=0.9,
        community_high_cot_share_7d=0.8,
        high_cot_share_7d=0.7,
        reasoning_topic_share_7d=0.9,
        community_young_share=1.0,
        consumer_prefixes_7d=30.0,
        account_age_days=2.0,
    )
    old = _row(
        account_id="old",
        high_cot_share_7d=0.7,
        account_age_days=900.0,
        verified=1.0,
        batch_share_7d=0.5,
    )
    blank = _row(account_id="blank")
    got = {
        r["account_id"]: r["harvest_score"] for r in _frame(spark, [group, old, blank]).collect()
    }
    for row in (group, old, blank):
        assert got[row["account_id"]] == pytest.approx(_expected(row), rel=1e-9)
    # An account with no evidence scores the bias plus each shrunk term at its prior.
    prior_z = sum(
        t.weight * min(1.0, max(0.0, (hs.PRIOR_SHARE - t.lo) / (t.hi - t.lo)))
        for t in hs.HARVEST_TERMS
        if t.shrink
    )
    assert got["blank"] == pytest.approx(1 / (1 + math.exp(-hs.HARVEST_BIAS - prior_z)))
    assert got["group"] > got["blank"] > got["old"]
    assert got["group"] != pytest.approx(_expected(old))  # negative control


def test_label_free_bands_reasons_and_marks(spark):
    from core.errors import ModelFeatureMismatch

    handle = label_free.handle()
    assert label_free.is_label_free(handle.version) and not label_free.is_label_free("3")
    group = _row(
        account_id="group",
        scaffold_shared_share_7d=1.0,
        simhash_shared_share_7d=1.0,
        community_high_cot_share_7d=1.0,
        high_cot_share_7d=1.0,
        reasoning_topic_share_7d=1.0,
        community_young_share=1.0,
        consumer_prefixes_7d=30.0,
        community_cot_lift_vs_org_7d=0.5,
        account_age_days=0.0,
    )
    blank = _row(account_id="blank")
    feats = _frame(spark, [group, blank])
    out = {r["account_id"]: r for r in handle.score(feats).collect()}
    assert out["group"]["risk_score"] == pytest.approx(_expected(group))
    expected_band = next(
        (
            b
            for b in ("critical", "high", "medium")
            if _expected(group) >= label_free.BAND_SCORES[b]
        ),
        "low",
    )
    assert out["group"]["risk_band"] == expected_band != "low"
    assert out["blank"]["risk_band"] == "low"
    # Reasons: the largest contributions, in words from the catalog.
    top = max(hs.HARVEST_TERMS, key=lambda t: t.weight)
    assert out["group"]["reasons"][0] == CATALOG[top.feature].reason.format(v="100%")
    assert len(out["group"]["reasons"]) == handle.max_reasons
    assert out["blank"]["reasons"] == []
    with pytest.raises(ModelFeatureMismatch, match="high_cot_share_7d"):
        handle.score(feats.drop("high_cot_share_7d"))


def test_the_label_free_phrase_leads_the_reasons_once(spark):
    """Beside a model that reads harvest_score itself, the model's top reason is the label-free
    phrase: leading with it must not repeat it."""
    from pyspark.sql import functions as F

    from models.scoring import with_lead

    phrase = "looks like a harvesting campaign without any label (90%)"
    df = spark.createDataFrame(
        [([phrase, "asked for reasoning", "young"],), (["asked for reasoning"],)],
        "reasons ARRAY<STRING>",
    )
    got = [r[0] for r in df.select(with_lead(F.lit(phrase), F.col("reasons"), 3)).collect()]
    assert got == [[phrase, "asked for reasoning", "young"], [phrase, "asked for reasoning"]]
    # Negative control: prepending alone repeats the phrase on the first row.
    naive = df.select(F.slice(F.concat(F.array(F.lit(phrase)), "reasons"), 1, 3)).first()[0]
    assert naive == [phrase, phrase, "asked for reasoning"]
