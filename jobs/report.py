"""`riskctl report`: one self-contained HTML page per score_date for analysts and their managers.

`<lake>/reports/<date>/index.html`, charts embedded as base64 PNG data URIs, so the file opens
from disk, by mail or from an object store without a server. Every number comes from the lake's
tables (gold scores and clusters, ingest audit, validation results, drift) and the model's MLflow
run; the page is rebuilt from scratch on each call (a re-run replaces it).

All text is HTML-escaped; free text (expectation observations, reasons) additionally has any
full IP address or e-mail address masked, as defence in depth: nothing written outside raw/ and
quarantine/ may hold one.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
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


def esc(value: object) -> str:
    return html.escape(mask("" if value is None else value))


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
    page = render(data)
    path = report_path(lake, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)  # readers never see half a page
    log.info("report day=%s path=%s accounts=%d critical=%d high=%d clusters=%d bytes=%d "
             "secs=%.1f", day, path, data["headline"]["accounts_scored"],
             data["headline"]["critical"], data["headline"]["high"],
             data["headline"]["clusters"], len(page), time.monotonic() - started)
    summary = {**data["headline"], "model_name": data["model"].get("name"),
               "model_version": data["model"].get("version"),
               "quality_status": data["quality"]["status"],
               "drift_retrain": data["drift"]["retrain"] if data["drift"]["rows"] else None,
               "top_cluster": data["clusters"][0] if data["clusters"] else None}
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
            f"--lake {lake} --start {day} --end {day}` first")
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
        for name, step in tqdm(steps, desc=f"report {day}", unit="section", disable=None,
                               leave=False):
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
        F.sum(((band == "critical") & ~F.coalesce(before == "critical", F.lit(False)))
              .cast("int")).alias("new_critical"),
        F.sum((band.isin(*HIGH_BANDS) & ~F.coalesce(before.isin(*HIGH_BANDS), F.lit(False)))
              .cast("int")).alias("new_high"),
    ).collect()[0]
    cl = (clusters_all.where(F.col("score_date") == F.lit(day))
          .agg(F.count("*").alias("n"), F.sum((F.col("n_high_risk") > 0).cast("int")).alias("h"))
          .collect()[0])
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
    before = (clusters_all.where(F.col("score_date") == F.lit(then))
              .select("cluster_id", F.col("n_accounts").alias("n_before")))
    rows = (
        now.join(before, "cluster_id", "left")
        .orderBy(F.desc("n_high_risk"), F.desc("max_risk_score"), F.desc("n_accounts"),
                 "cluster_id")
        .limit(TOP_CLUSTERS).collect()
    )
    return [{
        "cluster_id": r["cluster_id"], "n_accounts": r["n_accounts"],
        "n_high_risk": r["n_high_risk"], "max_risk_score": r["max_risk_score"],
        "mean_risk_score": r["mean_risk_score"], "requests_7d": r["requests_7d"],
        "link_types": list(r["link_types"] or []),
        "sample_accounts": list(r["sample_accounts"] or [])[:5],
        "n_before": r["n_before"],
        "growth": None if r["n_before"] is None else r["n_accounts"] - r["n_before"],
    } for r in rows]


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
    rows = (scores_all.where(F.col("score_date").between(F.lit(first), F.lit(day)))
            .groupBy("score_date", "risk_band").count().collect())
    days = sorted({r["score_date"] for r in rows})
    out = {"days": days, **{b: [0] * len(days) for b in BANDS}}
    for r in rows:
        if r["risk_band"] in out:
            out[r["risk_band"]][days.index(r["score_date"])] = int(r["count"])
    return out


def _riskiest(today, yesterday) -> list[dict]:
    from pyspark.sql import functions as F

    y = yesterday.select("account_id", F.col("risk_score").alias("y_score"),
                         F.col("risk_band").alias("y_band"))
    top = today.orderBy(F.desc("risk_score"), "account_id").limit(TOP_ACCOUNTS)
    rows = top.join(y, "account_id", "left").orderBy(F.desc("risk_score"), "account_id")
    return [{
        "account_id": r["account_id"], "risk_score": r["risk_score"],
        "risk_band": r["risk_band"], "cluster_id": r["cluster_id"],
        "reasons": list(r["reasons"] or []), "y_score": r["y_score"], "y_band": r["y_band"],
    } for r in rows.collect()]


def _model(lake: str, today) -> dict:
    """The model that scored the day and its validation metrics from its MLflow run."""
    versions = [(r["model_name"], r["model_version"])
                for r in today.select("model_name", "model_version").distinct().collect()]
    versions.sort(key=lambda v: (str(v[0]), str(v[1])))
    info: dict = {"versions": versions, "metrics": [], "tags": {}, "aliases": [], "error": None}
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
    except Exception as exc:  # the page still renders; the model section says what failed
        info["error"] = f"MLflow lookup failed: {type(exc).__name__}: {str(exc)[:200]}"
    return info


def _quality(spark, lake: str, day: dt.date) -> dict:
    from pyspark.sql import functions as F

    audit = [r.asDict() for r in delta_io.read(spark, tables.INGEST_AUDIT, lake)
             .where(F.col("land_date") == F.lit(day)).orderBy("source").collect()]
    checks = [r.asDict() for r in delta_io.read(spark, tables.VALIDATION_RESULTS, lake)
              .where(F.col("run_date") == F.lit(day))
              .orderBy("success", "table_name", "expectation").collect()]
    failed = [c for c in checks if not c["success"]]
    blocking = [c for c in failed if str(c["severity"]).lower() in BLOCKING]
    unbalanced = [a["source"] for a in audit if a["lines_read"] != (
        (a["rows_accepted"] or 0) + (a["duplicates_dropped"] or 0) + (a["rows_quarantined"] or 0))]
    if blocking or unbalanced:
        status = "blocked"
    elif failed:
        status = "warnings"
    elif not audit and not checks:
        status = "unknown"
    else:
        status = "ok"
    return {"audit": audit, "checks": checks, "failed": len(failed), "blocking": len(blocking),
            "unbalanced": unbalanced, "status": status}


def _drift(spark, lake: str, day: dt.date) -> dict:
    from pyspark.sql import functions as F

    from jobs.drift import SCORE_FEATURE, should_retrain, thresholds

    rows = (delta_io.read(spark, tables.DRIFT, lake)
            .where(F.col("score_date") == F.lit(day))
            .orderBy(F.desc("psi"), "feature").collect())
    thr, min_n = thresholds()
    pairs = [(r["feature"], float(r["psi"])) for r in rows]
    retrain, reason = should_retrain(pairs, thr, min_n) if rows else (False, "not computed")
    return {
        "rows": [{"feature": r["feature"], "psi": float(r["psi"]), "flagged": r["flagged"]}
                 for r in rows],
        "model_version": rows[0]["model_version"] if rows else None,
        "score_psi": next((p for f, p in pairs if f == SCORE_FEATURE), None),
        "flagged": sum(1 for r in rows if r["flagged"]),
        "retrain": retrain, "reason": reason, "threshold": thr, "min_flagged": min_n,
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
        ax.bar(lefts, values, width=width * 0.95, bottom=bottom, align="edge",
               color=BAND_COLOURS[band], label=band, edgecolor="#555555", linewidth=0.3)
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
    ax.bar(x, trend["critical"], bottom=trend["high"], color=BAND_COLOURS["critical"],
           label="critical")
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
    ax.barh([r["feature"] for r in top], [r["psi"] for r in top],
            color=["#b30000" if r["flagged"] else "#6baed6" for r in top])
    ax.axvline(threshold, color="#333333", linestyle="--", linewidth=1)
    ax.set_xlabel(f"PSI (threshold {threshold:g})")
    ax.set_title("Largest drift against the champion's training day")
    ax.tick_params(axis="y", labelsize=8)
    return _png(fig)


# --- HTML ----------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1100px;color:#222;padding:0 1em}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.kpis{display:flex;flex-wrap:wrap;gap:.8em}
.kpi{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:9em}
.kpi .value{font-size:1.8em;font-weight:600;display:block}.kpi .label{color:#555;font-size:.85em}
.kpi.critical .value{color:#b30000}.kpi.high .value{color:#d7301f}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:.5em 0}
th,td{border-bottom:1px solid #eee;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.band-critical{color:#b30000;font-weight:600}.band-high{color:#d7301f}
.ok{color:#1a7f37;font-weight:600}.bad{color:#b30000;font-weight:600}
.warn{color:#b36b00;font-weight:600}.muted{color:#777}
img{max-width:100%}ul.reasons{margin:0;padding-left:1.1em}
"""


