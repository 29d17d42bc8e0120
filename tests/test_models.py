"""Training, calibration, bands, reasons, the MLflow registry flow and the retraining policy.

A small synthetic lake (a feature table with a few catalog-named numeric columns and hand-made
enforcement rows) keeps every model tiny: few trees, a few thousand rows.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FEATURES = [
    "requests_7d",
    "high_cot_share_7d",
    "sync_ip_share_7d",
    "simhash_neardup_accounts_7d",
    "hour_entropy_7d",
]
START = dt.date(2026, 4, 1)
N_DAYS = 30
AS_OF = START + dt.timedelta(days=23)  # 2026-04-24


def make_frames(seed: int = 0, n_legit: int = 240, n_cases: int = 4, per_case: int = 12):
    """Feature rows and enforcement rows: attackers in 4 cases, 3 of them labelled (partly)."""
    rng = np.random.default_rng(seed)
    accounts = [(f"L{i:04d}", None) for i in range(n_legit)]
    accounts += [(f"A{c}{j:03d}", c) for c in range(n_cases) for j in range(per_case)]
    rows = []
    for acc, case in accounts:
        attacker = case is not None
        first = int(rng.integers(0, 8)) if attacker else int(rng.integers(0, N_DAYS))
        for d in range(first, N_DAYS):
            if not attacker and rng.random() < 0.3:
                continue
            rows.append(
                {
                    "account_id": acc,
                    "feature_date": START + dt.timedelta(days=d),
                    "requests_7d": int(rng.poisson(320 if attacker else 120)),
                    "high_cot_share_7d": float(rng.beta(6, 3) if attacker else rng.beta(2, 6)),
                    "sync_ip_share_7d": float(rng.beta(4, 4) if attacker else rng.beta(1, 8)),
                    "simhash_neardup_accounts_7d": int(rng.poisson(8 if attacker else 1)),
                    "hour_entropy_7d": float(rng.uniform(0, 4.58)),  # noise
                }
            )
    enf = []
    for c, day in zip(range(n_cases - 1), (14, 18, 21), strict=True):  # case 3: never labelled
        decided = START + dt.timedelta(days=day)
        for j in range(per_case - 3):  # partial: 3 accounts of each case never labelled
            enf.append(
                (
                    f"A{c}{j:03d}",
                    dt.datetime.combine(decided, dt.time(10, j), tzinfo=dt.UTC),
                    "ban",
                    "distillation",
                    f"case-{c}",
                    decided + dt.timedelta(days=j % 2),
                )
            )
    enf += [
        (
            "L0001",
            dt.datetime(2026, 4, 10, 9, tzinfo=dt.UTC),
            "suspend",
            "distillation",
            None,
            dt.date(2026, 4, 10),
        ),
        (
            "L0001",
            dt.datetime(2026, 4, 14, 9, tzinfo=dt.UTC),
            "reinstate",
            "appeal_granted",
            None,
            dt.date(2026, 4, 14),
        ),
        (
            "L0002",
            dt.datetime(2026, 4, 9, 9, tzinfo=dt.UTC),
            "ban",
            "payment_fraud",
            None,
            dt.date(2026, 4, 9),
        ),
    ]
    return pd.DataFrame(rows), enf


def write_lake(spark, lake: str, feats: pd.DataFrame, enf: list, upto: dt.date | None = None):
    from pyspark.sql import functions as F

    from core import delta_io, tables
    from features import tables as feature_tables

    if upto is not None:
        feats = feats[feats["feature_date"] <= upto]
        enf = [e for e in enf if e[5] <= upto]
    fdf = spark.createDataFrame(feats)
    for c in ("requests_7d", "simhash_neardup_accounts_7d"):
        fdf = fdf.withColumn(c, F.col(c).cast("bigint"))
    fdf.coalesce(1).write.format("delta").save(feature_tables.ACCOUNT_FEATURES.uri(lake))
    edf = spark.createDataFrame(
        enf,
        "account_id STRING, decided_at TIMESTAMP, action STRING, "
        "reason STRING, case_id STRING, land_date DATE",
    )
    edf = (
        edf.withColumn("event_date", F.to_date("decided_at"))
        .withColumn("source_file", F.lit("hand-made"))
        .withColumn("line_no", F.lit(1))
    )
    delta_io.replace_where(edf, tables.SILVER_ENFORCEMENT, lake, "true")


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory) -> Path:
    """An initialised MLflow SQLite database, copied into each lake (its schema migrations cost
    seconds per new file)."""
    from models import model_registry

    lake = tmp_path_factory.mktemp("mlflow-template")
    model_registry.client(str(lake)).search_experiments()
    return lake / "_mlflow" / "mlflow.db"


def with_mlflow(lake: str, template: Path) -> str:
    target = Path(lake) / "_mlflow"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, target / "mlflow.db")
    return lake


def small_config(**kw):
    from models.training import ModelConfig

    return ModelConfig(**{"n_estimators": 40, "max_depth": 3, "heldout_check": False, **kw})


@pytest.fixture(scope="module")
def frames():
    return make_frames()


@pytest.fixture(scope="module")
def flow(spark, tmp_path_factory, mlflow_template, frames):
    """A lake with one model trained as of AS_OF and promoted (the first champion)."""
    from jobs import train as jt

    lake = with_mlflow(str(tmp_path_factory.mktemp("models-flow")), mlflow_template)
    write_lake(spark, lake, *frames)
    first = jt.train(
        lake,
        AS_OF,
        promote=True,
        feature_names=FEATURES,
        model_config=small_config(heldout_check=True),
    )
    return {"lake": lake, "first": first}


# --- the registry flow -----------------------------------------------------------------------


def test_registry_flow_promote_reject_rollback(spark, flow):
    from mlflow import MlflowClient

    from core.errors import PipelineError
    from core.settings import mlflow_tracking_uri
    from jobs import train as jt
    from models import model_registry
    from models.scoring import load_champion, score_features

    lake, first = flow["lake"], flow["first"]
    assert first["version"] == "1" and first["promoted"]
    assert model_registry.alias_version(lake, model_registry.CHALLENGER) == "1"
    assert model_registry.champion_version(lake) == "1"
    client = MlflowClient(mlflow_tracking_uri(lake))
    mv = client.get_model_version(model_registry.MODEL_NAME, "1")
    assert mv.tags["trained_as_of"] == AS_OF.isoformat()
    assert mv.tags["promotion"].startswith("promoted")
    run = client.get_run(mv.run_id)
    assert run.data.params["feature_table_path"].endswith("features/account_features_daily")
    assert run.data.params["label_cutoff"] == AS_OF.isoformat()
    assert "feature_table_version" in run.data.params
    for key in (
        "val_ap",
        "volume_ap",
        "heuristic_ap",
        "margin_vs_volume_recall_at_1pct_fpr",
        "heldout_case_recall_at_1pct_fpr",
    ):
        assert key in run.data.metrics, key
    artifacts = {a.path for a in client.list_artifacts(mv.run_id, "plots")}
    assert artifacts == {
        "plots/pr_curve.png",
        "plots/score_histograms.png",
        "plots/feature_importance.png",
        "plots/calibration.png",
    }
    exp = client.get_experiment(run.info.experiment_id)
    assert exp.name == "account-risk-local" and exp.artifact_location.startswith(lake)
    assert run.inputs.dataset_inputs  # dataset lineage (Delta path + version)

    # The champion reloads from models:/account_risk@champion and scores.
    handle = load_champion(lake)
    assert (handle.name, handle.version, handle.feature_names) == ("account_risk", "1", FEATURES)
    day = (
        spark.read.format("delta")
        .load(f"{lake}/features/account_features_daily")
        .where(f"feature_date = DATE'{AS_OF}'")
    )
    scored = score_features(day, handle)
    assert scored.dtypes == [
        ("account_id", "string"),
        ("risk_score", "double"),
        ("risk_band", "string"),
        ("reasons", "array<string>"),
    ]
    assert scored.count() == day.count()

    # A worse challenger (only a noise feature) is registered but not promoted.
    worse = jt.train(
        lake, AS_OF, promote=True, feature_names=["hour_entropy_7d"], model_config=small_config()
    )
    assert worse["version"] == "2" and not worse["promoted"]
    assert worse["champion_ap_same_window"] > worse["metrics"]["val_ap"]
    # the gate counts the same validation positives the model reports
    assert worse["val_positive_accounts"] == worse["metrics"]["n_val_positive_accounts"] > 0
    assert model_registry.alias_version(lake, model_registry.CHALLENGER) == "2"
    assert model_registry.champion_version(lake) == "1"
    assert model_registry.version_tags(lake, "2")["promotion"].startswith("rejected")

    # An operator promotes v2 anyway; rollback gives the alias back to v1, and no further.
    assert jt.promote(lake, "2")["champion"] == "2"
    assert load_champion(lake).version == "2"
    assert jt.rollback(lake)["champion"] == "1"
    assert model_registry.champion_version(lake) == "1" and load_champion(lake).version == "1"
    assert model_registry.version_tags(lake, "2")["rolled_back"] == "true"
    with pytest.raises(PipelineError, match="nothing to roll back"):
        jt.rollback(lake)


def test_no_champion_and_feature_mismatch(spark, lake, flow):
    from core.errors import ModelFeatureMismatch, NoChampion
    from models.scoring import load_champion, load_version, score_features

    with pytest.raises(NoChampion, match=r"riskctl train --as-of D --promote"):
        load_champion(lake)
    handle = load_version(flow["lake"], "1")
    day = (
        spark.read.format("delta").load(f"{flow['lake']}/features/account_features_daily").limit(5)
    )
    with pytest.raises(ModelFeatureMismatch, match="sync_ip_share_7d"):
        score_features(day.drop("sync_ip_share_7d"), handle)
    score_features(day, handle)  # control: the full frame is accepted


# --- calibration, bands, reasons ---------------------------------------------------------------


def test_calibrated_scores_monotone_bands_and_reasons(spark, flow):
    from pyspark.sql import functions as F

    from models.scoring import BANDS, catalog_describe, load_version, score_features, with_margin

    handle = load_version(flow["lake"], "1")
    feats = spark.read.format("delta").load(f"{flow['lake']}/features/account_features_daily")
    day = feats.where(F.col("feature_date") == F.lit(START + dt.timedelta(days=N_DAYS - 1)))
    scored = score_features(day, handle).toPandas()
    margins = (
        with_margin(day.select("account_id", *FEATURES), handle.model)
        .select("account_id", "margin", *FEATURES)
        .toPandas()
    )
    both = scored.merge(margins, on="account_id").sort_values("margin", kind="mergesort")
    assert len(both) == len(scored) > 100
    s, m = both["risk_score"].to_numpy(), both["margin"].to_numpy()
    assert ((s > 0) & (s < 1)).all()
    assert (np.diff(s) >= 0).all()  # monotone in the margin ...
    assert (np.diff(s)[np.diff(m) > 1e-6] > 0).all()  # ... strictly where the margin moves
    for band in BANDS:  # bands follow the stored margin thresholds exactly
        t = handle.config.band_margins[band]
        in_band = both["risk_band"].isin(BANDS[: BANDS.index(band) + 1])
        assert (in_band == (both["margin"] >= t)).all(), band
    high = both[both["risk_band"].isin(["critical", "high"])]
    assert len(high) > 0
    describe = catalog_describe()
    for _, row in high.iterrows():
        reasons = list(row["reasons"])
        allowed = {describe(n, float(row[n])) for n in FEATURES}
        assert 1 <= len(reasons) <= 3 and set(reasons) <= allowed, reasons
        assert all(isinstance(r, str) and r.strip() and " " in r for r in reasons)
    # Negative control: the phrases of another row's values are not this row's reasons.
    a, b = high.iloc[0], both.iloc[0]
    assert set(a["reasons"]) - {describe(n, float(b[n])) for n in FEATURES}


def test_bands_respect_target_fpr_on_validation(flow):
    from mlflow import MlflowClient

    from core.settings import mlflow_tracking_uri
    from models import metrics as ev
    from models.training import band_thresholds

    neg = np.arange(1000) / 1000.0
    t = band_thresholds(neg)
    assert {b: int((neg >= v).sum()) for b, v in t.items()} == {
        "critical": 1,
        "high": 10,
        "medium": 50,
    }
    tied = np.concatenate([np.zeros(980), np.full(20, 0.5)])  # a tie group over the 1% budget
    t = band_thresholds(tied)
    assert ev.realized_fpr(tied, t["high"]) == 0.0 and ev.realized_fpr(tied, t["medium"]) == 0.02
    few = band_thresholds(np.zeros(10))  # 0.1% of 10 negatives: none may be flagged
    assert all(ev.realized_fpr(np.zeros(10), v) == 0.0 for v in few.values())
    # Negative control: a critical threshold 1.5 steps lower breaks the 0.1% budget.
    t_crit = band_thresholds(neg)["critical"]
    assert ev.realized_fpr(neg, t_crit - 0.0015) > 0.001
    client = MlflowClient(mlflow_tracking_uri(flow["lake"]))
    metrics = client.get_run(flow["first"]["run_id"]).data.metrics
    # The bands hold their targets on the PU-corrected estimate of the legitimate FPR; the
    # plain FPR among all unlabelled accounts exceeds it by at most the hidden attackers' share.
    pi = metrics["val_unlabelled_positive_share_est"]
    for band, target in (("critical", 0.001), ("high", 0.01), ("medium", 0.05)):
        assert metrics[f"band_{band}_val_fpr_est"] <= target
        assert metrics[f"band_{band}_val_fpr"] <= target + pi + 1e-9


def test_pu_bands_see_through_unlabelled_attackers():
    from models import metrics as ev
    from models.training import band_thresholds

    # 980 legitimate accounts, 20 attackers nobody labelled (among the "negatives"), 20
    # labelled attackers that score like them.
    legit = np.arange(980) / 1000.0
    hidden = 5.0 + np.arange(20) / 20.0
    labelled = 5.02 + np.arange(20) / 20.0
    unl = np.concatenate([legit, hidden])
    pi = ev.unlabelled_positive_share(unl, labelled)
    assert pi == pytest.approx(0.02)
    high = band_thresholds(unl, labelled, pi)["high"]
    # 1% of 980 legitimate accounts may be flagged: 9 of them, and all 20 hidden attackers.
    assert (int((legit >= high).sum()), int((hidden >= high).sum())) == (9, 20)
    assert ev.pu_fpr(unl, labelled, high, pi) == pytest.approx(9 / 980)
    # Negative control: the plain 1% threshold among the unlabelled spends the whole budget on
    # half of the hidden attackers and misses the other half.
    plain = band_thresholds(unl)["high"]
    assert (int((legit >= plain).sum()), int((hidden >= plain).sum())) == (0, 10)
    assert plain > high
    # No hidden attackers (the labelled score above every unlabelled account): no correction.
    assert ev.unlabelled_positive_share(legit, labelled) == 0.0
    assert band_thresholds(legit, labelled, 0.0) == band_thresholds(legit)
    # Too few labelled positives to tell: no correction.
    assert ev.unlabelled_positive_share(unl, labelled[:5]) == 0.0


def test_platt_calibration_spark_equals_python(spark):
    from pyspark.sql import functions as F

    from models.training import fit_platt

    rng = np.random.default_rng(3)
    m = np.concatenate([rng.normal(-3, 1, 2000), rng.normal(2, 1, 60)])
    y = np.concatenate([np.zeros(2000), np.ones(60)])
    cal = fit_platt(m, y)
    assert cal.a > 0
    probs = np.array([cal.apply(x) for x in np.sort(m)])
    assert (np.diff(probs) >= 0).all() and probs.min() > 0 and probs.max() < 1
    # Logistic regression matches the mean prediction to the base rate.
    assert abs(np.mean([cal.apply(x) for x in m]) - y.mean()) < 1e-3
    df = spark.createDataFrame([(float(x),) for x in m[:50]], "margin DOUBLE")
    got = [r[0] for r in df.select(cal.column(F.col("margin"))).collect()]
    assert np.allclose(got, [cal.apply(x) for x in m[:50]], rtol=0, atol=1e-12)


# --- determinism ----------------------------------------------------------------------------------


def test_model_as_of_d_ignores_later_days(spark, tmp_path, frames, flow):
    """Same model with or without later days in the lake; a later as-of day differs."""
    from jobs import train as jt
    from models import training_set as ts
    from models.scoring import with_margin
    from models.training import fit

    full, cut = flow["lake"], str(tmp_path / "cut")  # the flow's lake holds every day
    write_lake(spark, cut, *frames, upto=AS_OF)
    probe = spark.createDataFrame(
        frames[0][frames[0]["feature_date"] == START + dt.timedelta(days=N_DAYS - 1)]
    ).select("account_id", *[spark_col(c) for c in FEATURES])

    def margins(lake, as_of):
        inputs = jt.load_inputs(spark, lake, as_of)
        rows, names, _, _ = jt._build_rows(inputs, as_of, ts.SplitConfig(), FEATURES)
        model = fit(rows.where("split = 'train'"), names, small_config())
        return (
            with_margin(probe, model)
            .select("account_id", "margin")
            .toPandas()
            .sort_values("account_id")
            .reset_index(drop=True)
        )

    a, b = margins(full, AS_OF), margins(cut, AS_OF)
    assert len(a) > 100 and a["margin"].std() > 0
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    later = margins(full, AS_OF + dt.timedelta(days=3))  # negative control: more labels
    assert not np.array_equal(a["margin"].to_numpy(), later["margin"].to_numpy())


def spark_col(name):
    from pyspark.sql import functions as F

    return F.col(name).cast("double").alias(name)


# --- the retraining policy ------------------------------------------------------------------------


def test_policy_decisions():
    from models.policy import MIN_VALIDATION_POSITIVES, decide, should_promote

    tue, mon = dt.date(2026, 5, 5), dt.date(2026, 5, 4)
    assert mon.weekday() == 0
    enough = {"n_positive": 25, "n_clusters": 3}
    assert not decide(tue, n_positive=19, n_clusters=3, has_champion=False).train
    assert not decide(tue, n_positive=40, n_clusters=1, has_champion=False).train
    first = decide(tue, **enough, has_champion=False)
    assert first.train and first.reason == "first model"
    assert decide(mon, **enough, has_champion=True).train
    assert not decide(tue, **enough, has_champion=True).train
    assert decide(tue, **enough, has_champion=True, drift_flag=True).reason == "drift"
    reuse = decide(mon, **enough, has_champion=True, version_for_day="7")
    assert not reuse.train and reuse.reuse_version == "7"
    assert should_promote(0.5, None)[0] and should_promote(0.6, 0.5)[0]
    assert not should_promote(0.5, 0.5)[0] and not should_promote(0.4, 0.5)[0]
    # A better AP on too few validation positives does not replace a champion (the floor is
    # the same 20 the first model needs); at the floor, or with no champion, it does.
    floor = MIN_VALIDATION_POSITIVES
    assert floor == 20
    few = should_promote(0.9, 0.1, floor - 1)
    assert not few[0] and few[1].startswith(f"only {floor - 1} positive accounts")
    assert should_promote(0.9, 0.1, floor)[0] and should_promote(0.9, 0.1, None)[0]
    assert should_promote(0.9, None, 1)[0]
    assert not should_promote(0.4, 0.5, floor)[0]


def test_train_if_due_reuses_the_day_and_waits_for_labels(spark, flow):
    from core import delta_io, tables
    from jobs.train import train_if_due
    from models import model_registry
    from models.labels import label_counts, labels_as_of
    from models.policy import decide

    lake = flow["lake"]
    before = model_registry.client(lake).search_model_versions(
        f"name = '{model_registry.MODEL_NAME}'"
    )
    again = train_if_due(lake, AS_OF)  # v1 was trained as of this day
    assert again["reused"] and again["version"] == "1" and not again["trained"]
    after = model_registry.client(lake).search_model_versions(
        f"name = '{model_registry.MODEL_NAME}'"
    )
    assert len(after) == len(before)
    # Early days: too few labels known (the first bans land on day 14).
    assert train_if_due(lake, START + dt.timedelta(days=5)) is None
    # Negative control: the next day, with its labels and a drift flag, would train.
    enf = delta_io.read(spark, tables.SILVER_ENFORCEMENT, lake)
    n_pos, n_cl = label_counts(labels_as_of(enf, AS_OF + dt.timedelta(days=1)))
    assert (
        n_pos >= 20
        and decide(
            AS_OF + dt.timedelta(days=1),
            n_positive=n_pos,
            n_clusters=n_cl,
            has_champion=True,
            drift_flag=True,
        ).train
    )


def test_resumed_promotion_after_a_crash(flow):
    """A run that stopped between registering a version and deciding its promotion: the re-run
    of the day reuses the version and takes the decision then."""
    from mlflow import MlflowClient

    from core.settings import mlflow_tracking_uri
    from jobs.train import train_if_due
    from models import model_registry

    lake = flow["lake"]
    client = MlflowClient(mlflow_tracking_uri(lake))
    client.delete_model_version_tag(model_registry.MODEL_NAME, "1", "promotion")
    out = train_if_due(lake, AS_OF)
    assert out["reused"] and out["version"] == "1" and out["promoted"]
    assert model_registry.version_tags(lake, "1")["promotion"].startswith("promoted")
    assert model_registry.champion_version(lake) == "1"


def test_crash_harness_compares_the_model_registry(flow, tmp_path):
    """`tools.compare` with mlflow sees an extra version or a moved alias (what a killed
    training run could leave), and ignores the feature table's commit count."""
    from mlflow import MlflowClient

    from core.settings import mlflow_tracking_uri
    from models import model_registry
    from tools.compare import diff, mlflow_snapshot

    lake = flow["lake"]
    copy = tmp_path / "copy"
    (copy / "_mlflow").mkdir(parents=True)
    shutil.copy(Path(lake) / "_mlflow" / "mlflow.db", copy / "_mlflow" / "mlflow.db")
    expected = mlflow_snapshot(lake)
    versions = expected["mlflow:model_versions"]
    first = next(v for v in versions if v[1] == "1")
    assert ("trained_as_of", str(AS_OF)) in first[3]
    assert not any(k == "feature_table_version" for k, _ in first[3])
    champion = (model_registry.MODEL_NAME, "champion", model_registry.champion_version(lake))
    assert champion in expected["mlflow:aliases"]
    assert diff(expected, mlflow_snapshot(str(copy))) == {}

    client = MlflowClient(mlflow_tracking_uri(str(copy)))
    client.set_model_version_tag(model_registry.MODEL_NAME, "1", "feature_table_version", "999")
    assert diff(expected, mlflow_snapshot(str(copy))) == {}
    # negative controls: a second version of the same day, and the alias it would take
    source = client.get_model_version(model_registry.MODEL_NAME, "1").source
    # The source is an MLflow 3 logged model (models:/m-...), which the registry looks up
    # through the process-wide URI: point it at the copy for the call.
    with model_registry.tracking(str(copy)):
        extra = client.create_model_version(
            model_registry.MODEL_NAME, source, tags={"trained_as_of": str(AS_OF)}
        )
    assert set(diff(expected, mlflow_snapshot(str(copy)))) == {"mlflow:model_versions"}
    client.set_registered_model_alias(model_registry.MODEL_NAME, "challenger", str(extra.version))
    assert "mlflow:aliases" in diff(expected, mlflow_snapshot(str(copy)))
    assert mlflow_snapshot(str(tmp_path / "never-trained")) == {}


