"""The daily report: its numbers equal SQL on the gold tables, its charts are real images."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import subprocess
import time
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
    (
        "a01",
        0.97,
        "critical",
        "c1",
        [
            "shares a payment instrument with 2 other accounts",
            "91% of prompts ask for step-by-step reasoning",
        ],
    ),
    ("a02", 0.95, "critical", "c1", ["same prompt template as 40 accounts <script>x</script>"]),
    ("a03", 0.81, "high", "c1", ["traffic from prefix 203.0.113.0/24 shared by the cluster"]),
    ("a04", 0.72, "high", "c2", ["request volume 30x the median"]),
    ("a05", 0.45, "medium", "c2", []),
    *[(f"a{i:02d}", 0.02 * i, "low", None, []) for i in range(6, 13)],
]
# yesterday: a01 already critical, a04 already high, a03 was medium, a02 not scored
YESTERDAY_ROWS = [
    ("a01", 0.96, "critical", "c1", []),
    ("a03", 0.40, "medium", "c1", []),
    ("a04", 0.75, "high", None, []),
    *[(f"a{i:02d}", 0.02 * i, "low", None, []) for i in range(5, 13)],
]
WEEK_AGO_ROWS = [("a01", 0.90, "critical", "c1", []), ("a03", 0.30, "medium", "c1", [])]


def _scores(spark, lake: str, day: dt.date, rows: list[tuple], version: str = "4") -> None:
    data = [(a, day, s, b, c, r, MODEL, version, SCORED_AT) for a, s, b, c, r in rows]
    df = spark.createDataFrame(data, tables.ACCOUNT_SCORES.schema)
    delta_io.replace_partitions(df, tables.ACCOUNT_SCORES, lake, score_date=day)


def _clusters(spark, lake: str, day: dt.date, rows: list[tuple]) -> None:
    data = [
        (c, day, n, h, mx, mean, req, links, sample)
        for c, n, h, mx, mean, req, links, sample in rows
    ]
    df = spark.createDataFrame(data, tables.ACCOUNT_CLUSTERS.schema)
    delta_io.replace_partitions(df, tables.ACCOUNT_CLUSTERS, lake, score_date=day)


def build_gold(spark, lake: str) -> None:
    _scores(spark, lake, WEEK_AGO, WEEK_AGO_ROWS)
    _scores(spark, lake, YESTERDAY, YESTERDAY_ROWS)
    _scores(spark, lake, DAY, TODAY)
    _clusters(spark, lake, WEEK_AGO, [("c1", 2, 1, 0.9, 0.6, 900, ["payment"], ["a01", "a03"])])
    _clusters(
        spark,
        lake,
        DAY,
        [
            ("c1", 3, 3, 0.97, 0.91, 5400, ["payment", "prompt_simhash"], ["a01", "a02", "a03"]),
            ("c2", 2, 1, 0.72, 0.585, 800, ["ip_prefix"], ["a04", "a05"]),
        ],
    )


def build_ops(spark, lake: str) -> None:
    now = dt.datetime(2026, 5, 21, 1, 0)
    audit = spark.createDataFrame(
        [
            ("interactions", DAY, 1000, 980, 12, 8, now),
            ("accounts", DAY, 50, 49, 0, 1, now),
            ("enforcement", DAY, 0, 0, 0, 0, now),
            ("interactions", YESTERDAY, 7, 7, 0, 0, now),
        ],
        tables.INGEST_AUDIT.schema,
    )
    delta_io.replace_where(audit, tables.INGEST_AUDIT, lake, "true")
    checks = spark.createDataFrame(
        [
            ("interactions", DAY, "request_id_unique", "blocking", True, "0 duplicates", now),
            (
                "interactions",
                DAY,
                "volume_within_range",
                "warning",
                False,
                f"980 rows, expected 1000-5000; sample client {PLANTED_IP}",
                now,
            ),
        ],
        tables.VALIDATION_RESULTS.schema,
    )
    delta_io.replace_where(checks, tables.VALIDATION_RESULTS, lake, "true")
    drift = spark.createDataFrame(
        [
            (DAY, "4", "risk_score", 0.31, True, now),
            (DAY, "4", "cot_share_7d", 0.62, True, now),
            (DAY, "4", "requests_7d", 0.05, False, now),
        ],
        tables.DRIFT.schema,
    )
    delta_io.replace_partitions(drift, tables.DRIFT, lake, score_date=DAY)


def register_model(lake: str) -> dict[str, float]:
    from mlflow import MlflowClient

    from core.settings import mlflow_artifact_root, mlflow_tracking_uri

    uri = mlflow_tracking_uri(lake)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.create_experiment("report-test", artifact_location=mlflow_artifact_root(lake))
    run = client.create_run(exp)
    metrics = {
        "val_recall_at_1pct_fpr": 0.63,
        "val_average_precision": 0.812,
        "val_precision_at_100": 0.9,
    }
    for k, v in metrics.items():
        client.log_metric(run.info.run_id, k, v)
    client.set_terminated(run.info.run_id)
    client.create_registered_model(MODEL)
    for _ in range(4):  # version 4 scored the days
        mv = client.create_model_version(
            MODEL,
            source=f"{mlflow_artifact_root(lake)}/m",
            run_id=run.info.run_id,
            tags={"trained_as_of": "2026-05-18"},
        )
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
        self.links: dict[str, dict[str, str]] = {}
        self.text: list[str] = []
        self._metric: str | None = None
        self._capture = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "data-link" in a:
            self.links.setdefault(a["data-link"], a)
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
    spark.read.format("delta").load(tables.ACCOUNT_SCORES.uri(lake)).createOrReplaceTempView(
        "t_scores"
    )
    spark.read.format("delta").load(tables.ACCOUNT_CLUSTERS.uri(lake)).createOrReplaceTempView(
        "t_clusters"
    )
    d, y = f"DATE'{day}'", f"DATE'{day - dt.timedelta(days=1)}'"
    one = lambda q: spark.sql(q).collect()[0][0]  # noqa: E731
    return {
        "accounts_scored": one(f"SELECT count(*) FROM t_scores WHERE score_date = {d}"),
        "critical": one(
            f"SELECT count(*) FROM t_scores WHERE score_date = {d} AND risk_band = 'critical'"
        ),
        "high": one(f"SELECT count(*) FROM t_scores WHERE score_date = {d} AND risk_band = 'high'"),
        "new_critical": one(
            f"SELECT count(*) FROM t_scores t WHERE t.score_date = {d} AND t.risk_band = "
            f"'critical' AND NOT EXISTS (SELECT 1 FROM t_scores p WHERE p.score_date = {y} AND "
            "p.account_id = t.account_id AND p.risk_band = 'critical')"
        ),
        "new_high_or_critical": one(
            f"SELECT count(*) FROM t_scores t WHERE t.score_date = {d} AND t.risk_band IN "
            f"('high', 'critical') AND t.account_id NOT IN (SELECT account_id FROM t_scores "
            f"WHERE score_date = {y} AND risk_band IN ('high', 'critical'))"
        ),
        "clusters": one(f"SELECT count(*) FROM t_clusters WHERE score_date = {d}"),
    }


def _decode_png(src: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    return base64.b64decode(src[len(prefix) :])


DOCS_PAGE = "validations/interactions/interactions-2026-05-20/20260521T010000Z/batch.html"


def fake_data_docs(lake: str) -> None:
    """What GX's Data Docs site looks like on disk: an index and one page per validation."""
    docs = Path(lake, "ops", "data_docs")
    for rel in (
        "index.html",
        DOCS_PAGE,
        "validations/interactions/interactions-2026-05-19/20260520T010000Z/b.html",
    ):
        (docs / rel).parent.mkdir(parents=True, exist_ok=True)
        (docs / rel).write_text("<html><body>GX</body></html>")


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory):
    from jobs.report import build_report

    lake = str(tmp_path_factory.mktemp("report") / "lake")
    Path(lake).mkdir()
    build_gold(spark, lake)
    build_ops(spark, lake)
    fake_data_docs(lake)
    metrics = register_model(lake)
    path = build_report(lake, DAY)
    return lake, path, Page(Path(path).read_text(encoding="utf-8")), metrics


