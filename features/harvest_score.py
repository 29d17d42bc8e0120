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

    def evidence(self) -> Column:
        x = F.col(self.feature).cast("double")
        if self.log:
            x = F.log1p(F.greatest(x, F.lit(0.0)))
        scaled = (x - F.lit(self.lo)) / F.lit(self.hi - self.lo)
        return F.coalesce(F.least(F.lit(1.0), F.greatest(F.lit(0.0), scaled)),
                          F.lit(self.missing))


HARVEST_BIAS = -6.0
HARVEST_TERMS: tuple[Term, ...] = (
    Term("scaffold_shared_share_7d", 2.0),
    Term("simhash_shared_share_7d", 1.0),
    Term("community_high_cot_share_7d", 3.0),
    Term("high_cot_share_7d", 2.0),
    Term("reasoning_topic_share_7d", 1.0, lo=0.3, hi=1.0),
    Term("community_young_share", 1.0),
    Term("consumer_prefixes_7d", 1.0, lo=1.0, hi=3.0, log=True),
    Term("community_cot_lift_vs_org_7d", 1.5, lo=0.0, hi=0.5),
    Term("account_age_days", -2.0, lo=3.0, hi=6.0, log=True),
    Term("verified", -1.0),
    Term("batch_share_7d", -1.0),
)


def harvest_inputs() -> list[str]:
    return [t.feature for t in HARVEST_TERMS]


def contributions() -> list[Column]:
    """weight * evidence of each term, in HARVEST_TERMS order (the reasons of a score)."""
    return [(F.lit(t.weight) * t.evidence()).alias(f"_c_{t.feature}") for t in HARVEST_TERMS]


def harvest_score() -> Column:
    z = F.lit(HARVEST_BIAS)
    for t in HARVEST_TERMS:
        z = z + F.lit(t.weight) * t.evidence()
    return (F.lit(1.0) / (F.lit(1.0) + F.exp(-z))).alias("harvest_score")
