"""MLflow: one experiment per environment, one registered model, aliases and their history.

Layout
- Tracking/registry URI: `core.settings.mlflow_tracking_uri(lake)` (SQLite under the lake unless
  MLFLOW_TRACKING_URI is set). Experiment `account-risk-<RISK_ENV>` (default env `local`), created
  with its artifact location under the lake (`core.settings.mlflow_artifact_root`).
- Registered model `account_risk` (RISK_MODEL_NAME overrides it). Aliases:
  `challenger` = the newest registered version (every new model), `champion` = the version
  scoring uses. Registered-model tag `champion_history`: comma-separated versions that held the
  champion alias, oldest first; rollback pops the last one.
- Each version carries tags `trained_as_of` (the as-of day, how the policy finds the model of a
  re-run day), `label_cutoff`, `feature_table_version`, `val_ap`, `val_recall_at_1pct_fpr` and,
  once decided, `promotion` (`promoted: ...` / `rejected: ...`).
- Each run logs params (split, model, lineage), metrics (validation, both baselines, margins,
  held-out case), artifacts (plots/, scoring/scoring.json, report/validation.txt,
  reference/feature_quantiles.json) and the model (`model/`: the Spark model as MLflow's
  `spark` flavour, read by the pipeline, whose `python_function` flavour is
  `models.pyfunc_model`: `mlflow.pyfunc.load_model(...).predict(features)` returns
  risk_score, risk_band and reasons; signature and input example in those terms, the scoring
  config in the MLmodel metadata).
- The registered model and every version carry a description (what a version was trained on,
  its validation figures and bands: `models.pyfunc_model.version_description`).
- Spark models are staged through MLFLOW_DFS_TMP, else `<lake>/_mlflow/dfs_tmp` (shared storage
  on a cluster).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from core.errors import NoChampion, PipelineError
from core.settings import (
    is_remote,
    mlflow_artifact_root,
    mlflow_tracking_uri,
    restore_environment,
    saved_environment,
    settings,
)
from models.scoring import ModelHandle, ScoringConfig

log = logging.getLogger("risk.registry")

MODEL_NAME = "account_risk"
CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_TAG = "champion_history"
MODEL_ARTIFACT = "model"
CONFIG_ARTIFACT = "scoring/scoring.json"
# What the logged model needs to load, pinned to the versions installed here (the lock).
MODEL_DISTRIBUTIONS = ("pyspark", "xgboost-cpu", "mlflow", "pandas", "numpy")


def pip_requirements() -> list[str]:
    """The model's pip requirements, from the installed distributions' metadata."""
    return [f"{d}=={metadata.version(d)}" for d in MODEL_DISTRIBUTIONS]


def model_name() -> str:
    return settings().model_name or MODEL_NAME


def environment() -> str:
    return settings().environment


def experiment_name() -> str:
    return f"account-risk-{environment()}"


def dfs_tmpdir(lake: str) -> str:
    return settings().mlflow_dfs_tmp or f"{lake.rstrip('/')}/_mlflow/dfs_tmp"


def client(lake: str):
    """An MlflowClient on the lake's tracking/registry URI (no process-wide state changed)."""
    from mlflow import MlflowClient

    uri = mlflow_tracking_uri(lake)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


_URI_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextlib.contextmanager
def tracking(lake: str):
    """The lake's MLflow as the process default for a block (fluent API, `models:/` loading).

    `mlflow.set_tracking_uri` also exports MLFLOW_TRACKING_URI (and the registry's
    MLFLOW_REGISTRY_URI) to the environment, which `core.settings.mlflow_tracking_uri` would then
    take for *every* lake of the process: afterwards the URIs are unset again (MLflow's public
    setters accept None) and the variables restored, and a URI the caller had set explicitly
    comes back.
    """
    import mlflow

    uri = mlflow_tracking_uri(lake)
    saved_env = saved_environment(*_URI_ENV)
    before = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield uri
    finally:
        # None resets MLflow to its environment default (typed str, accepted at run time)
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        mlflow.set_registry_uri(None)  # type: ignore[arg-type]
        restore_environment(saved_env)
        if mlflow.get_tracking_uri() != before[0]:  # the caller had set one in code
            mlflow.set_tracking_uri(before[0])
        if mlflow.get_registry_uri() != before[1]:
            mlflow.set_registry_uri(before[1])
        restore_environment(saved_env)


def ensure_experiment(lake: str) -> str:
    """The environment's experiment id, created with its artifacts under the lake."""
    c = client(lake)
    name = experiment_name()
    exp = c.get_experiment_by_name(name)
    if exp is None:
        root = (
            f"{lake.rstrip('/')}/_mlflow/artifacts"
            if is_remote(lake)
            else mlflow_artifact_root(lake)
        )
        return c.create_experiment(name, artifact_location=f"{root}/{name}")
    if exp.lifecycle_stage == "deleted":
        c.restore_experiment(exp.experiment_id)
    return exp.experiment_id


def _not_found(exc: Exception) -> bool:
    code = getattr(exc, "error_code", "")
    return (
        code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
        or "not found" in str(exc).lower()
    )