def test_evaluate_against_truth_includes_unlabelled_strategy(spark, flow, frames, capsys):
    from jobs.evaluate import evaluate

    lake = flow["lake"]
    ids = sorted(set(frames[0]["account_id"]))
    strategy = {"0": "hydra", "1": "hydra", "2": "release_chaser", "3": "thin_spread"}
    truth = pd.DataFrame(
        {
            "account_id": ids,
            "role": ["attacker" if a.startswith("A") else "legit" for a in ids],
            "population": [f"camp-{a[1]}" if a.startswith("A") else "individual" for a in ids],
            "campaign_id": [f"camp-{a[1]}" if a.startswith("A") else None for a in ids],
            "strategy": [strategy[a[1]] if a.startswith("A") else None for a in ids],
        }
    )
    (Path(lake) / "_truth").mkdir(exist_ok=True)
    truth.to_parquet(Path(lake) / "_truth" / "accounts.parquet")
    result = evaluate(lake)
    rows = {r["strategy"]: r for r in result["per_strategy"]}
    assert result["source"].startswith("champion account_risk v1")
    assert result["start"] == str(AS_OF + dt.timedelta(days=1))  # out of time by default
    assert rows["thin_spread"]["labelled"] == 0 and rows["thin_spread"]["accounts"] == 12
    assert rows["hydra"]["labelled"] > 0
    assert rows["all attackers"]["accounts"] == 48
    assert 0 <= rows["thin_spread"]["recall_at_1pct_fpr"] <= 1
    assert {"volume", "heuristic"} == set(result["margins"])
    out = capsys.readouterr().out
    assert "thin_spread" in out and "model vs volume" in out


