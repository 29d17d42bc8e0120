"""The daily report: its numbers equal SQL on the gold tables, its charts are real images."""

from __future__ import annotations

import base64
import datetime as dt
import io
from html.parser import HTMLParser
from pathlib import Path

import pytest

from core import delta_io, tables

DAY = dt.date(2026, 5, 20)
YESTERDAY = DAY - dt.timedelta(days=1)
WEEK_AGO = DAY - dt.timedelta(days=7)
MODEL = "report-test-model"
SCORED_AT = dt.datetime(2026, 5, 21, 2, 0)
PLANTED_IP = "198.51.100.23"

# (account, score, band, cluster, reasons) of DAY
TODAY = [
    ("a01", 0.97, "critical", "c1", ["shares a payment instrument with 2 other accounts",
                                     "91% of prompts ask for step-by-step reasoning"]),
    ("a02", 0.95, "critical", "c1", ["same prompt template as 40 accounts <script>x</script>"]),
    ("a03", 0.81, "high", "c1", ["traffic from prefix 203.0.113.0/24 shared by the cluster"]),
    ("a04", 0.72, "high", "c2", ["request volume 30x the median"]),
    ("a05", 0.45, "medium", "c2", []),
    *[(f"a{i:02d}", 0.02 * i, "low", None, []) for i in range(6, 13)],
]
# yesterday: a01 already critical, a04 already high, a03 was medium, a02 not scored
YESTERDAY_ROWS = [
    ("a01", 0.96, "critical", "c1", []), ("a03", 0.40, "medium", "c1", []),
    ("a04", 0.75, "high", None, []), *[(f"a{i:02d}", 0.02 * i, "low", None, [])
                                      for i in range(5, 13)],
]
WEEK_AGO_ROWS = [("a01", 0.90, "critical", "c1", []), ("a03", 0.30, "medium", "c1", [])]


def _scores(spark, lake: str, day: dt.date, rows: list[tuple], version: str = "4") -> None:
    data = [(a, day, s, b, c, r, MODEL, version, SCORED_AT) for a, s, b, c, r in rows]
    df = spark.createDataFrame(data, tables.ACCOUNT_SCORES.schema)
    delta_io.replace_partitions(df, tables.ACCOUNT_SCORES, lake, score_date=day)


def _clusters(spark, lake: str, day: dt.date, rows: list[tuple]) -> None:
    data = [(c, day, n, h, mx, mean, req, links, sample)
            for c, n, h, mx, mean, req, links, sample in rows]
    df = spark.createDataFrame(data, tables.ACCOUNT_CLUSTERS.schema)
    delta_io.replace_partitions(df, tables.ACCOUNT_CLUSTERS, lake, score_date=day)


def build_gold(spark, lake: str) -> None:
    _scores(spark, lake, WEEK_AGO, WEEK_AGO_ROWS)
    _scores(spark, lake, YESTERDAY, YESTERDAY_ROWS)
    _scores(spark, lake, DAY, TODAY)
    _clusters(spark, lake, WEEK_AGO, [("c1", 2, 1, 0.9, 0.6, 900, ["payment"], ["a01", "a03"])])
    _clusters(spark, lake, DAY, [
        ("c1", 3, 3, 0.97, 0.91, 5400, ["payment", "prompt_simhash"], ["a01", "a02", "a03"]),
        ("c2", 2, 1, 0.72, 0.585, 800, ["ip_prefix"], ["a04", "a05"]),
    ])


