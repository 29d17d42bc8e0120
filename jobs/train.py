"""Train, promote and roll back the account-risk model; apply the retraining policy.

Thin: reads the feature table and the enforcement labels as of a day, calls `models.*`, and
talks to MLflow through `models.model_registry`. Every input is filtered as of the day and read at a
fixed Delta version (logged as lineage), so a model trained as of D does not depend on what has
landed since.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time

from core import delta_io, tables
from core.errors import ModelFeatureMismatch, PipelineError
from core.spark import get_spark

log = logging.getLogger("risk.train")

FEATURES_TABLE = "account_features_daily"
FEATURES_PATH = "features/account_features_daily"  # until the registry names the table
LINK_COLUMN = "cluster_id"  # linked-account cluster: groups cases of one operator (held-out check)


def features_uri(lake: str) -> str:
    table = tables.TABLES.get(FEATURES_TABLE)
    return table.uri(lake) if table is not None else f"{lake.rstrip('/')}/{FEATURES_PATH}"


def _read_pinned(spark, uri: str, what: str, command: str):
    """(DataFrame at the table's current version, that version): one snapshot for the run."""
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, uri):
        raise PipelineError(
            f"{what} table {uri} does not exist yet: build it first "
            f"(`riskctl run` or `riskctl {command}`)"
        )
    version = DeltaTable.forPath(spark, uri).history(1).select("version").first()[0]
    return spark.read.format("delta").option("versionAsOf", version).load(uri), int(version)


def load_inputs(spark, lake: str, as_of: dt.date) -> dict:
    """Features (feature_date <= as_of) and enforcement rows, each at a pinned Delta version."""
    from pyspark.sql import functions as F

    furi = features_uri(lake)
    feats, fver = _read_pinned(spark, furi, "feature", "features")
    feats = feats.where(F.col("feature_date") <= F.lit(as_of))
    euri = tables.SILVER_ENFORCEMENT.uri(lake)
    enf, ever = _read_pinned(spark, euri, "enforcement", "ingest")
    return {
        "features": feats,
        "features_uri": furi,
        "features_version": fver,
        "enforcement": enf,
        "enforcement_uri": euri,
        "enforcement_version": ever,
    }


def _model_features(columns: list[str], feature_names: list[str] | None) -> list[str]:
    from models.scoring import catalog_feature_names

    names = list(feature_names) if feature_names else catalog_feature_names()
    missing = [n for n in names if n not in columns]
    if missing:
        raise ModelFeatureMismatch(
            f"the feature table lacks catalog features {', '.join(missing)}: rebuild features "
            "(`riskctl features`) before training"
        )
    return names


def _build_rows(inputs: dict, as_of: dt.date, split, feature_names: list[str] | None):
    from pyspark.sql import functions as F

    from models import labels as lb
    from models import training_set as ts
    from models.training import BASELINE_INPUT_COLUMNS, NotEnoughLabels

    feats = inputs["features"]
    names = _model_features(feats.columns, feature_names)
    first = feats.agg(F.min("feature_date")).first()[0]
    if first is None:
        raise NotEnoughLabels(f"no feature rows on or before {as_of}: nothing to train on")
    try:
        bounds = ts.split_bounds(as_of, first, split)
    except ts.EmptySplit as exc:
        raise NotEnoughLabels(f"training as of {as_of}: {exc}") from None
    labels = lb.labels_as_of(inputs["enforcement"], as_of)
    carry = [c for c in (*BASELINE_INPUT_COLUMNS, LINK_COLUMN) if c in feats.columns]
    rows = ts.assemble(feats, labels, bounds, names, split, carry)
    return rows, names, carry, bounds


def _extended_count(inputs: dict, as_of: dt.date, split, bounds) -> int:
    """Unlabelled accounts the training set took as positives by label extension."""
    from models import labels as lb
    from models import training_set as ts

    extended = ts.extended_positives(
        inputs["features"], lb.labels_as_of(inputs["enforcement"], as_of), bounds, split
    )
    return 0 if extended is None else extended.count()