def alias_version(lake: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client(lake).get_model_version_by_alias(model_name(), alias).version)
    except MlflowException as exc:
        if _not_found(exc):
            return None
        raise


def champion_version(lake: str) -> str | None:
    return alias_version(lake, CHAMPION)


def version_trained_as_of(lake: str, day: str) -> str | None:
    """The first version registered for the as-of day `day` (ISO), if any."""
    from mlflow.exceptions import MlflowException

    try:
        found = client(lake).search_model_versions(
            f"name = '{model_name()}' and tags.trained_as_of = '{day}'"
        )
    except MlflowException as exc:
        if _not_found(exc):
            return None
        raise
    versions = sorted(int(v.version) for v in found)
    return str(versions[0]) if versions else None


def version_tags(lake: str, version: str) -> dict[str, str]:
    return dict(client(lake).get_model_version(model_name(), version).tags or {})


def history(lake: str) -> list[str]:
    from mlflow.exceptions import MlflowException

    try:
        rm = client(lake).get_registered_model(model_name())
    except MlflowException as exc:
        if _not_found(exc):
            return []
        raise
    text = (rm.tags or {}).get(HISTORY_TAG, "")
    return [v for v in text.split(",") if v]


def _set_history(lake: str, versions: list[str]) -> None:
    client(lake).set_registered_model_tag(model_name(), HISTORY_TAG, ",".join(versions[-200:]))


# --- logging a trained model ---------------------------------------------------------------------


def log_and_register(
    lake: str,
    result,
    params: Mapping[str, object],
    tags: Mapping[str, str],
    lineage: Mapping[str, object] | None = None,
    dataset=None,
    reference: Mapping[str, object] | None = None,
) -> dict:
    """One MLflow run for a `models.training.TrainResult`, registered as a new version.

    The new version gets the `challenger` alias. Returns run id, version, model URI.
    """
    import mlflow

    from models import metrics as ev
    from models import pyfunc_model

    exp_id = ensure_experiment(lake)
    name = model_name()
    cfg: ScoringConfig = result.config
    val = result.val_rows
    acc = ev.last_row_per_account(val)
    with (
        tracking(lake),
        mlflow.start_run(
            experiment_id=exp_id, run_name=f"train-as-of-{tags.get('trained_as_of', '')}"
        ) as run,
    ):
        mlflow.set_tags({**tags, "environment": environment()})
        mlflow.log_params({k: _param(v) for k, v in {**params, **(lineage or {})}.items()})
        mlflow.log_metrics(result.metrics)
        if dataset is not None:
            try:
                mlflow.log_input(dataset, context="training")
            except Exception as exc:  # lineage is also in params: a failed dataset log is not fatal
                log.warning("mlflow.log_input failed: %s", exc)
        y, m = acc["label"].to_numpy(), acc["margin"].to_numpy()
        curves = {"model": m}
        for bname in result.details.get("baseline_columns") or {}:
            col = f"_baseline_{bname}"
            if col in acc:
                curves[bname] = acc[col].to_numpy()
        _log_fig(ev.plot_pr_curves(y, curves), "plots/pr_curve.png")
        _log_fig(
            ev.plot_score_histograms(y, acc["risk_score"].to_numpy(), cfg.band_scores),
            "plots/score_histograms.png",
        )
        _log_fig(ev.plot_feature_importance(result.importance), "plots/feature_importance.png")
        _log_fig(
            ev.plot_calibration(val["label"].to_numpy(), val["risk_score"].to_numpy()),
            "plots/calibration.png",
        )
        mlflow.log_text(cfg.to_json(), CONFIG_ARTIFACT)
        mlflow.log_text(result.report + "\n", "report/validation.txt")
        mlflow.log_dict(_jsonable(result.details), "report/details.json")
        mlflow.log_dict(result.importance, "report/feature_importance.json")
        if reference:
            mlflow.log_dict(_jsonable(reference), "reference/feature_quantiles.json")
        # The Spark model, with a pyfunc that returns score, band and reasons (as gold shows).
        info = pyfunc_model.log_model(
            MODEL_ARTIFACT,
            result.model,
            cfg,
            result.input_example,
            dfs_tmpdir=dfs_tmpdir(lake),
            pip_requirements=pip_requirements(),
            metadata={"scoring": cfg.to_dict(), "model_name": name},
        )
        run_id = run.info.run_id
    nan = float("nan")
    version_tags_ = {
        "trained_as_of": str(tags.get("trained_as_of", "")),
        "label_cutoff": str(tags.get("label_cutoff", "")),
        "feature_table_version": str((lineage or {}).get("feature_table_version", "")),
        # repr: exact round trip (a resumed promotion decision compares this very number).
        "val_ap": repr(float(result.metrics.get("val_ap", nan))),
        "val_recall_at_1pct_fpr": repr(float(result.metrics.get("val_recall_at_1pct_fpr", nan))),
    }
    with tracking(lake):
        mv = mlflow.register_model(info.model_uri, name, tags=version_tags_)
    version = str(mv.version)
    c = client(lake)
    c.update_registered_model(name, description=pyfunc_model.REGISTERED_DESCRIPTION)
    c.update_model_version(
        name,
        version,
        description=pyfunc_model.version_description(
            cfg, result.metrics, dict(params), dict(lineage or {})
        ),
    )
    c.set_registered_model_alias(name, CHALLENGER, version)
    log.info("registered model=%s version=%s run=%s alias=%s", name, version, run_id, CHALLENGER)
    return {
        "run_id": run_id,
        "version": version,
        "model_uri": f"models:/{name}/{version}",
        "model_name": name,
    }


