"""`riskctl evaluate`: published scores against the generator's ground truth.

For generated lakes only (`<lake>/_truth/accounts.parquet`: account_id, role, population,
campaign_id, strategy, handover_at; the pipeline itself never reads it). Scores come from the
gold table over a range of days (default: its last 15), else the champion scores the feature
table on the fly (by default the days after its as-of day: out of time). Accounts are compared
on their highest score over the range; an account is flagged when its band was `high` or worse
on any day of it.

For the model and for the baselines of the feature table (the single-account heuristic, volume
x reasoning share x topic focus, and volume alone), over the truly legitimate accounts as
negatives: AP, ROC-AUC, recall at 1% and 0.1% FPR; the operating point (recall and legitimate
FPR of `high` or worse; a baseline, having no bands, at its own 1%-FPR threshold); recall at 1%
FPR of the quietest tenth of attackers (fewest requests in the range); campaigns flagged and
the median days from a campaign's first request to its first flag (flags of every published day
up to the range's end); the share of the range's attacker requests served before their account
was first flagged; the expected calibration error of `risk_score` against the truth on the last
day; precision among each day's top k. Then per strategy (with its labelled accounts and the
recall of those never labelled), per legitimate population (share flagged) and per campaign.

A bought account's requests before its handover are its previous owner's: they are neither its
campaign's first request nor attacker requests.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core import delta_io, tables
from core.errors import PipelineError
from core.settings import is_remote
from core.spark import get_spark

log = logging.getLogger("risk.evaluate")

FLAGGED_BANDS = ("high", "critical")
DEFAULT_DAYS = 15
QUIET_SHARE = 0.1
TRUTH_COLUMNS = ("account_id", "role", "population", "campaign_id", "strategy", "handover_at")


def read_truth(spark, lake: str) -> pd.DataFrame:
    """The generator's truth per account; `handover_at` is null where the lake predates it."""
    path = f"{lake.rstrip('/')}/_truth/accounts.parquet"
    if not is_remote(lake) and not Path(path).is_file():
        raise PipelineError(
            f"no ground truth at {path}: `riskctl evaluate` is for lakes made by `riskctl generate`"
        )
    if is_remote(lake):
        df = spark.read.parquet(path)
        truth = df.select(*[c for c in TRUTH_COLUMNS if c in df.columns]).toPandas()
    else:
        import pyarrow.parquet as pq

        present = set(pq.read_schema(path).names)
        truth = pd.read_parquet(path, columns=[c for c in TRUTH_COLUMNS if c in present])
    if "handover_at" not in truth:
        truth["handover_at"] = pd.NaT
    truth["handover_at"] = pd.to_datetime(truth["handover_at"], utc=True)
    return truth


def _scores(spark, lake: str, start: dt.date | None, end: dt.date | None, days: int):
    """(rows account_id, day, risk_score, risk_band; description; first day; last day; whether
    they are the gold table's)."""
    from pyspark.sql import functions as F

    from jobs.train import features_uri
    from models.model_registry import load_champion
    from models.scoring import band_column, check_features, with_margin

    gold = delta_io.read(spark, tables.ACCOUNT_SCORES, lake)
    newest = gold.agg(F.max("score_date")).first()[0]
    if newest is not None:
        hi = end or newest
        lo = start or hi - dt.timedelta(days=days - 1)
        rows = gold.where(F.col("score_date").between(F.lit(lo), F.lit(hi)))
        bounds = rows.agg(
            F.min("score_date"), F.max("score_date"), F.collect_set("model_version")
        ).first()
        if bounds[0] is not None:
            rows = rows.select(
                "account_id", F.col("score_date").alias("day"), "risk_score", "risk_band"
            )
            return (
                rows,
                f"gold scores (model versions {sorted(bounds[2])})",
                bounds[0],
                bounds[1],
                True,
            )
    handle = load_champion(lake)
    feats = spark.read.format("delta").load(features_uri(lake))
    if start is None:
        trained = handle.config.trained_as_of
        last = feats.agg(F.max("feature_date")).first()[0]
        start = (
            dt.date.fromisoformat(trained) + dt.timedelta(days=1)
            if trained and last and dt.date.fromisoformat(trained) < last
            else None
        )
    if start is not None:
        feats = feats.where(F.col("feature_date") >= F.lit(start))
    if end is not None:
        feats = feats.where(F.col("feature_date") <= F.lit(end))
    b = feats.agg(F.min("feature_date"), F.max("feature_date")).first()
    if b[0] is None:
        raise PipelineError(f"no feature rows between {start} and {end} to score")
    check_features(feats.columns, handle)
    # The scoring transform without reasons (not needed here), keeping the day of each row.
    cfg = handle.config
    scored = with_margin(
        feats.select(
            "account_id",
            F.col("feature_date").alias("day"),
            *[F.col(n).cast("double").alias(n) for n in handle.feature_names],
        ),
        handle.model,
    )
    out = scored.select(
        "account_id",
        "day",
        cfg.calibration.column(F.col("margin")).alias("risk_score"),
        band_column(F.col("margin"), cfg.band_margins).alias("risk_band"),
    )
    return out, f"champion {handle.name} v{handle.version} on the fly", b[0], b[1], False