def test_monotone_risk_directions_bind_the_model(spark):
    """A feature the catalog marks as risk-increasing can never lower the score, even when the
    training labels say so (the unlabelled campaigns among the negatives do); the free model
    learns the dip (negative control)."""
    from features.catalog import RISK_DIRECTION
    from models.scoring import with_margin
    from models.training import fit

    assert RISK_DIRECTION["high_cot_share_7d"] == 1
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, 3000)
    # Positives sit in the middle; high values are all labelled negative.
    y = ((x > 0.3) & (x < 0.6)).astype(int)
    rows = spark.createDataFrame(
        pd.DataFrame(
            {
                "account_id": [f"a{i}" for i in range(len(x))],
                "feature_date": START,
                "label": y,
                "high_cot_share_7d": x,
                "requests_7d": rng.uniform(0, 1, len(x)),
            }
        )
    )
    grid = spark.createDataFrame(
        pd.DataFrame({"high_cot_share_7d": np.linspace(0, 1, 21), "requests_7d": 0.5})
    )

    def curve(monotone: bool) -> np.ndarray:
        model = fit(rows, ["high_cot_share_7d", "requests_7d"], small_config(monotone=monotone))
        got = with_margin(grid, model).orderBy("high_cot_share_7d").select("margin").collect()
        return np.array([r[0] for r in got])

    bound = curve(True)
    assert (np.diff(bound) >= -1e-9).all()
    assert bound[-1] > bound[0]  # it still learns the rise at 0.3
    free = curve(False)
    assert (np.diff(free) < -0.5).any()  # the free model drops after 0.6