def build_ops(spark, lake: str) -> None:
    now = dt.datetime(2026, 5, 21, 1, 0)
    audit = spark.createDataFrame([
        ("interactions", DAY, 1000, 980, 12, 8, now), ("accounts", DAY, 50, 49, 0, 1, now),
        ("enforcement", DAY, 0, 0, 0, 0, now),
        ("interactions", YESTERDAY, 7, 7, 0, 0, now),
    ], tables.INGEST_AUDIT.schema)
    delta_io.replace_where(audit, tables.INGEST_AUDIT, lake, "true")
    checks = spark.createDataFrame([
        ("interactions", DAY, "request_id_unique", "blocking", True, "0 duplicates", now),
        ("interactions", DAY, "volume_within_range", "warning", False,
         f"980 rows, expected 1000-5000; sample client {PLANTED_IP}", now),
    ], tables.VALIDATION_RESULTS.schema)
    delta_io.replace_where(checks, tables.VALIDATION_RESULTS, lake, "true")
    drift = spark.createDataFrame([
        (DAY, "4", "risk_score", 0.31, True, now), (DAY, "4", "cot_share_7d", 0.62, True, now),
        (DAY, "4", "requests_7d", 0.05, False, now),
    ], tables.DRIFT.schema)
    delta_io.replace_partitions(drift, tables.DRIFT, lake, score_date=DAY)


def register_model(lake: str) -> dict[str, float]:
    from mlflow import MlflowClient

    from core.settings import mlflow_artifact_root, mlflow_tracking_uri

    uri = mlflow_tracking_uri(lake)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.create_experiment("report-test", artifact_location=mlflow_artifact_root(lake))
    run = client.create_run(exp)
    metrics = {"val_recall_at_1pct_fpr": 0.63, "val_average_precision": 0.812,
               "val_precision_at_100": 0.9}
    for k, v in metrics.items():
        client.log_metric(run.info.run_id, k, v)
    client.set_terminated(run.info.run_id)
    client.create_registered_model(MODEL)
    for _ in range(4):  # version 4 scored the days
        mv = client.create_model_version(MODEL, source=f"{mlflow_artifact_root(lake)}/m",
                                         run_id=run.info.run_id,
                                         tags={"trained_as_of": "2026-05-18"})
    client.set_registered_model_alias(MODEL, "champion", mv.version)
    return metrics


class Page(HTMLParser):
    """What the tests read off the page: KPIs, charts, table rows, drift flag."""

    def __init__(self, text: str):
        super().__init__()
        self.metrics: dict[str, str] = {}
        self.attrs_of: dict[str, dict[str, str]] = {}
        self.images: dict[str, str] = {}
        self.clusters: dict[str, str] = {}
        self.accounts: list[str] = []
        self.model_metrics: list[str] = []
        self.text: list[str] = []
        self._metric: str | None = None
        self._capture = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if "data-metric" in a:
            self._metric = a["data-metric"]
            self.attrs_of[self._metric] = a
        if tag == "span" and a.get("class") == "value" and self._metric:
            self._capture = True
        if tag == "img":
            self.images[a["data-chart"]] = a["src"]
        if "data-cluster" in a:
            self.clusters[a["data-cluster"]] = a["data-growth"]
        if "data-account" in a:
            self.accounts.append(a["data-account"])
        if "data-model-metric" in a:
            self.model_metrics.append(a["data-model-metric"])

    def handle_endtag(self, tag):
        if tag == "span" and self._capture:
            self._capture = False
            self._metric = None

    def handle_data(self, data):
        self.text.append(data)
        if self._capture:
            self.metrics[self._metric] = data.strip().replace(",", "")

    def number(self, name: str) -> int:
        return int(self.metrics[name])