def _param(v: object) -> str:
    text = v if isinstance(v, str) else json.dumps(v, default=str)
    return text[:6000]


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str, allow_nan=True))


def _log_fig(fig, path: str) -> None:
    import matplotlib.pyplot as plt
    import mlflow

    mlflow.log_figure(fig, path)
    plt.close(fig)


# --- aliases -------------------------------------------------------------------------------------


def set_decision(lake: str, version: str, decision: str) -> None:
    client(lake).set_model_version_tag(model_name(), version, "promotion", decision[:500])


def promote(lake: str, version: str | None = None, reason: str = "manual") -> dict:
    """Give `champion` to `version` (default: the challenger); push it on the history."""
    c = client(lake)
    name = model_name()
    target = version or alias_version(lake, CHALLENGER)
    if target is None:
        raise PipelineError(
            f"no challenger of model {name} to promote: run `riskctl train --as-of D` first"
        )
    from mlflow.exceptions import MlflowException

    try:
        c.get_model_version(name, str(target))
    except MlflowException as exc:
        if _not_found(exc):
            raise PipelineError(f"model {name} has no version {target}") from None
        raise
    previous = champion_version(lake)
    hist = history(lake)
    if previous is not None and (not hist or hist[-1] != previous):
        hist.append(previous)  # a champion set outside this module still counts as history
    if previous != str(target):
        hist.append(str(target))
        _set_history(lake, hist)
        c.set_registered_model_alias(name, CHAMPION, str(target))
    set_decision(lake, str(target), f"promoted: {reason}")
    log.info("promoted model=%s version=%s previous=%s reason=%s", name, target, previous, reason)
    return {"model_name": name, "champion": str(target), "previous": previous, "reason": reason}


def rollback(lake: str) -> dict:
    """Give `champion` back to the previous champion (the history's entry before the current)."""
    c = client(lake)
    name = model_name()
    current = champion_version(lake)
    if current is None:
        raise NoChampion(f"no champion model yet for {name}: nothing to roll back")
    hist = history(lake)
    while hist and hist[-1] == current:
        hist.pop()
    if not hist:
        raise PipelineError(
            f"model {name} v{current} is the only champion there has been: nothing to roll "
            "back to (promote another version with `riskctl promote --version N`)"
        )
    previous = hist[-1]
    c.set_registered_model_alias(name, CHAMPION, previous)
    c.set_model_version_tag(name, current, "rolled_back", "true")
    _set_history(lake, hist)
    log.info("rolled back model=%s champion %s -> %s", name, current, previous)
    return {"model_name": name, "champion": previous, "rolled_back": current}


# --- loading -------------------------------------------------------------------------------------


def load_version(lake: str, version: str | int) -> ModelHandle:
    """A registered version with its scoring config (from the MLmodel metadata)."""
    return _load(lake, f"models:/{model_name()}/{version}", str(version))


def load_champion(lake: str) -> ModelHandle:
    """The champion (`models:/<name>@champion`); NoChampion when no model holds the alias."""
    name = model_name()
    version = None
    if (
        is_remote(lake)
        or settings().mlflow_tracking_uri
        or (Path(lake) / "_mlflow" / "mlflow.db").is_file()
    ):
        version = champion_version(lake)
    if version is None:
        raise NoChampion(
            f"no champion model yet: registered model {name} has no `{CHAMPION}` alias in "
            f"{_where(lake)}; run `riskctl train --as-of D --promote` or wait for enough labels"
        )
    return _load(lake, f"models:/{name}@{CHAMPION}", version)


def version_config(lake: str, version: str | int) -> ScoringConfig:
    """A version's scoring config (feature list, calibration, bands) without loading Spark."""
    import mlflow

    with tracking(lake):
        info = mlflow.models.get_model_info(f"models:/{model_name()}/{version}")
    return ScoringConfig.from_dict((info.metadata or {})["scoring"])


def _where(lake: str) -> str:
    return settings().mlflow_tracking_uri or f"{lake.rstrip('/')}/_mlflow"


def _load(lake: str, uri: str, version: str) -> ModelHandle:
    import mlflow

    c = client(lake)
    name = model_name()
    mv = c.get_model_version(name, version)
    with tracking(lake):
        info = mlflow.models.get_model_info(uri)
        meta = (info.metadata or {})["scoring"]
        pipeline = mlflow.spark.load_model(uri, dfs_tmpdir=dfs_tmpdir(lake))
    return ModelHandle(
        name=name,
        version=str(mv.version),
        model=pipeline.stages[-1],
        config=ScoringConfig.from_dict(meta),
        run_id=mv.run_id,
        tags=dict(mv.tags or {}),
    )