def test_strategy_holdout_metrics_exact():
    """The leave-one-strategy-out table's numbers on a hand-made scored frame."""
    from tools.strategy_holdout import _metrics

    legit = [
        (f"L{i}", float(i), "legit", None, "individual" if i < 190 else "eval_lab")
        for i in range(200)
    ]
    attackers = [
        ("A1", 500.0, "attacker", "hydra", None),
        ("A2", 150.0, "attacker", "hydra", None),  # below the 1% threshold (~197)
        ("B1", 300.0, "attacker", "thin_spread", None),
    ]
    rows = legit + attackers
    truth = pd.DataFrame(rows, columns=["account_id", "margin", "role", "strategy", "population"])
    # Two days per account, the max counts.
    scored = pd.concat(
        [
            truth[["account_id", "margin"]],
            truth[["account_id", "margin"]].assign(margin=lambda d: d.margin - 1),
        ]
    )
    got = _metrics(scored, truth.drop(columns="margin"))
    assert got["hydra_recall"] == 0.5 and got["thin_spread_recall"] == 1.0
    assert got["all_recall"] == pytest.approx(2 / 3)
    assert got["thin_spread_ap"] == 1.0
    # 1% of 200 legitimate accounts: L198 and L199 may score above the threshold, 2 of the 10
    # eval_lab accounts
    assert got["most_flagged_legit"] == "eval_lab 20.0%"


