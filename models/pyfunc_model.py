"""The registered model on its own: an MLflow pyfunc that returns what the gold table shows.

Each registered version is one MLflow model with two flavours: `spark` (the XGBoost Spark model,
what the pipeline loads with `mlflow.spark.load_model`) and `python_function`, whose loader is
this module. So, anywhere with pyspark and xgboost installed:

    model = mlflow.pyfunc.load_model("models:/account_risk@champion")
    out = model.predict(features)   # pandas: the model's feature columns, as float64

returns, row for row, `risk_score` (calibrated), `risk_band` and `reasons`, plus `account_id`
when the input has one: exactly what `risk.account_scores_daily` shows for the same feature
rows, because `predict` calls the pipeline's own scoring (`models.scoring.score_features`) with
the scoring config stored in the model's metadata. Missing values (NaN or None) are missing to
the model, as NULL is in the feature table. The model's code (`core`, `models`, `features`)
travels inside the model (MLflow `code_paths`), so the feature catalog's phrasing of the reasons
does too.

The signature's inputs are the model's feature columns as `double` (the model casts every
feature to double; MLflow refuses to convert int64 silently, so cast first:
`features.astype("float64")`), plus an optional `account_id`; its outputs are `account_id`
(optional), `risk_score` double, `risk_band` string and `reasons` array<string>.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import cast

import pandas as pd

from models.scoring import BANDS, ModelHandle, ScoringConfig, score_features

FLAVOR_DATA = "sparkml"  # where mlflow.spark keeps the Spark model inside the MLflow model
_PACKAGES = ("core", "models", "features")  # the code the scoring needs, shipped with the model
_ROW = "__row__"


def code_paths() -> list[str]:
    """The project packages the pyfunc imports, copied into the model."""
    root = Path(__file__).resolve().parent.parent
    return [str(root / p) for p in _PACKAGES]


def signature(feature_names: list[str]):
    """Inputs: the features as double (+ optional account_id); outputs: what gold shows."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, DataType, Schema
    from mlflow.types.schema import Array

    inputs = [ColSpec(DataType.string, "account_id", required=False)]
    inputs += [ColSpec(DataType.double, n) for n in feature_names]
    outputs = [
        ColSpec(DataType.string, "account_id", required=False),
        ColSpec(DataType.double, "risk_score"),
        ColSpec(DataType.string, "risk_band"),
        ColSpec(Array(DataType.string), "reasons"),
    ]
    # (list displays so the checker reads them as Schema's list[ColSpec | TensorSpec])
    return ModelSignature(inputs=Schema([*inputs]), outputs=Schema([*outputs]))


def input_example(rows: pd.DataFrame, feature_names: list[str]) -> pd.DataFrame:
    """A few feature rows in the signature's types (float64; NaN where the value is missing)."""
    return rows[list(feature_names)].astype("float64").reset_index(drop=True)


# --- the flavour: what `mlflow.models.Model.log(flavor=this module)` calls -----------------------


def save_model(
    path: str,
    mlflow_model,
    spark_model,
    dfs_tmpdir: str | None = None,
    signature=None,
    input_example=None,
    pip_requirements=None,
    metadata=None,
    **_ignored,
) -> None:
    """The Spark model as MLflow's `spark` flavour, with this module as its pyfunc loader."""
    import mlflow.pyfunc
    import mlflow.spark

    mlflow.spark.save_model(
        spark_model,
        path,
        mlflow_model=mlflow_model,
        dfs_tmpdir=dfs_tmpdir,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        metadata=metadata,
        code_paths=code_paths(),
    )
    spark_conf = mlflow_model.flavors["python_function"]
    mlflow.pyfunc.add_to_model(
        mlflow_model,
        loader_module=__name__,
        data=FLAVOR_DATA,
        conda_env=spark_conf.get("env", {}).get("conda"),
        python_env=spark_conf.get("env", {}).get("virtualenv"),
        code=spark_conf.get("code"),
    )
    mlflow_model.save(os.path.join(path, "MLmodel"))


def log_model(
    name: str,
    spark_model,
    config: ScoringConfig,
    example_rows: pd.DataFrame,
    dfs_tmpdir: str,
    pip_requirements: list[str],
    metadata: dict,
):
    """Log the model in the active run (returns MLflow's ModelInfo)."""
    import sys

    from mlflow.models import Model

    names = list(config.feature_names)
    return Model.log(
        artifact_path=None,
        name=name,
        flavor=sys.modules[__name__],
        spark_model=spark_model,
        dfs_tmpdir=dfs_tmpdir,
        signature=signature(names),
        input_example=input_example(example_rows, names),
        pip_requirements=pip_requirements,
        metadata=metadata,
        # the example is checked by the tests; a Spark job at every training
        # would only repeat it
        validate_serving_input=False,
    )


# --- loading: what `mlflow.pyfunc.load_model` calls -----------------------------------------------


def _load_pyfunc(data_path: str) -> RiskModel:
    """MLflow's entry point: `data_path` is the Spark model's folder inside the MLflow model."""
    import mlflow.spark
    from mlflow.models import Model
    from pyspark.sql import SparkSession

    root = Path(data_path).parent
    meta = Model.load(str(root / "MLmodel")).metadata or {}
    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    pipeline = mlflow.spark.load_model(str(root))
    handle = ModelHandle(
        name=str(meta.get("model_name", "")),
        version="",
        model=pipeline.stages[-1],
        config=ScoringConfig.from_dict(meta["scoring"]),
    )
    return RiskModel(handle, spark)


