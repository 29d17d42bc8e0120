"""Scoring logic: features -> account_id, risk_score, risk_band, reasons.

Everything scoring needs travels with the registered model (the MLflow model's metadata, also
kept as the run artifact `scoring/scoring.json`): the feature list, the calibration map, the band
thresholds and the model's name and version. `score_features` is a pure DataFrame transform: it
runs on the executors (XGBoost's Spark model, Spark SQL for calibration and bands, a Python UDF
that puts the top SHAP contributors into words through the feature catalog) and writes nothing.

- risk_score: Platt calibration of the model's margin, `1 / (1 + exp(-(a * margin + b)))`,
  fitted on held-out validation accounts; strictly increasing in the margin (a > 0), in (0, 1).
- risk_band: margin thresholds chosen on validation for target false-positive rates among
  legitimate accounts (critical <= 0.1%, high <= 1%, medium <= 5%); compared in margin space,
  exactly as chosen, so that band and score always agree.
- reasons: the features with the largest positive contributions (XGBoost `pred_contribs`, SHAP
  values in margin space; the last value is the bias and is skipped), most important first, at
  most `max_reasons`, each phrased by `features.catalog.describe(name, value)`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType

from core.errors import ModelFeatureMismatch

BANDS = ("critical", "high", "medium")  # from the strictest; everything below is "low"
BAND_TARGET_FPR = {"critical": 0.001, "high": 0.01, "medium": 0.05}
# And the least P(attacker) of each band: a band says both "within its false-positive budget"
# and "at least this likely a campaign", whichever scorer (model or label-free) puts an
# account there.
BAND_MIN_PROBABILITY = {"critical": 0.95, "high": 0.85, "medium": 0.6}
# The label-free score's feature column (features/harvest_score.py).
LABEL_FREE_COLUMN = "harvest_score"
MAX_REASONS = 3
CONFIG_FORMAT = 1
OUTPUT_COLUMNS = ("account_id", "risk_score", "risk_band", "reasons")
_CONTRIB_COL = "_contribs"


@dataclass(frozen=True)
class Calibration:
    """Logistic calibration of the margin: p = 1 / (1 + exp(-(a * margin + b))), a > 0.

    `method` "platt" fits the labels themselves (p = P(labelled)); "pu_platt" fits them under the
    label frequency `label_frequency` = P(labelled | attacker) (models.pu), so p = P(attacker).
    """

    a: float = 1.0
    b: float = 0.0
    method: str = "platt"
    label_frequency: float = 1.0

    def apply(self, margin: float) -> float:
        z = self.a * margin + self.b
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def apply_array(self, margins):
        import numpy as np

        z = self.a * np.asarray(margins, dtype=np.float64) + self.b
        return 1.0 / (1.0 + np.exp(-z))

    def column(self, margin: Column) -> Column:
        return F.lit(1.0) / (F.lit(1.0) + F.exp(-(F.lit(self.a) * margin + F.lit(self.b))))

    def margin_at(self, p: float) -> float:
        """The margin whose calibrated score is p (the inverse of `apply`)."""
        return (math.log(p / (1.0 - p)) - self.b) / self.a


@dataclass(frozen=True)
class ScoringConfig:
    """What a registered model needs to score: stored with it, read back by `load_*`."""

    feature_names: tuple[str, ...]
    calibration: Calibration
    band_margins: dict[str, float]  # band -> lowest margin in the band
    band_scores: dict[str, float] = field(default_factory=dict)  # the same as risk_score
    band_target_fpr: dict[str, float] = field(default_factory=lambda: dict(BAND_TARGET_FPR))
    max_reasons: int = MAX_REASONS
    trained_as_of: str | None = None
    format: int = CONFIG_FORMAT
    # Beside the label-free scorer (models.label_free): when set, the published risk_score is
    # the higher of the model's and the label-free `harvest_score`, and the band the stricter
    # of the model's and these label-free band floors; empty = the model alone.
    label_free_bands: dict[str, float] = field(default_factory=dict)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every feature-table column scoring reads: the model's features and, beside the
        label-free scorer, its score."""
        return self.feature_names + ((LABEL_FREE_COLUMN,) if self.label_free_bands else ())

    def to_dict(self) -> dict:
        out = asdict(self)
        out["feature_names"] = list(self.feature_names)
        # JSON has no infinity: a band no validation negative allows is "+inf" as a string.
        out["band_margins"] = {k: _enc(v) for k, v in self.band_margins.items()}
        out["band_scores"] = {k: _enc(v) for k, v in self.band_scores.items()}
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> ScoringConfig:
        cal = data.get("calibration") or {}
        return cls(
            feature_names=tuple(data["feature_names"]),
            calibration=Calibration(
                float(cal.get("a", 1.0)),
                float(cal.get("b", 0.0)),
                str(cal.get("method", "platt")),
                float(cal.get("label_frequency", 1.0)),
            ),
            band_margins={k: _dec(v) for k, v in (data.get("band_margins") or {}).items()},
            band_scores={k: _dec(v) for k, v in (data.get("band_scores") or {}).items()},
            band_target_fpr=dict(data.get("band_target_fpr") or BAND_TARGET_FPR),
            max_reasons=int(data.get("max_reasons", MAX_REASONS)),
            trained_as_of=data.get("trained_as_of"),
            format=int(data.get("format", CONFIG_FORMAT)),
            label_free_bands={k: float(v) for k, v in (data.get("label_free_bands") or {}).items()},
        )