def test_training_without_negatives_says_why(spark):
    """All unlabelled accounts too young to be negatives: a clear error naming the knob, not a
    model trained on positives alone."""
    from models.training import NotEnoughLabels, _split_counts, train_model

    def rows(n_train_neg: int):
        data = (
            [(f"p{i}", START, 1, "c1", "train", 1.0) for i in range(5)]
            + [(f"q{i}", START, 1, "c1", "val", 1.0) for i in range(3)]
            + [(f"v{i}", START, 0, None, "val", 0.0) for i in range(4)]
            + [(f"n{i}", START, 0, None, "train", 0.0) for i in range(n_train_neg)]
        )
        return spark.createDataFrame(
            data,
            "account_id STRING, feature_date DATE, label INT, "
            "cluster_key STRING, split STRING, x DOUBLE",
        )

    with pytest.raises(NotEnoughLabels, match="min_negative_age_days"):
        train_model(rows(0), ["x"], small_config(), trained_as_of="2026-04-24")
    counts = _split_counts(rows(12))  # negative control: the count sees them
    assert counts["train"] == {"rows": 17, "pos": 5, "neg": 12}
    assert counts["val"] == {"rows": 7, "pos": 3, "neg": 4}


# --- the registered model on its own: an MLflow pyfunc equal to the gold table ----------------

