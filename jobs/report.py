"""`riskctl report`: one self-contained HTML page per score_date for analysts and their managers.

`<lake>/reports/<date>/index.html`, rendered from the Jinja2 templates in `jobs/templates/`:
charts embedded as base64 PNG data URIs and a few lines of plain JavaScript (click a column to
sort, type to filter rows), so the file opens from disk, by mail or from an object store without
a server or a network (its Content-Security-Policy forbids fetching anything). Beside it:
`high_risk_accounts.csv` (every high and critical account of the day) and `summary.json`;
`<lake>/reports/index.html` lists every report day. The page links to the days before and after,
to the day's Great Expectations Data Docs and to the scoring model's MLflow run. Every number
comes from the lake's tables (gold scores and clusters, ingest audit, validation results, drift)
and the model's MLflow run; the page is rebuilt from scratch on each call (a re-run replaces it).

The templates are autoescaped; free text (expectation observations, reasons) additionally has
any full IP address or e-mail address masked, as defence in depth: nothing written outside raw/
and quarantine/ may hold one.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import logging
import os
import re
import time
from pathlib import Path

from core import delta_io, tables
from core.errors import PipelineError
from core.settings import is_remote, settings
from core.spark import get_spark

log = logging.getLogger("risk.report")

BANDS = ("low", "medium", "high", "critical")
HIGH_BANDS = ("high", "critical")
BAND_COLOURS = {"low": "#9ecae1", "medium": "#fdd49e", "high": "#fc8d59", "critical": "#b30000"}
TOP_CLUSTERS = 10
TOP_ACCOUNTS = 25
HIST_BINS = 20
TREND_DAYS = 14
GROWTH_DAYS = 7
BLOCKING = ("blocking", "critical", "error")

_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b(?!/)")
_IPV6 = re.compile(r"\b(?:[0-9A-Fa-f]{1,4}:){2,7}(?::|[0-9A-Fa-f]{1,4})\b(?!/)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask(text: object) -> str:
    """Free text with full IP addresses and e-mail addresses masked (prefixes like /24 stay)."""
    out = _EMAIL.sub("[email]", str(text))
    out = _IPV4.sub("[ip]", out)
    return _IPV6.sub("[ip]", out)


def report_path(lake: str, day: dt.date) -> Path:
    """Where the day's page goes; a lake on an object store writes under RISK_REPORT_DIR."""
    base = Path(settings().report_dir).resolve() if is_remote(lake) else Path(lake) / "reports"
    return base / day.isoformat() / "index.html"


def build_report(lake: str, date: dt.date) -> str:
    """Build the day's report; returns the absolute path of its index.html."""
    return build_report_with_summary(lake, date)[0]


def build_report_with_summary(lake: str, day: dt.date) -> tuple[str, dict]:
    """The report's path and a summary of what it shows (for `make demo` to print)."""
    started = time.monotonic()
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    data = collect(lake, day)
    path = report_path(lake, day)
    links = day_links(lake, day, _published_days(lake), path)
    high = _high_risk_rows(lake, day)
    page = render(data, links)
    write_atomic(path.parent / CSV_NAME, high_risk_csv(high))
    write_atomic(path, page)
    log.info(
        "report day=%s path=%s accounts=%d critical=%d high=%d clusters=%d bytes=%d secs=%.1f",
        day,
        path,
        data["headline"]["accounts_scored"],
        data["headline"]["critical"],
        data["headline"]["high"],
        data["headline"]["clusters"],
        len(page),
        time.monotonic() - started,
    )
    summary = {
        **data["headline"],
        "model_name": data["model"].get("name"),
        "model_version": data["model"].get("version"),
        "quality_status": data["quality"]["status"],
        "drift_retrain": data["drift"]["retrain"] if data["drift"]["rows"] else None,
        "top_cluster": data["clusters"][0] if data["clusters"] else None,
    }
    write_atomic(
        path.parent / SUMMARY_NAME,
        json.dumps({"day": day.isoformat(), **summary}, default=str, sort_keys=True, indent=1),
    )
    write_index(path.parent.parent)
    return str(path.resolve()), summary