def sql_headline(spark, lake: str, day: dt.date) -> dict[str, int]:
    """The headline numbers, written independently as SQL over the gold tables."""
    spark.read.format("delta").load(tables.ACCOUNT_SCORES.uri(lake)) \
        .createOrReplaceTempView("t_scores")
    spark.read.format("delta").load(tables.ACCOUNT_CLUSTERS.uri(lake)) \
        .createOrReplaceTempView("t_clusters")
    d, y = f"DATE'{day}'", f"DATE'{day - dt.timedelta(days=1)}'"
    one = lambda q: spark.sql(q).collect()[0][0]  # noqa: E731
    return {
        "accounts_scored": one(f"SELECT count(*) FROM t_scores WHERE score_date = {d}"),
        "critical": one(f"SELECT count(*) FROM t_scores WHERE score_date = {d} "
                        "AND risk_band = 'critical'"),
        "high": one(f"SELECT count(*) FROM t_scores WHERE score_date = {d} AND risk_band = 'high'"),
        "new_critical": one(
            f"SELECT count(*) FROM t_scores t WHERE t.score_date = {d} AND t.risk_band = "
            f"'critical' AND NOT EXISTS (SELECT 1 FROM t_scores p WHERE p.score_date = {y} AND "
            "p.account_id = t.account_id AND p.risk_band = 'critical')"),
        "new_high_or_critical": one(
            f"SELECT count(*) FROM t_scores t WHERE t.score_date = {d} AND t.risk_band IN "
            f"('high', 'critical') AND t.account_id NOT IN (SELECT account_id FROM t_scores "
            f"WHERE score_date = {y} AND risk_band IN ('high', 'critical'))"),
        "clusters": one(f"SELECT count(*) FROM t_clusters WHERE score_date = {d}"),
    }


def _decode_png(src: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    return base64.b64decode(src[len(prefix):])


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory):
    from jobs.report import build_report

    lake = str(tmp_path_factory.mktemp("report") / "lake")
    Path(lake).mkdir()
    build_gold(spark, lake)
    build_ops(spark, lake)
    metrics = register_model(lake)
    path = build_report(lake, DAY)
    return lake, path, Page(Path(path).read_text(encoding="utf-8")), metrics


def test_headline_numbers_equal_sql_on_gold(spark, built):
    lake, path, page, _ = built
    assert path == str(Path(lake, "reports", DAY.isoformat(), "index.html").resolve())
    expected = sql_headline(spark, lake, DAY)
    # real content first: critical rows, and a cluster of three
    assert expected["critical"] >= 1 and expected["new_critical"] >= 1
    assert spark.sql(f"SELECT max(n_accounts) FROM t_clusters WHERE score_date = DATE'{DAY}'")\
        .collect()[0][0] >= 3
    for name, value in expected.items():
        assert page.number(name) == value, name
    # and the hand-computed truth of this tiny frame
    assert {k: page.number(k) for k in expected} == {
        "accounts_scored": 12, "critical": 2, "high": 2, "new_critical": 1,
        "new_high_or_critical": 2, "clusters": 2}


def test_clusters_growth_accounts_and_reasons(built):
    _, _, page, _ = built
    assert page.clusters == {"c1": "1", "c2": "new"}  # 3 now vs 2 a week ago; c2 is new
    assert page.accounts[:5] == ["a01", "a02", "a03", "a04", "a05"]  # riskiest first
    text = " ".join(page.text)
    assert "shares a payment instrument with 2 other accounts" in text
    assert "payment, prompt_simhash" in text
    assert "<script>x</script>" in text  # shown as text: it was escaped in the HTML source


def test_text_is_escaped_and_no_raw_ip(built):
    _, path, _, _ = built
    source = Path(path).read_text(encoding="utf-8")
    assert "<script>" not in source and "&lt;script&gt;" in source
    assert PLANTED_IP not in source  # masked in the expectation's observed text
    assert "[ip]" in source
    assert "203.0.113.0/24" in source  # a prefix is what detection keeps: not masked


def test_model_metrics_quality_and_drift(built):
    _, _, page, metrics = built
    assert page.model_metrics == sorted(metrics)
    text = " ".join(page.text)
    assert "0.812" in text and MODEL in text and "trained_as_of" in text
    assert "champion" in text
    status = " ".join(page.text[page.text.index("Status: "):][:3])
    assert "warnings" in status
    assert page.attrs_of["drift_retrain"]["data-value"] == "true"
    assert "cot_share_7d" in text


def test_charts_are_real_images(built):
    import matplotlib.image as mpimg

    _, _, page, _ = built
    assert set(page.images) == {"histogram", "trend", "drift"}
    for name, src in page.images.items():
        png = _decode_png(src)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1024, name
        pixels = mpimg.imread(io.BytesIO(png), format="png")
        assert pixels.ndim == 3 and pixels[..., :3].std() > 0.01, name  # not one colour
    # negative control: a blank image fails the same check
    from matplotlib.figure import Figure

    buf = io.BytesIO()
    Figure(figsize=(2, 2)).savefig(buf, format="png")
    assert mpimg.imread(io.BytesIO(buf.getvalue()), format="png")[..., :3].std() == 0


