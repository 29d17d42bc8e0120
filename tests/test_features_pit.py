"""Point-in-time: the features of day D do not change when later days (and late rows for days up
to D that land after D) arrive; a row landed on D itself does change them (negative control).
Runs the real job over Delta tables in a temp lake."""

from __future__ import annotations

import pytest

from core import delta_io
from features.tables import ACCOUNT_ACTIVITY, ACCOUNT_CLUSTERS_MAP, ACCOUNT_FEATURES
from jobs.build_features import aggregate_landed_days, build_day_tables, build_features
from tests.support.features_kit import D, account, at, day, decision, req, write_silver
from tests.support.frames import assert_frames_equal

TEMPLATE = "00ff00ff00ff00ff"


def _near(bit: int) -> str:
    return f"{int(TEMPLATE, 16) ^ (1 << bit):016x}"


def _until_d() -> tuple[list, list, list]:
    rows = []
    # A small hydra: h1..h4 send near-duplicates of one template from their own networks.
    for i, a in enumerate(["h1", "h2", "h3", "h4"]):
        for k in range(3):
            rows.append(
                req(
                    a,
                    at(-k, 2 + i, 7 * k),
                    prompt_simhash=_near(5 * i + k),
                    topic="math_reasoning",
                    cot_request_score=0.95,
                )
            )
    rows += [req("solo", at(-3, 12)), req("solo", at(0, 13))]
    rows.append(req("solo", at(-2, 9), land=day(-1)))  # late, landed before D
    accounts = [
        account("h1", at(-3), payment_fingerprint="card"),
        account("h2", at(-3), payment_fingerprint="card"),
        account("solo", at(-200), billing_country="DE"),
    ]
    decisions = [decision("h2", at(-1, 18))]
    return rows, accounts, decisions


def _after_d() -> tuple[list, list, list]:
    rows = [
        req("h1", at(-1, 20), land=day(1)),  # late rows for days <= D landing after D
        req("solo", at(0, 22), land=day(1)),
        req("h3", at(0, 23, 59, 59), land=day(3)),
        req("h1", at(1, 3), prompt_simhash=_near(40)),
        req("newbie", at(1, 4), prompt_simhash=_near(41)),
    ]
    accounts = [
        account("h3", at(-3), updated=at(0, 10), land=day(1), payment_fingerprint="card"),
        account("solo", at(-200), updated=at(1, 1), land=day(1), tier="enterprise"),
    ]
    decisions = [decision("h1", at(0, 12), land=day(1)), decision("h4", at(1, 5))]
    return rows, accounts, decisions


def _snapshot(spark, lake, table, d):
    df = delta_io.read(spark, table, lake).where(f"{_col(table)} = DATE'{d}'")
    return sorted(df.collect(), key=lambda r: str(tuple(r)))


def _adaptive(spark) -> bool:
    plan = spark.range(3).groupBy("id").count()._jdf.queryExecution().executedPlan()
    return "AdaptiveSparkPlan" in plan.toString()


def _col(table):
    return "land_date" if table is ACCOUNT_ACTIVITY else "feature_date"


@pytest.mark.filterwarnings("ignore")
def test_features_of_d_do_not_change_when_later_days_land(spark, lake, production_sql):
    rows, accts, decs = _until_d()
    write_silver(spark, lake, rows, accts, decs)
    # Every landing aggregated; only the days the assertions read get their day tables (each
    # day's clusters and features cost ~25 s of Spark jobs here, whatever the data size).
    aggregate_landed_days(spark, lake, [day(-3), day(-2), day(-1), day(0)])
    build_day_tables(spark, lake, D)
    before = _snapshot(spark, lake, ACCOUNT_FEATURES, D)
    clusters_before = _snapshot(spark, lake, ACCOUNT_CLUSTERS_MAP, D)

    # Real content first: every active account scored, a cluster of 3+, labels at work.
    feats = {
        r[0]: r
        for r in delta_io.read(spark, ACCOUNT_FEATURES, lake)
        .where(f"feature_date = DATE'{D}'")
        .collect()
    }
    assert set(feats) == {"h1", "h2", "h3", "h4", "solo"}
    assert feats["solo"]["requests_7d"] == 3 and feats["solo"]["requests_1d"] == 1
    assert feats["h1"]["cluster_size"] == 4 and feats["h1"]["simhash_neardup_accounts_7d"] >= 2
    assert feats["h1"]["cluster_known_bad_others"] == 1  # h2, banned on D-1
    assert feats["h2"]["cluster_known_bad_others"] == 0
    assert feats["h3"]["has_account_record"] == 0
    assert len({c[2] for c in clusters_before}) == 1 and len(clusters_before) == 4

    # Later days land, with late rows for D-1 and D, registry and label changes about D.
    later_rows, later_accts, later_decs = _after_d()
    write_silver(spark, lake, later_rows, later_accts, later_decs)
    aggregate_landed_days(spark, lake, [day(1), day(2), day(3)])
    for d in (day(1), day(2)):
        build_day_tables(spark, lake, d)
    # Day D+2 landed nothing: an empty day still scores the week's accounts.
    empty = {
        r.account_id: r
        for r in delta_io.read(spark, ACCOUNT_FEATURES, lake)
        .where(f"feature_date = DATE'{day(2)}'")
        .collect()
    }
    assert "solo" in empty and empty["solo"]["requests_1d"] == 0
    assert empty["solo"]["rate_limited_share_1d"] is None
    # D+1 kept the hydra's cluster id (most members persist).
    d1 = {
        r.account_id: r.cluster_id
        for r in delta_io.read(spark, ACCOUNT_CLUSTERS_MAP, lake)
        .where(f"feature_date = DATE'{day(1)}'")
        .collect()
    }
    assert d1["h1"] == clusters_before[0][2] and d1.get("newbie") == d1["h1"]

    # Re-run D after everything above, with the production code generation and AQE (the tests
    # run Spark interpreted, see conftest): the same tables either way.
    outside = _adaptive(spark)  # False under `make test`: the switch below changes the plans
    with production_sql():
        assert _adaptive(spark) and spark.conf.get("spark.sql.codegen.factoryMode") == "FALLBACK"
        build_features(lake, [D])
    assert _adaptive(spark) == outside
    assert_frames_equal(_snapshot(spark, lake, ACCOUNT_FEATURES, D), before)
    assert_frames_equal(_snapshot(spark, lake, ACCOUNT_CLUSTERS_MAP, D), clusters_before)

    # Negative control: a row that landed ON D (a late row for D-1) does change D.
    write_silver(spark, lake, [req("solo", at(-1, 7), land=D)])
    build_features(lake, [D])
    after = _snapshot(spark, lake, ACCOUNT_FEATURES, D)
    with pytest.raises(AssertionError):
        assert_frames_equal(after, before)
    solo = {
        r.account_id: r
        for r in delta_io.read(spark, ACCOUNT_FEATURES, lake)
        .where(f"feature_date = DATE'{D}'")
        .collect()
    }["solo"]
    assert solo["requests_7d"] == 4