def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _kpi(metric: str, label: str, value: object, css: str = "") -> str:
    shown = "n/a" if value is None else _fmt(value)
    return (f'<div class="kpi {css}" data-metric="{metric}"><span class="value">{esc(shown)}'
            f'</span><span class="label">{esc(label)}</span></div>')


def _img(name: str, b64: str, alt: str) -> str:
    return (f'<img data-chart="{name}" alt="{esc(alt)}" '
            f'src="data:image/png;base64,{b64}">')


def render(data: dict) -> str:
    """The page as one HTML string (pure: plain values in)."""
    day, h = data["day"], data["headline"]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Distillation risk report {esc(day)}</title><style>{CSS}</style></head><body>",
        f"<h1>Distillation risk report: {esc(day)}</h1>",
        f'<p class="sub">Scores of {esc(day)} (data up to the end of that day). '
        f"Model {esc(data['model'].get('name', '?'))} "
        f"v{esc(data['model'].get('version', '?'))}.</p>",
        '<h2 id="headline">Headline</h2><div class="kpis">',
        _kpi("accounts_scored", "accounts scored", h["accounts_scored"]),
        _kpi("critical", "critical", h["critical"], "critical"),
        _kpi("high", "high", h["high"], "high"),
        _kpi("new_critical", f"new critical since {data['yesterday']}", h["new_critical"],
             "critical"),
        _kpi("new_high_or_critical", "new high or critical since yesterday",
             h["new_high_or_critical"], "high"),
        _kpi("clusters", "linked clusters", h["clusters"]),
        _kpi("clusters_with_high_risk", "clusters with a high-risk member",
             h["clusters_with_high_risk"]),
        "</div>",
    ]
    if not h["yesterday_scored"]:
        parts.append(f'<p class="muted">No scores were published for {esc(data["yesterday"])}:'
                     " nothing to compare with, so no “new since yesterday” counts.</p>")
    parts += _section_clusters(data)
    parts += [
        '<h2 id="distribution">Score distribution</h2>',
        _img("histogram", chart_histogram(data["histogram"]), "histogram of risk scores"),
        _table(["band", "accounts"], [[b, _fmt(h[b])] for b in BANDS], numeric={1}),
        _img("trend", chart_trend(data["trend"]), "high and critical accounts per day"),
    ]
    parts += _section_accounts(data)
    parts += _section_model(data["model"])
    parts += _section_quality(data["quality"])
    parts += _section_drift(data["drift"])
    parts.append('<p class="muted">Built by <code>riskctl report</code> from the lake\'s gold '
                 "tables, ops tables and the MLflow tables.</p></body></html>")
    return "\n".join(parts)


