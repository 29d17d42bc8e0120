"""`make bench`'s growth figures: exact on hand-made day rows."""

from tools.bench import growth


def test_growth_separates_history_from_a_busier_day():
    early = {"features": 60.0, "lines": 20_000}
    late = {"features": 75.0, "lines": 30_000}
    assert growth(early, late, "features") == {
        "features_last_over_eighth": 1.25,
        "features_per_line_last_over_eighth": 0.83,
    }
    # the same day volume: nothing to divide out, the per-line ratio equals the raw one
    same = growth(early, {**late, "lines": 20_000}, "features")
    assert same["features_per_line_last_over_eighth"] == same["features_last_over_eighth"] == 1.25
    # negative control: a slower late day moves both figures
    assert growth(early, {**late, "features": 90.0}, "features") != growth(early, late, "features")


def test_rerun_summary_takes_medians_of_the_interleaved_runs():
    from tools.bench import rerun_summary

    out = rerun_summary([40.0, 50.0, 44.0], [48.0, 46.0, 60.0])
    assert (out["eighth_median_s"], out["last_median_s"], out["last_over_eighth"]) == (
        44.0,
        48.0,
        1.09,
    )
    # an even count averages the middle two
    assert rerun_summary([40.0, 50.0], [45.0, 55.0])["last_over_eighth"] == 1.11
    # one outlier run does not move the median's ratio
    assert rerun_summary([40.0, 50.0, 44.0], [48.0, 46.0, 600.0])["last_over_eighth"] == 1.09
    # negative control: a late day slower in most runs does
    assert rerun_summary([40.0, 50.0, 44.0], [58.0, 46.0, 60.0])["last_over_eighth"] == 1.32