def test_headline_numbers_equal_sql_on_gold(spark, built):
    lake, path, page, _ = built
    assert path == str(Path(lake, "reports", DAY.isoformat(), "index.html").resolve())
    expected = sql_headline(spark, lake, DAY)
    # real content first: critical rows, and a cluster of three
    assert expected["critical"] >= 1 and expected["new_critical"] >= 1
    assert (
        spark.sql(
            f"SELECT max(n_accounts) FROM t_clusters WHERE score_date = DATE'{DAY}'"
        ).collect()[0][0]
        >= 3
    )
    for name, value in expected.items():
        assert page.number(name) == value, name
    # and the hand-computed truth of this tiny frame
    assert {k: page.number(k) for k in expected} == {
        "accounts_scored": 12,
        "critical": 2,
        "high": 2,
        "new_critical": 1,
        "new_high_or_critical": 2,
        "clusters": 2,
    }


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
    assert "<script>x</script>" not in source and "&lt;script&gt;x&lt;/script&gt;" in source
    assert source.count("<script>") == 1  # the page's own sorting script, nothing injected
    assert PLANTED_IP not in source  # masked in the expectation's observed text
    assert "[ip]" in source
    assert "203.0.113.0/24" in source  # a prefix is what detection keeps: not masked


def test_model_metrics_quality_and_drift(built):
    _, _, page, metrics = built
    assert page.model_metrics == sorted(metrics)
    text = " ".join(page.text)
    assert "0.812" in text and MODEL in text and "trained_as_of" in text
    assert "champion" in text
    status = " ".join(page.text[page.text.index("Status: ") :][:3])
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


