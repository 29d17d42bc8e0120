"""`riskctl evaluate` against a generator's truth: the metric functions on tiny arrays, and the
whole printout's figures on a hand-made lake (gold, silver requests, features, labels, truth)
whose every figure is worked out by hand below."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models import metrics as ev

# --- pure metrics ------------------------------------------------------------------------------


def test_operating_point_exact():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0])
    flagged = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0])
    assert ev.operating_point(y, flagged) == {"recall": 0.75, "fpr": 0.2}
    # negative control: one more flagged negative is seen
    flagged[5] = 1
    assert ev.operating_point(y, flagged) != {"recall": 0.75, "fpr": 0.2}
    assert math.isnan(ev.operating_point(np.zeros(3), np.ones(3))["recall"])


def test_quietest_takes_the_fewest_requests_ties_by_order():
    v = np.array([5, 1, 9, 1, 7, 3, 8, 2, 6, 4, 10])
    assert np.flatnonzero(ev.quietest(v, 0.1)).tolist() == [1, 3]  # ceil(1.1) = 2 rows
    assert np.flatnonzero(ev.quietest(v, 0.25)).tolist() == [1, 3, 7]
    assert ev.quietest(np.array([4.0]), 0.1).tolist() == [True]  # at least one
    assert ev.quietest(np.array([]), 0.1).size == 0
    # negative control: the largest volumes are not chosen
    assert not ev.quietest(v, 0.1)[[2, 10]].any()


def test_detection_delays_per_group():
    d = dt.date
    out = ev.detection_delays(
        np.array(["c1", "c1", "c2", "c3"]),
        np.array([d(2026, 5, 2), d(2026, 5, 1), d(2026, 5, 3), d(2026, 5, 1)], dtype=object),
        np.array([None, d(2026, 5, 4), None, d(2026, 5, 1)], dtype=object),
    )
    got = out.set_index("group")
    assert got.loc["c1", "days"] == 3.0 and got.loc["c3", "days"] == 0.0
    assert math.isnan(got.loc["c2", "days"])
    assert str(got.loc["c1", "first_seen"].date()) == "2026-05-01"
    assert out["days"].median() == 1.5
    # negative control: a later first flag lengthens the delay
    later = ev.detection_delays(
        np.array(["c1"]),
        np.array([d(2026, 5, 1)], dtype=object),
        np.array([d(2026, 5, 6)], dtype=object),
    )
    assert later["days"].iloc[0] != 3.0


def test_share_before_flag_counts_the_flag_day_as_served():
    d = dt.date
    accounts = np.array(["a", "a", "a", "b", "c"])
    days = np.array(
        [d(2026, 5, 1), d(2026, 5, 2), d(2026, 5, 3), d(2026, 5, 1), d(2026, 5, 2)], dtype=object
    )
    counts = np.array([10, 20, 30, 5, 35])
    flags = {"a": d(2026, 5, 2), "c": d(2026, 5, 1)}  # b never flagged
    # a: 10 + 20 on or before its flag day; b: all 5; c: none (flagged the day before)
    assert ev.share_before_flag(accounts, days, counts, flags) == 35 / 100
    # negative control: flagging a one day earlier leaves only its first day
    assert ev.share_before_flag(accounts, days, counts, {**flags, "a": d(2026, 5, 1)}) == 0.15
    assert math.isnan(ev.share_before_flag(accounts[:0], days[:0], counts[:0], flags))


def test_expected_calibration_error_uniform_bins_exact():
    y = np.array([1, 0, 0, 1, 1, 1])
    p = np.array([0.05, 0.05, 0.15, 0.35, 0.95, 0.99])
    # bins: [0, .1) mean .05 frac .5; [.1, .2) .15 vs 0; [.3, .4) .35 vs 1; [.9, 1] .97 vs 1
    want = (2 * 0.45 + 0.15 + 0.65 + 2 * 0.03) / 6
    assert ev.expected_calibration_error(y, p, bins="uniform") == pytest.approx(want, abs=1e-12)
    # negative control: one label changed is seen
    y2 = y.copy()
    y2[3] = 0
    assert ev.expected_calibration_error(y2, p, bins="uniform") != pytest.approx(want)
    with pytest.raises(ValueError):
        ev.expected_calibration_error(y, p, bins="equal")


def test_single_account_heuristic_multiplies_volume_reasoning_and_focus():
    from models.training import baseline_columns, baseline_scores

    cols = ["requests_7d", "high_cot_share_7d", "topic_top_share_7d", "hour_entropy_7d"]
    spec = baseline_columns(cols)
    assert spec == {
        "volume": ("requests_7d",),
        "heuristic": ("high_cot_share_7d", "requests_7d", "topic_top_share_7d"),
    }
    rows = pd.DataFrame(
        {
            "requests_7d": [100, 200],
            "high_cot_share_7d": [0.5, 0.1],
            "topic_top_share_7d": [0.8, None],
            "hour_entropy_7d": [1.0, 2.0],
        }
    )
    names = baseline_scores(rows, spec)
    assert rows[names["heuristic"]].tolist() == [40.0, 0.0]
    assert rows[names["volume"]].tolist() == [100.0, 200.0]
    # without a topic column the heuristic is volume x reasoning share (older feature tables)
    assert baseline_columns(cols[:2])["heuristic"] == ("high_cot_share_7d", "requests_7d")


# --- the whole printout on a hand-made lake -----------------------------------------------------

D0, D1, D2, D3 = (dt.date(2026, 5, 1) + dt.timedelta(days=i) for i in range(4))

# account: (role, population, campaign, strategy, handover)
TRUTH = {
    "A1": ("attacker", "camp-01", "camp-01", "hydra", None),
    "A2": ("attacker", "camp-01", "camp-01", "hydra", None),
    "A3": ("attacker", "camp-01", "camp-01", "hydra", None),
    "Q1": ("attacker", "camp-02", "camp-02", "quiet_paraphrase", None),
    "Q2": ("attacker", "camp-02", "camp-02", "quiet_paraphrase", None),
    "G1": ("attacker", "camp-03", "camp-03", "aged_accounts", "2026-05-02T10:00:00Z"),
    "L1": ("legit", "individual", None, None, None),
    "L2": ("legit", "individual", None, None, None),
    "L3": ("legit", "individual", None, None, None),
    "L4": ("legit", "individual", None, None, None),
    "L5": ("legit", "university_class", None, None, None),
    "L6": ("legit", "university_class", None, None, None),
}
# day -> account -> (risk_score, band); D0 lies before the evaluated range D1..D3
GOLD = {
    D0: {"A1": (0.3, "medium"), "L1": (0.1, "low")},
    D1: {
        "A1": (0.9, "high"),
        "A2": (0.5, "medium"),
        "A3": (0.4, "medium"),
        "Q1": (0.3, "low"),
        "Q2": (0.12, "low"),
        "G1": (0.2, "low"),
        "L1": (0.1, "low"),
        "L2": (0.2, "low"),
        "L3": (0.3, "low"),
        "L4": (0.05, "low"),
        "L5": (0.4, "medium"),
        "L6": (0.15, "low"),
        "U1": (0.99, "critical"),
    },
    D2: {"A2": (0.6, "medium"), "G1": (0.8, "high"), "Q1": (0.65, "medium"), "L5": (0.6, "high")},
    D3: {
        "A1": (0.85, "high"),
        "A2": (0.7, "high"),
        "A3": (0.35, "medium"),
        "Q1": (0.5, "medium"),
        "Q2": (0.05, "low"),
        "G1": (0.75, "high"),
        "L1": (0.1, "low"),
        "L2": (0.2, "low"),
        "L3": (0.25, "low"),
        "L4": (0.05, "low"),
        "L5": (0.3, "medium"),
        "L6": (0.15, "low"),
    },
}
# requests per account and event day (silver)
REQUESTS = {
    "A1": {D0: 5, D1: 10, D3: 8},
    "A2": {D1: 4, D2: 6, D3: 5},
    "A3": {D1: 3},
    "Q1": {D2: 1},
    "Q2": {D1: 1, D3: 1},
    "G1": {D0: 2, D1: 6, D2: 9, D3: 7},
    "L1": {D1: 2, D3: 1},
    "L3": {D1: 40},
    "L5": {D2: 3},
}
# feature inputs of the baselines, the same every day: requests_7d, cot share, topic focus
FEATURES = {
    "A1": (100, 0.9, 0.8),
    "A2": (50, 0.8, 0.9),
    "A3": (20, 0.5, 0.5),
    "Q1": (5, 0.6, 0.5),
    "Q2": (8, 0.7, 0.5),
    "G1": (60, 0.9, 0.9),
    "L1": (10, 0.1, 0.3),
    "L2": (30, 0.2, 0.5),
    "L3": (200, 0.05, 0.4),
    "L4": (2, 0.1, 0.5),
    "L5": (15, 0.6, 0.6),
    "L6": (5, 0.2, 0.5),
    "U1": (1, 1.0, 1.0),
}


def write_truth(lake: str, truth: dict) -> None:
    rows = [
        {
            "account_id": a,
            "role": r,
            "population": p,
            "campaign_id": c,
            "strategy": s,
            "handover_at": pd.Timestamp(h) if h else pd.NaT,
        }
        for a, (r, p, c, s, h) in truth.items()
    ]
    (Path(lake) / "_truth").mkdir(exist_ok=True)
    pd.DataFrame(rows).to_parquet(Path(lake) / "_truth" / "accounts.parquet")


def write_hand_made_lake(spark, lake: str) -> None:
    from pyspark.sql import functions as F

    from core import delta_io, tables
    from jobs.train import features_uri

    gold = [(a, d, s, b, "1") for d, rows in GOLD.items() for a, (s, b) in rows.items()]
    spark.createDataFrame(
        gold,
        "account_id STRING, score_date DATE, risk_score DOUBLE, "
        "risk_band STRING, model_version STRING",
    ).write.format("delta").save(tables.ACCOUNT_SCORES.uri(lake))
    req = [
        (a, d, f"{a}-{d}-{i}")
        for a, per in REQUESTS.items()
        for d, n in per.items()
        for i in range(n)
    ]
    spark.createDataFrame(
        req, "account_id STRING, event_date DATE, request_id STRING"
    ).write.format("delta").save(tables.SILVER_INTERACTIONS.uri(lake))
    feats = [(a, d, *FEATURES[a]) for d, rows in GOLD.items() for a in rows]
    spark.createDataFrame(
        feats,
        "account_id STRING, feature_date DATE, requests_7d BIGINT, "
        "high_cot_share_7d DOUBLE, topic_top_share_7d DOUBLE",
    ).write.format("delta").save(features_uri(lake))
    enf = spark.createDataFrame(
        [("A1", dt.datetime(2026, 5, 2, 15, tzinfo=dt.UTC), "ban", "distillation", "case-1", D1)],
        "account_id STRING, decided_at TIMESTAMP, action STRING, reason STRING, "
        "case_id STRING, land_date DATE",
    )
    enf = (
        enf.withColumn("event_date", F.to_date("decided_at"))
        .withColumn("source_file", F.lit("hand-made"))
        .withColumn("line_no", F.lit(1))
    )
    delta_io.replace_where(enf, tables.SILVER_ENFORCEMENT, lake, "true")
    write_truth(lake, TRUTH)


@pytest.fixture(scope="module")
def hand_made(spark, tmp_path_factory):
    from jobs.evaluate import evaluate

    lake = str(tmp_path_factory.mktemp("evaluate-lake"))
    write_hand_made_lake(spark, lake)
    return lake, evaluate(lake, start=D1, end=D3)


def test_evaluate_figures_worked_out_by_hand(hand_made, capsys):
    from jobs.evaluate import _print

    _, r = hand_made
    assert (r["start"], r["end"]) == (str(D1), str(D3)) and r["source"].startswith("gold")
    # U1 has no truth: scored, but neither legitimate nor attacker
    assert (r["accounts_scored"], r["legit_accounts"], r["attacker_accounts"]) == (13, 6, 6)
    m, h, v = (r["summary"][n] for n in ("model", "heuristic", "volume"))
    # account max over D1..D3: A1 .9, G1 .8, A2 .7, Q1 .65 | L5 .6 | A3 .4, L3 .3, L2 .2,
    # L6 .15, Q2 .12, L1 .1, L4 .05; the 1% (and 0.1%) threshold sits just above L5's .6
    assert m["ap"] == pytest.approx((4 + 5 / 6 + 6 / 10) / 6)
    assert m["recall_at_1pct_fpr"] == m["recall_at_0_1pct_fpr"] == 4 / 6
    # high or worse in the range: A1, A2, G1 of the attackers, L5 of the legitimate
    assert (m["operating_recall"], m["operating_fpr"]) == (3 / 6, 1 / 6)
    # the quietest tenth of 6 attackers is Q1 (one request in the range), at .65
    assert m["quietest_recall_at_1pct_fpr"] == 1.0
    # camp-01 first request D0 (A1), first high D1; camp-02 never high; camp-03 (G1) from its
    # handover day D1 (its D0 request was its previous owner's), high on D2
    camps = {c["campaign_id"]: c for c in r["campaigns"]}
    assert camps["camp-01"]["days_to_first_flag"] == 1 and camps["camp-01"]["first_request"] == str(
        D0
    )
    assert camps["camp-02"]["days_to_first_flag"] is None
    assert camps["camp-03"]["first_request"] == str(D1) and camps["camp-03"]["first_flag"] == str(
        D2
    )
    assert (m["campaigns_flagged"], m["campaigns"], m["median_days_to_flag"]) == (2, 3, 1.0)
    # attacker requests in D1..D3: A1 18, A2 15, A3 3, Q1 1, Q2 2, G1 22 = 61; served on or
    # before the flag day: A1 10, A2 15, A3 3, Q 3, G1 15 = 46
    assert m["requests_before_flag"] == pytest.approx(46 / 61)
    # D3: 12 known accounts in uniform bins (worked out in the module docstring's spirit)
    want = (2 * 0.45 + 2 * 0.125 + 2 * 0.225 + 2 * 0.175 + 0.5 + 2 * 0.275 + 0.15) / 12
    assert m["ece_last_day"] == pytest.approx(want)
    # heuristic = requests_7d x cot x focus: A1 72, G1 48.6, A2 36, A3 5, Q2 2.8, Q1 1.5;
    # legitimate at most L5 5.4: A1, G1, A2 over it; Q1 (the quietest) not
    assert h["recall_at_1pct_fpr"] == 3 / 6 and h["quietest_recall_at_1pct_fpr"] == 0.0
    assert (h["operating_recall"], h["operating_fpr"]) == (3 / 6, 0.0)
    # its first flags: A1 on D0 (its feature row there), A2 and G1 on D1: 0 days each
    assert (h["campaigns_flagged"], h["median_days_to_flag"]) == (2, 0.0)
    # served before: A1 0, A2 4, A3 3, Q 3, G1 6 = 16 of 61
    assert h["requests_before_flag"] == pytest.approx(16 / 61)
    assert "ece_last_day" not in h
    # volume alone: L3's 200 requests outrank every attacker
    assert v["recall_at_1pct_fpr"] == 0.0
    rows = {x["strategy"]: x for x in r["per_strategy"]}
    assert (rows["hydra"]["labelled"], rows["hydra"]["labels"]) == (1, "some")
    assert rows["quiet_paraphrase"]["labels"] == rows["aged_accounts"]["labels"] == "none"
    assert rows["hydra"]["flagged_high"] == pytest.approx(2 / 3)
    assert rows["hydra"]["unlabelled_recall_at_1pct_fpr"] == 0.5  # A2 yes, A3 no
    assert rows["quiet_paraphrase"]["recall_at_1pct_fpr"] == 0.5
    pops = {x["population"]: x for x in r["per_population"]}
    assert pops["university_class"]["flagged_high"] == 0.5
    assert pops["individual"]["flagged_high"] == 0.0
    _print(r, ["heuristic", "volume"], 50)
    out = capsys.readouterr().out
    assert "quietest tenth" in out and "aged_accounts" in out and "2/3" in out


def test_evaluate_negative_control_without_the_handover(spark, tmp_path, hand_made):
    """The same lake with a truth that does not know G1 was bought: its previous owner's D0
    request becomes camp-03's first, and the figures that depend on it move."""
    import shutil

    from jobs.evaluate import evaluate

    source, before = hand_made
    lake = str(tmp_path / "lake")
    shutil.copytree(source, lake)
    write_truth(lake, {**TRUTH, "G1": TRUTH["G1"][:4] + (None,)})
    r = evaluate(lake, start=D1, end=D3)
    camps = {c["campaign_id"]: c for c in r["campaigns"]}
    assert camps["camp-03"]["first_request"] == str(D0)
    assert camps["camp-03"]["days_to_first_flag"] == 2
    assert (
        r["summary"]["model"]["median_days_to_flag"]
        != before["summary"]["model"]["median_days_to_flag"]
    )
    # the range's requests are the same: G1 had none before D1 in it
    assert r["summary"]["model"]["requests_before_flag"] == pytest.approx(46 / 61)