# --- collecting the numbers ----------------------------------------------------------------------


def collect(lake: str, day: dt.date) -> dict:
    """Every number and row the page shows, as plain Python values."""
    from pyspark.sql import functions as F
    from tqdm import tqdm

    spark = get_spark()
    scores_all = delta_io.read(spark, tables.ACCOUNT_SCORES, lake)
    today = scores_all.where(F.col("score_date") == F.lit(day)).cache()
    if today.isEmpty():
        today.unpersist()
        raise PipelineError(
            f"no scores published for {day} in {tables.ACCOUNT_SCORES.name}: run `riskctl run "
            f"--lake {lake} --start {day} --end {day}` first"
        )
    yesterday_day = day - dt.timedelta(days=1)
    yesterday = scores_all.where(F.col("score_date") == F.lit(yesterday_day))
    clusters_all = delta_io.read(spark, tables.ACCOUNT_CLUSTERS, lake)

    steps = [
        ("headline", lambda: _headline(today, yesterday, clusters_all, day)),
        ("clusters", lambda: _clusters(clusters_all, day)),
        ("histogram", lambda: _histogram(today)),
        ("trend", lambda: _trend(scores_all, day)),
        ("riskiest", lambda: _riskiest(today, yesterday)),
        ("model", lambda: _model(lake, today)),
        ("quality", lambda: _quality(spark, lake, day)),
        ("drift", lambda: _drift(spark, lake, day)),
    ]
    data: dict = {"day": day, "yesterday": yesterday_day}
    try:
        for name, step in tqdm(
            steps, desc=f"report {day}", unit="section", disable=None, leave=False
        ):
            data[name] = step()
    finally:
        today.unpersist()
    return data


def _headline(today, yesterday, clusters_all, day: dt.date) -> dict:
    """Counts of the day and what is new against yesterday, in one joined aggregate."""
    from pyspark.sql import functions as F

    band, before = F.col("risk_band"), F.col("y_band")
    y = yesterday.select("account_id", F.col("risk_band").alias("y_band"))
    y_count = y.count()
    joined = today.select("account_id", "risk_band").join(y, "account_id", "left")
    row = joined.agg(
        F.count("*").alias("n"),
        *[F.sum((band == b).cast("int")).alias(b) for b in BANDS],
        # new: in the band today and not in it (or not scored) yesterday
        F.sum(
            ((band == "critical") & ~F.coalesce(before == "critical", F.lit(False))).cast("int")
        ).alias("new_critical"),
        F.sum(
            (band.isin(*HIGH_BANDS) & ~F.coalesce(before.isin(*HIGH_BANDS), F.lit(False))).cast(
                "int"
            )
        ).alias("new_high"),
    ).collect()[0]
    cl = (
        clusters_all.where(F.col("score_date") == F.lit(day))
        .agg(F.count("*").alias("n"), F.sum((F.col("n_high_risk") > 0).cast("int")).alias("h"))
        .collect()[0]
    )
    return {
        "accounts_scored": int(row["n"]),
        **{b: int(row[b] or 0) for b in BANDS},
        "yesterday_scored": y_count,
        "new_critical": int(row["new_critical"] or 0) if y_count else None,
        "new_high_or_critical": int(row["new_high"] or 0) if y_count else None,
        "clusters": int(cl["n"]),
        "clusters_with_high_risk": int(cl["h"] or 0),
    }