def test_csv_of_high_and_critical_accounts_beside_the_page(spark, built):
    import csv

    lake, path, page, _ = built
    text = Path(path).with_name("high_risk_accounts.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = spark.sql(
        f"SELECT account_id FROM t_scores WHERE score_date = DATE'{DAY}' AND "
        "risk_band IN ('high', 'critical') ORDER BY risk_score DESC, account_id"
    )
    assert (
        [r["account_id"] for r in rows]
        == [r[0] for r in expected.collect()]
        == ["a01", "a02", "a03", "a04"]
    )
    assert rows[0] == {
        "account_id": "a01",
        "score_date": "2026-05-20",
        "risk_score": "0.97",
        "risk_band": "critical",
        "cluster_id": "c1",
        "reasons": "shares a payment instrument with 2 other accounts | 91% of prompts ask for "
        "step-by-step reasoning",
        "model_name": MODEL,
        "model_version": "4",
    }
    assert rows[3]["risk_band"] == "high" and rows[3]["cluster_id"] == "c2"
    assert page.links["csv"]["href"] == "high_risk_accounts.csv"


def test_links_to_days_data_docs_mlflow_and_the_index(built):
    from mlflow import MlflowClient

    from core.settings import mlflow_tracking_uri

    lake, path, page, _ = built
    here = Path(path).parent
    # the days around it: yesterday is published (its report not built yet), no day after
    assert page.links["previous"]["href"] == f"../{YESTERDAY}/index.html"
    assert "riskctl report --date 2026-05-19" in page.links["previous"]["title"]
    assert "next" not in page.links
    # the Data Docs of that day, not of another day
    assert (here / page.links["data_docs"]["href"]).resolve() == Path(
        lake, "ops", "data_docs", "index.html"
    ).resolve()
    assert (here / page.links["data_docs_page"]["href"]).resolve() == Path(
        lake, "ops", "data_docs", DOCS_PAGE
    ).resolve()
    # the scoring model's MLflow run
    client = MlflowClient(tracking_uri=mlflow_tracking_uri(lake))
    mv = client.get_model_version(MODEL, "4")
    exp = client.get_run(mv.run_id).info.experiment_id
    assert (
        page.links["mlflow_run"]["href"]
        == f"http://127.0.0.1:5000/#/experiments/{exp}/runs/{mv.run_id}"
    )
    # the index of report days lists this one, with its numbers
    index = Path(lake, "reports", "index.html").read_text()
    assert f'<tr data-day="{DAY}">' in index and f'href="{DAY}/index.html"' in index
    assert f'data-day="{YESTERDAY}"' not in index  # not built


