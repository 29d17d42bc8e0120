"""The label-free scorer: what the gold tables publish before the first model exists.

Campaigns start before anyone labels them, and the first model needs weeks of labels. Until a
champion exists, `jobs.score` scores the day with this scorer: its `risk_score` is the feature
`harvest_score` (features/harvest_score.py: a fixed logistic of group-level harvesting evidence,
a probability of belonging to a campaign, as the model's score is), its bands are probability
thresholds set high enough that legitimate look-alikes (evaluation labs, batch pipelines,
classes, resellers) stay below them, and its reasons are the terms that pushed the score up. The
gold rows say who scored them: model_name `LABEL_FREE_NAME`, model_version `LABEL_FREE_VERSION`
(bumped whenever the terms or the bands change), so a re-run of such a day uses it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from core.errors import ModelFeatureMismatch
from features import harvest_score as hs
from models.scoring import (
    BAND_MIN_PROBABILITY,
    BANDS,
    MAX_REASONS,
    catalog_describe,
    reasons_udf,
)

LABEL_FREE_NAME = "label_free_harvest"
LABEL_FREE_VERSION = "label-free-1"
SCORE_COLUMN = "harvest_score"
# Lowest harvest_score of each band: the bands' probability floors.
BAND_SCORES = dict(BAND_MIN_PROBABILITY)


def is_label_free(version: str | None) -> bool:
    return bool(version) and str(version).startswith("label-free")


@dataclass
class LabelFreeHandle:
    """Scores like a registered model's handle does (`score`), with no model behind it."""

    name: str = LABEL_FREE_NAME
    version: str = LABEL_FREE_VERSION
    band_scores: dict[str, float] = field(default_factory=lambda: dict(BAND_SCORES))
    max_reasons: int = MAX_REASONS

    @property
    def feature_names(self) -> list[str]:
        return [SCORE_COLUMN, *hs.harvest_inputs()]

    def score(
        self,
        features_df: DataFrame,
        describe: Callable[[str, float], str] | None = None,
        keys: Sequence[str] = ("account_id",),
    ) -> DataFrame:
        """*keys (default account_id), risk_score, risk_band, reasons."""
        missing = [c for c in self.feature_names if c not in features_df.columns]
        if missing:
            raise ModelFeatureMismatch(
                f"the label-free scorer needs features missing from the feature table: "
                f"{', '.join(missing)}; rebuild features with the current catalog"
            )
        names = [t.feature for t in hs.HARVEST_TERMS]
        # A term whose feature is unknown still contributes through its prior (shrinkage), but
        # says nothing about this account: it is never a reason.
        known = [
            F.when(F.col(t.feature).isNotNull(), c)
            for t, c in zip(hs.HARVEST_TERMS, hs.contributions(), strict=True)
        ]
        reasons = reasons_udf(names, self.max_reasons, describe or catalog_describe())(
            F.array(*known), F.array(*[F.col(n).cast("double") for n in names])
        )
        score = F.col(SCORE_COLUMN).cast("double")
        return features_df.select(
            *keys,
            score.alias("risk_score"),
            band_of(score, self.band_scores).alias("risk_band"),
            reasons.alias("reasons"),
        )


def band_of(score, band_scores: dict[str, float]):
    expr = F.lit("low")
    for band in reversed(BANDS):  # from the loosest, so the strictest test comes first
        expr = F.when(score >= F.lit(band_scores[band]), F.lit(band)).otherwise(expr)
    return expr


def handle() -> LabelFreeHandle:
    return LabelFreeHandle()