def _clusters(clusters_all, day: dt.date) -> list[dict]:
    from pyspark.sql import functions as F

    then = day - dt.timedelta(days=GROWTH_DAYS)
    now = clusters_all.where(F.col("score_date") == F.lit(day))
    before = clusters_all.where(F.col("score_date") == F.lit(then)).select(
        "cluster_id", F.col("n_accounts").alias("n_before")
    )
    rows = (
        now.join(before, "cluster_id", "left")
        .orderBy(
            F.desc("n_high_risk"), F.desc("max_risk_score"), F.desc("n_accounts"), "cluster_id"
        )
        .limit(TOP_CLUSTERS)
        .collect()
    )
    return [
        {
            "cluster_id": r["cluster_id"],
            "n_accounts": r["n_accounts"],
            "n_high_risk": r["n_high_risk"],
            "max_risk_score": r["max_risk_score"],
            "mean_risk_score": r["mean_risk_score"],
            "requests_7d": r["requests_7d"],
            "link_types": list(r["link_types"] or []),
            "sample_accounts": list(r["sample_accounts"] or [])[:5],
            "n_before": r["n_before"],
            "growth": None if r["n_before"] is None else r["n_accounts"] - r["n_before"],
        }
        for r in rows
    ]


def _histogram(today) -> dict:
    from pyspark.sql import functions as F

    bucket = F.least(F.floor(F.col("risk_score") * HIST_BINS), F.lit(HIST_BINS - 1)).cast("int")
    counts = {b: [0] * HIST_BINS for b in BANDS}
    for r in today.groupBy(bucket.alias("bin"), "risk_band").count().collect():
        if r["risk_band"] in counts and r["bin"] is not None:
            counts[r["risk_band"]][max(r["bin"], 0)] += int(r["count"])
    return counts


def _trend(scores_all, day: dt.date) -> dict:
    from pyspark.sql import functions as F

    first = day - dt.timedelta(days=TREND_DAYS - 1)
    rows = (
        scores_all.where(F.col("score_date").between(F.lit(first), F.lit(day)))
        .groupBy("score_date", "risk_band")
        .count()
        .collect()
    )
    days = sorted({r["score_date"] for r in rows})
    out = {"days": days, **{b: [0] * len(days) for b in BANDS}}
    for r in rows:
        if r["risk_band"] in out:
            out[r["risk_band"]][days.index(r["score_date"])] = int(r["count"])
    return out


def _riskiest(today, yesterday) -> list[dict]:
    from pyspark.sql import functions as F

    y = yesterday.select(
        "account_id", F.col("risk_score").alias("y_score"), F.col("risk_band").alias("y_band")
    )
    top = today.orderBy(F.desc("risk_score"), "account_id").limit(TOP_ACCOUNTS)
    rows = top.join(y, "account_id", "left").orderBy(F.desc("risk_score"), "account_id")
    return [
        {
            "account_id": r["account_id"],
            "risk_score": r["risk_score"],
            "risk_band": r["risk_band"],
            "cluster_id": r["cluster_id"],
            "reasons": list(r["reasons"] or []),
            "y_score": r["y_score"],
            "y_band": r["y_band"],
        }
        for r in rows.collect()
    ]


def _model(lake: str, today) -> dict:
    """The model that scored the day and its validation metrics from its MLflow run."""
    versions = [
        (r["model_name"], r["model_version"])
        for r in today.select("model_name", "model_version").distinct().collect()
    ]
    versions.sort(key=lambda v: (str(v[0]), str(v[1])))
    info: dict = {
        "versions": versions,
        "metrics": [],
        "tags": {},
        "aliases": [],
        "error": None,
        "name": None,
        "version": None,
        "run_id": None,
        "run_url": None,
        "champion": None,
        "ui_base": mlflow_ui_base(lake),
        "ui_command": mlflow_ui_command(lake),
    }
    if not versions:
        return info
    name, version = versions[-1]
    info.update(name=name, version=version)
    try:
        from jobs.drift import mlflow_client

        client = mlflow_client(lake)
        if client is None:
            info["error"] = "no MLflow registry under the lake (set MLFLOW_TRACKING_URI?)"
            return info
        mv = client.get_model_version(name, str(version))
        info["aliases"] = sorted(mv.aliases or [])
        info["tags"] = dict(sorted((mv.tags or {}).items()))
        info["run_id"] = mv.run_id
        if mv.run_id:
            run = client.get_run(mv.run_id)
            info["metrics"] = sorted(run.data.metrics.items())
            info["run_url"] = run_url(lake, run.info.experiment_id, mv.run_id)
        try:
            champ = client.get_model_version_by_alias(name, "champion")
        except Exception:  # no champion (yet, or any more): nothing to link
            champ = None
        if champ is not None:
            url = None
            if champ.run_id:
                url = run_url(lake, client.get_run(champ.run_id).info.experiment_id, champ.run_id)
            info["champion"] = {"version": str(champ.version), "run_url": url}
    except Exception as exc:  # the page still renders; the model section says what failed
        info["error"] = f"MLflow lookup failed: {type(exc).__name__}: {str(exc)[:200]}"
    return info