def train(
    lake: str,
    as_of: dt.date,
    promote: bool = False,
    *,
    split=None,
    model_config=None,
    feature_names: list[str] | None = None,
    reason: str = "manual",
) -> dict:
    """Train a model as of `as_of`, log it to MLflow, register it as `challenger`.

    With `promote`, it becomes `champion` when there is none or when it beats the champion on
    the same (its own, most recent) validation window, and that window has enough positive
    accounts (models.policy.should_promote). Returns what happened, as a dict.
    """
    from models import model_registry
    from models import training_set as ts
    from models.training import ModelConfig, train_model

    start = time.monotonic()
    split = split or ts.SplitConfig()
    model_config = model_config or ModelConfig()
    spark = get_spark()
    inputs = load_inputs(spark, lake, as_of)
    rows, names, carry, bounds = _build_rows(inputs, as_of, split, feature_names)
    result = train_model(
        rows,
        names,
        model_config,
        carry,
        trained_as_of=as_of.isoformat(),
        link_col=LINK_COLUMN if LINK_COLUMN in carry else None,
    )
    result.metrics["n_extended_positive_accounts"] = float(
        _extended_count(inputs, as_of, split, bounds)
    )
    lineage = {
        "feature_table_path": inputs["features_uri"],
        "feature_table_version": inputs["features_version"],
        "enforcement_table_path": inputs["enforcement_uri"],
        "enforcement_table_version": inputs["enforcement_version"],
        "label_cutoff": as_of.isoformat(),
        "as_of": as_of.isoformat(),
        "n_features": len(names),
    }
    params = {
        **split.as_params(),
        **model_config.as_params(),
        **bounds.as_params(),
        "feature_names": names,
        "baseline_inputs": carry,
    }
    tags = {
        "trained_as_of": as_of.isoformat(),
        "label_cutoff": as_of.isoformat(),
        "trained_by": reason,
    }
    dataset = _dataset(inputs, as_of)
    reg = model_registry.log_and_register(lake, result, params, tags, lineage, dataset)
    out = {
        "model_name": reg["model_name"],
        "version": reg["version"],
        "run_id": reg["run_id"],
        "as_of": as_of.isoformat(),
        "trained": True,
        "reused": False,
        "promoted": False,
        "metrics": {k: result.metrics[k] for k in sorted(result.metrics)},
        "report": result.report,
    }
    print(f"trained {reg['model_name']} v{reg['version']} as of {as_of} (challenger)")
    print(result.report)
    if promote:
        out.update(
            _gate_and_promote(
                lake,
                reg["version"],
                result.metrics.get("val_ap"),
                result.val_rows,
                inputs["features"],
                reason,
            )
        )
    log.info(
        "train as_of=%s model=%s version=%s promoted=%s val_ap=%.4f "
        "val_recall_at_1pct_fpr=%.4f secs=%.1f",
        as_of,
        reg["model_name"],
        reg["version"],
        out["promoted"],
        result.metrics.get("val_ap", math.nan),
        result.metrics.get("val_recall_at_1pct_fpr", math.nan),
        time.monotonic() - start,
    )
    return out


def _dataset(inputs: dict, as_of: dt.date):
    """MLflow dataset lineage: the feature table's Delta path and version (metadata only: no
    Spark job to profile it; None when MLflow cannot describe it)."""
    try:
        from mlflow.data.delta_dataset_source import DeltaDatasetSource
        from mlflow.data.meta_dataset import MetaDataset

        source = DeltaDatasetSource(
            path=inputs["features_uri"], delta_table_version=int(inputs["features_version"])
        )
        return MetaDataset(
            source, name=f"{FEATURES_TABLE}@v{inputs['features_version']}/as_of={as_of}"
        )
    except Exception as exc:  # lineage is in params and tags too
        log.warning("mlflow dataset lineage unavailable: %s", exc)
        return None


def champion_ap_on(lake: str, version: str, val_rows, features) -> float | None:
    """The champion's account-level AP on the challenger's validation rows (None: it cannot
    score them, e.g. its features no longer exist)."""
    from pyspark.sql import functions as F

    from models import metrics as ev
    from models.model_registry import load_version
    from models.scoring import check_features, with_margin

    handle = load_version(lake, version)
    try:
        check_features(features.columns, handle)
    except ModelFeatureMismatch as exc:
        log.info("champion v%s cannot score the validation rows: %s", version, exc)
        return None
    spark = features.sparkSession
    keys = spark.createDataFrame(
        val_rows[["account_id", "feature_date", "label"]].astype({"label": "int64"}),
        "account_id STRING, feature_date DATE, label BIGINT",
    )
    frame = features.join(keys, ["account_id", "feature_date"]).select(
        "account_id",
        "feature_date",
        "label",
        *[F.col(n).cast("double").alias(n) for n in handle.feature_names],
    )
    pdf = (
        with_margin(frame, handle.model)
        .select("account_id", "feature_date", "label", "margin")
        .toPandas()
    )
    acc = ev.last_row_per_account(pdf)
    return ev.average_precision(acc["label"].to_numpy(), acc["margin"].to_numpy())