def _baseline_expr(spec_cols: tuple[str, ...]):
    from pyspark.sql import functions as F

    e = F.lit(1.0)
    for c in spec_cols:
        e = e * F.coalesce(F.col(c).cast("double"), F.lit(0.0))
    return e


def _baselines(spark, lake: str, keys):
    """Per account-day baseline scores on the same rows as `keys` (account_id, day)."""
    from pyspark.sql import functions as F

    from jobs.train import features_uri
    from models.training import baseline_columns

    feats = spark.read.format("delta").load(features_uri(lake))
    spec = baseline_columns(feats.columns)
    spec = {n: spec[n] for n in sorted(spec, key=lambda n: n != "heuristic")}  # the rival first
    if not spec:
        return None, {}, feats
    rows = feats.select(
        "account_id",
        F.col("feature_date").alias("day"),
        *[_baseline_expr(cols).alias(f"b_{n}") for n, cols in spec.items()],
    )
    return keys.join(rows, ["account_id", "day"], "left"), spec, feats


def _first_over(feats, cols: tuple[str, ...], threshold: float, end: dt.date) -> dict:
    """Each account's first feature day up to `end` with the baseline at or above threshold."""
    from pyspark.sql import functions as F

    rows = feats.where(F.col("feature_date") <= F.lit(end))
    if math.isfinite(threshold):
        rows = rows.where(_baseline_expr(cols) >= F.lit(threshold))
    got = rows.groupBy("account_id").agg(F.min("feature_date").alias("d")).collect()
    return {r["account_id"]: r["d"] for r in got}


def _requests(spark, lake: str, end: dt.date) -> pd.DataFrame | None:
    """Requests per account and event day up to `end` (silver), or None without the table."""
    from pyspark.sql import functions as F

    if not delta_io.exists(spark, tables.SILVER_INTERACTIONS, lake):
        return None
    return (
        delta_io.read(spark, tables.SILVER_INTERACTIONS, lake)
        .where(F.col("event_date") <= F.lit(end))
        .groupBy("account_id", F.col("event_date").alias("day"))
        .agg(F.count(F.lit(1)).alias("n"))
        .toPandas()
    )


def _recall_at(y, s, neg_scores, fpr):
    from models import metrics as ev

    pos = s[y == 1]
    if pos.size == 0:
        return math.nan
    return float((pos >= ev.threshold_at_fpr(neg_scores, fpr)).mean())


def _group_metrics(acc: pd.DataFrame, mask: np.ndarray, score: str, legit: np.ndarray) -> dict:
    from models import metrics as ev

    sub = acc[mask | legit]
    y = mask[mask | legit].astype(int)
    s = sub[score].to_numpy(dtype=np.float64)
    neg = s[y == 0]
    unl = (sub["labelled"].to_numpy() == 0) & (y == 1)
    out = {
        "ap": ev.average_precision(y, s),
        "roc_auc": ev.roc_auc(y, s),
        "recall_at_1pct_fpr": _recall_at(y, s, neg, 0.01),
        "recall_at_0_1pct_fpr": _recall_at(y, s, neg, 0.001),
        "unlabelled_recall_at_1pct_fpr": _recall_at(
            unl.astype(int)[(y == 0) | unl], s[(y == 0) | unl], neg, 0.01
        ),
    }
    return out


