"""Point-in-time labels and the training set: no label decided or landed after D reaches D.

Exact values on hand-made enforcement rows (a reinstate, a ban landed late, a payment-fraud
ban, a decision at the very first instant of the next day); each equality has a negative
control that must fail.
"""

from __future__ import annotations

import datetime as dt

import pytest

UTC = dt.UTC
D = dt.date


def _ts(day: str, hms: str = "12:00:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hms}").replace(tzinfo=UTC)


# account, decided_at, action, reason, case_id, land_date
ENFORCEMENT = [
    ("a", _ts("2026-05-03", "10:00:00"), "ban", "distillation", "c1", D(2026, 5, 3)),
    ("a2", _ts("2026-05-03", "11:00:00"), "ban", "distillation", "c1", D(2026, 5, 3)),
    ("b", _ts("2026-05-02", "08:00:00"), "suspend", "distillation", None, D(2026, 5, 2)),
    ("b", _ts("2026-05-06", "09:00:00"), "reinstate", "appeal_granted", None, D(2026, 5, 6)),
    # decided on May 1st, landed three days late
    ("c", _ts("2026-05-01", "23:59:59"), "ban", "distillation", "c2", D(2026, 5, 4)),
    ("d", _ts("2026-05-01"), "ban", "payment_fraud", None, D(2026, 5, 1)),
    # the first instant of May 5th belongs to May 5th, not to May 4th
    ("e", _ts("2026-05-05", "00:00:00"), "ban", "distillation", "c2", D(2026, 5, 5)),
    ("f", _ts("2026-05-07"), "ban", "distillation", "c3", D(2026, 5, 7)),
]
SCHEMA = (
    "account_id STRING, decided_at TIMESTAMP, action STRING, reason STRING, "
    "case_id STRING, land_date DATE"
)


@pytest.fixture(scope="module")
def enforcement(spark):
    return spark.createDataFrame(ENFORCEMENT, SCHEMA)


def _labels(enforcement, day):
    from models.labels import labels_as_of

    def utc(ts):  # collected timestamps are naive local time: compare instants
        return ts.astimezone(UTC) if ts is not None else None

    return {
        r["account_id"]: (
            r["is_positive"],
            utc(r["positive_since"]),
            r["case_id"],
            r["cluster_key"],
            r["ever_positive"],
            r["other_enforcement"],
        )
        for r in labels_as_of(enforcement, day).collect()
    }


