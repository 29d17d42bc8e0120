"""Exact synchrony counts (features.daily_activity.synchrony) on a hand-made day.

Slots are a (/24, 10-minute bucket) or a (16-bit SimHash band, 10-minute bucket); a slot is
shared when at least `sync_min_accounts` (3) accounts touch it. Repeats of one account in a
slot count once, late records take no part, and an account without any IP prefix still gets
its prompt slots.
"""

from __future__ import annotations

import pytest

from features.daily_activity import SYNC_COLUMNS, synchrony
from features.params import DEFAULT_PARAMS
from tests.support.features_kit import at, day, interactions, req

P = "192.0.2.0/24"
H = "0123456789abcdef"  # shared whole by a1 and a2
H3 = "ffffffffffffcdef"  # shares only band 0 ("cdef") with H


def _rows() -> list[dict]:
    return [
        req("a1", at(0, 12, 0), ip_prefix=P, prompt_simhash=H),
        req("a1", at(0, 12, 5), ip_prefix=P, prompt_simhash="1111111111111111"),
        req("a1", at(0, 12, 30), ip_prefix=P, prompt_simhash="2222222222222222"),
        req("a2", at(0, 12, 2), ip_prefix=P, prompt_simhash=H),
        req("a3", at(0, 12, 3), ip_prefix=P, prompt_simhash=H3),
        req("a4", at(0, 13, 0), ip_prefix=P, prompt_simhash="3333333333333333"),
        # Landed a day late: meets nobody, counts for nobody.
        req("a5", at(0, 12, 4), land=day(1), ip_prefix=P, prompt_simhash=H),
        req("a6", at(0, 12, 6), ip_prefix=None, prompt_simhash="4444444444444444"),
    ]


@pytest.fixture(scope="module")
def stats(spark):
    assert DEFAULT_PARAMS.sync_min_accounts == 3 and DEFAULT_PARAMS.sync_bucket_minutes == 10
    out = synchrony(interactions(spark, _rows()))
    return {r.account_id: tuple(r[c] for c in SYNC_COLUMNS) for r in out.collect()}


# (ip slots, ip shared, ip max peers, prompt slots, prompt shared, prompt max peers)
EXPECTED = {
    # P@12:00 holds a1, a2, a3 (a1 twice): shared, 2 peers; P@12:30 alone. Prompts: H's four
    # bands in 12:00 (band 0 with a3 too: shared), 1111's four, and 2222's four in 12:30.
    "a1": (2, 1, 2, 12, 1, 2),
    "a2": (1, 1, 2, 4, 1, 2),
    "a3": (1, 1, 2, 4, 1, 2),
    "a4": (1, 0, 0, 4, 0, 0),
    "a6": (None, None, None, 4, 0, 0),
}


def test_synchrony_counts(stats):
    assert stats == EXPECTED


def test_synchrony_negative_controls(stats):
    # A wrong expectation must fail: repeats counted twice, or the late record taking part.
    assert stats["a1"] != (3, 1, 2, 12, 1, 2)
    assert stats["a2"][2] != 3 and "a5" not in stats


def test_synchrony_keys_are_the_account_day(stats, spark):
    out = synchrony(interactions(spark, _rows()))
    assert out.columns[:3] == ["account_id", "event_date", "land_date"]
    assert {(r.event_date, r.land_date) for r in out.collect()} == {(day(0), day(0))}


def test_same_prompt_in_different_buckets_is_not_synchrony(spark):
    """Three accounts sending one prompt 15 minutes apart share no slot; within one bucket
    they share all four of its bands (the control that the first case could have failed)."""
    apart = [req(f"b{i}", at(0, 14, 15 * i), ip_prefix=None, prompt_simhash=H) for i in range(3)]
    together = [req(f"b{i}", at(0, 14, i), ip_prefix=None, prompt_simhash=H) for i in range(3)]

    def prompt_stats(rows):
        out = synchrony(interactions(spark, rows))
        return {
            r.account_id: (r.sync_prompt_slots, r.sync_prompt_shared_slots, r.sync_prompt_max_peers)
            for r in out.collect()
        }

    assert prompt_stats(apart) == {f"b{i}": (4, 0, 0) for i in range(3)}
    assert prompt_stats(together) == {f"b{i}": (4, 4, 2) for i in range(3)}
