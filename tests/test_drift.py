"""Drift: PSI on hand-made frames (pure), and the job's retraining flag on a hand-built lake."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from core import delta_io, tables
from core.tables import split_ddl
from features.tables import ACCOUNT_FEATURES
from models import psi

REF_DAY = dt.date(2026, 5, 4)
CALM_DAY = dt.date(2026, 5, 6)
SHIFTED_DAY = dt.date(2026, 5, 8)


def _feature_names() -> list[str]:
    """Five numeric columns of the feature table."""
    numeric = ("DOUBLE", "FLOAT", "INT", "BIGINT")
    cols = [
        d.split()[0]
        for d in split_ddl(ACCOUNT_FEATURES.schema)
        if d.split()[1].upper() in numeric and d.split()[0] not in ("feature_date",)
    ]
    assert len(cols) >= 5, cols
    return cols[:5]


FEATURES = _feature_names()
SHIFTED = FEATURES[:3]
N = 1500
MODEL = "drift-test-model"


def _frame(spark, seed: int, shift: dict[str, float] | None = None, n: int = N):
    rng = np.random.default_rng(seed)
    cols = {f: rng.normal(10.0, 2.0, n) + (shift or {}).get(f, 0.0) for f in FEATURES}
    rows = [tuple(float(cols[f][i]) for f in FEATURES) for i in range(n)]
    return spark.createDataFrame(rows, ", ".join(f"{f} DOUBLE" for f in FEATURES))


# --- pure ----------------------------------------------------------------------------------------


def test_psi_exact_value_on_hand_made_shares():
    # (0.9-0.5)ln(0.9/0.5) + (0.1-0.5)ln(0.1/0.5)
    expected = 0.4 * math.log(1.8) + 0.4 * math.log(5.0)
    assert psi.psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(expected, rel=1e-12)
    assert psi.psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    # negative control: a different split gives a different value
    assert psi.psi([0.5, 0.5], [0.8, 0.2]) != pytest.approx(expected, rel=1e-3)
    # an empty bin is floored at eps: large, finite
    assert 1.0 < psi.psi([0.5, 0.5], [1.0, 0.0]) < 10.0
    with pytest.raises(ValueError):
        psi.psi([0.5, 0.5], [1.0])


def test_shifted_feature_flagged_and_unshifted_stable(spark):
    ref = _frame(spark, seed=1)
    moved = FEATURES[1]
    day = _frame(spark, seed=2, shift={moved: 3 * 2.0})  # +3 std
    rows = dict(psi.feature_psi(ref, day, FEATURES))
    assert set(rows) == set(FEATURES)
    assert rows[moved] > 0.25 * 10  # a 3-std shift empties most reference bins
    for f in FEATURES:
        if f != moved:
            assert rows[f] < 0.05, (f, rows[f])
    # identical frames: exactly 0; two samples of one distribution: ~0
    same = dict(psi.feature_psi(ref, ref, FEATURES))
    assert all(v == pytest.approx(0.0, abs=1e-12) for v in same.values())
    other = dict(psi.feature_psi(ref, _frame(spark, seed=3), FEATURES))
    assert max(other.values()) < 0.05


def test_reference_bins_are_deciles_and_ties_collapse(spark):
    ref = spark.createDataFrame([(float(i),) for i in range(1, 101)], "x DOUBLE")
    prof = psi.reference_profiles(ref, ["x"])["x"]
    assert prof.edges == tuple(float(v) for v in range(10, 100, 10))
    assert prof.fractions == tuple([0.1] * 10 + [0.0])  # ten value bins, empty null bin
    assert prof.n_rows == 100
    # a mostly-zero count feature: the duplicated zero cut points collapse into one bin
    zeros = spark.createDataFrame([(0.0,)] * 70 + [(float(i),) for i in range(1, 31)], "x DOUBLE")
    z = psi.reference_profiles(zeros, ["x"])["x"]
    assert z.edges[0] == 0.0 and len(set(z.edges)) == len(z.edges) < 9
    assert z.fractions[0] == pytest.approx(0.7)


def test_missing_values_count_as_drift(spark):
    ref = spark.createDataFrame([(float(i % 50),) for i in range(500)], "x DOUBLE")
    prof = psi.reference_profiles(ref, ["x"])
    half_null = spark.createDataFrame(
        [(float(i % 50) if i % 2 else None,) for i in range(500)], "x DOUBLE"
    )
    nan = spark.createDataFrame(
        [(float("nan"),)] * 250 + [(float(i % 50),) for i in range(250)], "x DOUBLE"
    )
    assert dict(psi.population_stability(prof, half_null))["x"] > 1.0
    assert dict(psi.population_stability(prof, nan))["x"] > 1.0
    assert dict(psi.population_stability(prof, ref))["x"] == pytest.approx(0.0, abs=1e-12)


def test_retrain_rule():
    from jobs.drift import should_retrain

    calm = [("a", 0.3), ("b", 0.3), ("c", 0.1), ("risk_score", 0.05)]
    assert should_retrain(calm, 0.25, 3)[0] is False
    assert should_retrain([*calm, ("d", 0.25)], 0.25, 3)[0] is True  # third feature at threshold
    assert should_retrain([("a", 0.0), ("risk_score", 0.26)], 0.25, 3)[0] is True
    assert should_retrain(calm, 0.25, 2)[0] is True  # configurable


def test_features_whose_window_is_still_filling_are_left_out():
    from jobs.drift import full_windows, window_days

    assert [window_days(c) for c in ("requests_1d", "requests_28d", "age_days", "x_7d_share")] == [
        1,
        28,
        0,
        0,
    ]
    cols = ["requests_1d", "requests_7d", "requests_28d", "account_age_days"]
    first = dt.date(2026, 4, 22)
    # reference on the 10th day of the lake: the 28-day window is not full yet
    assert full_windows(cols, first, dt.date(2026, 5, 1)) == (
        ["requests_1d", "requests_7d", "account_age_days"],
        ["requests_28d"],
    )
    # on the 28th day it is (and on the 7th, the 7-day one)
    assert full_windows(cols, first, dt.date(2026, 5, 19)) == (cols, [])
    assert full_windows(cols, first, dt.date(2026, 4, 27))[1] == ["requests_7d", "requests_28d"]
    assert full_windows(cols, first, dt.date(2026, 4, 28))[1] == ["requests_28d"]


def test_group_level_features_are_left_out():
    from jobs.drift import split_group_level

    cols = [
        "requests_7d",
        "cluster_size",
        "asn_max_accounts_7d",
        "payment_fp_accounts",
        "account_age_days",
        "cluster_foo_unknown",
    ]
    kept, grouped = split_group_level(cols)
    assert "cluster_size" in grouped and "cluster_foo_unknown" in grouped
    assert kept[:1] == ["requests_7d"] and "account_age_days" in kept
    if _has_catalog():  # cross-account features by their catalog family
        assert {"asn_max_accounts_7d", "payment_fp_accounts"} <= set(grouped)


# --- the job on a hand-built lake ----------------------------------------------------------------


def _features_table():
    try:
        return tables.table("account_features_daily")
    except KeyError:
        return None


def _write_features(spark, lake: str, day: dt.date, df) -> None:
    from pyspark.sql import functions as F

    out = df.withColumn(
        "account_id", F.concat(F.lit("acct_"), F.monotonically_increasing_id().cast("string"))
    ).withColumn("feature_date", F.lit(day).cast("date"))
    table = _features_table()
    if table is not None:  # the features module's schema: fill its other columns with nulls
        schema = spark.createDataFrame([], table.schema).schema
        out = out.select(
            [
                (F.col(f.name) if f.name in out.columns else F.lit(None))
                .cast(f.dataType)
                .alias(f.name)
                for f in schema
            ]
        )
        delta_io.replace_partitions(out, table, lake, feature_date=day)
        return
    (
        out.write.format("delta")
        .mode("overwrite")
        .partitionBy("feature_date")
        .option("replaceWhere", f"feature_date = DATE'{day}'")
        .save(f"{lake}/features/account_features_daily")
    )


def _write_scores(spark, lake: str, day: dt.date, version: str, seed: int, high: float) -> None:
    rng = np.random.default_rng(seed)
    now = dt.datetime(2026, 5, 9, 1, 0)
    rows = [
        (f"acct_{i}", day, float(s), "low", None, [], MODEL, version, now)
        for i, s in enumerate(rng.beta(1.0, high, 1000))
    ]
    df = spark.createDataFrame(rows, tables.ACCOUNT_SCORES.schema)
    delta_io.replace_partitions(df, tables.ACCOUNT_SCORES, lake, score_date=day)


@pytest.fixture()
def drift_lake(spark, lake, monkeypatch):
    """Features for a reference day, a calm day and a day with 3 features shifted by +3 std."""
    if _has_catalog():  # monitor exactly the columns this test fills
        monkeypatch.setattr("features.catalog.model_feature_names", lambda: FEATURES)
    # the lake's first feature day: 30 days before the reference, so every window is full there
    _write_features(spark, lake, REF_DAY - dt.timedelta(days=30), _frame(spark, seed=10, n=20))
    _write_features(spark, lake, REF_DAY, _frame(spark, seed=11))
    _write_features(spark, lake, CALM_DAY, _frame(spark, seed=12))
    _write_features(
        spark, lake, SHIFTED_DAY, _frame(spark, seed=13, shift={f: 6.0 for f in SHIFTED})
    )
    return lake


def _has_catalog() -> bool:
    try:
        import features.catalog  # noqa: F401
    except ImportError:
        return False
    return True


def _register_champion(lake: str, trained_as_of: dt.date | None) -> str:
    """A real MLflow registry under the lake with one version holding the champion alias."""
    from mlflow import MlflowClient

    from core.settings import mlflow_artifact_root, mlflow_tracking_uri

    uri = mlflow_tracking_uri(lake)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.create_experiment("drift-test", artifact_location=mlflow_artifact_root(lake))
    run = client.create_run(exp)
    client.set_terminated(run.info.run_id)
    client.create_registered_model(MODEL)
    tags = {"trained_as_of": trained_as_of.isoformat()} if trained_as_of else {}
    mv = client.create_model_version(
        MODEL, source=f"{mlflow_artifact_root(lake)}/model", run_id=run.info.run_id, tags=tags
    )
    client.set_registered_model_alias(MODEL, "champion", mv.version)
    return str(mv.version)


def _drift_rows(spark, lake: str, day: dt.date) -> dict[str, tuple[float, bool, str]]:
    from pyspark.sql import functions as F

    return {
        r["feature"]: (r["psi"], r["flagged"], r["model_version"])
        for r in delta_io.read(spark, tables.DRIFT, lake)
        .where(F.col("score_date") == F.lit(day))
        .collect()
    }


def test_no_champion_returns_without_error(spark, drift_lake):
    from jobs.drift import compute_drift

    out = compute_drift(drift_lake, SHIFTED_DAY)
    assert out["retrain"] is False and out["reason"] == "no champion"
    assert not delta_io.exists(spark, tables.DRIFT, drift_lake)


def test_shifted_days_raise_retrain_through_mlflow_champion(spark, drift_lake, monkeypatch):
    from jobs.drift import SCORE_FEATURE, compute_drift

    monkeypatch.setenv("RISK_MODEL_NAME", MODEL)
    version = _register_champion(drift_lake, REF_DAY)

    calm = compute_drift(drift_lake, CALM_DAY)
    assert calm["retrain"] is False, calm
    assert calm["reference_date"] == REF_DAY.isoformat() and calm["model_version"] == version
    assert calm["score_psi"] is None  # no published scores, no loadable model: no score row
    assert calm["left_out_warming_up"] == []

    shifted = compute_drift(drift_lake, SHIFTED_DAY)
    assert shifted["retrain"] is True, shifted
    assert sorted(shifted["flagged"]) == sorted(SHIFTED)
    rows = _drift_rows(spark, drift_lake, SHIFTED_DAY)
    assert set(rows) == set(FEATURES)
    for f in FEATURES:
        psi_value, flagged, v = rows[f]
        assert v == version
        assert flagged == (f in SHIFTED) and (psi_value >= 0.25) == (f in SHIFTED), (f, psi_value)

    # re-run: the day's rows are replaced, not doubled; the reference is stored once
    again = compute_drift(drift_lake, SHIFTED_DAY)
    assert again["retrain"] is True
    assert _drift_rows(spark, drift_lake, SHIFTED_DAY) == rows
    refs = delta_io.read(spark, tables.DRIFT_REFERENCE, drift_lake).collect()
    assert {r["feature"] for r in refs} == set(FEATURES)
    assert {(r["model_version"], str(r["reference_date"])) for r in refs} == {
        (version, REF_DAY.isoformat())
    }
    assert SCORE_FEATURE not in rows


def test_score_shift_alone_raises_retrain(spark, drift_lake, monkeypatch):
    """One feature shifted (below the 3-feature rule) but the score moved: retrain."""
    from jobs.drift import SCORE_FEATURE, ModelRef, compute_drift

    # the champion given as a parameter (no MLflow registry in this lake)
    model = ModelRef(MODEL, "3", REF_DAY)
    _write_features(spark, drift_lake, CALM_DAY, _frame(spark, seed=14, shift={FEATURES[0]: 6.0}))
    _write_scores(spark, drift_lake, REF_DAY, "3", seed=1, high=20.0)
    _write_scores(spark, drift_lake, CALM_DAY, "3", seed=2, high=20.0)
    calm = compute_drift(drift_lake, CALM_DAY, champion=model)
    assert calm["flagged"] == [FEATURES[0]]
    assert calm["score_psi"] is not None and calm["score_psi"] < 0.1
    assert calm["retrain"] is False, calm

    _write_scores(spark, drift_lake, CALM_DAY, "3", seed=2, high=3.0)  # scores drift upwards
    moved = compute_drift(drift_lake, CALM_DAY, champion=model)
    assert moved["score_psi"] >= 0.25 and moved["retrain"] is True, moved
    assert _drift_rows(spark, drift_lake, CALM_DAY)[SCORE_FEATURE][1] is True
    # negative control: a stricter threshold turns the same day back to stable
    assert (
        compute_drift(drift_lake, CALM_DAY, champion=model, psi_threshold=50.0)["retrain"] is False
    )


def test_score_only_path_equals_scoring(spark, lake, monkeypatch):
    """The score PSI's cheap path (no SHAP, no reasons) gives scoring's risk_score exactly."""
    pytest.importorskip("xgboost")
    scoring = pytest.importorskip("models.scoring")
    from pyspark.sql import functions as F
    from xgboost.spark import SparkXGBClassifier

    from jobs import drift as drift_job

    if _has_catalog():
        monkeypatch.setattr("features.catalog.model_feature_names", lambda: FEATURES)
    rng = np.random.default_rng(5)
    rows = [(f"acct_{i}", *[float(v) for v in rng.normal(0, 1, len(FEATURES))]) for i in range(200)]
    df = spark.createDataFrame(
        rows, "account_id STRING, " + ", ".join(f"{f} DOUBLE" for f in FEATURES)
    )
    train = df.withColumn("label", (F.col(FEATURES[0]) + F.col(FEATURES[1]) > 0).cast("int"))
    model = SparkXGBClassifier(
        features_col=list(FEATURES),
        label_col="label",
        num_workers=1,
        n_estimators=5,
        max_depth=2,
        verbosity=0,
    ).fit(train)
    cfg = scoring.ScoringConfig(
        feature_names=tuple(FEATURES), calibration=scoring.Calibration(0.8, -0.3), band_margins={}
    )
    handle = scoring.ModelHandle(MODEL, "9", model, cfg)
    ref = drift_job.ModelRef(MODEL, "9", REF_DAY)
    monkeypatch.setitem(drift_job._HANDLES, (lake, MODEL, "9"), handle)

    # The drift job scores a range of days at once: its frames carry feature_date.
    df = df.withColumn("feature_date", F.lit(REF_DAY))
    cheap = sorted(r["risk_score"] for r in drift_job._scorer(lake, ref)(df).collect())
    full = sorted(r["risk_score"] for r in scoring.score_features(df, handle).collect())
    assert len(cheap) == len(full) == 200
    assert cheap == pytest.approx(full, abs=1e-12)
    assert len({round(v, 6) for v in cheap}) > 2  # real, varied scores
    # negative control: another calibration gives other scores
    other = scoring.ModelHandle(
        MODEL,
        "9",
        model,
        scoring.ScoringConfig(
            feature_names=tuple(FEATURES),
            calibration=scoring.Calibration(2.0, 0.0),
            band_margins={},
        ),
    )
    monkeypatch.setitem(drift_job._HANDLES, (lake, MODEL, "9"), other)
    moved = sorted(r["risk_score"] for r in drift_job._scorer(lake, ref)(df).collect())
    assert moved != pytest.approx(full, abs=1e-6)


def test_job_leaves_out_windows_still_filling_on_the_reference_day(spark, drift_lake):
    from jobs.drift import ModelRef, compute_drift, window_days

    first = REF_DAY - dt.timedelta(days=30)  # the fixture's first feature day
    out = compute_drift(drift_lake, CALM_DAY, champion=ModelRef(MODEL, "7", first))
    expected = [f for f in FEATURES if window_days(f) > 1]
    assert out["left_out_warming_up"] == expected
    assert {f for f, _ in out["top"]} == set(FEATURES) - set(expected)
    # negative control: a reference 30 days into the lake leaves nothing out
    later = compute_drift(drift_lake, CALM_DAY, champion=ModelRef(MODEL, "8", REF_DAY))
    assert later["left_out_warming_up"] == []


# --- a generated lake (slow: `make test-slow`) ------------------------------------------------

GEN_START = dt.date(2026, 4, 22)
GEN_DAYS = 11
GEN_SHIFTED = ["requests_7d", "input_tokens_7d", "output_tokens_7d"]


@pytest.fixture(scope="module")
def featured_lake(spark, tmp_path_factory, request) -> str:
    """A generated tiny lake, ingested and featured (RISK_TEST_LAKE: one already featured)."""
    import os

    given = os.environ.get("RISK_TEST_LAKE")
    if given:
        return given
    if "slow" not in (request.config.option.markexpr or ""):
        pytest.skip(
            "builds a generated lake: run with `-m slow` (make test-slow) or set RISK_TEST_LAKE"
        )
    from jobs.build_features import build_features
    from jobs.ingest import ingest_days
    from simulator import generate

    lake = str(tmp_path_factory.mktemp("drift-tiny"))
    generate(lake, GEN_START, GEN_DAYS, "tiny", 7, progress=False)
    days = [GEN_START + dt.timedelta(days=i) for i in range(GEN_DAYS)]
    ingest_days(lake, days)
    build_features(lake, days)
    return lake


@pytest.mark.slow
def test_drift_flag_on_generated_lake_with_shifted_later_days(spark, featured_lake, lake):
    """Generated features: a calm next day stays below the rule; a later day whose three
    volume features are multiplied by 10 raises the retraining flag."""
    from pyspark.sql import functions as F

    from jobs.drift import ModelRef, compute_drift

    table = tables.table("account_features_daily")
    src = delta_io.read(spark, table, featured_lake)
    first = src.agg(F.min("feature_date")).first()[0]
    ref_day, calm_day, shifted_day = (first + dt.timedelta(days=n) for n in (8, 9, 10))
    # a copy of the days the test needs: the given lake is never modified
    for d in (first, ref_day, calm_day):
        delta_io.replace_partitions(
            src.where(F.col("feature_date") == F.lit(d)), table, lake, feature_date=d
        )
    later = src.where(F.col("feature_date") == F.lit(shifted_day))
    assert later.count() > 100
    for c in GEN_SHIFTED:
        later = later.withColumn(c, F.col(c) * 10)
    delta_io.replace_partitions(later, table, lake, feature_date=shifted_day)

    model = ModelRef("account_risk", "1", ref_day)
    calm = compute_drift(lake, calm_day, champion=model)
    print("calm day:", calm["reason"], calm["top"][:5])
    assert calm["n_features"] > 50 and calm["retrain"] is False, calm
    assert "cluster_size" in calm["left_out_group_level"]
    shifted = compute_drift(lake, shifted_day, champion=model)
    print("shifted day:", shifted["reason"], shifted["top"][:5])
    assert shifted["retrain"] is True
    assert set(GEN_SHIFTED) <= set(shifted["flagged"])
    flagged = {
        r["feature"]
        for r in delta_io.read(spark, tables.DRIFT, lake)
        .where((F.col("score_date") == F.lit(shifted_day)) & F.col("flagged"))
        .collect()
    }
    assert set(GEN_SHIFTED) <= flagged
