"""The positive-unlabelled calibration and band math (models.pu, models.training.calibrate):
exact values on tiny arrays, each with a negative control that must fail. No Spark."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import pu
from models.scoring import BANDS, Calibration
from models.training import ModelConfig, account_view, calibrate


def test_label_frequency_is_the_mean_over_spies():
    assert pu.label_frequency(np.array([0.2, 0.4, 0.6])) == pytest.approx(0.4)
    assert pu.label_frequency(np.array([])) == 1.0  # no spies: no correction
    assert pu.label_frequency(np.array([0.0, 0.0])) == pu.MIN_LABEL_FREQUENCY  # floored
    assert pu.label_frequency(np.array([0.2, 0.4, 0.6])) != pytest.approx(0.6)


def test_pu_logistic_recovers_p_attacker():
    # A population where P(attacker | m) = sigmoid(2m - 1) and every attacker is labelled with
    # probability c = 0.25, drawn exactly in expectation: the labelled share at m is c * p(m).
    m = np.linspace(-4, 4, 81)
    p = pu.sigmoid(2 * m - 1)
    c = 0.25
    reps = 400
    margins = np.repeat(m, reps)
    labelled = np.concatenate(
        [
            np.r_[np.ones(int(round(c * pi * reps))), np.zeros(reps - int(round(c * pi * reps)))]
            for pi in p
        ]
    )
    a, b = pu.fit_pu_logistic(margins, labelled, c)
    assert a == pytest.approx(2.0, abs=0.1)
    assert b == pytest.approx(-1.0, abs=0.1)
    # Negative control: fitting as if every attacker were labelled (plain Platt, c = 1) gives
    # P(labelled), far below P(attacker) at the top.
    a1, b1 = pu.fit_pu_logistic(margins, labelled, 1.0)
    assert pu.sigmoid(a1 * 4 + b1) < 0.5 < 0.99 < pu.sigmoid(a * 4 + b)


def test_pu_logistic_keeps_the_start_without_both_classes():
    assert pu.fit_pu_logistic(np.array([1.0, 2.0]), np.array([0, 0]), 0.5, (3.0, 1.0)) == (3.0, 1.0)


def test_band_estimates_weight_unlabelled_by_p():
    unl = np.array([5.0, 4.0, 1.0, 0.0])
    p = np.array([0.9, 0.5, 0.1, 0.0])
    pos = np.array([6.0, 3.0])
    fpr, recall = pu.band_estimates(unl, p, pos, 4.0)
    legit = 0.1 + 0.5 + 0.9 + 1.0
    assert fpr == pytest.approx((0.1 + 0.5) / legit)
    assert recall == pytest.approx((1 + 0.9 + 0.5) / (2 + 1.5))
    assert fpr != pytest.approx(2 / 4)  # negative control: not the plain unlabelled share


def test_threshold_at_estimated_fpr():
    unl = np.array([9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    p = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])  # two hidden attackers
    # 8 legitimate accounts: 1 of them may be flagged for 12.5%: threshold just above 6.
    t = pu.threshold_at_estimated_fpr(unl, p, 0.125)
    assert t == np.nextafter(6.0, math.inf)
    # Negative control: trusting the unlabelled pool (p = 0) stops above the attackers.
    t0 = pu.threshold_at_estimated_fpr(unl, np.zeros_like(p), 0.125)
    assert t0 == np.nextafter(8.0, math.inf) and t0 > t
    # A tie straddling the budget is left out whole.
    tied = pu.threshold_at_estimated_fpr(np.array([3.0, 2.0, 2.0, 1.0]), np.zeros(4), 0.25)
    assert tied == np.nextafter(2.0, math.inf)
    assert pu.threshold_at_estimated_fpr(unl, p, 1.0) == -math.inf


def _val_rows():
    """Validation rows: 20 labelled accounts on high margins, 200 unlabelled on low ones, and 20
    unlabelled attackers among them on the labelled ones' margins (a campaign half labelled)."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(20):
        for d in range(2):
            rows.append((f"p{i}", d, 1, 3.0 + rng.normal(0, 0.5)))
    for i in range(20):
        for d in range(2):
            rows.append((f"h{i}", d, 0, 3.0 + rng.normal(0, 0.5)))
    for i in range(200):
        for d in range(2):
            rows.append((f"n{i}", d, 0, -2.0 + rng.normal(0, 1.0)))
    return pd.DataFrame(rows, columns=["account_id", "feature_date", "label", "margin"])


