"""A range of days built in passes equals the same days built one at a time, table for table.

Three days of hand-made silver rows with what chains from day to day: a cluster that keeps its
id while members come and go, two clusters that merge with equal shares (the id tie-break), a
late record and a late registry update. Built day by day into one lake and as one range into
another, the feature and cluster tables must be equal row for row; a lake whose aggregates let
the late record into the days before it landed must not be.
"""

from __future__ import annotations

import pytest

from core import delta_io
from features.tables import ACCOUNT_ACTIVITY, ACCOUNT_CLUSTERS_MAP, ACCOUNT_FEATURES
from jobs.build_features import (
    aggregate_landed_days,
    build_day_tables,
    build_range_tables,
    passes,
)
from tests.support.features_kit import account, at, day, req, write_silver
from tools.compare import read_rows

DAYS = [day(-1), day(0), day(1)]
LANDINGS = [day(-3), day(-2), *DAYS]


def _silver():
    rows, accts = [], []
    # A card shared by c1..c4 every day; c5 joins on the last day, c1 changes card then.
    for a in ("c1", "c2", "c3", "c4"):
        accts.append(account(a, at(-40), payment_fingerprint="card"))
        rows += [req(a, at(o, 9)) for o in (-3, -1, 0, 1)]
    accts.append(account("c5", at(-40), payment_fingerprint="card", land=day(1)))
    rows.append(req("c5", at(1, 10)))
    accts.append(account("c1", at(-40), updated=at(1, 8), payment_fingerprint="own"))
    # Two pairs, each on its own card, merged on the last day by an org both join then.
    for a, card in (("a1", "pa"), ("a2", "pa"), ("b1", "pb"), ("b2", "pb")):
        accts.append(account(a, at(-30), payment_fingerprint=card))
        rows += [req(a, at(o, 11)) for o in (-2, -1, 0, 1)]
    for a, card in (("a2", "pa"), ("b2", "pb")):
        accts.append(account(a, at(-30), updated=at(1, 7), payment_fingerprint=card, org_id="org"))
    # A record of D-1 that lands on D+1: it counts from D+1 on, never before.
    rows += [req("late", at(-1, 12)), req("late", at(-1, 13), land=day(1)), req("late", at(0, 12))]
    return rows, accts


def _window_rows(spark, lake: str) -> dict:
    """Aggregate rows each day's 7-day window holds (what `passes` budgets)."""
    landed = {
        r["land_date"]: r["count"]
        for r in delta_io.read(spark, ACCOUNT_ACTIVITY, lake).groupBy("land_date").count().collect()
    }
    return {d: sum(n for land, n in landed.items() if 0 <= (d - land).days < 28) for d in DAYS}


def _build(spark, lake: str, one_pass: bool, split: bool = True) -> None:
    rows, accts = _silver()
    write_silver(spark, lake, rows, accts)
    aggregate_landed_days(spark, lake, LANDINGS)
    if one_pass and not split:
        build_range_tables(spark, lake, DAYS)
    elif one_pass:
        # Two passes, [D-1, D] then [D+1]: ids chain inside a pass and across passes.
        cost = _window_rows(spark, lake)
        budget = cost[day(-1)] + cost[day(0)]
        assert passes(spark, lake, DAYS, budget) == [[day(-1), day(0)], [day(1)]]
        build_range_tables(spark, lake, DAYS, budget=budget)
    else:
        for d in DAYS:
            build_day_tables(spark, lake, d)


def _tables(lake: str) -> dict[str, list[tuple]]:
    return {t.name: read_rows(t.uri(lake)) for t in (ACCOUNT_FEATURES, ACCOUNT_CLUSTERS_MAP)}


@pytest.fixture(scope="module")
def lakes(spark, tmp_path_factory):
    daily, ranged = (str(tmp_path_factory.mktemp(n)) for n in ("daily", "ranged"))
    _build(spark, daily, one_pass=False)
    _build(spark, ranged, one_pass=True)
    return daily, ranged


def test_a_range_equals_its_days_one_at_a_time(spark, lakes):
    daily, ranged = lakes
    expected, got = _tables(daily), _tables(ranged)
    clusters = {
        (r.account_id, r.feature_date): r
        for r in delta_io.read(spark, ACCOUNT_CLUSTERS_MAP, daily).collect()
    }
    # Real content first: a cluster of 4 that keeps its id over the three days although c5
    # joins and c1 leaves on the last, and two pairs merged into one cluster of 4 then.
    ids = [clusters[("c2", d)].cluster_id for d in DAYS]
    assert len(set(ids)) == 1 and clusters[("c5", day(1))].cluster_id == ids[0]
    assert ("c1", day(1)) not in clusters
    merged = {clusters[(a, day(1))].cluster_id for a in ("a1", "a2", "b1", "b2")}
    assert len(merged) == 1 and clusters[("a1", day(1))].cluster_size == 4
    assert merged <= {clusters[("a1", day(0))].cluster_id, clusters[("b1", day(0))].cluster_id}
    # c1..c4, a1, a2, b1, b2 and late are scored on the three days, c5 on the last.
    assert len(expected[ACCOUNT_FEATURES.name]) == 9 * 3 + 1

    assert got == expected


def test_the_comparison_catches_a_late_record_let_into_earlier_days(
    spark, lakes, tmp_path, monkeypatch
):
    """Negative control: a range pass whose windows take every aggregate row from its event
    day on (ignoring when it landed) lets the late record into the days before it landed, and
    the comparison sees it. One pass over the three days: a pass ending before the record
    lands never reads it."""
    from pyspark.sql import functions as F

    from features import windows

    daily, _ = lakes
    leaky = str(tmp_path / "leaky")
    monkeypatch.setattr(windows, "known_from", lambda *cols: F.col("event_date"))
    _build(spark, leaky, one_pass=True, split=False)

    expected, got = _tables(daily), _tables(leaky)
    assert got[ACCOUNT_FEATURES.name] != expected[ACCOUNT_FEATURES.name]

    def late_1d(lake: str) -> dict:
        return {
            r.feature_date: r.requests_1d
            for r in delta_io.read(spark, ACCOUNT_FEATURES, lake)
            .where("account_id = 'late'")
            .collect()
        }

    assert late_1d(daily)[day(-1)] == 1 and late_1d(leaky)[day(-1)] == 2