STANDALONE = """
import io, json, sys
import mlflow
import pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
import models
frame = pd.read_json(io.StringIO(sys.argv[2]), orient="split")
out = model.predict(frame.astype({c: "float64" for c in frame.columns if c != "account_id"}))
print("RESULT=" + json.dumps({"code": models.__file__, "rows": out.to_dict(orient="records")}))
"""


def test_registered_model_predicts_what_gold_shows(spark, flow, tmp_path):
    """`mlflow.pyfunc.load_model(models:/account_risk/N).predict(features)` gives, row for row,
    the score, band and reasons the scoring job published for the same rows; its signature and
    input example agree; the registry pages describe it; and it loads in a fresh process outside
    the repository, with the code it carries."""
    import json
    import subprocess
    import sys

    import mlflow
    from mlflow import MlflowClient
    from pyspark.sql import functions as F

    from core import tables
    from core.settings import mlflow_tracking_uri
    from jobs.score import score_day
    from models import model_registry

    lake = str(tmp_path / "lake")
    shutil.copytree(flow["lake"], lake)  # the module's lake stays as the other tests left it
    day = START + dt.timedelta(days=N_DAYS - 1)
    score_day(lake, day)
    gold = (
        spark.read.format("delta")
        .load(tables.ACCOUNT_SCORES.uri(lake))
        .where(F.col("score_date") == F.lit(day))
        .toPandas()
    )
    assert gold["risk_band"].isin(["high", "critical"]).any()  # real content first
    assert gold["reasons"].map(len).gt(0).any()
    version = gold["model_version"].iloc[0]
    feats = (
        spark.read.format("delta")
        .load(f"{lake}/features/account_features_daily")
        .where(F.col("feature_date") == F.lit(day))
        .select("account_id", *FEATURES)
        .toPandas()
    )
    feats = feats.astype({f: "float64" for f in FEATURES})
    uri = f"models:/{model_registry.MODEL_NAME}/{version}"
    with model_registry.tracking(lake):
        model = mlflow.pyfunc.load_model(uri)
        info = mlflow.models.get_model_info(uri)
        local = mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "model"))
    out = model.predict(feats)

    assert list(out.columns) == ["account_id", "risk_score", "risk_band", "reasons"]
    assert list(out.index) == list(feats.index)  # row for row, in the input's order
    both = out.merge(gold, on="account_id", suffixes=("", "_gold"), validate="one_to_one")
    assert len(both) == len(gold) == len(feats) > 100
    assert (both["risk_score"] == both["risk_score_gold"]).all()
    assert (both["risk_band"] == both["risk_band_gold"]).all()
    assert [list(r) for r in both["reasons"]] == [list(r) for r in both["reasons_gold"]]

    # Negative control: one altered feature row no longer matches its gold row.
    top = gold.sort_values("risk_score").iloc[-1]["account_id"]
    altered = feats.copy()
    altered.loc[altered["account_id"] == top, FEATURES] = 0.0
    changed = model.predict(altered).set_index("account_id").loc[top]
    assert changed["risk_score"] != gold.set_index("account_id").loc[top, "risk_score"]

    # The flavours, the signature and the input example agree with what predict does.
    assert info.flavors["python_function"]["loader_module"] == "models.pyfunc_model"
    assert "spark" in info.flavors  # the pipeline still loads the Spark model
    assert info.signature.inputs.input_names() == ["account_id", *FEATURES]
    assert info.signature.outputs.input_names() == [
        "account_id",
        "risk_score",
        "risk_band",
        "reasons",
    ]
    example = mlflow.models.Model.load(local).load_input_example(local)
    assert list(example.columns) == FEATURES and len(example) > 0
    predicted = model.predict(example)  # MLflow checks the example against the signature
    assert list(predicted.columns) == ["risk_score", "risk_band", "reasons"]
    assert predicted["risk_score"].between(0, 1).all()

    # The registry's pages say what the model is and what each version was trained on.
    client = MlflowClient(mlflow_tracking_uri(lake))
    assert "risk_band" in client.get_registered_model(model_registry.MODEL_NAME).description
    text = client.get_model_version(model_registry.MODEL_NAME, version).description
    handle = model_registry.load_version(lake, version)
    assert f"Trained as of **{handle.config.trained_as_of}**" in text
    assert "average precision" in text and "recall at 1% FPR" in text
    for band in ("critical", "high", "medium"):
        assert f"- `{band}`: " in text, band

    # A fresh process outside the repository: the model brings its own code.
    proc = subprocess.run(
        [sys.executable, "-c", STANDALONE, local, feats.head(20).to_json(orient="split")],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=str(tmp_path),
        env={
            k: v
            for k, v in {**os.environ, "PYSPARK_PYTHON": sys.executable}.items()
            if k not in ("PYTHONPATH", "RISK_SPARK_CONF")
        },
    )
    found = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT=")]
    assert found, proc.stderr[-3000:]
    result = json.loads(found[-1][len("RESULT=") :])
    assert result["code"].startswith(str(Path(local).resolve()))
    fresh = pd.DataFrame(result["rows"])
    assert fresh["risk_score"].tolist() == out.head(20)["risk_score"].tolist()
    assert fresh["reasons"].tolist() == [list(r) for r in out.head(20)["reasons"]]