def test_the_next_day_links_back(spark, lake):
    """Two built days link to each other, and the index lists both, newest first."""
    from jobs.report import build_report

    build_gold(spark, lake)
    first = Page(Path(build_report(lake, YESTERDAY)).read_text(encoding="utf-8"))
    second = Page(Path(build_report(lake, DAY)).read_text(encoding="utf-8"))
    assert first.links["next"]["href"] == f"../{DAY}/index.html"
    assert "title" not in second.links["previous"]  # built by then
    assert first.links["previous"]["href"] == f"../{WEEK_AGO}/index.html"
    index = Path(lake, "reports", "index.html").read_text()
    assert index.index(f'data-day="{DAY}"') < index.index(f'data-day="{YESTERDAY}"')
    assert "data_docs" not in second.links  # no Data Docs in this lake: no dead link


def test_altered_gold_row_changes_the_report(spark, lake):
    """Negative control: the page follows the table, it does not repeat constants."""
    from jobs.report import build_report

    build_gold(spark, lake)
    before = Page(Path(build_report(lake, DAY)).read_text(encoding="utf-8"))
    assert before.number("critical") == 2
    altered = [
        ("a12", 0.99, "critical", None, ["new reason"]) if r[0] == "a12" else r for r in TODAY
    ]
    _scores(spark, lake, DAY, altered)
    after = Page(Path(build_report(lake, DAY)).read_text(encoding="utf-8"))
    expected = sql_headline(spark, lake, DAY)
    assert after.number("critical") == expected["critical"] == 3
    assert after.number("new_critical") == expected["new_critical"] == 2
    assert after.number("critical") != before.number("critical")
    assert after.accounts[0] == "a12"


def test_a_lake_without_a_registry_says_so(spark, tmp_path, monkeypatch):
    """The model section of a lake that has no MLflow registry yet names that, and opening it
    does not create one; a lake with a registry file does not get the message."""
    from jobs.report import _model

    # MLflow's set_tracking_uri exports the variable: an earlier test's registry must not count.
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    today = spark.createDataFrame(
        [("account_risk", "1")], "model_name STRING, model_version STRING"
    )
    info = _model(str(tmp_path), today)
    assert info["error"].startswith("no MLflow registry")
    assert not (tmp_path / "_mlflow").exists()
    # Negative control: with a registry file the lookup is attempted (and fails differently).
    (tmp_path / "_mlflow").mkdir()
    (tmp_path / "_mlflow" / "mlflow.db").write_bytes(b"")
    assert not (_model(str(tmp_path), today)["error"] or "").startswith("no MLflow registry")


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
        pytest.skip(
            "builds a generated lake: run with `-m slow` (make test-slow) or set RISK_TEST_RUN_LAKE"
        )
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
    assert (
        spark.sql(
            f"SELECT max(n_accounts) FROM t_clusters WHERE score_date = DATE'{last}'"
        ).collect()[0][0]
        >= 3
    )
    for name, value in expected.items():
        assert page.number(name) == value, name
    assert (
        page.accounts
        and page.accounts[0]
        == (
            scores.where(F.col("score_date") == F.lit(last))
            .orderBy(F.desc("risk_score"), "account_id")
            .first()["account_id"]
        )
    )
    for name in ("histogram", "trend"):
        png = _decode_png(page.images[name])
        assert len(png) > 1024 and mpimg.imread(io.BytesIO(png), format="png")[..., :3].std() > 0
    assert page.model_metrics, "the champion's run has validation metrics"


# --- the page in a real browser: headless Chromium driven through the DevTools protocol -------

CHROMIUM = os.environ.get("RISK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-port=0",
]


