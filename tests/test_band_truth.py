"""tools.band_truth: the bands' true FPR and recall on a tiny hand-made gold slice."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tools.band_truth import truth_by_band

D1, D2 = dt.date(2026, 5, 1), dt.date(2026, 5, 2)


def _scores() -> pd.DataFrame:
    rows = [
        ("legit1", D1, 0.1, "low"),
        ("legit1", D2, 0.9, "high"),  # flagged high on one day
        ("legit2", D1, 0.0, "low"),
        ("legit2", D2, 0.0, "low"),
        ("legit3", D2, 0.7, "medium"),
        ("legit4", D2, 0.0, "low"),
        ("att1", D1, 0.99, "critical"),
        ("att1", D2, 0.99, "critical"),
        ("att2", D2, 0.6, "medium"),
        # a bought account: its day before the handover is its owner's and does not count
        ("bought", D1, 0.9, "high"),
        ("bought", D2, 0.1, "low"),
    ]
    return pd.DataFrame(rows, columns=["account_id", "score_date", "risk_score", "risk_band"])


def _truth() -> pd.DataFrame:
    t = pd.DataFrame(
        {
            "account_id": ["legit1", "legit2", "legit3", "legit4", "att1", "att2", "bought"],
            "role": ["legit"] * 4 + ["attacker"] * 3,
        }
    )
    t["handover_at"] = pd.NaT
    t.loc[t["account_id"] == "bought", "handover_at"] = pd.Timestamp("2026-05-02 06:00")
    t["handover_at"] = pd.to_datetime(t["handover_at"], utc=True)
    return t


def test_true_band_figures():
    got = truth_by_band(_scores(), _truth())
    assert got["band_critical_true_fpr"] == 0.0
    assert got["band_high_true_fpr"] == pytest.approx(1 / 4)
    assert got["band_medium_true_fpr"] == pytest.approx(2 / 4)
    assert got["band_critical_true_recall"] == pytest.approx(1 / 3)
    assert got["band_high_true_recall"] == pytest.approx(1 / 3)  # bought's high day is before
    assert got["band_medium_true_recall"] == pytest.approx(2 / 3)
    # Last day: scores 0.9, 0, 0.7, 0, 0.99, 0.6, 0.1 against truth 0,0,0,0,1,1,1.
    assert 0 < got["true_ece_last_day"] < 1
    # Negative control: counting the owner's day would flag the bought account high.
    truth = _truth()
    truth["handover_at"] = pd.NaT
    assert truth_by_band(_scores(), truth)["band_high_true_recall"] == pytest.approx(2 / 3)
