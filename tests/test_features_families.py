"""Exact values of every feature family on one hand-made scenario (D = Wednesday 2026-05-20).

The features of D and of D-1 are built once (module fixture) from silver rows in memory; each
test checks one family, window edges, an account's first day, a late record and the labels.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.features_kit import D, account, at, build, day, decision, req

NEW, OLD = "claude-opus-4-7", "claude-opus-4-6"
NEAR_A = "0123456789abcdef"
NEAR_B = f"{int(NEAR_A, 16) ^ (1 << 3) ^ (1 << 40):016x}"  # Hamming distance 2 from NEAR_A


def _rows() -> list[dict]:
    r = []
    # The lake starts on D-20 (so models seen then are not "new").
    r.append(req("oldtimer", at(-20)))
    r.append(req("first", at(0, 9)))
    r.append(req("edge7", at(-7, 23, 59, 59)))
    r.append(req("edge6", at(-6, 0, 0, 0)))
    r += [req("both", at(-7, 23, 59, 59)), req("both", at(-6, 0, 0, 0))]
    # A late record: event D-2, landed D; and one landing after D (must never count for D).
    r += [
        req("late", at(-2, 10)),
        req("late", at(-2, 11), land=day(0)),
        req("late", at(-1, 11), land=day(1)),
    ]
    r += [req("timing", at(0, h)) for h in (0, 6, 12, 18)]
    r += [req("nightfr", at(0, 23, 10), country="FR"), req("nightfr", at(0, 23, 40), country="FR")]
    r += [
        req(
            "content",
            at(0, 1),
            topic="coding",
            cot_request_score=0.9,
            thinking_enabled=True,
            tool_count=2,
            has_image=True,
            model=NEW,
            status=200,
            endpoint="batches",
            turns=1,
        ),
        req(
            "content",
            at(0, 2),
            topic="coding",
            cot_request_score=0.5,
            thinking_enabled=True,
            model=NEW,
            status=429,
            turns=3,
        ),
        req(
            "content",
            at(0, 3),
            topic="math_reasoning",
            cot_request_score=0.49,
            thinking_enabled=False,
            model=NEW,
            status=429,
            turns=None,
        ),
        req(
            "content",
            at(0, 4),
            topic=None,
            cot_request_score=None,
            thinking_enabled=None,
            tool_count=None,
            model=OLD,
            status=500,
            turns=None,
        ),
    ]
    r.append(req("early", at(-1, 16), model=NEW))
    r += [
        req("vol", at(0, 8), input_tokens=100, output_tokens=1000),
        req("vol", at(0, 9), input_tokens=300, output_tokens=500),
        req("vol", at(-3, 9), input_tokens=100, output_tokens=100),
        req("vol", at(-10, 9), input_tokens=50, output_tokens=50),
    ]
    r += [
        req(
            "infra",
            at(0, 5),
            ip_hash="i1",
            ip_prefix="172.16.1.0/24",
            ip_asn=1,
            ip_type="datacenter",
            country="US",
            api_key_id="k1",
            user_agent="u1",
        ),
        req(
            "infra",
            at(0, 6),
            ip_hash="i2",
            ip_prefix="172.16.1.0/24",
            ip_asn=2,
            ip_type="vpn_proxy",
            country="DE",
            api_key_id="k2",
            user_agent="u1",
        ),
        req(
            "infra",
            at(0, 7),
            ip_hash="i2",
            ip_prefix="172.16.2.0/24",
            ip_asn=2,
            ip_type="mobile",
            country=None,
            api_key_id="k2",
            user_agent="u1",
        ),
    ]
    # Cross-account: s1 and s2 share a card; s2 and s3 send near-duplicate prompts.
    r += [
        req("s1", at(0, 10)),
        req("s2", at(0, 10), prompt_simhash=NEAR_A),
        req("s3", at(-1, 10), prompt_simhash=NEAR_B),
    ]
    r += [req("r1", at(0, 11)), req("r2", at(0, 11)), req("s4", at(0, 12))]
    # Synchrony: y1..y3 on one datacenter /24 within one 10-minute bucket; y4 on it an hour
    # later. A datacenter prefix tying 4 accounts also links them into a cluster.
    r += [
        req(a, at(0, 14, m), ip_prefix="9.9.9.0/24", ip_type="datacenter")
        for a, m in (("y1", 1), ("y2", 3), ("y3", 5))
    ]
    r.append(req("y4", at(0, 15), ip_prefix="9.9.9.0/24", ip_type="datacenter"))
    # The same pattern on a residential /24 (a household, a carrier pool): no cluster.
    r += [
        req(a, at(0, 16, m), ip_prefix="9.9.8.0/24") for a, m in (("h1", 1), ("h2", 3), ("h3", 5))
    ]
    # Mostly on hosted networks (each its own datacenter /24), and one household /24 shared by
    # all three from home: the shared prefix is residential, so it links nobody.
    for i, a in enumerate(("m1", "m2", "m3")):
        r += [req(a, at(0, 17, m), ip_prefix=f"8.8.{i}.0/24", ip_type="datacenter") for m in (1, 2)]
        r.append(req(a, at(0, 18, 10 * i), ip_prefix="9.9.7.0/24", ip_type="residential"))
    # The 28-day edge: 23:59:59 on D-28 is outside, 00:00:00 on D-27 inside; D-27 and D-10
    # are from Brazil on one address, D from the US on another.
    r += [
        req("long", at(-28, 23, 59, 59), ip_hash="j0", ip_prefix="11.0.0.0/24", ip_asn=6),
        *[
            req("long", at(o, h), ip_hash="j1", ip_prefix="11.0.1.0/24", ip_asn=7, country="BR")
            for o, h in ((-27, 0), (-10, 12))
        ],
        req("long", at(0, 12), ip_hash="j2", ip_prefix="11.0.2.0/24", ip_asn=8),
    ]
    return r


def _accounts() -> list[dict]:
    return [
        account("first", at(0, 8)),
        account(
            "timing",
            at(-400),
            billing_country="JP",
            tier="scale",
            verified=True,
            signup_channel="research_program",
            email_domain_class="edu",
        ),
        account("infra", at(-50), billing_country="US"),
        account("s1", at(-30), payment_fingerprint="pf"),
        account("s2", at(-5), payment_fingerprint="pf"),
        account("r1", at(-60), payment_fingerprint="pfx"),
        account("r2", at(-60), payment_fingerprint="pfx"),
        # Known only after D: a record landing on D+1, an update made after D.
        account("late", at(-100), land=day(1)),
        account("vol", at(-90), tier="free"),
        account("vol", at(-90), updated=at(1, 1), land=day(1), tier="enterprise"),
    ]


def _decisions() -> list[dict]:
    return [
        decision("s3", at(-1, 9)),
        decision("s4", at(-3)),
        decision("s4", at(-2), action="reinstate", reason="appeal_granted"),
        decision("r2", at(1, 9), land=day(1)),  # decided after D
        decision("s1", at(-1), reason="payment_fraud"),  # not a distillation label
    ]


@pytest.fixture(scope="module")
def built(spark):
    rows, accts, dec = _rows(), _accounts(), _decisions()
    f_d, c_d = build(spark, rows, D, accts, dec)
    f_prev, _ = build(spark, rows, day(-1), accts, dec)
    return f_d, c_d, f_prev


def test_columns_are_the_catalog(built):
    from features.catalog import feature_columns

    f, _, _ = built
    assert list(f["first"]) == [c.name for c in feature_columns()]


def test_scored_accounts_and_window_edges(built):
    f, _, _ = built
    # 7 days ending on D are D-6..D: 23:59:59 on D-7 is outside, 00:00:00 on D-6 inside.
    assert "edge7" not in f and "oldtimer" not in f
    assert f["edge6"]["requests_7d"] == 1 and f["edge6"]["requests_1d"] == 0
    assert f["both"]["requests_7d"] == 1 and f["both"]["requests_28d"] == 2
    assert f["both"]["active_days_7d"] == 1 and f["both"]["active_days_28d"] == 2
    # An empty 1-day window: counts are 0, shares undefined (null).
    assert f["edge6"]["rate_limited_share_1d"] is None and f["edge6"]["active_hours_1d"] == 0
    assert f["edge6"]["feature_date"] == D


def test_28_day_window(built):
    g = built[0]["long"]
    assert (g["requests_1d"], g["requests_7d"], g["requests_28d"]) == (1, 1, 3)
    assert (g["active_days_7d"], g["active_days_28d"]) == (1, 3)
    assert (g["distinct_ips_7d"], g["distinct_ip_prefixes_7d"], g["distinct_asns_7d"]) == (1, 1, 1)
    assert (g["distinct_ips_28d"], g["distinct_ip_prefixes_28d"], g["distinct_asns_28d"]) == (
        2,
        2,
        2,
    )
    assert g["weekend_share_28d"] == pytest.approx(1 / 3)  # D-10 is a Sunday, D-27 a Thursday
    assert g["hour_entropy_28d"] == pytest.approx(0.9182958)  # hours 0, 12, 12
    assert g["hour_entropy_7d"] == pytest.approx(0.0)
    # No registry record: the most frequent country over 28 days (BR, -3) sets local time,
    # although the 7 days hold only the US.
    assert g["local_utc_offset"] == -3 and g["distinct_countries_7d"] == 1


def test_first_day_of_an_account(built):
    f, _, _ = built
    a = f["first"]
    assert a["account_age_days"] == 0 and a["is_young_account"] == 1
    assert a["has_account_record"] == 1
    assert a["requests_1d"] == a["requests_7d"] == a["requests_28d"] == 1
    assert a["active_days_7d"] == 1 and a["interarrival_cv_1d"] is None


def test_late_record_counts_from_its_landing_day_only(built):
    f, _, prev = built
    assert f["late"]["requests_7d"] == 2  # on time D-2 + late D-2 landed on D
    assert prev["late"]["requests_7d"] == 1  # as of D-1 the late row had not landed
    assert f["late"]["requests_1d"] == 0  # the D-1 event landing on D+1 is unknown on D
    # Its registry record lands on D+1: unknown on D.
    assert f["late"]["has_account_record"] == 0 and f["late"]["account_age_days"] is None


def test_volume(built):
    v = built[0]["vol"]
    assert (v["requests_1d"], v["requests_7d"], v["requests_28d"]) == (2, 3, 4)
    assert (v["input_tokens_7d"], v["output_tokens_7d"]) == (500, 1600)
    assert v["output_input_ratio_7d"] == pytest.approx(3.2)
    assert v["output_input_ratio_1d"] == pytest.approx(1500 / 400)
    assert (v["active_days_7d"], v["active_days_28d"]) == (2, 3)
    assert v["requests_per_active_day_28d"] == pytest.approx(4 / 3)
    assert v["requests_7d_vs_28d"] == pytest.approx(3.0)
    assert v["weekend_share_28d"] == pytest.approx(0.5)  # D-3 and D-10 are Sundays
    # The tier update made after D is not known on D.
    assert v["tier"] == "free" and v["tier_rank"] == 0


def test_timing(built):
    t = built[0]["timing"]
    assert t["hour_entropy_7d"] == pytest.approx(2.0)  # 4 equally used hours
    # Billing JP (+9): UTC 0/6/12/18 are 09/15/21/03 local; 03 is night.
    assert t["local_utc_offset"] == 9 and t["night_share_7d"] == pytest.approx(0.25)
    assert t["interarrival_cv_1d"] == pytest.approx(0.0)  # three 6-hour gaps
    assert t["active_hours_1d"] == 4 and t["active_hours_28d"] == 4
    n = built[0]["nightfr"]
    # No registry record: the most frequent request country (FR, +1) sets local time.
    assert n["local_utc_offset"] == 1 and n["night_share_7d"] == pytest.approx(1.0)
    assert n["interarrival_cv_7d"] is None  # a single gap


def test_content_and_errors(built):
    c = built[0]["content"]
    assert c["topic_top_share_7d"] == pytest.approx(0.5)
    assert c["topic_entropy_7d"] == pytest.approx(1.5)  # counts 2/1/1 (unknown is a topic)
    assert c["reasoning_topic_share_7d"] == pytest.approx(0.75)
    assert c["high_cot_share_1d"] == pytest.approx(0.5)  # 0.9 and 0.5 (threshold inclusive)
    assert c["cot_score_mean_7d"] == pytest.approx((0.9 + 0.5 + 0.49) / 3)
    assert c["thinking_share_7d"] == pytest.approx(0.5)
    assert c["tool_share_7d"] == pytest.approx(0.25)
    assert c["image_share_7d"] == pytest.approx(0.25)
    assert c["batch_share_7d"] == pytest.approx(0.25)
    assert c["mean_turns_7d"] == pytest.approx(2.0)
    assert c["distinct_models_7d"] == 2 and c["model_top_share_7d"] == pytest.approx(0.75)
    assert c["new_model_share_1d"] == pytest.approx(0.75)
    assert c["rate_limited_share_1d"] == pytest.approx(0.5)
    assert c["server_error_share_7d"] == pytest.approx(0.25)
    assert c["client_error_share_7d"] == pytest.approx(0.0)
    assert c["prompt_unique_ratio_7d"] == pytest.approx(1.0)
    e = built[0]["early"]
    assert e["new_model_share_1d"] is None and e["new_model_share_7d"] == pytest.approx(1.0)
    assert built[0]["first"]["new_model_share_7d"] == pytest.approx(0.0)


def test_infrastructure(built):
    i = built[0]["infra"]
    assert (i["distinct_ips_7d"], i["distinct_ip_prefixes_7d"], i["distinct_asns_7d"]) == (2, 2, 2)
    assert i["distinct_countries_7d"] == 2
    assert (i["distinct_api_keys_7d"], i["distinct_user_agents_7d"]) == (2, 1)
    assert i["datacenter_share_7d"] == pytest.approx(1 / 3)
    assert i["vpn_proxy_share_7d"] == pytest.approx(1 / 3)
    assert i["residential_share_7d"] == pytest.approx(1 / 3)
    assert i["country_mismatch_share_7d"] == pytest.approx(0.5)  # DE of US, DE (null skipped)
    assert built[0]["nightfr"]["country_mismatch_share_7d"] is None  # no billing country


def test_account_profile(built):
    t = built[0]["timing"]
    assert t["account_age_days"] == 400 and t["is_young_account"] == 0
    assert (t["verified"], t["tier_rank"], t["signup_research_program"], t["email_edu"]) == (
        1,
        2,
        1,
        1,
    )
    assert t["signup_self_serve"] == 0 and t["has_payment_fingerprint"] == 0
    assert t["billing_country"] == "JP" and t["signup_channel"] == "research_program"
    assert built[0]["s1"]["has_payment_fingerprint"] == 1


def test_cross_account_sharing(built):
    f = built[0]
    assert f["s1"]["payment_fp_accounts"] == 1 and f["s3"]["payment_fp_accounts"] is None
    assert f["timing"]["payment_fp_accounts"] == 0
    assert f["s2"]["simhash_neardup_accounts_7d"] == 1
    assert f["s3"]["simhash_neardup_accounts_7d"] == 1
    assert f["s2"]["simhash_shared_share_7d"] == pytest.approx(1.0)
    assert f["s1"]["simhash_neardup_accounts_7d"] == 0
    assert f["y4"]["ip_prefix_max_accounts_7d"] == 3
    assert f["y4"]["ip_prefix_shared_share_7d"] == pytest.approx(1.0)
    assert f["timing"]["ip_prefix_max_accounts_7d"] == 0


def test_synchrony(built):
    f = built[0]
    for a in ("y1", "y2", "y3"):
        assert f[a]["sync_ip_share_7d"] == pytest.approx(1.0)
        assert f[a]["sync_ip_max_peers_7d"] == 2
    assert f["y4"]["sync_ip_share_7d"] == pytest.approx(0.0)
    assert f["timing"]["sync_ip_share_7d"] == pytest.approx(0.0)


def test_clusters_and_known_bad(built):
    f, c, _ = built
    s_id = c["s1"]["cluster_id"]
    assert s_id and c["s2"]["cluster_id"] == s_id == c["s3"]["cluster_id"]
    assert c["s1"]["link_types"] == ["payment", "prompt_simhash"]
    assert f["s1"]["cluster_size"] == 3 and f["s1"]["in_cluster"] == 1
    assert f["s1"]["cluster_link_payment"] == 1 and f["s1"]["cluster_link_org"] == 0
    # s3 is labelled distillation by D: counted for its mates, never for itself.
    assert f["s1"]["cluster_known_bad_others"] == 1 and f["s3"]["cluster_known_bad_others"] == 0
    assert f["s1"]["cluster_known_bad_share"] == pytest.approx(0.5)
    # s2 is 5 days old, s3 has no record (counts as young), s1 is 30 days old.
    assert f["s1"]["cluster_young_share"] == pytest.approx(2 / 3)
    assert f["s1"]["cluster_growth_7d"] == 3 and f["s1"]["cluster_age_days"] == 0
    assert f["s1"]["cluster_requests_7d"] == 3
    # r2's ban is decided after D: nobody in r1/r2 is known bad on D.
    assert f["r1"]["cluster_known_bad_others"] == 0 and f["r2"]["cluster_known_bad_others"] == 0
    assert {c["y1"]["cluster_id"]} == {c[a]["cluster_id"] for a in ("y2", "y3", "y4")}
    # Consumer networks link nobody (features.params: prefix_link_max_consumer_share).
    assert not {"h1", "h2", "h3"} & set(c)
    assert f["h1"]["in_cluster"] == 0 and f["h1"]["ip_prefix_max_accounts_7d"] == 2
    # ... nor does a consumer prefix of accounts mostly on hosted networks (link_prefixes).
    assert f["m1"]["ip_prefix_max_accounts_7d"] == 2 and f["m1"][
        "residential_share_7d"
    ] == pytest.approx(1 / 3)
    assert not {"m1", "m2", "m3"} & set(c)
    assert f["y1"]["cluster_sync_share_7d"] == pytest.approx(0.75)
    # Accounts in no cluster: null id, size 1, own volume.
    assert "timing" not in c and f["timing"]["cluster_id"] is None
    assert f["timing"]["cluster_size"] == 1 and f["timing"]["in_cluster"] == 0
    assert f["timing"]["cluster_requests_7d"] == 4
    # s4 was banned then reinstated: not known bad (nobody else links to it anyway).
    assert f["s4"]["in_cluster"] == 0


def test_known_bad_as_of(spark):
    from core.tables import SILVER_ENFORCEMENT
    from features.account_profile import known_bad_as_of
    from tests.support.features_kit import frame

    rows = _decisions() + [
        decision("z", at(0, 23, 59, 59)),
        decision("w", at(-1), land=day(1)),
        decision("v", at(-5)),
        decision("v", at(-4), action="reinstate", reason="appeal_granted"),
        decision("v", at(-3), action="suspend"),
    ]
    bad = {
        r.account_id for r in known_bad_as_of(frame(spark, SILVER_ENFORCEMENT, rows), D).collect()
    }
    # s3 banned; z banned in D's last second; v re-banned after its reinstatement.
    # Not: s4 (reinstated), r2 (decided after D), s1 (payment fraud), w (landed after D).
    assert bad == {"s3", "z", "v"}


def test_day_arithmetic_of_the_scenario():
    assert D.weekday() == 2
    assert (D - dt.timedelta(days=3)).weekday() == (D - dt.timedelta(days=10)).weekday() == 6