def _known_positive(day: dt.date) -> dict[str, dt.datetime]:
    """Reference implementation in plain Python: account -> decided_at of its positive."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=UTC)
    state: dict[str, dt.datetime | None] = {}
    for acc, at, action, reason, _case, land in sorted(ENFORCEMENT, key=lambda r: r[1]):
        if at >= end or land > day:
            continue
        if action == "reinstate":
            state[acc] = None
        elif reason == "distillation" and state.get(acc) is None:
            state[acc] = at
    return {a: t for a, t in state.items() if t is not None}


def test_labels_as_of_exact(enforcement):
    may3 = _labels(enforcement, D(2026, 5, 3))
    assert may3 == {
        "a": (True, _ts("2026-05-03", "10:00:00"), "c1", "c1", True, False),
        "a2": (True, _ts("2026-05-03", "11:00:00"), "c1", "c1", True, False),
        "b": (True, _ts("2026-05-02", "08:00:00"), None, "account:b", True, False),
        "d": (False, None, None, None, False, True),
    }
    may4 = _labels(enforcement, D(2026, 5, 4))
    assert may4["c"] == (True, _ts("2026-05-01", "23:59:59"), "c2", "c2", True, False)
    assert "e" not in may4  # decided at 00:00:00 of May 5th
    may5 = _labels(enforcement, D(2026, 5, 5))
    assert may5["e"][0] is True
    may6 = _labels(enforcement, D(2026, 5, 6))
    assert may6["b"] == (False, None, None, None, True, False)  # reinstated: a judged negative
    # Negative control: the next day's labels (c's late landing) fail the same comparison.
    assert may4 != may3


def test_labels_match_reference_every_day(enforcement):
    from models.labels import label_counts, labels_as_of

    for offset in range(0, 9):
        day = D(2026, 4, 30) + dt.timedelta(days=offset)
        got = {a: v[1] for a, v in _labels(enforcement, day).items() if v[0]}
        assert got == _known_positive(day), day
    assert label_counts(labels_as_of(enforcement, D(2026, 5, 5))) == (5, 3)  # c1, c2, account:b
    # Negative control: ignoring land_date (a leaky reading) makes May 3rd's labels differ.
    leaky = enforcement.withColumn("land_date", enforcement["decided_at"].cast("date"))
    leaky_may3 = {
        r["account_id"] for r in labels_as_of(leaky, D(2026, 5, 3)).collect() if r["is_positive"]
    }
    assert leaky_may3 != set(_known_positive(D(2026, 5, 3)))
    assert "c" in leaky_may3


ACCOUNTS = ["a", "a2", "b", "c", "d", "e", "f", "n1", "n2", "n3"]
FIRST, LAST = D(2026, 4, 20), D(2026, 5, 8)


@pytest.fixture(scope="module")
def features(spark):
    rows = []
    day = FIRST
    while day <= LAST:
        for i, acc in enumerate(ACCOUNTS):
            rows.append((acc, day, float(i), float((day - FIRST).days)))
        day += dt.timedelta(days=1)
    return spark.createDataFrame(rows, "account_id STRING, feature_date DATE, x DOUBLE, t DOUBLE")


def _rows(features, enforcement, as_of, label_day=None, **cfg):
    from models.labels import labels_as_of
    from models.training_set import SplitConfig, assemble, split_bounds

    config = SplitConfig(
        **{"maturity_days": 1, "val_days": 2, "gap_days": 1, "negative_stride_days": 1, **cfg}
    )
    bounds = split_bounds(as_of, FIRST, config)
    labels = labels_as_of(enforcement, label_day or as_of)
    out = assemble(features, labels, bounds, ["x", "t"], config).collect()
    return bounds, {(r["account_id"], r["feature_date"], r["label"], r["split"]) for r in out}


def test_split_bounds():
    from models.training_set import EmptySplit, SplitConfig, split_bounds

    b = split_bounds(D(2026, 5, 5), FIRST, SplitConfig(maturity_days=1, val_days=2, gap_days=1))
    assert (b.train_start, b.train_end, b.val_start, b.val_end) == (
        FIRST,
        D(2026, 5, 1),
        D(2026, 5, 3),
        D(2026, 5, 4),
    )
    # A short history shrinks validation to a third of the eligible days, the gap stays.
    b = split_bounds(D(2026, 5, 5), D(2026, 4, 26), SplitConfig(maturity_days=3, val_days=7))
    assert (b.train_end, b.val_start, b.val_end) == (D(2026, 4, 29), D(2026, 5, 1), D(2026, 5, 2))
    with pytest.raises(EmptySplit):
        split_bounds(D(2026, 5, 5), D(2026, 5, 1), SplitConfig(maturity_days=3))


def test_training_rows_exact_and_point_in_time(features, enforcement):
    as_of = D(2026, 5, 5)
    bounds, rows = _rows(features, enforcement, as_of, val_fraction=0.0)
    train_days = [FIRST + dt.timedelta(days=i) for i in range((bounds.train_end - FIRST).days + 1)]
    positive_before = {
        "a": D(2026, 5, 3),
        "a2": D(2026, 5, 3),
        "b": D(2026, 5, 2),
        "c": D(2026, 5, 1),
        "e": D(2026, 5, 5),
    }
    expected = set()
    for acc in ACCOUNTS:
        if acc == "d":  # under a payment-fraud ban: neither positive nor negative
            continue
        for day in train_days:
            if acc in positive_before:
                if day < positive_before[acc]:
                    expected.add((acc, day, 1, "train"))
            else:  # f's ban is decided after D: a negative as of D
                expected.add((acc, day, 0, "train"))
    assert rows == expected
    # Negative control: labels known two days later make f (banned May 7th) a positive.
    _, leaky = _rows(features, enforcement, as_of, label_day=D(2026, 5, 7), val_fraction=0.0)
    assert leaky != expected
    assert ("f", FIRST, 1, "train") in leaky


def test_no_label_after_d_reaches_rows_of_d(features, enforcement):
    """For every D: a positive row is an account known positive as of D, on a day before its
    decision, and no row is later than D - maturity."""
    seen_positive = 0
    for offset in range(0, 6):
        as_of = D(2026, 5, 3) + dt.timedelta(days=offset)
        bounds, rows = _rows(features, enforcement, as_of, val_fraction=0.5)
        known = _known_positive(as_of)
        for acc, day, label, _split in rows:
            assert day <= bounds.val_end < as_of
            if label:
                seen_positive += 1
                assert acc in known and day < known[acc].date(), (as_of, acc, day)
            else:
                assert acc not in known
    assert seen_positive > 0


def test_validation_accounts_never_in_training(spark):
    from models.labels import labels_as_of
    from models.training_set import SplitConfig, assemble, split_bounds

    rows = [
        (f"acct{i:03d}", FIRST + dt.timedelta(days=d), float(i), 0.0)
        for i in range(60)
        for d in range(19)
    ]
    feats = spark.createDataFrame(rows, "account_id STRING, feature_date DATE, x DOUBLE, t DOUBLE")
    enf = spark.createDataFrame(
        [
            (f"acct{i:03d}", _ts("2026-05-07"), "ban", "distillation", "c9", D(2026, 5, 7))
            for i in range(0, 60, 5)
        ],
        SCHEMA,
    )
    cfg = SplitConfig(maturity_days=1, val_days=3, gap_days=1, val_fraction=0.5)
    bounds = split_bounds(LAST, FIRST, cfg)
    out = assemble(feats, labels_as_of(enf, LAST), bounds, ["x"], cfg).collect()
    train = {r["account_id"] for r in out if r["split"] == "train"}
    val = {r["account_id"] for r in out if r["split"] == "val"}
    assert train and val and not (train & val)
    assert all(r["feature_date"] <= bounds.train_end for r in out if r["split"] == "train")
    assert all(r["feature_date"] >= bounds.val_start for r in out if r["split"] == "val")
    # Negatives are sampled once a week per account in training, positives keep every day.
    per_account: dict[str, int] = {}
    for r in out:
        if r["split"] == "train" and r["label"] == 0:
            per_account[r["account_id"]] = per_account.get(r["account_id"], 0) + 1
    n_days = (bounds.train_end - FIRST).days + 1
    assert per_account and max(per_account.values()) <= -(-n_days // 7)
    pos_train = [r for r in out if r["split"] == "train" and r["label"] == 1]
    assert pos_train and len(pos_train) == n_days * len({r["account_id"] for r in pos_train})


def test_young_unlabelled_accounts_are_not_training_negatives(spark):
    """An unlabelled account younger than `min_negative_age_days` on the row's day is left out
    of training (it may be a campaign nobody judged yet) but stays in validation; unknown age
    counts as old enough; labelled positives keep their rows whatever their age."""
    from models.labels import labels_as_of
    from models.training_set import SplitConfig, assemble, split_bounds

    # (account, age on FIRST or None); two accounts per age so both groups get some.
    ages = {"old": 400, "young": 3, "unknown": None, "pos_young": 2}
    accounts = [(f"{name}{k}", age) for name, age in ages.items() for k in range(8)]
    rows = [
        (acc, FIRST + dt.timedelta(days=d), 1.0, None if age is None else age + d)
        for acc, age in accounts
        for d in range(19)
    ]
    feats = spark.createDataFrame(
        rows, "account_id STRING, feature_date DATE, x DOUBLE, account_age_days INT"
    )
    enf = spark.createDataFrame(
        [
            (f"pos_young{k}", _ts("2026-05-06"), "ban", "distillation", "c9", D(2026, 5, 6))
            for k in range(8)
        ],
        SCHEMA,
    )
    labels = labels_as_of(enf, LAST)

    def split_of(min_age: int) -> dict[tuple[str, str], set]:
        cfg = SplitConfig(
            maturity_days=1,
            val_days=3,
            gap_days=1,
            val_fraction=0.5,
            negative_stride_days=1,
            min_negative_age_days=min_age,
        )
        out = assemble(feats, labels, split_bounds(LAST, FIRST, cfg), ["x"], cfg).collect()
        got: dict[tuple[str, str], set] = {}
        for r in out:
            got.setdefault((r["account_id"].rstrip("0123456789"), r["split"]), set()).add(
                r["feature_date"]
            )
        return got

    got = split_of(30)
    # "young" turns 30 on day 27 of its life: FIRST + 27 days is after the training window.
    assert ("young", "train") not in got
    assert ("young", "val") in got and ("old", "train") in got
    assert ("unknown", "train") in got and ("pos_young", "train") in got
    # An account that ages past the limit inside the window trains from that day on.
    got_10 = split_of(10)
    young_days = got_10[("young", "train")]
    assert min(young_days) == FIRST + dt.timedelta(days=7)  # age 3 + 7 = 10
    # Negative control: 0 keeps every unlabelled account as a training negative.
    assert ("young", "train") in split_of(0)


def test_young_accounts_with_no_harvest_evidence_are_training_negatives(spark):
    """A young unlabelled account-day whose label-free harvest_score is below
    `young_negative_max_harvest_score` is a training negative (a young legitimate cohort the
    model must see); one above it, or without a score, stays out of training."""
    from models.labels import labels_as_of
    from models.training_set import SplitConfig, assemble, split_bounds

    # (account, harvest_score); every account is 3 days old on FIRST.
    scores = {"clean": 0.05, "edge": 0.2, "suspect": 0.35, "unscored": None}
    rows = [
        (f"{name}{k}", FIRST + dt.timedelta(days=d), 1.0, 3 + d, h)
        for name, h in scores.items()
        for k in range(8)
        for d in range(19)
    ]
    feats = spark.createDataFrame(
        rows,
        "account_id STRING, feature_date DATE, x DOUBLE, account_age_days INT, "
        "harvest_score DOUBLE",
    )
    labels = labels_as_of(spark.createDataFrame([], SCHEMA), LAST)

    def trained(young_max: float) -> set[str]:
        cfg = SplitConfig(
            maturity_days=1,
            val_days=3,
            gap_days=1,
            val_fraction=0.5,
            negative_stride_days=1,
            min_negative_age_days=30,
            young_negative_max_harvest_score=young_max,
        )
        out = assemble(feats, labels, split_bounds(LAST, FIRST, cfg), ["x"], cfg).collect()
        return {r["account_id"].rstrip("0123456789") for r in out if r["split"] == "train"}

    assert trained(0.2) == {"clean"}
    assert trained(0.4) == {"clean", "edge", "suspect"}
    # Negative control: 0.0 keeps every young account out, as before the rule.
    assert trained(0.0) == set()
