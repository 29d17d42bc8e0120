"""`make bench`'s growth figures: exact on hand-made day rows."""

from infra.bench import growth


def test_growth_separates_history_from_a_busier_day():
    early = {"features": 60.0, "lines": 20_000}
    late = {"features": 75.0, "lines": 30_000}
    assert growth(early, late, "features") == {"features_last_over_eighth": 1.25,
                                               "features_per_line_last_over_eighth": 0.83}
    # the same day volume: nothing to divide out, the per-line ratio equals the raw one
    same = growth(early, {**late, "lines": 20_000}, "features")
    assert same["features_per_line_last_over_eighth"] == same["features_last_over_eighth"] == 1.25
    # negative control: a slower late day moves both figures
    assert growth(early, {**late, "features": 90.0}, "features") != growth(early, late, "features")