def evaluate(
    lake: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    k: int = 50,
    days: int = DEFAULT_DAYS,
) -> dict:
    """Ground-truth metrics of the published scores and the baselines; prints them."""
    from pyspark.sql import functions as F

    from models import metrics as ev
    from models.labels import labels_as_of

    started = time.monotonic()
    spark = get_spark()
    truth = read_truth(spark, lake)
    scores, source, first, last, from_gold = _scores(spark, lake, start, end, days)
    scores = scores.persist()
    with_base, spec, feats = _baselines(spark, lake, scores)
    day_rows = with_base if with_base is not None else scores
    base_cols = [f"b_{n}" for n in spec]
    day_pdf = day_rows.select("account_id", "day", "risk_score", "risk_band", *base_cols).toPandas()
    day_pdf[base_cols] = day_pdf[base_cols].fillna(0.0)  # no feature row: nothing to score
    day_pdf["flag"] = day_pdf["risk_band"].isin(FLAGGED_BANDS)
    acc = (
        day_pdf.groupby("account_id", sort=True)
        .agg(
            risk_score=("risk_score", "max"),
            flagged=("flag", "max"),
            **{c: (c, "max") for c in base_cols},
        )
        .reset_index()
    )
    acc["flagged"] = acc["flagged"].astype(int)
    labels = labels_as_of(delta_io.read(spark, tables.SILVER_ENFORCEMENT, lake), last)
    labelled = {
        r["account_id"] for r in labels.where("ever_positive").select("account_id").collect()
    }
    acc = acc.merge(truth, on="account_id", how="left")
    acc["role"] = acc["role"].fillna("unknown")
    acc["labelled"] = acc["account_id"].isin(labelled).astype(int)
    legit = (acc["role"] == "legit").to_numpy()
    attacker = (acc["role"] == "attacker").to_numpy()
    both = legit | attacker
    scorers = {"model": "risk_score", **{n: f"b_{n}" for n in spec}}

    # Requests: per account and day up to the end, without a bought account's past.
    handover = truth.set_index("account_id")["handover_at"].dropna().dt.date
    req = _requests(spark, lake, last)
    if req is not None:
        req["day"] = pd.to_datetime(req["day"]).dt.date
        owner = req["account_id"].map(handover)
        req = req[owner.isna() | (req["day"] >= owner.fillna(dt.date.min))]
        first_req = req.groupby("account_id")["day"].min()
        in_range = req[(req["day"] >= first) & (req["day"] <= last)]
        acc["requests"] = acc["account_id"].map(in_range.groupby("account_id")["n"].sum())
        acc["requests"] = acc["requests"].fillna(0)
    else:
        in_range = None
        first_req = (
            feats.where(F.col("feature_date") <= F.lit(last))
            .groupBy("account_id")
            .agg(F.min("feature_date").alias("d"))
            .toPandas()
            .set_index("account_id")["d"]
        )
        acc["requests"] = np.nan

    # First flag per account up to the end: the bands for the model, each baseline's own
    # 1%-FPR threshold (over the range's legitimate accounts) for the baselines.
    thresholds = {
        n: ev.threshold_at_fpr(acc.loc[legit, c].to_numpy(dtype=np.float64), 0.01)
        for n, c in scorers.items()
    }
    if from_gold:
        g = delta_io.read(spark, tables.ACCOUNT_SCORES, lake)
        first_flag = {
            r["account_id"]: r["d"]
            for r in g.where(
                (F.col("score_date") <= F.lit(last)) & F.col("risk_band").isin(*FLAGGED_BANDS)
            )
            .groupBy("account_id")
            .agg(F.min("score_date").alias("d"))
            .collect()
        }
    else:
        first_flag = day_pdf[day_pdf["flag"]].groupby("account_id")["day"].min().to_dict()
    flags = {"model": first_flag}
    for n, cols in spec.items():
        flags[n] = _first_over(feats, cols, thresholds[n], last)

    attackers_all = truth[truth["role"] == "attacker"]
    summary: dict[str, dict] = {}
    for scorer, col in scorers.items():
        s = acc[col].to_numpy(dtype=np.float64)
        y = attacker[both].astype(int)
        sb = s[both]
        thr = thresholds[scorer]
        flagged = (acc["flagged"].to_numpy() == 1 if scorer == "model" else s >= thr)[both]
        op = ev.operating_point(y, flagged)
        att_s, att_req = s[attacker], acc.loc[attacker, "requests"].to_numpy(dtype=np.float64)
        quiet = ev.quietest(att_req, QUIET_SHARE) if req is not None else np.zeros(0, bool)
        delays = ev.detection_delays(
            attackers_all["campaign_id"].to_numpy(),
            attackers_all["account_id"].map(first_req).to_numpy(),
            attackers_all["account_id"].map(flags[scorer]).to_numpy(),
        )
        att_rows = (
            in_range[in_range["account_id"].isin(set(attackers_all["account_id"]))]
            if in_range is not None
            else None
        )
        summary[scorer] = {
            "ap": ev.average_precision(y, sb),
            "roc_auc": ev.roc_auc(y, sb),
            "recall_at_1pct_fpr": ev.recall_at_fpr(y, sb, 0.01),
            "recall_at_0_1pct_fpr": ev.recall_at_fpr(y, sb, 0.001),
            "operating_recall": op["recall"],
            "operating_fpr": op["fpr"],
            "quietest_recall_at_1pct_fpr": float((att_s[quiet] >= thr).mean())
            if quiet.any()
            else math.nan,
            "campaigns": int(len(delays)),
            "campaigns_flagged": int(delays["days"].notna().sum()),
            "median_days_to_flag": float(delays["days"].median())
            if delays["days"].notna().any()
            else math.nan,
            "requests_before_flag": ev.share_before_flag(
                att_rows["account_id"].to_numpy(),
                att_rows["day"].to_numpy(),
                att_rows["n"].to_numpy(),
                flags[scorer],
            )
            if att_rows is not None
            else math.nan,
            "_delays": delays,
        }
    last_day = day_pdf[day_pdf["day"] == last].merge(truth[["account_id", "role"]], on="account_id")
    last_day = last_day[last_day["role"].isin(["legit", "attacker"])]
    summary["model"]["ece_last_day"] = ev.expected_calibration_error(
        (last_day["role"] == "attacker").to_numpy(dtype=int),
        last_day["risk_score"].to_numpy(dtype=np.float64),
        bins="uniform",
    )

    strategies = sorted(acc.loc[attacker, "strategy"].dropna().unique())
    per_strategy = []
    groups = [("all attackers", attacker)] + [
        (s, (acc["strategy"] == s).to_numpy()) for s in strategies
    ]
    for name, mask in groups:
        n_lab = int(acc.loc[mask, "labelled"].sum())
        row = {
            "strategy": name,
            "accounts": int(mask.sum()),
            "labelled": n_lab,
            "labels": "some" if n_lab else "none",
            "flagged_high": float(acc.loc[mask, "flagged"].mean()) if mask.any() else math.nan,
        }
        for scorer, col in scorers.items():
            m = _group_metrics(acc, mask, col, legit)
            row.update({(k2 if scorer == "model" else f"{scorer}_{k2}"): v for k2, v in m.items()})
        per_strategy.append(row)

    per_population = []
    for pop in sorted(acc.loc[legit, "population"].dropna().unique()):
        mask = legit & (acc["population"] == pop).to_numpy()
        row = {
            "population": pop,
            "accounts": int(mask.sum()),
            "flagged_high": float(acc.loc[mask, "flagged"].mean()),
        }
        for scorer, col in scorers.items():
            over = float(
                (acc.loc[mask, col].to_numpy(dtype=np.float64) >= thresholds[scorer]).mean()
            )
            row["over_1pct_fpr" if scorer == "model" else f"{scorer}_over_1pct_fpr"] = over
        per_population.append(row)

    campaigns = _campaign_rows(attackers_all, acc, labelled, summary)

    # Precision among each day's top k (truth as labels), model and baselines.
    day_pdf = day_pdf.merge(truth[["account_id", "role"]], on="account_id", how="left")
    y_day = (day_pdf["role"] == "attacker").astype(int).to_numpy()
    prec = {}
    for scorer, col in scorers.items():
        per_day = ev.precision_at_k_per_day(
            y_day, day_pdf[col].fillna(0).to_numpy(), day_pdf["day"].astype(str).to_numpy(), k
        )
        prec[scorer] = float(np.nanmean(list(per_day.values()))) if per_day else math.nan
        summary[scorer][f"precision_at_{k}_per_day"] = prec[scorer]

    scores.unpersist()
    for m in summary.values():
        m.pop("_delays")
    overall = per_strategy[0]
    result = {
        "source": source,
        "start": str(first),
        "end": str(last),
        "accounts_scored": int(len(acc)),
        "legit_accounts": int(legit.sum()),
        "attacker_accounts": int(attacker.sum()),
        "legit_flagged_high": float(acc.loc[legit, "flagged"].mean()) if legit.any() else math.nan,
        "summary": summary,
        "thresholds_at_1pct_fpr": thresholds,
        f"precision_at_{k}_per_day": prec,
        "per_strategy": per_strategy,
        "per_population": per_population,
        "campaigns": campaigns,
        "margins": {
            b: {
                m: overall.get(m, math.nan) - overall.get(f"{b}_{m}", math.nan)
                for m in ("ap", "recall_at_1pct_fpr")
            }
            for b in spec
        },
    }
    _print(result, list(spec), k)
    log.info(
        "evaluate lake=%s source=%s days=%s..%s accounts=%d secs=%.1f",
        lake,
        source,
        first,
        last,
        len(acc),
        time.monotonic() - started,
    )
    return result


