"""The feature catalog, the table schema, the docs and the model's inputs agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from features import catalog
from features.tables import ACCOUNT_FEATURES

DOC = Path(__file__).resolve().parent.parent / "docs" / "FEATURES.md"


def test_table_schema_is_the_catalog():
    assert ACCOUNT_FEATURES.columns == [f.name for f in catalog.feature_columns()]
    assert ACCOUNT_FEATURES.partition_by == ("feature_date",)
    assert ACCOUNT_FEATURES.keys == ("account_id", "feature_date")


def test_every_entry_is_complete():
    for f in catalog.feature_columns():
        assert f.family in catalog.FAMILIES, f.name
        assert f.kind in catalog.KINDS, f.name
        assert f.meaning.strip().endswith("."), f.name
        if f.model:
            assert f.dtype in ("INT", "BIGINT", "DOUBLE"), f"{f.name}: model inputs are numbers"
            assert f.reason, f"{f.name}: a model input needs a reason sentence"
        if f.window in ("1d", "7d", "28d"):
            assert f.name.endswith(f"_{f.window}"), f"{f.name}: the name carries its window"


def test_model_features_are_numeric_and_exclude_keys_and_text():
    names = catalog.model_feature_names()
    assert len(names) == len(set(names)) > 80
    for banned in (
        "account_id",
        "feature_date",
        "cluster_id",
        "link_types",
        "signup_channel",
        "tier",
        "billing_country",
        "email_domain_class",
    ):
        assert banned not in names
    assert {
        "requests_7d",
        "simhash_neardup_accounts_7d",
        "cluster_known_bad_others",
        "signup_education",
        "tier_rank",
    } <= set(names)


def test_describe_reads_like_a_reason():
    assert catalog.describe("simhash_neardup_accounts_7d", 212) == (
        "shares near-duplicate prompts with 212 other accounts in 7 days"
    )
    assert catalog.describe("high_cot_share_7d", 0.934) == (
        "asked for step-by-step reasoning in 93% of requests in 7 days"
    )
    assert catalog.describe("requests_28d", 12345) == "sent 12,345 requests in 28 days"
    assert catalog.describe("verified", 0) == "is not verified"
    assert catalog.describe("signup_education", 1) == "signed up through education"
    assert catalog.describe("hour_entropy_7d", None) == "hour entropy 7d unknown"
    with pytest.raises(KeyError):
        catalog.describe("no_such_feature", 1)


def test_docs_are_up_to_date():
    assert DOC.read_text() == catalog.render_markdown(), (
        "docs/FEATURES.md is stale: run `.venv/bin/python -m features.catalog > docs/FEATURES.md`"
    )
    # Negative control: the comparison notices a changed line.
    assert DOC.read_text().replace("requests_7d", "requests_8d") != catalog.render_markdown()


def test_risk_directions_name_model_inputs():
    from features.catalog import RISK_DIRECTION, model_feature_names, risk_direction

    names = model_feature_names()
    assert set(RISK_DIRECTION) <= set(names), set(RISK_DIRECTION) - set(names)
    assert set(RISK_DIRECTION.values()) <= {-1, 1}
    got = risk_direction(["account_age_days", "requests_7d", "high_cot_share_7d"])
    assert got == [-1, 0, 1]
    assert risk_direction(["no_such_feature"]) == [0]