def _enc(v: float) -> float | str:
    return v if math.isfinite(v) else ("+inf" if v > 0 else "-inf")


def _dec(v: float | str) -> float:
    return float(v.replace("+", "")) if isinstance(v, str) else float(v)


@dataclass
class ModelHandle:
    """A loaded model version: the Spark model plus its scoring config."""

    name: str
    version: str
    model: object  # xgboost.spark.SparkXGBClassifierModel
    config: ScoringConfig
    run_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return list(self.config.feature_names)

    def score(
        self,
        features_df: DataFrame,
        describe: Callable[[str, float], str] | None = None,
        keys: Sequence[str] = ("account_id",),
    ) -> DataFrame:
        """*keys, risk_score, risk_band, reasons (`score_features` with this model)."""
        return score_features(features_df, self, describe, keys)


# --- the catalog (features/catalog.py), reached through one indirection tests can replace ------


def catalog_feature_names() -> list[str]:
    """The numeric model inputs of the feature catalog."""
    from features.catalog import model_feature_names

    return list(model_feature_names())


def catalog_describe() -> Callable[[str, float], str]:
    """`describe(name, value) -> phrase` of the feature catalog."""
    from features.catalog import describe

    return describe


# --- transforms -----------------------------------------------------------------------------------


def check_features(
    columns: Sequence[str],
    handle: ModelHandle,
    table: str = "feature table",
) -> None:
    """ModelFeatureMismatch naming every model feature the frame lacks (before any write)."""
    missing = [n for n in handle.config.inputs if n not in set(columns)]
    if missing:
        raise ModelFeatureMismatch(
            f"model {handle.name} v{handle.version} needs features missing from the {table}: "
            f"{', '.join(missing)}; rebuild features with the current catalog or retrain "
            f"(`riskctl train --as-of D --promote`)"
        )


def margin_column(raw_prediction: str = "rawPrediction") -> Column:
    """The positive class's margin (log-odds) from XGBoost's rawPrediction vector."""
    from pyspark.ml.functions import vector_to_array

    return vector_to_array(F.col(raw_prediction))[1]


def band_column(margin: Column, band_margins: dict[str, float]) -> Column:
    expr = F.lit("low")
    for band in reversed(BANDS):  # build from the loosest so the strictest test comes first
        t = band_margins.get(band, math.inf)
        if math.isfinite(t):
            expr = F.when(margin >= F.lit(t), F.lit(band)).otherwise(expr)
    return expr


def stricter_band(a: Column, b: Column) -> Column:
    """The stricter of two band columns."""
    rank = F.create_map(
        *[x for i, band in enumerate(("low", *reversed(BANDS))) for x in (F.lit(band), F.lit(i))]
    )
    return F.when(rank[a] >= rank[b], a).otherwise(b)