def mlflow_ui_base(lake: str) -> str:
    """Where the MLflow UI answers: RISK_MLFLOW_UI_URL, else an http(s) tracking server, else
    the address `mlflow ui` listens on by default."""
    given = settings().mlflow_ui_url
    if given:
        return given.rstrip("/")
    tracking = settings().mlflow_tracking_uri or ""
    if tracking.startswith(("http://", "https://")):
        return tracking.rstrip("/")
    return "http://127.0.0.1:5000"


def mlflow_ui_command(lake: str) -> str:
    tracking = settings().mlflow_tracking_uri
    if tracking and tracking.startswith(("http://", "https://")):
        return f"(the MLflow server at {tracking})"
    store = tracking or f"sqlite:///{Path(lake) / '_mlflow' / 'mlflow.db'}"
    return f".venv/bin/mlflow ui --backend-store-uri {store}"


def run_url(lake: str, experiment_id: str, run_id: str) -> str:
    """The MLflow UI's page of a run."""
    return f"{mlflow_ui_base(lake)}/#/experiments/{experiment_id}/runs/{run_id}"


def _quality(spark, lake: str, day: dt.date) -> dict:
    from pyspark.sql import functions as F

    audit = [
        r.asDict()
        for r in delta_io.read(spark, tables.INGEST_AUDIT, lake)
        .where(F.col("land_date") == F.lit(day))
        .orderBy("source")
        .collect()
    ]
    checks = [
        r.asDict()
        for r in delta_io.read(spark, tables.VALIDATION_RESULTS, lake)
        .where(F.col("run_date") == F.lit(day))
        .orderBy("success", "table_name", "expectation")
        .collect()
    ]
    failed = [c for c in checks if not c["success"]]
    blocking = [c for c in failed if str(c["severity"]).lower() in BLOCKING]
    unbalanced = [
        a["source"]
        for a in audit
        if a["lines_read"]
        != (
            (a["rows_accepted"] or 0)
            + (a["duplicates_dropped"] or 0)
            + (a["rows_quarantined"] or 0)
        )
    ]
    if blocking or unbalanced:
        status = "blocked"
    elif failed:
        status = "warnings"
    elif not audit and not checks:
        status = "unknown"
    else:
        status = "ok"
    return {
        "audit": audit,
        "checks": checks,
        "failed": len(failed),
        "blocking": len(blocking),
        "unbalanced": unbalanced,
        "status": status,
    }


def _drift(spark, lake: str, day: dt.date) -> dict:
    from pyspark.sql import functions as F

    from jobs.drift import SCORE_FEATURE, should_retrain, thresholds

    rows = (
        delta_io.read(spark, tables.DRIFT, lake)
        .where(F.col("score_date") == F.lit(day))
        .orderBy(F.desc("psi"), "feature")
        .collect()
    )
    thr, min_n = thresholds()
    pairs = [(r["feature"], float(r["psi"])) for r in rows]
    retrain, reason = should_retrain(pairs, thr, min_n) if rows else (False, "not computed")
    return {
        "rows": [
            {"feature": r["feature"], "psi": float(r["psi"]), "flagged": r["flagged"]} for r in rows
        ],
        "model_version": rows[0]["model_version"] if rows else None,
        "score_psi": next((p for f, p in pairs if f == SCORE_FEATURE), None),
        "flagged": sum(1 for r in rows if r["flagged"]),
        "retrain": retrain,
        "reason": reason,
        "threshold": thr,
        "min_flagged": min_n,
    }