def test_altered_gold_row_changes_the_report(spark, lake):
    """Negative control: the page follows the table, it does not repeat constants."""
    from jobs.report import build_report

    build_gold(spark, lake)
    before = Page(Path(build_report(lake, DAY)).read_text(encoding="utf-8"))
    assert before.number("critical") == 2
    altered = [("a12", 0.99, "critical", None, ["new reason"]) if r[0] == "a12" else r
               for r in TODAY]
    _scores(spark, lake, DAY, altered)
    after = Page(Path(build_report(lake, DAY)).read_text(encoding="utf-8"))
    expected = sql_headline(spark, lake, DAY)
    assert after.number("critical") == expected["critical"] == 3
    assert after.number("new_critical") == expected["new_critical"] == 2
    assert after.number("critical") != before.number("critical")
    assert after.accounts[0] == "a12"
    # no MLflow registry in this lake: the page still renders and says so
    assert "no MLflow registry" in " ".join(after.text)


def test_day_without_scores_is_a_clear_error(spark, lake):
    from core.errors import PipelineError
    from jobs.report import build_report

    build_gold(spark, lake)
    with pytest.raises(PipelineError, match=r"no scores published for 2026-05-21.*riskctl run"):
        build_report(lake, DAY + dt.timedelta(days=1))
    assert not Path(lake, "reports", "2026-05-21").exists()


# --- a generated lake run end to end (slow: `make test-slow`) ---------------------------------

@pytest.fixture(scope="module")
def run_lake(spark, tmp_path_factory, request) -> str:
    """A generated tiny lake after `riskctl run` over all its days (RISK_TEST_RUN_LAKE: a lake
    that `make demo` or `riskctl run` already ran, to skip building one)."""
    import os

    given = os.environ.get("RISK_TEST_RUN_LAKE")
    if given:
        return given
    if "slow" not in (request.config.option.markexpr or ""):
        pytest.skip("builds a generated lake: run with `-m slow` (make test-slow) "
                    "or set RISK_TEST_RUN_LAKE")
    from jobs.run import run_days
    from simulator import generate

    lake = str(tmp_path_factory.mktemp("report-tiny"))
    start, n = dt.date(2026, 4, 22), 45
    generate(lake, start, n, "tiny", 7, progress=False)
    assert run_days(lake, [start + dt.timedelta(days=i) for i in range(n)]) == 0
    return lake


@pytest.mark.slow
def test_report_on_generated_lake_equals_sql(spark, run_lake):
    import matplotlib.image as mpimg
    from pyspark.sql import functions as F

    from jobs.report import build_report

    scores = spark.read.format("delta").load(tables.ACCOUNT_SCORES.uri(run_lake))
    last = scores.agg(F.max("score_date")).first()[0]
    assert last is not None, "the run published no scores"
    page = Page(Path(build_report(run_lake, last)).read_text(encoding="utf-8"))
    expected = sql_headline(spark, run_lake, last)
    # real content first
    assert expected["critical"] + expected["high"] >= 1
    assert spark.sql(f"SELECT max(n_accounts) FROM t_clusters WHERE score_date = DATE'{last}'")\
        .collect()[0][0] >= 3
    for name, value in expected.items():
        assert page.number(name) == value, name
    assert page.accounts and page.accounts[0] == (
        scores.where(F.col("score_date") == F.lit(last))
        .orderBy(F.desc("risk_score"), "account_id").first()["account_id"])
    for name in ("histogram", "trend"):
        png = _decode_png(page.images[name])
        assert len(png) > 1024 and mpimg.imread(io.BytesIO(png), format="png")[..., :3].std() > 0
    assert page.model_metrics, "the champion's run has validation metrics"