def _campaign_rows(
    attackers: pd.DataFrame, acc: pd.DataFrame, labelled: set, summary: dict
) -> list[dict]:
    """Per campaign: size, labels, first request, and each scorer's first flag and delay."""
    if attackers.empty:
        return []
    scored = acc.groupby("campaign_id")["account_id"].size()
    meta = attackers.groupby("campaign_id").agg(
        strategy=("strategy", "first"),
        accounts=("account_id", "size"),
        labelled=("account_id", lambda a: int(a.isin(labelled).sum())),
    )
    out = []
    model = summary["model"]["_delays"].set_index("group")
    for cid, m in meta.iterrows():
        d = model.loc[cid]
        row = {
            "campaign_id": cid,
            "strategy": m["strategy"],
            "accounts": int(m["accounts"]),
            "scored": int(scored.get(cid, 0)),
            "labelled": int(m["labelled"]),
            "first_request": _day(d["first_seen"]),
            "first_flag": _day(d["first_flag"]),
            "days_to_first_flag": None if math.isnan(d["days"]) else int(d["days"]),
        }
        for scorer, s in summary.items():
            if scorer == "model":
                continue
            b = s["_delays"].set_index("group").loc[cid]
            row[f"{scorer}_days_to_first_flag"] = None if math.isnan(b["days"]) else int(b["days"])
        out.append(row)
    return out