# --- charts --------------------------------------------------------------------------------------


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def chart_histogram(counts: dict[str, list[int]]) -> str:
    """Accounts per score bucket, stacked by band (log scale when low scores dwarf the rest)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 3.2))
    ax = fig.add_subplot()
    width = 1.0 / HIST_BINS
    lefts = [i * width for i in range(HIST_BINS)]
    bottom = [0] * HIST_BINS
    for band in BANDS:
        values = counts.get(band, [0] * HIST_BINS)
        ax.bar(
            lefts,
            values,
            width=width * 0.95,
            bottom=bottom,
            align="edge",
            color=BAND_COLOURS[band],
            label=band,
            edgecolor="#555555",
            linewidth=0.3,
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    nonzero = [b for b in bottom if b > 0]
    if nonzero and max(nonzero) > 50 * min(nonzero):
        ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel("risk_score")
    ax.set_ylabel("accounts")
    ax.set_title("Score distribution")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def chart_trend(trend: dict) -> str:
    """High and critical accounts per day over the last days."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 2.8))
    ax = fig.add_subplot()
    labels = [d.strftime("%m-%d") for d in trend["days"]]
    x = list(range(len(labels)))
    ax.bar(x, trend["high"], color=BAND_COLOURS["high"], label="high")
    ax.bar(
        x, trend["critical"], bottom=trend["high"], color=BAND_COLOURS["critical"], label="critical"
    )
    ax.set_xticks(x, labels, fontsize=8, rotation=45)
    ax.set_ylabel("accounts")
    ax.set_title(f"High and critical accounts, last {len(labels)} scored days")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def chart_drift(rows: list[dict], threshold: float) -> str:
    """The largest PSIs with the threshold line."""
    from matplotlib.figure import Figure

    top = rows[:15][::-1]
    fig = Figure(figsize=(7.5, 0.3 * len(top) + 1.2))
    ax = fig.add_subplot()
    ax.barh(
        [r["feature"] for r in top],
        [r["psi"] for r in top],
        color=["#b30000" if r["flagged"] else "#6baed6" for r in top],
    )
    ax.axvline(threshold, color="#333333", linestyle="--", linewidth=1)
    ax.set_xlabel(f"PSI (threshold {threshold:g})")
    ax.set_title("Largest drift against the champion's training day")
    ax.tick_params(axis="y", labelsize=8)
    return _png(fig)


# --- HTML, CSV, index ---------------------------------------------------------------------------

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSV_NAME = "high_risk_accounts.csv"
SUMMARY_NAME = "summary.json"
CSV_COLUMNS = (
    "account_id",
    "score_date",
    "risk_score",
    "risk_band",
    "cluster_id",
    "reasons",
    "model_name",
    "model_version",
)
BAND_RANK = {b: i for i, b in enumerate(BANDS)}
QUALITY_LABELS = {
    "ok": ("ok", "all checks passed, every line accounted for"),
    "warnings": ("warn", "{failed} warning check(s) failed"),
    "blocked": ("bad", "{blocking} blocking check(s) failed{unbalanced}"),
    "unknown": ("muted", "no audit or validation results for the day"),
}


def fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def environment():
    """The Jinja2 environment of the report templates: autoescaped, strict about typos."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )
    env.globals["fmt"] = fmt
    env.filters["mask"] = mask
    return env


def render(data: dict, links: dict | None = None) -> str:
    """The day's page as one HTML string (pure: plain values in)."""
    q = data["quality"]
    css, words = QUALITY_LABELS[q["status"]]
    words = words.format(
        failed=q["failed"],
        blocking=q["blocking"],
        unbalanced=(
            f"; audit unbalanced for {', '.join(q['unbalanced'])}" if q["unbalanced"] else ""
        ),
    )
    audit = [
        {**a, "share": (a["rows_quarantined"] or 0) / a["lines_read"] if a["lines_read"] else 0.0}
        for a in q["audit"]
    ]
    drift = data["drift"]
    charts = {
        "histogram": chart_histogram(data["histogram"]),
        "trend": chart_trend(data["trend"]),
        "drift": chart_drift(drift["rows"], drift["threshold"]) if drift["rows"] else "",
    }
    links = links or {
        "previous": None,
        "next": None,
        "csv": CSV_NAME,
        "data_docs": None,
        "data_docs_pages": [],
    }
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            day=data["day"],
            yesterday=data["yesterday"],
            h=data["headline"],
            clusters=data["clusters"],
            riskiest=data["riskiest"],
            model=data["model"],
            q={**q, "audit": audit},
            quality_label=(css, words),
            d=drift,
            charts=charts,
            bands=BANDS,
            band_rank=BAND_RANK,
            growth_days=GROWTH_DAYS,
            links=links,
        )
    )


