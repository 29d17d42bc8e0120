"""Training: XGBoost on Spark executors, calibration, band thresholds, validation metrics.

- The classifier is `xgboost.spark.SparkXGBClassifier` (barrier-mode training on the executors,
  `num_workers` <= the free task slots). Regularised for few, late labels and unlabelled
  campaigns: shallow trees, a floor on leaf weight, row and column subsampling, L2 on leaves.
- Determinism: the training rows are hash-partitioned by account into exactly `num_workers`
  partitions and sorted inside each (so XGBoost does not repartition them at random), and every
  seed is fixed. A model trained as of D is the same whether or not later days exist in the lake.
  Across different partitionings (another worker count, a cluster) distributed training is
  not bit-identical: compare such runs by scoring with one registered model instead.
- Calibration: Platt scaling of the margin fitted on the validation rows (held-out accounts and
  later days). Why not isotonic: with tens of positive accounts it overfits into a staircase
  whose ties at the top would erase the ranking analysts rely on; Platt is strictly monotone.
- Bands: margin thresholds for target FPRs among the legitimate validation accounts (account
  level). The validation negatives hold the campaigns nobody labelled yet too; the FPR is
  corrected for them (positive-unlabelled estimate, `models.metrics.threshold_at_pu_fpr`),
  else the thresholds climb over those attackers and the bands flag almost nobody.
- Held-out campaign check: the largest labelled case is dropped from training entirely, a second
  model is trained, and its recall at 1% FPR on that case's accounts is reported: how the model
  fares on a campaign nobody labelled.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from core.errors import PipelineError
from core.settings import settings
from features.catalog import risk_direction
from models import label_free, pu
from models import metrics as ev
from models.scoring import (
    BAND_MIN_PROBABILITY,
    BAND_TARGET_FPR,
    BANDS,
    LABEL_FREE_COLUMN,
    MAX_REASONS,
    Calibration,
    ScoringConfig,
    with_margin,
)

log = logging.getLogger("risk.train")

# Baselines on the same validation rows: first candidate column present in the feature table.
VOLUME_COLUMNS = ("requests_7d", "n_requests_7d")
COT_SHARE_COLUMNS = (
    "high_cot_share_7d",
    "cot_share_7d",
    "cot_request_share_7d",
    "mean_cot_score_7d",
    "cot_score_mean_7d",
)
TOPIC_FOCUS_COLUMNS = ("topic_top_share_7d",)
BASELINE_INPUT_COLUMNS = (*VOLUME_COLUMNS, *COT_SHARE_COLUMNS, *TOPIC_FOCUS_COLUMNS)
MIN_TRAIN_POSITIVE_ACCOUNTS = 3
MIN_VAL_POSITIVE_ACCOUNTS = 2
MIN_TRAIN_NEGATIVE_ACCOUNTS = 10


class NotEnoughLabels(PipelineError):
    """The labels known as of the day do not fill a training and a validation set."""


@dataclass(frozen=True)
class ModelConfig:
    n_estimators: int = 150
    max_depth: int = 3
    learning_rate: float = 0.1
    min_child_weight: float = 2.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 5.0
    max_bin: int = 128
    seed: int = 7
    num_workers: int | None = None  # default: RISK_XGB_WORKERS, else min(task slots, 4)
    heldout_check: bool = True
    top_k: int = ev.DEFAULT_TOP_K
    max_reasons: int = MAX_REASONS
    # Correct the bands' FPR for attackers hidden among the unlabelled (see the module doc);
    # False gives the plain FPR among all unlabelled accounts.
    pu_bands: bool = True
    pu_min_positive: int = ev.PU_MIN_POSITIVE
    # Calibrate to P(attacker), not P(labelled), with the label frequency read on the validation
    # positives, and set the bands on the FPR that calibration implies (models.pu).
    pu_calibration: bool = True
    # Score beside the label-free scorer: the published score is the higher of the model's and
    # the label-free harvest_score, the band the stricter (models.scoring.score_features), so a
    # group that harvests is flagged whether or not its strategy was ever labelled.
    beside_label_free: bool = True
    # Monotone constraints from the catalog's risk directions (features.catalog.RISK_DIRECTION).
    monotone: bool = True

    def xgb_params(self, feature_names: Sequence[str] = ()) -> dict[str, object]:
        params: dict[str, object] = {
            "n_estimators": self.n_estimators,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "reg_lambda": self.reg_lambda,
            "max_bin": self.max_bin,
            "random_state": self.seed,
            "tree_method": "hist",
        }
        directions = risk_direction(list(feature_names)) if self.monotone else []
        if any(directions):
            params["monotone_constraints"] = "(" + ",".join(map(str, directions)) + ")"
        return params

    def as_params(self) -> dict[str, object]:
        return {f"model_{k}": v for k, v in asdict(self).items()}


@dataclass
class TrainResult:
    model: object  # SparkXGBClassifierModel
    config: ScoringConfig
    metrics: dict[str, float]  # flat numbers, ready for MLflow
    details: dict[str, object]  # everything else worth keeping (per day, per cluster, ...)
    report: str
    val_rows: pd.DataFrame  # account_id, feature_date, label, cluster_key, margin, risk_score
    importance: dict[str, float]
    input_example: pd.DataFrame
    params: dict[str, object] = field(default_factory=dict)
    train_seconds: float = 0.0


def task_slots(spark) -> int:
    from xgboost.spark.utils import _get_max_num_concurrent_tasks

    try:
        return max(1, int(_get_max_num_concurrent_tasks(spark.sparkContext)))
    except Exception:  # an API change must not stop training: the parallelism is a safe bound
        return max(1, int(spark.sparkContext.defaultParallelism))


def worker_count(spark, requested: int | None) -> int:
    """XGBoost workers: never more than the free task slots (barrier mode would wait forever)."""
    want = requested or settings().xgb_workers or 4
    return max(1, min(want, task_slots(spark)))


def _estimator(feature_names: Sequence[str], cfg: ModelConfig, workers: int):
    from xgboost.spark import SparkXGBClassifier

    params: dict[str, Any] = cfg.xgb_params(feature_names)  # XGBoost's own names and values
    return SparkXGBClassifier(
        features_col=list(feature_names),
        label_col="label",
        num_workers=workers,
        verbosity=0,
        verbose=False,
        **params,
    )


def fit(train_rows: DataFrame, feature_names: Sequence[str], cfg: ModelConfig):
    """Fit on `train_rows` (label + features + account_id + feature_date), deterministically."""
    spark = train_rows.sparkSession
    workers = worker_count(spark, cfg.num_workers)
    data = (
        train_rows.select("account_id", "feature_date", "label", *feature_names)
        .repartition(workers, "account_id")
        .sortWithinPartitions("feature_date", "account_id")
    )
    return _estimator(feature_names, cfg, workers).fit(data)


def fit_platt(margins: np.ndarray, y: np.ndarray) -> Calibration:
    """Platt scaling (logistic regression of the label on the margin), kept increasing."""
    from sklearn.linear_model import LogisticRegression

    m = np.asarray(margins, dtype=np.float64).reshape(-1, 1)
    y = np.asarray(y)
    if y.min() == y.max():
        return Calibration(1.0, 0.0)
    lr = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000).fit(m, y)
    a, b = float(lr.coef_[0][0]), float(lr.intercept_[0])
    if not a > 1e-6:  # a model no better than chance: keep XGBoost's own probability
        log.warning("calibration slope %.3g <= 0: falling back to the raw probability", a)
        return Calibration(1.0, 0.0)
    return Calibration(a, b)


def band_thresholds(
    neg_margins: np.ndarray,
    pos_margins: np.ndarray | None = None,
    pi: float = 0.0,
    targets: dict[str, float] | None = None,
) -> dict[str, float]:
    """Lowest margin of each band whose (PU-corrected, when pi > 0) FPR stays within target."""
    targets = targets or BAND_TARGET_FPR
    pos = np.asarray(pos_margins if pos_margins is not None else [], dtype=np.float64)
    out = {band: ev.threshold_at_pu_fpr(neg_margins, pos, targets[band], pi) for band in BANDS}
    # Stricter bands never sit below looser ones (they cannot, but ties make it explicit).
    for strict, loose in zip(BANDS, BANDS[1:], strict=False):
        out[strict] = max(out[strict], out[loose])
    return out


def baseline_columns(columns: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The baselines the feature table allows: the volume rule, and the single-account heuristic
    volume x reasoning (cot) share x topic focus (the focus factor when the table has it)."""
    cols = set(columns)
    vol = next((c for c in VOLUME_COLUMNS if c in cols), None)
    cot = next((c for c in COT_SHARE_COLUMNS if c in cols), None)
    focus = next((c for c in TOPIC_FOCUS_COLUMNS if c in cols), None)
    out: dict[str, tuple[str, ...]] = {}
    if vol:
        out["volume"] = (vol,)
        if cot:
            out["heuristic"] = (cot, vol, focus) if focus else (cot, vol)
    return out