def _day(value) -> str | None:
    return None if pd.isna(value) else str(pd.Timestamp(value).date())


def _print(result: dict, baselines: list[str], k: int) -> None:
    from models.metrics import format_table

    print(
        f"evaluate: {result['source']}, days {result['start']}..{result['end']}, "
        f"{result['accounts_scored']} accounts ({result['legit_accounts']} legitimate, "
        f"{result['attacker_accounts']} attackers; "
        f"{result['legit_flagged_high']:.2%} of the legitimate flagged high or critical)"
    )
    names = ["model", *baselines]
    s = result["summary"]
    lines = [
        ("AP", "ap"),
        ("ROC-AUC", "roc_auc"),
        ("recall at 1% FPR", "recall_at_1pct_fpr"),
        ("recall at 0.1% FPR", "recall_at_0_1pct_fpr"),
        ("operating point: recall", "operating_recall"),
        ("operating point: legitimate FPR", "operating_fpr"),
        ("quietest tenth: recall at 1% FPR", "quietest_recall_at_1pct_fpr"),
        ("campaigns flagged", None),
        ("median days to first flag", "median_days_to_flag"),
        ("attacker requests served unflagged", "requests_before_flag"),
        ("ECE of risk_score, last day", "ece_last_day"),
        (f"precision among each day's top {k}", f"precision_at_{k}_per_day"),
    ]
    rows = []
    for label, key in lines:
        row = {"figure": label}
        for n in names:
            if key is None:
                row[n] = f"{s[n]['campaigns_flagged']}/{s[n]['campaigns']}"
            else:
                row[n] = s[n].get(key, math.nan)
        rows.append(row)
    print(format_table(rows, ["figure", *names]))
    print(
        "(operating point: the model's `high` or worse on any day; a baseline at its own "
        "1%-FPR threshold)"
    )
    print()
    cols = [
        "strategy",
        "accounts",
        "labelled",
        "labels",
        "flagged_high",
        "ap",
        "roc_auc",
        "recall_at_1pct_fpr",
        "recall_at_0_1pct_fpr",
        "unlabelled_recall_at_1pct_fpr",
    ]
    for b in baselines:
        cols += [f"{b}_ap", f"{b}_recall_at_1pct_fpr"]
    print(format_table(result["per_strategy"], cols))
    print()
    print(
        format_table(
            result["per_population"],
            [
                "population",
                "accounts",
                "flagged_high",
                "over_1pct_fpr",
                *[f"{b}_over_1pct_fpr" for b in baselines],
            ],
        )
    )
    print()
    for b, m in result["margins"].items():
        print(
            f"model vs {b} (all attackers): AP {m['ap']:+.3f}, recall at 1% FPR "
            f"{m['recall_at_1pct_fpr']:+.3f}"
        )
    if result["campaigns"]:
        print()
        print(
            format_table(
                [{k2: "-" if v is None else v for k2, v in r.items()} for r in result["campaigns"]],
                [
                    "campaign_id",
                    "strategy",
                    "accounts",
                    "scored",
                    "labelled",
                    "first_request",
                    "first_flag",
                    "days_to_first_flag",
                    *[f"{b}_days_to_first_flag" for b in baselines],
                ],
            )
        )