class RiskModel:
    """`predict(features) -> account_id?, risk_score, risk_band, reasons`, row for row."""

    def __init__(self, handle: ModelHandle, spark) -> None:
        self.handle = handle
        self.spark = spark

    def predict(self, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        from pyspark.sql import functions as F

        names = self.handle.feature_names
        missing = [n for n in names if n not in model_input.columns]
        if missing:
            raise ValueError(f"the input lacks the model's features: {', '.join(missing)}")
        frame = model_input[names].astype("float64").reset_index(drop=True)
        # The row number is the key through Spark: account ids may repeat or be absent.
        frame.insert(0, "account_id", [f"{_ROW}{i}" for i in range(len(frame))])
        df = self.spark.createDataFrame(frame)
        # pandas NaN is missing, as NULL is in the feature table the gold rows were scored from
        df = df.select(
            "account_id", *[F.when(F.isnan(n), None).otherwise(F.col(n)).alias(n) for n in names]
        )
        scored = cast(pd.DataFrame, score_features(df, self.handle).toPandas())
        scored["_i"] = scored["account_id"].str.slice(len(_ROW)).astype(int)
        scored = scored.sort_values("_i").set_index("_i").reindex(range(len(frame)))
        out = pd.DataFrame(
            {
                "risk_score": scored["risk_score"].astype("float64").to_numpy(),
                "risk_band": scored["risk_band"].to_numpy(),
                "reasons": [list(r) if r is not None else [] for r in scored["reasons"]],
            },
            index=model_input.index,
        )
        if "account_id" in model_input.columns:
            out.insert(0, "account_id", model_input["account_id"].to_numpy())
        return out


# --- descriptions shown on the registry's pages ------------------------------------------------

REGISTERED_DESCRIPTION = """\
Account-level risk that an API account takes part in a distillation campaign (thousands of
accounts harvesting a model's answers), trained daily by the distill-risk pipeline.

- **Input**: one row per account and day from `features/account_features_daily` (the feature
  catalog, docs/FEATURES.md): 1/7/28-day behaviour, cross-account and cluster features.
- **Output** (`mlflow.pyfunc.load_model(...).predict(features.astype("float64"))`):
  `risk_score` (calibrated probability), `risk_band` (low/medium/high/critical) and `reasons`
  (the main contributors, in words): exactly the gold table `risk.account_scores_daily`.
- **Aliases**: `champion` scores the published days; `challenger` is the newest version. A
  challenger becomes champion only when it beats the champion on the same validation window
  with at least 20 positive accounts.
- Each version's description says what it was trained on, its validation figures and its
  bands.
"""


def _num(value: object, digits: int = 3) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]  # anything float() refuses prints n/a
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if math.isnan(v) else f"{v:.{digits}f}"


def version_description(config: ScoringConfig, metrics: dict, params: dict, lineage: dict) -> str:
    """What a version was trained on, how it did on validation, and its bands (markdown)."""
    m = metrics
    pct = {"critical": "0.1%", "high": "1%", "medium": "5%"}
    lines = [
        f"Trained as of **{config.trained_as_of}** (labels known by the end of that day, from "
        f"`decided_at` on) on `{lineage.get('feature_table_path', 'the feature table')}` "
        f"at Delta version {lineage.get('feature_table_version', '?')}, "
        f"{len(config.feature_names)} features: {_num(m.get('n_train_rows'), 0)} training rows, "
        f"{_num(m.get('n_train_positive_accounts'), 0)} positive accounts.",
        "",
        f"Validation (the later window: {_num(m.get('val_n_accounts'), 0)} accounts, "
        f"{_num(m.get('val_n_positive_accounts', m.get('n_val_positive_accounts')), 0)} "
        f"positive): average precision {_num(m.get('val_ap'))}, recall at 1% FPR "
        f"{_num(m.get('val_recall_at_1pct_fpr'))}, at 0.1% FPR "
        f"{_num(m.get('val_recall_at_0_1pct_fpr'))}, ROC AUC {_num(m.get('val_roc_auc'))}.",
        "",
        "Bands (a row's band is the highest whose score it reaches):",
    ]
    for band in BANDS:
        margin = config.band_margins.get(band, math.inf)
        score = config.band_scores.get(band)
        if score is None:
            score = config.calibration.apply(margin) if math.isfinite(margin) else math.inf
        target = config.band_target_fpr.get(band)
        shown = "unreachable" if not math.isfinite(score) else f"risk_score >= {score:.4f}"
        lines.append(
            f"- `{band}`: {shown} (target false-positive rate "
            f"{pct.get(band, target)} among legitimate accounts; measured on "
            f"validation {_num(m.get(f'band_{band}_val_fpr'), 4)})"
        )
    lines += [
        "",
        "Score with `mlflow.pyfunc.load_model(<this version>).predict(features)`: "
        "risk_score, risk_band and reasons, as in `risk.account_scores_daily`.",
    ]
    return "\n".join(lines)