class Browser:
    """Headless Chromium and one page, spoken to over the DevTools protocol (a websocket)."""

    def __init__(self, profile: Path):
        import urllib.request

        from websockets.sync.client import connect

        self.proc = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (exit {self.proc.poll()})")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            target = next(t for t in json.load(r) if t["type"] == "page")
        self.ws = connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self.events.append(
                json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            )

    def js(self, expression: str):
        out = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in out:
            raise RuntimeError(out["exceptionDetails"])
        return out["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (press and release) at the middle of the element."""
        box = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            "e.scrollIntoView(); const r = e.getBoundingClientRect();"
            "return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box[0],
                y=box[1],
                button="left",
                clickCount=1,
            )

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions, and any request that left the machine."""
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url')}")
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if not url.startswith(("file:", "data:", "about:")):
                    out.append(f"network: {url}")
        return out

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture()
def browser(tmp_path):
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: `make test` installs the Debian package "
            "`chromium` with apt-get; it could not be installed on this machine"
        )
    b = Browser(tmp_path / "chromium-profile")
    try:
        yield b
    finally:
        b.close()


def _open(browser: Browser, path: str) -> None:
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable")
    browser.send("Page.navigate", url=Path(path).as_uri())
    browser.wait_for("Page.loadEventFired")


SCORES = (
    "[...document.querySelectorAll('#accounts-table tbody tr')].map(r => r.cells[1]"
    ".getAttribute('data-value')).map(Number)"
)
ACCOUNTS = "[...document.querySelectorAll('#accounts-table tbody tr')].map(r => r.dataset.account)"


def test_report_works_in_headless_chromium(built, browser):
    """The page loads with no console error and no request off the machine; clicking a header
    sorts its table (again: the other way); typing in the filter hides the other rows."""
    _, path, _, _ = built
    _open(browser, path)
    assert browser.js("document.title") == f"Distillation risk report {DAY}"
    before = browser.js(SCORES)
    assert len(before) == len(TODAY) and before == sorted(before, reverse=True)  # as built
    browser.click("#accounts-table thead th:nth-child(2)")
    ascending = browser.js(SCORES)
    assert ascending == sorted(before) and ascending != before  # the click sorted it
    assert (
        browser.js(
            "document.querySelector('#accounts-table th:nth-child(2)').getAttribute('aria-sort')"
        )
        == "ascending"
    )
    browser.click("#accounts-table thead th:nth-child(2)")
    assert browser.js(SCORES) == sorted(before, reverse=True)
    browser.click("#accounts-table thead th:nth-child(1)")  # text column
    assert browser.js(ACCOUNTS) == sorted(r[0] for r in TODAY)
    # filter: focus the box and type, as a person would
    browser.click("input[data-table='accounts-table']")
    browser.send("Input.insertText", text="c2")
    browser.js(
        "document.querySelector(\"input[data-table='accounts-table']\")"
        ".dispatchEvent(new Event('input'))"
    )
    visible = browser.js(
        "[...document.querySelectorAll('#accounts-table tbody tr')]"
        ".filter(r => !r.hidden).map(r => r.dataset.account)"
    )
    assert sorted(visible) == ["a04", "a05"]  # the accounts of cluster c2
    assert browser.problems() == []


def test_the_browser_check_catches_a_broken_page(built, browser, tmp_path):
    """Negative control: a script error and a remote fetch planted into a copy are reported,
    and without the script a click sorts nothing."""
    _, path, _, _ = built
    source = Path(path).read_text(encoding="utf-8")
    broken = tmp_path / "index.html"
    broken.write_text(
        source.replace('"use strict";', '"use strict"; undefinedCall();', 1).replace(
            "</body>", '<img src="http://192.0.2.1/pixel.png"></body>', 1
        ),
        encoding="utf-8",
    )
    _open(browser, str(broken))
    before = browser.js(SCORES)
    browser.click("#accounts-table thead th:nth-child(2)")
    assert browser.js(SCORES) == before
    problems = browser.problems()
    assert any(p.startswith("exception:") for p in problems), problems
    # the page's CSP blocks the planted image: reported as an error, never fetched
    assert any("192.0.2.1" in p for p in problems), problems