def with_margin(df: DataFrame, model, contributions: bool = False) -> DataFrame:
    """`df` plus `margin` (and `_contribs`, the SHAP vector incl. bias) from the Spark model."""
    m = model.copy()
    m.set(m.pred_contrib_col, _CONTRIB_COL if contributions else "")
    out = m.transform(df).withColumn("margin", margin_column())
    if contributions:
        # Binary classifiers return one group: [[c_1, ..., c_n, bias]].
        out = out.withColumn(_CONTRIB_COL, F.col(_CONTRIB_COL)[0])
    return out.drop("rawPrediction", "probability", "prediction")


def reasons_udf(
    feature_names: Sequence[str], max_reasons: int, describe: Callable[[str, float], str]
):
    """A UDF (contributions, feature values) -> the top positive contributors in words."""
    names = list(feature_names)
    n = len(names)

    def _reasons(contribs, values):
        if contribs is None:
            return []
        c = list(contribs)[:n]  # the last value is the bias: not a reason
        order = sorted(
            (i for i in range(n) if c[i] is not None and c[i] > 0), key=lambda i: (-c[i], names[i])
        )[:max_reasons]
        words = []
        for i in order:
            x = values[i] if values is not None else None
            words.append(str(describe(names[i], float("nan") if x is None else float(x))))
        return words

    return F.udf(_reasons, ArrayType(StringType()), useArrow=True)


def score_features(
    features_df: DataFrame,
    model_handle: ModelHandle,
    describe: Callable[[str, float], str] | None = None,
    keys: Sequence[str] = ("account_id",),
) -> DataFrame:
    """*keys (default account_id), risk_score double, risk_band string, reasons array<string>.

    Raises ModelFeatureMismatch (before anything runs) when the frame lacks a model feature.
    Extra columns of `features_df` are ignored. Beside the label-free scorer
    (`ScoringConfig.label_free_bands`), the score is the higher of the model's probability and
    `harvest_score`, the band the stricter of the two, and when the label-free score is the
    higher one its own phrase leads the reasons.
    """
    handle = model_handle
    check_features(features_df.columns, handle)
    cfg = handle.config
    names = handle.feature_names
    describe = describe or catalog_describe()
    extra = [F.col(LABEL_FREE_COLUMN).cast("double").alias("_lf")] if cfg.label_free_bands else []
    df = features_df.select(*keys, *[F.col(n).cast("double").alias(n) for n in names], *extra)
    scored = with_margin(df, handle.model, contributions=True)
    reasons = reasons_udf(names, cfg.max_reasons, describe)(
        F.col(_CONTRIB_COL), F.array(*[F.col(n) for n in names])
    )
    score = cfg.calibration.column(F.col("margin")).cast("double")
    band = band_column(F.col("margin"), cfg.band_margins)
    if cfg.label_free_bands:
        lf = F.coalesce(F.col("_lf"), F.lit(0.0))
        lead = _lead_reason_udf(describe)(lf)
        reasons = F.when(lf > score, with_lead(lead, reasons, cfg.max_reasons)).otherwise(reasons)
        band = stricter_band(band, band_column(lf, cfg.label_free_bands))
        score = F.greatest(score, lf)
    return scored.select(
        *keys, score.alias("risk_score"), band.alias("risk_band"), reasons.alias("reasons")
    )


def with_lead(lead: Column, reasons: Column, max_reasons: int) -> Column:
    """The label-free scorer's phrase first, then the model's reasons without it: the model
    reads `harvest_score` as a feature too, and its own top reason is then the same phrase
    (gold rows said "looks like a harvesting campaign without any label (90%)" twice)."""
    return F.slice(F.array_distinct(F.concat(F.array(lead), reasons)), 1, max_reasons)


def _lead_reason_udf(describe: Callable[[str, float], str]):
    def lead(value):
        return str(describe(LABEL_FREE_COLUMN, float(value)))

    return F.udf(lead, StringType(), useArrow=True)


# --- loading (MLflow lives in models.model_registry; these are the names scoring callers use)


def load_champion(lake: str) -> ModelHandle:
    """The model holding the `champion` alias; NoChampion when there is none."""
    from models.model_registry import load_champion as _load

    return _load(lake)


def load_version(lake: str, version: str) -> ModelHandle:
    """A given version of the registered model."""
    from models.model_registry import load_version as _load

    return _load(lake, version)