def _gate_and_promote(
    lake: str, version: str, challenger_ap: float | None, val_rows, features, reason: str
) -> dict:
    from models import model_registry
    from models.policy import should_promote

    champion = model_registry.champion_version(lake)
    champ_ap = None
    if champion is not None and champion != version:
        champ_ap = champion_ap_on(lake, champion, val_rows, features)
    n_val_positive = int(val_rows.loc[val_rows["label"] == 1, "account_id"].nunique())
    ok, why = should_promote(
        math.nan if challenger_ap is None else challenger_ap, champ_ap, n_val_positive
    )
    c = model_registry.client(lake)
    if champ_ap is not None:
        c.set_model_version_tag(
            model_registry.model_name(), version, "champion_ap_same_window", repr(champ_ap)
        )
    if ok:
        model_registry.promote(lake, version, reason=f"{reason}: {why}")
        print(f"promoted {model_registry.model_name()} v{version} to champion ({why})")
    else:
        model_registry.set_decision(lake, version, f"rejected: {why}")
        print(f"kept champion v{champion}; challenger v{version} not promoted ({why})")
    return {
        "promoted": ok,
        "promotion_reason": why,
        "champion": model_registry.champion_version(lake),
        "champion_ap_same_window": champ_ap,
        "val_positive_accounts": n_val_positive,
    }


def promote(lake: str, version: str | None = None) -> dict:
    """Make `version` (default: the challenger) the champion, unconditionally (an operator's
    decision); the previous champion stays in the history for `rollback`."""
    from models import model_registry

    out = model_registry.promote(lake, version, reason="manual (riskctl promote)")
    print(f"champion of {out['model_name']}: v{out['champion']} (was v{out['previous']})")
    return out


def rollback(lake: str) -> dict:
    """Give the champion alias back to the previous champion."""
    from models import model_registry

    out = model_registry.rollback(lake)
    print(
        f"champion of {out['model_name']}: v{out['champion']} (rolled back v{out['rolled_back']})"
    )
    return out


def train_if_due(lake: str, day: dt.date, drift_flag: bool = False) -> dict | None:
    """Apply the retraining policy for `day` (models.policy); None when nothing is due.

    A re-run of a day that already has a model (tag trained_as_of) reuses that version; if the
    first run stopped before deciding its promotion, the decision is taken now, on the same
    validation window, so the outcome equals an uninterrupted run.
    """
    from models import labels as lb
    from models import model_registry
    from models import training_set as ts
    from models.policy import decide
    from models.training import NotEnoughLabels

    spark = get_spark()
    existing = model_registry.version_trained_as_of(lake, day.isoformat())
    enf_table = tables.SILVER_ENFORCEMENT
    if existing is None and not delta_io.exists(spark, enf_table, lake):
        log.info("train_if_due day=%s skipped: no enforcement table yet", day)
        return None
    n_pos, n_clusters = (0, 0)
    if existing is None:
        labels = lb.labels_as_of(delta_io.read(spark, enf_table, lake), day)
        n_pos, n_clusters = lb.label_counts(labels)
    decision = decide(
        day,
        n_positive=n_pos,
        n_clusters=n_clusters,
        has_champion=model_registry.champion_version(lake) is not None,
        version_for_day=existing,
        drift_flag=drift_flag,
    )
    log.info("train_if_due day=%s train=%s reason=%s", day, decision.train, decision.reason)
    if decision.reuse_version is not None:
        out = {
            "model_name": model_registry.model_name(),
            "version": decision.reuse_version,
            "as_of": day.isoformat(),
            "trained": False,
            "reused": True,
            "reason": decision.reason,
        }
        tags = model_registry.version_tags(lake, decision.reuse_version)
        if "promotion" not in tags:
            # The first run stopped between registering and deciding: finish its steps.
            model_registry.client(lake).set_registered_model_alias(
                model_registry.model_name(), model_registry.CHALLENGER, decision.reuse_version
            )
            inputs = load_inputs(spark, lake, day)
            names = list(model_registry.version_config(lake, decision.reuse_version).feature_names)
            rows, _, _, _ = _build_rows(inputs, day, ts.SplitConfig(), names)
            val = (
                rows.where("split = 'val'").select("account_id", "feature_date", "label").toPandas()
            )
            ap = float(tags["val_ap"]) if tags.get("val_ap") else math.nan
            out.update(
                _gate_and_promote(
                    lake, decision.reuse_version, ap, val, inputs["features"], "policy (resumed)"
                )
            )
        return out
    if not decision.train:
        return None
    try:
        return {
            **train(lake, day, promote=True, reason=f"policy: {decision.reason}"),
            "reason": decision.reason,
        }
    except NotEnoughLabels as exc:
        log.warning("train_if_due day=%s: %s", day, exc)
        return {"trained": False, "reused": False, "as_of": day.isoformat(), "reason": str(exc)}