def test_tracking_block_leaves_no_process_wide_uri(monkeypatch, tmp_path):
    """models.model_registry.tracking sets the lake's MLflow for a block with MLflow's public
    API and leaves the process as it found it."""
    import mlflow

    from models import model_registry

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    before = mlflow.get_tracking_uri()
    with model_registry.tracking(str(tmp_path)) as uri:
        assert mlflow.get_tracking_uri() == uri == os.environ["MLFLOW_TRACKING_URI"]
        assert uri.startswith("sqlite:///") and str(tmp_path) in uri
    assert mlflow.get_tracking_uri() == before
    assert "MLFLOW_TRACKING_URI" not in os.environ and "MLFLOW_REGISTRY_URI" not in os.environ
    # A URI the caller set in code stays set afterwards (negative control of "unset").
    mine = f"sqlite:///{tmp_path}/mine.db"
    mlflow.set_tracking_uri(mine)
    try:
        with model_registry.tracking(str(tmp_path / "other")):
            pass
        assert mlflow.get_tracking_uri() == mine == os.environ["MLFLOW_TRACKING_URI"]
    finally:
        mlflow.set_tracking_uri(None)
    import re

    for path in (Path(__file__).resolve().parent.parent / "models").glob("*.py"):
        source = path.read_text()
        assert not re.search(r"\b_(tracking|registry)_uri\b|mlflow\.tracking\._", source), path
    # Negative control: the pattern finds the private access this module used to make.
    assert re.search(r"\b_(tracking|registry)_uri\b", "trk_utils._tracking_uri = saved")