def write_atomic(path: Path, text: str) -> None:
    """Readers never see half a file: write beside it, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def high_risk_csv(rows: list[dict]) -> str:
    """The day's high and critical accounts, riskiest first; reasons joined by " | "."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r["account_id"],
                r["score_date"].isoformat(),
                repr(r["risk_score"]),
                r["risk_band"],
                r["cluster_id"] or "",
                " | ".join(mask(x) for x in r["reasons"] or []),
                r["model_name"],
                r["model_version"],
            ]
        )
    return out.getvalue()


def _high_risk_rows(lake: str, day: dt.date) -> list[dict]:
    from pyspark.sql import functions as F

    rows = (
        delta_io.read(get_spark(), tables.ACCOUNT_SCORES, lake)
        .where((F.col("score_date") == F.lit(day)) & F.col("risk_band").isin(*HIGH_BANDS))
        .orderBy(F.desc("risk_score"), "account_id")
        .select(*CSV_COLUMNS)
        .collect()
    )
    return [r.asDict() for r in rows]


def _published_days(lake: str) -> list[dt.date]:
    rows = (
        delta_io.read(get_spark(), tables.ACCOUNT_SCORES, lake)
        .select("score_date")
        .distinct()
        .collect()
    )
    return sorted(r["score_date"] for r in rows)


def day_links(lake: str, day: dt.date, published: list[dt.date], page: Path) -> dict:
    """Relative links of the day's page: the days before and after, the CSV, the Data Docs."""
    base = page.parent.parent

    def other(d: dt.date | None) -> dict | None:
        if d is None:
            return None
        return {
            "day": d.isoformat(),
            "href": f"../{d.isoformat()}/index.html",
            "built": (base / d.isoformat() / "index.html").is_file(),
        }

    before = [d for d in published if d < day]
    after = [d for d in published if d > day]
    links = {
        "previous": other(before[-1] if before else None),
        "next": other(after[0] if after else None),
        "csv": CSV_NAME,
        "data_docs": None,
        "data_docs_pages": [],
    }
    if not is_remote(lake):
        docs = Path(lake) / "ops" / "data_docs"
        if (docs / "index.html").is_file():
            links["data_docs"] = os.path.relpath(docs / "index.html", page.parent)
            # GX writes validations/<suite>/<run name>/<run time>/<batch>.html; our run name
            # is "<table>-<day>" (quality.suites SuiteRunner.run), the newest run wins.
            for table in sorted(p.name for p in (docs / "validations").glob("*") if p.is_dir()):
                pages = sorted((docs / "validations" / table / f"{table}-{day}").glob("*/*.html"))
                if pages:
                    links["data_docs_pages"].append(
                        (table, os.path.relpath(pages[-1], page.parent))
                    )
    return links


def write_index(reports_dir: Path) -> Path:
    """`<reports>/index.html`: every day whose report is built, newest first."""
    days = []
    for summary in sorted(reports_dir.glob(f"*/{SUMMARY_NAME}"), reverse=True):
        try:
            days.append(json.loads(summary.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    page = environment().get_template("index.html.j2").render(days=days, csv_name=CSV_NAME)
    path = reports_dir / "index.html"
    write_atomic(path, page)
    return path