def baseline_scores(rows: pd.DataFrame, baselines: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Adds one score column per baseline to `rows`; returns baseline -> column name."""
    out = {}
    for name, cols in baselines.items():
        score = np.ones(len(rows))
        for c in cols:
            score = score * rows[c].astype(np.float64).fillna(0.0).to_numpy()
        rows[f"_baseline_{name}"] = score
        out[name] = f"_baseline_{name}"
    return out


def _split_counts(rows: DataFrame) -> dict[str, dict[str, int]]:
    """Rows and positive accounts per split, in one job."""
    out = {"train": {"rows": 0, "pos": 0, "neg": 0}, "val": {"rows": 0, "pos": 0, "neg": 0}}
    for r in (
        rows.groupBy("split")
        .agg(
            F.count("*").alias("rows"),
            F.countDistinct(F.when(F.col("label") == 1, F.col("account_id"))).alias("pos"),
            F.countDistinct(F.when(F.col("label") == 0, F.col("account_id"))).alias("neg"),
        )
        .collect()
    ):
        out[r["split"]] = {"rows": int(r["rows"]), "pos": int(r["pos"]), "neg": int(r["neg"])}
    return out


def train_model(
    rows: DataFrame,
    feature_names: Sequence[str],
    cfg: ModelConfig | None = None,
    carry: Sequence[str] = (),
    trained_as_of: str | None = None,
    link_col: str | None = None,
) -> TrainResult:
    """Train, calibrate, set bands and evaluate on the rows of `training_set.assemble`.

    `carry`: extra columns of `rows` (baseline inputs, the linked-account cluster id) brought
    along for evaluation only; `link_col` names the cluster id for the held-out check.
    Raises NotEnoughLabels when either side lacks positive accounts, or training negatives.
    """
    cfg = cfg or ModelConfig()
    feature_names = list(feature_names)
    rows = rows.persist()
    try:
        counts = _split_counts(rows)
        n_train_pos, n_val_pos = counts["train"]["pos"], counts["val"]["pos"]
        if n_train_pos < MIN_TRAIN_POSITIVE_ACCOUNTS or n_val_pos < MIN_VAL_POSITIVE_ACCOUNTS:
            raise NotEnoughLabels(
                f"training as of {trained_as_of}: {n_train_pos} positive accounts in the "
                f"training window and {n_val_pos} in validation (need "
                f"{MIN_TRAIN_POSITIVE_ACCOUNTS} and {MIN_VAL_POSITIVE_ACCOUNTS}); wait for more "
                "labels or a longer history"
            )
        if counts["train"]["neg"] < MIN_TRAIN_NEGATIVE_ACCOUNTS:
            raise NotEnoughLabels(
                f"training as of {trained_as_of}: {counts['train']['neg']} negative accounts in "
                f"the training window (need {MIN_TRAIN_NEGATIVE_ACCOUNTS}): unlabelled accounts "
                "younger than SplitConfig.min_negative_age_days are not negatives; on a lake "
                "whose accounts are all new, lower it (0 keeps every unlabelled account)"
            )
        train_rows = rows.where(F.col("split") == "train")
        val_rows = rows.where(F.col("split") == "val")
        start = time.monotonic()
        model = fit(train_rows, feature_names, cfg)
        train_seconds = time.monotonic() - start
        keep = [
            "account_id",
            "feature_date",
            "label",
            "cluster_key",
            *carry,
            *([LABEL_FREE_COLUMN] if LABEL_FREE_COLUMN in rows.columns else []),
        ]
        val = with_margin(val_rows, model).select(*dict.fromkeys(keep), "margin")
        val_pdf = cast(pd.DataFrame, val.toPandas())
        val_pdf = val_pdf.sort_values(["feature_date", "account_id"], kind="mergesort")
        val_pdf = val_pdf.reset_index(drop=True)
        result = _evaluate(model, val_pdf, feature_names, cfg, carry, trained_as_of)
        # The input example: feature columns only (never an id, an IP or an e-mail domain),
        # the validation group's first rows in key order.
        result.input_example = (
            val_rows.orderBy("feature_date", "account_id")
            .select(*feature_names)
            .limit(5)
            .toPandas()
        )
        result.train_seconds = train_seconds
        result.metrics.update(
            {
                "train_seconds": train_seconds,
                "n_train_rows": float(counts["train"]["rows"]),
                "n_train_positive_accounts": float(n_train_pos),
                "n_val_rows": float(counts["val"]["rows"]),
                "n_val_positive_accounts": float(n_val_pos),
            }
        )
        if cfg.heldout_check:
            result.metrics.update(heldout_case_check(rows, feature_names, cfg, result, link_col))
        return result
    finally:
        rows.unpersist()


@dataclass
class Calibrated:
    """What calibration and band setting decided on the validation rows, and why."""

    calibration: Calibration
    bands: dict[str, float]  # band -> lowest margin
    metrics: dict[str, float]


def account_view(val_pdf: pd.DataFrame) -> pd.DataFrame:
    """One row per validation account: its label and its highest margin over the window (and
    highest label-free score, when the rows carry it).

    The bands are judged the way analysts meet them: an account flagged on any day of a window
    counts as flagged, so a threshold is set on each account's highest margin, not one day's.
    """
    aggs = {"label": ("label", "max"), "margin": ("margin", "max")}
    if LABEL_FREE_COLUMN in val_pdf:
        aggs[LABEL_FREE_COLUMN] = (LABEL_FREE_COLUMN, "max")
    return val_pdf.groupby("account_id", sort=True).agg(**aggs).reset_index()


def calibrate(val_pdf: pd.DataFrame, cfg: ModelConfig) -> Calibrated:
    """Calibration to P(attacker | margin) and band thresholds from the validation rows.

    `val_pdf`: account_id, label (labelled as of the training day), margin, and optionally the
    label-free `harvest_score`; one row per account-day. With `cfg.pu_calibration`, the Platt map
    of the labels (P(labelled | margin)) gives the label frequency c over the validation
    positives, which the model never trained on (models.pu); the published calibration is the
    PU logistic, P(attacker | margin); the bands are the lowest margins whose legitimate FPR,
    estimated with P(attacker) of each unlabelled account, stays within target, and never
    below the margin whose P(attacker) is the band's floor (`BAND_MIN_PROBABILITY`). Beside the
    label-free scorer (`cfg.beside_label_free`, rows carrying `harvest_score`), P(attacker) is
    the higher of the two scores and an account the label-free band flags counts as flagged
    whatever its margin, so the model's thresholds spend only what is left of each band's
    budget. Without `pu_calibration`: Platt on the labels, and bands from the bound-based
    correction (`pu_bands`) or the plain FPR among unlabelled accounts.
    """
    margins = val_pdf["margin"].to_numpy(dtype=np.float64)
    y_rows = val_pdf["label"].to_numpy()
    platt = fit_platt(margins, y_rows)
    acc = account_view(val_pdf)
    unl = acc["label"].to_numpy() == 0
    m = acc["margin"].to_numpy(dtype=np.float64)
    neg, pos = m[unl], m[~unl]
    metrics: dict[str, float] = {}
    enough = pos.size >= cfg.pu_min_positive
    if cfg.pu_calibration and enough and y_rows.min() != y_rows.max():
        c = pu.label_frequency(platt.apply_array(margins[y_rows == 1]))
        a, b = pu.fit_pu_logistic(margins, y_rows, c, (platt.a, platt.b))
        calibration = Calibration(a, b, "pu_platt", c)
        beside = cfg.beside_label_free and LABEL_FREE_COLUMN in acc
        lf = (
            acc[LABEL_FREE_COLUMN].fillna(0.0).to_numpy(dtype=np.float64)
            if beside
            else np.zeros_like(m)
        )
        p = np.maximum(calibration.apply_array(m), lf)
        lf_bands = label_free.BAND_SCORES if beside else {}
        bands = {}
        for band in BANDS:
            by_lf = lf >= lf_bands.get(band, math.inf)
            bands[band] = pu.threshold_at_estimated_fpr(
                np.where(by_lf, math.inf, m)[unl], p[unl], BAND_TARGET_FPR[band]
            )
        for band in BANDS:
            bands[band] = max(bands[band], calibration.margin_at(BAND_MIN_PROBABILITY[band]))
        for strict, loose in zip(BANDS, BANDS[1:], strict=False):
            bands[strict] = max(bands[strict], bands[loose])
        metrics["val_label_frequency_est"] = c
        metrics["val_unlabelled_positive_share_est"] = float(p[unl].mean()) if unl.any() else 0.0
        for band in BANDS:
            flagged = ((m >= bands[band]) | (lf >= lf_bands.get(band, math.inf))).astype(float)
            fpr, recall = pu.band_estimates(flagged[unl], p[unl], flagged[~unl], 1.0)
            metrics[f"band_{band}_val_fpr_est"] = fpr
            metrics[f"band_{band}_val_recall_est"] = recall
    else:
        calibration = platt
        pi = ev.unlabelled_positive_share(neg, pos, cfg.pu_min_positive) if cfg.pu_bands else 0.0
        bands = band_thresholds(neg, pos, pi)
        metrics["val_unlabelled_positive_share_est"] = pi
        for band in BANDS:
            metrics[f"band_{band}_val_fpr_est"] = ev.pu_fpr(neg, pos, bands[band], pi)
    for band in BANDS:
        metrics[f"band_{band}_val_fpr"] = ev.realized_fpr(neg, bands[band])
        metrics[f"band_{band}_val_recall"] = float((pos >= bands[band]).mean()) if pos.size else 0
    return Calibrated(calibration, bands, metrics)


def _evaluate(
    model,
    val_pdf: pd.DataFrame,
    feature_names: list[str],
    cfg: ModelConfig,
    carry: Sequence[str],
    trained_as_of: str | None,
) -> TrainResult:
    y_rows = val_pdf["label"].to_numpy()
    decided = calibrate(val_pdf, cfg)
    calibration, bands = decided.calibration, decided.bands
    val_pdf["risk_score"] = calibration.apply_array(val_pdf["margin"].to_numpy())
    band_scores = {
        b: (calibration.apply(t) if math.isfinite(t) else math.inf) for b, t in bands.items()
    }
    beside = (
        dict(label_free.BAND_SCORES)
        if cfg.beside_label_free and LABEL_FREE_COLUMN in val_pdf
        else {}
    )
    config = ScoringConfig(
        tuple(feature_names),
        calibration,
        bands,
        band_scores,
        dict(BAND_TARGET_FPR),
        cfg.max_reasons,
        trained_as_of,
        label_free_bands=beside,
    )
    model_m = ev.scorer_metrics(val_pdf, "margin", cfg.top_k)
    baselines = baseline_columns(list(carry))
    cols = baseline_scores(val_pdf, baselines)
    base_m = {name: ev.scorer_metrics(val_pdf, col, cfg.top_k) for name, col in cols.items()}
    metrics = ev.scalar_metrics(model_m, "val_")
    for name, m in base_m.items():
        metrics.update(ev.scalar_metrics(m, f"{name}_"))
        metrics.update({f"margin_vs_{name}_{k}": v for k, v in ev.margins(model_m, m).items()})
    metrics.update(decided.metrics)
    metrics["calibration_brier"] = float(np.mean((val_pdf["risk_score"] - y_rows) ** 2))
    metrics["calibration_ece"] = ev.expected_calibration_error(y_rows, val_pdf["risk_score"])
    booster = model.get_booster()
    gain = booster.get_score(importance_type="total_gain")
    importance = {
        name: float(gain.get(name, gain.get(f"f{i}", 0.0))) for i, name in enumerate(feature_names)
    }
    details = {
        "model": model_m,
        "baselines": base_m,
        "baseline_columns": baselines,
        "bands": config.to_dict()["band_margins"],
        "calibration": asdict(calibration),
        "val_accounts": int(val_pdf["account_id"].nunique()),
    }
    report = ev.report_text(model_m, base_m, cfg.top_k)
    return TrainResult(model, config, metrics, details, report, val_pdf, importance, pd.DataFrame())


def heldout_case_check(
    rows: DataFrame,
    feature_names: list[str],
    cfg: ModelConfig,
    result: TrainResult,
    link_col: str | None = None,
) -> dict[str, float]:
    """Drop the largest labelled case from training, retrain, report recall on its accounts.

    With `link_col` (the feature table's linked-account `cluster_id`), the held-out group also
    takes every labelled account that shares a linked-account cluster with the case: cases of
    one operator (ban waves of one campaign) go out together, so what is measured is a campaign
    the model has not seen, not another wave of one it has.

    The group's accounts are scored on their latest row (any split); the threshold is the 1% FPR
    threshold of the held-out model on the validation negatives, so it is the same operating
    point as `val_recall_at_1pct_fpr`. For comparison, the full model's recall on the same
    accounts (which it was trained on) is reported too.
    """
    sizes = (
        rows.where("label = 1")
        .groupBy("cluster_key")
        .agg(F.countDistinct("account_id").alias("n"))
        .orderBy(F.desc("n"), "cluster_key")
        .collect()
    )
    if len(sizes) < 2:
        log.info("held-out case check skipped: %d labelled case(s)", len(sizes))
        return {}
    case = sizes[0]["cluster_key"]
    case_accounts = rows.where(F.col("cluster_key") == case).select("account_id").distinct()
    if link_col and link_col in rows.columns:
        links = (
            rows.join(case_accounts, "account_id")
            .where(F.col(link_col).isNotNull())
            .select(link_col)
            .distinct()
        )
        linked = rows.where("label = 1").join(links, link_col).select("account_id")
        case_accounts = case_accounts.unionByName(linked).distinct()
    case_accounts = case_accounts.persist()
    n_case = case_accounts.count()
    rest = rows.join(case_accounts, "account_id", "left_anti")
    train_rest = rest.where(F.col("split") == "train")
    n_rest = train_rest.where("label = 1").select("account_id").distinct().count()
    if n_rest < MIN_TRAIN_POSITIVE_ACCOUNTS:
        case_accounts.unpersist()  # the cache must not outlive the check on this path either
        log.info("held-out case check skipped: too few positives without case %s", case)
        return {}
    model = fit(train_rest, feature_names, cfg)
    probe = (
        rest.where((F.col("split") == "val") & (F.col("label") == 0))
        .withColumn("_case", F.lit(False))
        .unionByName(rows.join(case_accounts, "account_id").withColumn("_case", F.lit(True)))
    )
    scored = cast(
        pd.DataFrame,
        with_margin(probe, model)
        .select("account_id", "feature_date", "_case", "margin")
        .toPandas(),
    )
    neg = ev.last_row_per_account(scored[~scored["_case"]])
    held = ev.last_row_per_account(scored[scored["_case"]])
    thr = ev.threshold_at_fpr(neg["margin"].to_numpy(), ev.FPR_TARGETS["1pct"])
    recall = float((held["margin"] >= thr).mean()) if len(held) else math.nan
    # The full model on the same accounts: latest rows of the case in validation or training.
    full_neg = ev.last_row_per_account(result.val_rows.loc[result.val_rows["label"] == 0])
    full_thr = ev.threshold_at_fpr(full_neg["margin"].to_numpy(), ev.FPR_TARGETS["1pct"])
    full = (
        with_margin(rows.join(case_accounts, "account_id"), result.model)
        .select("account_id", "feature_date", "margin")
        .toPandas()
    )
    full_recall = float((ev.last_row_per_account(full)["margin"] >= full_thr).mean())
    case_accounts.unpersist()
    result.details["heldout_case"] = {
        "case": case,
        "accounts": n_case,
        "recall_at_1pct_fpr": recall,
        "recall_when_trained_on": full_recall,
    }
    log.info(
        "held-out case=%s accounts=%d recall_at_1pct_fpr=%.3f (trained on it: %.3f)",
        case,
        n_case,
        recall,
        full_recall,
    )
    return {
        "heldout_case_accounts": float(n_case),
        "heldout_case_recall_at_1pct_fpr": recall,
        "heldout_case_recall_when_trained_on": full_recall,
    }