def _table(header: list[str], rows: list[list[str]], numeric: set[int] | frozenset = frozenset(),
           row_attrs: list[str] | None = None, raw: set[int] | frozenset = frozenset()) -> str:
    """An HTML table; cells are escaped unless their column is in `raw` (pre-built HTML)."""
    out = ["<table><thead><tr>", *[f"<th>{esc(c)}</th>" for c in header], "</tr></thead><tbody>"]
    for i, row in enumerate(rows):
        attrs = f" {row_attrs[i]}" if row_attrs else ""
        cells = []
        for j, cell in enumerate(row):
            css = ' class="num"' if j in numeric else ""
            cells.append(f"<td{css}>{cell if j in raw else esc(cell)}</td>")
        out.append(f"<tr{attrs}>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _section_clusters(data: dict) -> list[str]:
    clusters = data["clusters"]
    parts = [f'<h2 id="clusters">Top clusters (of {data["headline"]["clusters"]:,})</h2>']
    if not clusters:
        return [*parts, '<p class="muted">No linked clusters this day.</p>']
    rows, attrs = [], []
    for c in clusters:
        growth = ("new" if c["growth"] is None
                  else f"{c['growth']:+d} (from {c['n_before']})")
        rows.append([c["cluster_id"], _fmt(c["n_accounts"]), growth, _fmt(c["n_high_risk"]),
                     _fmt(c["max_risk_score"]), _fmt(c["requests_7d"]),
                     ", ".join(c["link_types"]) or "–", ", ".join(c["sample_accounts"])])
        attrs.append(f'data-cluster="{esc(c["cluster_id"])}" '
                     f'data-growth="{"new" if c["growth"] is None else c["growth"]}"')
    return [*parts, f'<p class="muted">Growth: accounts now against {GROWTH_DAYS} days earlier '
            "(“new”: the cluster did not exist then). Ties: what links the members.</p>",
            _table(["cluster", "accounts", f"growth vs {GROWTH_DAYS}d", "high-risk",
                    "max score", "requests 7d", "tied by", "riskiest members"],
                   rows, numeric={1, 3, 4, 5}, row_attrs=attrs)]


def _section_accounts(data: dict) -> list[str]:
    rows, attrs = [], []
    for a in data["riskiest"]:
        band = f'<span class="band-{esc(a["risk_band"])}">{esc(a["risk_band"])}</span>'
        reasons = ('<ul class="reasons">' + "".join(f"<li>{esc(r)}</li>" for r in a["reasons"])
                   + "</ul>") if a["reasons"] else "–"
        before = ("not scored" if a["y_score"] is None
                  else f"{a['y_score']:.3f} ({a['y_band']})")
        rows.append([esc(a["account_id"]), esc(_fmt(a["risk_score"])), band,
                     esc(a["cluster_id"] or "–"), reasons, esc(before)])
        attrs.append(f'data-account="{esc(a["account_id"])}"')
    return [f'<h2 id="accounts">Riskiest accounts (top {len(rows)})</h2>',
            _table(["account", "score", "band", "cluster", "why", "yesterday"], rows,
                   numeric={1}, row_attrs=attrs, raw={0, 1, 2, 3, 4, 5})]


def _section_model(m: dict) -> list[str]:
    parts = ['<h2 id="model">Model</h2>']
    if not m["versions"]:
        return [*parts, '<p class="muted">No model recorded on the scores.</p>']
    if len(m["versions"]) > 1:
        parts.append('<p class="warn">Several model versions scored this day: '
                     + esc(", ".join(f"{n} v{v}" for n, v in m["versions"])) + "</p>")
    facts = [["registered model", m["name"]], ["version", m["version"]],
             ["aliases now", ", ".join(m["aliases"]) or "–"]]
    facts += [[f"tag {k}", v] for k, v in m["tags"].items()]
    if m.get("run_id"):
        facts.append(["MLflow run", m["run_id"]])
    parts.append(_table(["", ""], facts))
    if m["error"]:
        parts.append(f'<p class="warn">{esc(m["error"])}</p>')
    if m["metrics"]:
        parts += ["<h3>Validation metrics (logged on the version's run)</h3>",
                  _table(["metric", "value"], [[k, f"{v:.4g}"] for k, v in m["metrics"]],
                         numeric={1}, row_attrs=[f'data-model-metric="{esc(k)}"'
                                                 for k, _ in m["metrics"]])]
    elif not m["error"]:
        parts.append('<p class="muted">The version\'s run has no metrics.</p>')
    return parts


def _section_quality(q: dict) -> list[str]:
    label = {"ok": ("ok", "all checks passed, every line accounted for"),
             "warnings": ("warn", f"{q['failed']} warning check(s) failed"),
             "blocked": ("bad", f"{q['blocking']} blocking check(s) failed"
                         + (f"; audit unbalanced for {', '.join(q['unbalanced'])}"
                            if q["unbalanced"] else "")),
             "unknown": ("muted", "no audit or validation results for the day")}[q["status"]]
    parts = ['<h2 id="quality">Data quality of the day</h2>',
             f'<p data-metric="quality_status">Status: <span class="{label[0]}">'
             f"{esc(q['status'])}</span>: {esc(label[1])}</p>", "<h3>Ingest audit</h3>"]
    if q["audit"]:
        rows = []
        for a in q["audit"]:
            balanced = a["source"] not in q["unbalanced"]
            share = (a["rows_quarantined"] or 0) / a["lines_read"] if a["lines_read"] else 0.0
            rows.append([a["source"], _fmt(a["lines_read"]), _fmt(a["rows_accepted"]),
                         _fmt(a["duplicates_dropped"]), _fmt(a["rows_quarantined"]),
                         f"{share:.2%}", "yes" if balanced else "NO"])
        parts.append(_table(["source", "lines read", "accepted", "duplicates", "quarantined",
                             "quarantined share", "balanced"], rows, numeric={1, 2, 3, 4, 5}))
    else:
        parts.append('<p class="muted">No ingest audit rows for this landed day.</p>')
    parts.append(f"<h3>Validation ({len(q['checks'])} checks, {q['failed']} failed)</h3>")
    if q["checks"]:
        rows = [[c["table_name"], c["expectation"], c["severity"],
                 "passed" if c["success"] else "FAILED", str(c["observed"] or "")[:160]]
                for c in q["checks"]]
        parts.append(_table(["table", "expectation", "severity", "result", "observed"], rows))
    else:
        parts.append('<p class="muted">No validation results for this day.</p>')
    return parts


def _section_drift(d: dict) -> list[str]:
    parts = ['<h2 id="drift">Drift</h2>']
    if not d["rows"]:
        return [*parts, '<p class="muted">Drift was not computed for this day (no champion '
                "yet, or the drift step has not run).</p>"]
    flag = ('<span class="bad">retraining flagged</span>' if d["retrain"]
            else '<span class="ok">stable</span>')
    parts += [
        f'<p data-metric="drift_retrain" data-value="{str(d["retrain"]).lower()}">{flag}: '
        f"{esc(d['reason'])}. Rule: score PSI ≥ {esc(d['threshold'])} or at least "
        f"{esc(d['min_flagged'])} features with PSI ≥ {esc(d['threshold'])}; against model "
        f"v{esc(d['model_version'])}'s training day.</p>",
        _img("drift", chart_drift(d["rows"], d["threshold"]), "largest PSI per feature"),
        _table(["feature", "PSI", "flagged"],
               [[r["feature"], f"{r['psi']:.3f}", "yes" if r["flagged"] else ""]
                for r in d["rows"][:15]], numeric={1}),
    ]
    return parts
