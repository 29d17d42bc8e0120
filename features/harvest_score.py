"""A label-free probability that an account belongs to a harvesting campaign.

Before any label exists there is no model, and campaigns start on day 1. What harvesting looks
like needs no label: many accounts sending paraphrases of the same templates, asking for the
model's reasoning, young, spread over networks nobody else uses, working in step. Each term
below maps one feature to [0, 1] evidence (`Term.evidence`); the score is the logistic of a
weighted sum of them:

    harvest_score = 1 / (1 + exp(-(HARVEST_BIAS + sum_i weight_i * evidence_i)))

The weights and the bias were set once, by a logistic regression of the generator's truth on
these terms over the tuning seeds' lakes (docs/MODEL.md, "Label-free scorer"), and rounded;
they are constants of the code, not learned from the lake being scored. A term with a negative
weight is evidence of a legitimate look-alike (an old, verified account, batch pipelines).
The score is a feature of the table (the model may lean on it, never against it: its risk
direction is up) and what `models.label_free` publishes until a model exists.

Pure: columns in, columns out.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F


@dataclass(frozen=True)
class Term:
    feature: str  # a column of the feature table
    weight: float
    # evidence = clip((value - lo) / (hi - lo), 0, 1), with a null value read as `missing`
    lo: float = 0.0
    hi: float = 1.0
    missing: float = 0.0
    log: bool = False  # compare ln(1 + value) instead of the value
    # A share over few requests is noise (one request out of one asking for reasoning reads
    # 100%): with shrink = k, the share becomes (share * requests_7d + k * prior) / (requests_7d
    # + k), the prior being the account's template community's pooled share, else PRIOR_SHARE.
    shrink: float = 0.0

    def value(self) -> Column:
        x = F.col(self.feature).cast("double")
        if self.shrink > 0:
            n = F.coalesce(F.col("requests_7d").cast("double"), F.lit(0.0))
            prior = F.coalesce(
                F.col(COMMUNITY_PRIOR[self.feature]).cast("double"), F.lit(PRIOR_SHARE)
            )
            x = (F.coalesce(x, F.lit(0.0)) * n + F.lit(self.shrink) * prior) / (
                n + F.lit(self.shrink)
            )
        return x

    def evidence(self) -> Column:
        x = self.value()
        if self.log:
            x = F.log1p(F.greatest(x, F.lit(0.0)))
        scaled = (x - F.lit(self.lo)) / F.lit(self.hi - self.lo)
        return F.coalesce(F.least(F.lit(1.0), F.greatest(F.lit(0.0), scaled)), F.lit(self.missing))


# Shares shrunk towards the account's template community's (features.community), else this.
COMMUNITY_PRIOR = {"high_cot_share_7d": "community_high_cot_share_7d"}
PRIOR_SHARE = 0.05

HARVEST_BIAS = -5.6
HARVEST_TERMS: tuple[Term, ...] = (
    Term("scaffold_shared_share_7d", 1.6),
    Term("high_cot_share_7d", 11.8, shrink=5.0),
    Term("reasoning_topic_share_7d", 0.3, lo=0.3, hi=1.0),
    Term("consumer_prefixes_7d", 4.5, lo=1.0, hi=3.0, log=True),
    Term("community_cot_lift_vs_org_7d", 3.0, lo=0.0, hi=0.5),
    Term("account_age_days", -3.6, lo=3.0, hi=6.0, log=True),
    Term("verified", -0.7),
    Term("batch_share_7d", -9.5),
)


def harvest_inputs() -> list[str]:
    """Every column the score reads: the terms' features and what their shrinking reads."""
    extra = (
        ["requests_7d", *COMMUNITY_PRIOR.values()] if any(t.shrink for t in HARVEST_TERMS) else []
    )
    return list(dict.fromkeys([t.feature for t in HARVEST_TERMS] + extra))


def contributions() -> list[Column]:
    """weight * evidence of each term, in HARVEST_TERMS order (the reasons of a score)."""
    return [(F.lit(t.weight) * t.evidence()).alias(f"_c_{t.feature}") for t in HARVEST_TERMS]


def harvest_score() -> Column:
    z = F.lit(HARVEST_BIAS)
    for t in HARVEST_TERMS:
        z = z + F.lit(t.weight) * t.evidence()
    return (F.lit(1.0) / (F.lit(1.0) + F.exp(-z))).alias("harvest_score")