def test_account_view_takes_each_accounts_highest_margin():
    rows = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "feature_date": [1, 2, 1],
            "label": [0, 0, 1],
            "margin": [1.0, 3.0, 2.0],
        }
    )
    acc = account_view(rows)
    assert acc.to_dict("records") == [
        {"account_id": "a", "label": 0, "margin": 3.0},
        {"account_id": "b", "label": 1, "margin": 2.0},
    ]


def test_calibrate_reads_p_attacker_and_bands_below_hidden_attackers():
    rows = _val_rows()
    got = calibrate(rows, ModelConfig())
    cal = got.calibration
    assert cal.method == "pu_platt"
    # Half the attackers are labelled.
    assert cal.label_frequency == pytest.approx(0.5, abs=0.1)
    # At the attackers' margins P(attacker) is near 1, not near the labelled share 0.5.
    assert cal.apply(3.0) > 0.85
    # The high band (1% of ~200 legitimate) sits below the hidden attackers.
    hidden = account_view(rows).query("account_id.str.startswith('h')")["margin"]
    assert (hidden >= got.bands["high"]).mean() > 0.9
    assert got.metrics["band_high_val_fpr_est"] <= 0.01
    assert got.metrics["band_high_val_recall_est"] > 0.9
    for strict, loose in zip(BANDS, BANDS[1:], strict=False):
        assert got.bands[strict] >= got.bands[loose]
    # Negative control: without the PU calibration the score is P(labelled) at the top.
    plain = calibrate(rows, ModelConfig(pu_calibration=False, pu_bands=False))
    assert plain.calibration.method == "platt"
    assert plain.calibration.apply(3.0) < 0.65
    assert (hidden >= plain.bands["high"]).mean() < 0.5


def test_calibration_serialises_the_label_frequency():
    from models.scoring import ScoringConfig

    cfg = ScoringConfig(("x",), Calibration(2.0, -1.0, "pu_platt", 0.25), {"high": 1.0})
    back = ScoringConfig.from_dict(cfg.to_dict())
    assert back.calibration == Calibration(2.0, -1.0, "pu_platt", 0.25)
    old = cfg.to_dict()
    del old["calibration"]["label_frequency"]  # a model registered before the field existed
    assert ScoringConfig.from_dict(old).calibration.label_frequency == 1.0


def test_bands_beside_the_label_free_scorer_share_one_budget():
    from models import label_free

    rows = _val_rows()
    # Label-free: the hidden attackers score 0.99 (critical by it), and 2 of the 200
    # legitimate accounts 0.9 (high by it): the band counts them whatever their margin.
    rows["harvest_score"] = 0.0
    rows.loc[rows["account_id"].str.startswith("h"), "harvest_score"] = 0.99
    rows.loc[rows["account_id"].isin(["n0", "n1"]), "harvest_score"] = 0.9
    assert label_free.BAND_SCORES["high"] <= 0.9 < label_free.BAND_SCORES["critical"]
    got = calibrate(rows, ModelConfig())
    alone = calibrate(rows.drop(columns="harvest_score"), ModelConfig())
    assert got.metrics["band_high_val_fpr_est"] <= 0.01
    assert got.metrics["band_high_val_recall_est"] > 0.95
    # The two legitimate accounts the label-free band flags are spent from the budget.
    assert got.metrics["band_high_val_fpr_est"] > alone.metrics["band_high_val_fpr_est"]
    assert got.bands["high"] >= alone.bands["high"]
    off = calibrate(rows, ModelConfig(beside_label_free=False))
    assert off.bands == alone.bands and off.metrics == alone.metrics  # negative control


def test_band_thresholds_respect_the_probability_floor():
    from models.scoring import BAND_MIN_PROBABILITY

    got = calibrate(_val_rows(), ModelConfig())
    for band in BANDS:
        assert got.calibration.apply(got.bands[band]) >= BAND_MIN_PROBABILITY[band] - 1e-9
    cal = Calibration(2.0, -1.0)
    assert cal.apply(cal.margin_at(0.85)) == pytest.approx(0.85)
    assert cal.apply(cal.margin_at(0.85) - 0.1) < 0.85  # negative control


def test_stricter_band(spark):
    from models.scoring import stricter_band

    pairs = [("low", "high"), ("critical", "medium"), ("medium", "medium"), ("high", "low")]
    df = spark.createDataFrame(pairs, "a string, b string")
    got = [r[0] for r in df.select(stricter_band(df["a"], df["b"])).collect()]
    assert got == ["high", "critical", "medium", "high"]
