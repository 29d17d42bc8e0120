"""End to end: `riskctl run` over a generated tiny lake, from its first day to its last.

One lake is generated and run once for the module (in this process's shared SparkSession, as
`riskctl run` would: all days in one application); the tests then check the contract on it.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from core import tables
from tools.compare import diff, snapshot

START = dt.date(2026, 4, 22)
DAYS = 12
END = START + dt.timedelta(days=DAYS - 1)
GOLD = ["account_scores_daily", "account_clusters_daily"]

# Twelve tiny days (the first model trains on the ninth) take minutes: run by `make test-slow`.
pytestmark = pytest.mark.slow

CONTRACT_SCORES = [
    ("account_id", "string"),
    ("score_date", "date"),
    ("risk_score", "double"),
    ("risk_band", "string"),
    ("cluster_id", "string"),
    ("reasons", "array<string>"),
    ("model_name", "string"),
    ("model_version", "string"),
    ("scored_at", "timestamp"),
]
CONTRACT_CLUSTERS = [
    ("cluster_id", "string"),
    ("score_date", "date"),
    ("n_accounts", "int"),
    ("n_high_risk", "int"),
    ("max_risk_score", "double"),
    ("mean_risk_score", "double"),
    ("requests_7d", "bigint"),
    ("link_types", "array<string>"),
    ("sample_accounts", "array<string>"),
]
CONTRACT_AUDIT = [
    ("source", "string"),
    ("land_date", "date"),
    ("lines_read", "bigint"),
    ("rows_accepted", "bigint"),
    ("duplicates_dropped", "bigint"),
    ("rows_quarantined", "bigint"),
    ("ingested_at", "timestamp"),
]


@pytest.fixture(scope="module")
def run_lake(spark, tmp_path_factory) -> str:
    from jobs.run import run_days
    from simulator import generate

    lake = str(tmp_path_factory.mktemp("e2e") / "lake")
    generate(lake, START, DAYS, "tiny", seed=7, progress=False)
    days = [START + dt.timedelta(days=i) for i in range(DAYS)]
    assert run_days(lake, days) == 0
    return lake


def _schema(spark, lake: str, table) -> list[tuple[str, str]]:
    df = spark.read.format("delta").load(table.uri(lake))
    return [(f.name, f.dataType.simpleString()) for f in df.schema.fields]


def test_gold_schemas_equal_the_contract(spark, run_lake):
    assert _schema(spark, run_lake, tables.ACCOUNT_SCORES) == CONTRACT_SCORES
    assert _schema(spark, run_lake, tables.ACCOUNT_CLUSTERS) == CONTRACT_CLUSTERS
    assert _schema(spark, run_lake, tables.INGEST_AUDIT) == CONTRACT_AUDIT


def test_a_range_equals_its_days_one_at_a_time(spark, run_lake, tmp_path):
    """`riskctl run` over the whole range (the fixture) leaves exactly what running each day
    alone, in order, leaves: every table (wall-clock columns aside) and the model registry."""
    from jobs.run import run_days
    from simulator import generate

    lake = str(tmp_path / "daily")
    generate(lake, START, DAYS, "tiny", seed=7, progress=False)
    for i in range(DAYS):
        assert run_days(lake, [START + dt.timedelta(days=i)]) == 0
    expected, got = snapshot(lake, mlflow=True), snapshot(run_lake, mlflow=True)
    # Real content: scored days, clusters, trained and promoted models.
    assert expected["account_scores_daily"] and expected["account_clusters_daily"]
    assert expected["mlflow:model_versions"] and expected["mlflow:aliases"]
    assert diff(expected, got) == {}
    # negative control: a row of a day changed in one lake is caught by the same comparison
    altered = dict(got)
    rows = list(altered["account_features_daily"])
    rows[0] = (*rows[0][:2], rows[0][2] + 1, *rows[0][3:])
    altered["account_features_daily"] = sorted(rows, key=repr)
    assert "account_features_daily" in diff(expected, altered)
    shutil.rmtree(lake)


def test_scores_exist_every_day_label_free_until_the_first_model(spark, run_lake):
    from pyspark.sql import functions as F

    from models.label_free import LABEL_FREE_NAME, LABEL_FREE_VERSION

    scores = spark.read.format("delta").load(tables.ACCOUNT_SCORES.uri(run_lake))
    by_day = {
        r[0]: (r[1], r[2])
        for r in scores.groupBy("score_date")
        .agg(F.collect_set("model_name"), F.collect_set("model_version"))
        .collect()
    }
    # every day is published: the label-free scorer until the first model, the model after
    assert sorted(by_day) == [START + dt.timedelta(days=i) for i in range(DAYS)]
    marks = [(names, versions) for _, (names, versions) in sorted(by_day.items())]
    assert marks[0] == ([LABEL_FREE_NAME], [LABEL_FREE_VERSION])
    assert marks[-1][0] != [LABEL_FREE_NAME], "the first model never trained on the tiny lake"
    first_model = min(d for d, (names, _) in by_day.items() if names != [LABEL_FREE_NAME])
    assert all(by_day[d][0] == [LABEL_FREE_NAME] for d in by_day if d < first_model)
    assert all(by_day[d][0] != [LABEL_FREE_NAME] for d in by_day if d >= first_model)
    # real content: high or critical accounts and a cluster of three or more
    assert scores.where(F.col("risk_band").isin("high", "critical")).count() > 0
    clusters = spark.read.format("delta").load(tables.ACCOUNT_CLUSTERS.uri(run_lake))
    assert clusters.where(F.col("n_accounts") >= 3).count() > 0
    # scored accounts are exactly the accounts active in the 7 days ending on the day
    silver = spark.read.format("delta").load(tables.SILVER_INTERACTIONS.uri(run_lake))
    active = (
        silver.where(
            (F.col("event_date") > F.lit(END - dt.timedelta(days=7)))
            & (F.col("event_date") <= F.lit(END))
            & (F.col("land_date") <= F.lit(END))
        )
        .select("account_id")
        .distinct()
    )
    scored = scores.where(F.col("score_date") == F.lit(END)).select("account_id")
    assert scored.count() == active.count()
    assert scored.subtract(active).count() == 0
    # reasons are words, not empty, on the riskiest rows
    top = scores.where(F.col("score_date") == F.lit(END)).orderBy(F.desc("risk_score")).first()
    assert top["reasons"] and all(isinstance(r, str) and " " in r for r in top["reasons"])
    assert 0.0 <= top["risk_score"] <= 1.0


def test_audit_balances_and_equals_the_truth(spark, run_lake):
    audit = spark.read.format("delta").load(tables.INGEST_AUDIT.uri(run_lake)).collect()
    truth = json.loads(Path(run_lake, "_truth", "counts.json").read_text())["sources"]
    assert len(audit) == 3 * DAYS
    for row in audit:
        assert row.lines_read == row.rows_accepted + row.duplicates_dropped + row.rows_quarantined
        expected = truth[row.source].get(row.land_date.isoformat())
        if expected is None:
            assert row.lines_read == 0
            continue
        assert (
            row.lines_read,
            row.rows_accepted,
            row.duplicates_dropped,
            row.rows_quarantined,
        ) == (
            expected["lines_written"],
            expected["accepted"],
            expected["duplicates"],
            expected["broken"],
        ), (row.source, row.land_date)


def test_rerunning_the_range_or_a_day_changes_nothing(spark, run_lake, tmp_path):
    from jobs.run import run_days

    before = snapshot(run_lake, mlflow=True)
    assert before["account_scores_daily"], "gold is empty: nothing to compare"
    assert run_days(run_lake, [START + dt.timedelta(days=i) for i in range(DAYS)]) == 0
    assert diff(before, snapshot(run_lake, mlflow=True)) == {}
    assert run_days(run_lake, [END]) == 0
    after = snapshot(run_lake, mlflow=True)
    assert diff(before, after) == {}
    # negative control: a changed score is caught by the same comparison
    altered = dict(after)
    rows = list(altered["account_scores_daily"])
    rows[0] = (rows[0][0], rows[0][1], 0.123456, *rows[0][3:])
    altered["account_scores_daily"] = sorted(rows, key=repr)
    assert "account_scores_daily" in diff(before, altered)


def test_rescore_after_promote_and_rollback(spark, run_lake):
    """The operator's path after a bad model: a plain re-run keeps the version that scored the
    day; `--rescore` publishes the current champion's scores; rollback plus `--rescore` gives
    back exactly the gold the run had. The lake ends as it began (model registry aside)."""
    from jobs import train as jt
    from jobs.score import score_days
    from models import model_registry

    def versions_of_day() -> set[str]:
        rows = snapshot(run_lake, ["account_scores_daily"])["account_scores_daily"]
        return {r[-1] for r in rows if r[1] == END}  # (..., model_name, model_version)

    before = snapshot(run_lake)
    old = model_registry.champion_version(run_lake)
    assert versions_of_day() == {old}
    # a second model on fewer features, registered without the gate, then promoted by hand
    new = jt.train(run_lake, END, promote=False, feature_names=["requests_7d", "output_tokens_7d"])
    assert new["version"] != old
    assert jt.promote(run_lake, new["version"])["champion"] == new["version"]

    score_days(run_lake, [END])
    assert versions_of_day() == {old}, "a plain re-run must keep the day's version"
    score_days(run_lake, [END], rescore=True)
    assert versions_of_day() == {new["version"]}
    changed = diff(before, snapshot(run_lake))
    assert "account_scores_daily" in changed and "model_days" in changed  # negative control

    assert jt.rollback(run_lake)["champion"] == old
    score_days(run_lake, [END], rescore=True)
    assert versions_of_day() == {old}
    assert diff(before, snapshot(run_lake)) == {}


def test_every_saved_query_returns_rows(spark, run_lake):
    from jobs.sql import execute

    queries = sorted(Path(__file__).resolve().parent.parent.joinpath("sql").glob("*.sql"))
    assert len(queries) >= 4
    # The critical band (0.1% FPR among legitimate accounts) can be empty on a tiny lake's last
    # day; that query must then return exactly the gold table's (zero) critical accounts.
    critical = execute(
        spark,
        run_lake,
        "SELECT count(*) FROM risk.account_scores_daily WHERE "
        "risk_band = 'critical' AND score_date = (SELECT max(score_date) FROM "
        "risk.account_scores_daily)",
    ).rows[0][0]
    for query in queries:
        result = execute(spark, run_lake, query.read_text(), limit=1000)
        if query.name == "critical_accounts_today.sql":
            assert len(result.rows) == critical, query.name
        else:
            assert result.rows, f"{query.name} returned no rows"


def test_no_raw_ip_outside_raw_and_quarantine(run_lake, tmp_path):
    from tools.privacy_scan import raw_ips, scan

    ips = raw_ips(run_lake)
    assert len(ips) > 100
    assert scan(run_lake, ips) == []
    # negative control: a raw IP planted in a written table's Parquet is found after decoding
    import pyarrow as pa
    import pyarrow.parquet as pq

    planted = Path(run_lake) / "gold" / "account_scores_daily" / "zz-planted.parquet"
    leaked = sorted(ips)[0]
    pq.write_table(pa.table({"note": [f"seen from {leaked}"]}), planted)
    try:
        assert (str(planted), leaked) in scan(run_lake, ips)
    finally:
        planted.unlink()


def test_label_free_scorer_publishes_marked_rows_before_any_model(spark, tmp_path):
    """Before enough labels exist, the run ingests, builds features and publishes both gold
    tables from the label-free scorer, its model_name and model_version saying so; a re-run
    of the day uses it again and changes nothing."""
    from pyspark.sql import functions as F

    from jobs.run import run_days
    from models import model_registry
    from models.label_free import LABEL_FREE_NAME, LABEL_FREE_VERSION
    from simulator import generate

    lake = str(tmp_path / "lake")
    days = [START, START + dt.timedelta(days=1)]
    generate(lake, START, 2, "tiny", seed=3, progress=False)
    assert run_days(lake, days) == 0
    assert model_registry.champion_version(lake) is None  # no model exists
    scores = spark.read.format("delta").load(tables.ACCOUNT_SCORES.uri(lake))
    marks = scores.groupBy("score_date", "model_name", "model_version").count().collect()
    assert {(r[0], r[1], r[2]) for r in marks} == {
        (d, LABEL_FREE_NAME, LABEL_FREE_VERSION) for d in days
    }
    # Real content: scores in [0, 1] that differ, and reasons on the riskiest row.
    stats = scores.agg(
        F.min("risk_score"), F.max("risk_score"), F.countDistinct("risk_score")
    ).first()
    assert 0.0 <= stats[0] < stats[1] <= 1.0 and stats[2] >= 10
    top = scores.orderBy(F.desc("risk_score")).first()
    assert top["reasons"] and all(" " in r for r in top["reasons"])
    clusters = spark.read.format("delta").load(tables.ACCOUNT_CLUSTERS.uri(lake))
    assert clusters.where(F.col("score_date") == F.lit(days[-1])).count() > 0
    before = snapshot(lake, GOLD)
    assert run_days(lake, days[-1:]) == 0
    assert diff(before, snapshot(lake, GOLD)) == {}
    shutil.rmtree(lake)
