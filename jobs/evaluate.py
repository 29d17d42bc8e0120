"""`riskctl evaluate`: the champion's scores against the generator's ground truth.

For generated lakes only (`<lake>/_truth/accounts.parquet`: account_id, role, population,
campaign_id, strategy; the pipeline itself never reads it). Scores come from the published gold
table when it holds the range, else the champion scores the feature table on the fly (by
default the days after its as-of day: out of time). Accounts are compared on their highest
score over the range (an account flagged on any day counts as flagged).

Per attacker strategy (all legitimate accounts as negatives) and for all attackers: AP,
ROC-AUC, recall at 1% and 0.1% FPR, recall at the model's own `high` band, and the same recall
among the accounts that never got a label by the end of the range, with the label counts, so
strategies nobody labelled are visible. The two baselines (volume rule, cot share x volume) are
measured on the same account-days. Per legitimate population: the share flagged `high` or worse
(look-alikes). Per campaign: days from its first request to its first `high` flag.
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


def read_truth(spark, lake: str) -> pd.DataFrame:
    path = f"{lake.rstrip('/')}/_truth/accounts.parquet"
    if not is_remote(lake) and not Path(path).is_file():
        raise PipelineError(f"no ground truth at {path}: `riskctl evaluate` is for lakes made "
                            "by `riskctl generate`")
    cols = ["account_id", "role", "population", "campaign_id", "strategy"]
    if is_remote(lake):
        return spark.read.parquet(path).select(*cols).toPandas()
    return pd.read_parquet(path, columns=cols)


def _scores(spark, lake: str, start: dt.date | None, end: dt.date | None):
    """(scores DataFrame account_id, day, risk_score, risk_band; description; start; end)."""
    from pyspark.sql import functions as F

    from jobs.train import features_uri
    from models.model_registry import load_champion
    from models.scoring import band_column, check_features, with_margin

    gold = delta_io.read(spark, tables.ACCOUNT_SCORES, lake)
    if start is not None:
        gold = gold.where(F.col("score_date") >= F.lit(start))
    if end is not None:
        gold = gold.where(F.col("score_date") <= F.lit(end))
    bounds = gold.agg(F.min("score_date"), F.max("score_date"),
                      F.collect_set("model_version")).first()
    if bounds[0] is not None:
        rows = gold.select("account_id", F.col("score_date").alias("day"), "risk_score",
                           "risk_band")
        return rows, f"gold scores (model versions {sorted(bounds[2])})", bounds[0], bounds[1]
    handle = load_champion(lake)
    feats = spark.read.format("delta").load(features_uri(lake))
    if start is None:
        trained = handle.config.trained_as_of
        last = feats.agg(F.max("feature_date")).first()[0]
        start = (dt.date.fromisoformat(trained) + dt.timedelta(days=1)
                 if trained and last and dt.date.fromisoformat(trained) < last else None)
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
    scored = with_margin(feats.select("account_id", F.col("feature_date").alias("day"), *[
        F.col(n).cast("double").alias(n) for n in handle.feature_names]), handle.model)
    out = scored.select("account_id", "day",
                        cfg.calibration.column(F.col("margin")).alias("risk_score"),
                        band_column(F.col("margin"), cfg.band_margins).alias("risk_band"))
    return out, f"champion {handle.name} v{handle.version} on the fly", b[0], b[1]


def _baselines(spark, lake: str, keys):
    """Per account-day baseline scores on the same rows (volume, cot share x volume)."""
    from pyspark.sql import functions as F

    from jobs.train import features_uri
    from models.training import baseline_columns

    feats = spark.read.format("delta").load(features_uri(lake))
    spec = baseline_columns(feats.columns)
    if not spec:
        return None, {}
    exprs = []
    for name, cols in spec.items():
        e = F.lit(1.0)
        for c in cols:
            e = e * F.coalesce(F.col(c).cast("double"), F.lit(0.0))
        exprs.append(e.alias(f"b_{name}"))
    rows = feats.select("account_id", F.col("feature_date").alias("day"), *exprs)
    return keys.join(rows, ["account_id", "day"], "left"), spec


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
    out = {"ap": ev.average_precision(y, s), "roc_auc": ev.roc_auc(y, s),
           "recall_at_1pct_fpr": _recall_at(y, s, neg, 0.01),
           "recall_at_0_1pct_fpr": _recall_at(y, s, neg, 0.001),
           "unlabelled_recall_at_1pct_fpr": _recall_at(unl.astype(int)[(y == 0) | unl],
                                                       s[(y == 0) | unl], neg, 0.01)}
    return out


def evaluate(lake: str, start: dt.date | None = None, end: dt.date | None = None,
             k: int = 50) -> dict:
    """Ground-truth metrics of the champion's scores (and both baselines); prints a table."""
    from pyspark.sql import functions as F

    from models import metrics as ev
    from models.labels import labels_as_of

    started = time.monotonic()
    spark = get_spark()
    truth = read_truth(spark, lake)
    scores, source, first, last = _scores(spark, lake, start, end)
    scores = scores.persist()
    with_base, spec = _baselines(spark, lake, scores)
    day_rows = (with_base if with_base is not None else scores)
    base_cols = [f"b_{n}" for n in spec]
    acc = (day_rows.groupBy("account_id").agg(
        F.max("risk_score").alias("risk_score"),
        F.max(F.col("risk_band").isin(*FLAGGED_BANDS).cast("int")).alias("flagged"),
        F.min(F.when(F.col("risk_band").isin(*FLAGGED_BANDS), F.col("day"))).alias("first_flag"),
        *[F.max(c).alias(c) for c in base_cols]).toPandas())
    labels = labels_as_of(delta_io.read(spark, tables.SILVER_ENFORCEMENT, lake), last)
    labelled = {r["account_id"] for r in labels.where("ever_positive").select("account_id")
                .collect()}
    acc = acc.merge(truth, on="account_id", how="left")
    acc["role"] = acc["role"].fillna("unknown")
    acc["labelled"] = acc["account_id"].isin(labelled).astype(int)
    legit = (acc["role"] == "legit").to_numpy()
    attacker = (acc["role"] == "attacker").to_numpy()
    scorers = {"model": "risk_score", **{n: f"b_{n}" for n in spec}}

    strategies = sorted(acc.loc[attacker, "strategy"].dropna().unique())
    per_strategy = []
    groups = [("all attackers", attacker)] + [(s, (acc["strategy"] == s).to_numpy())
                                              for s in strategies]
    for name, mask in groups:
        row = {"strategy": name, "accounts": int(mask.sum()),
               "labelled": int(acc.loc[mask, "labelled"].sum()),
               "flagged_high": float(acc.loc[mask, "flagged"].mean()) if mask.any() else math.nan}
        for scorer, col in scorers.items():
            m = _group_metrics(acc, mask, col, legit)
            row.update({(k2 if scorer == "model" else f"{scorer}_{k2}"): v
                        for k2, v in m.items()})
        per_strategy.append(row)

    per_population = []
    for pop in sorted(acc.loc[legit, "population"].dropna().unique()):
        mask = legit & (acc["population"] == pop).to_numpy()
        per_population.append({"population": pop, "accounts": int(mask.sum()),
                               "flagged_high": float(acc.loc[mask, "flagged"].mean())})

    # Precision among each day's top k (truth as labels), model and baselines.
    day_pdf = day_rows.select("account_id", "day", "risk_score", *base_cols).toPandas()
    day_pdf = day_pdf.merge(truth[["account_id", "role"]], on="account_id", how="left")
    y_day = (day_pdf["role"] == "attacker").astype(int).to_numpy()
    prec = {}
    for scorer, col in scorers.items():
        per_day = ev.precision_at_k_per_day(y_day, day_pdf[col].fillna(0).to_numpy(),
                                            day_pdf["day"].astype(str).to_numpy(), k)
        prec[scorer] = float(np.nanmean(list(per_day.values()))) if per_day else math.nan

    campaigns = _campaign_delays(spark, lake, acc)
    scores.unpersist()
    overall = per_strategy[0]
    result = {"source": source, "start": str(first), "end": str(last),
              "accounts_scored": int(len(acc)), "legit_accounts": int(legit.sum()),
              "legit_flagged_high": float(acc.loc[legit, "flagged"].mean()) if legit.any()
              else math.nan,
              f"precision_at_{k}_per_day": prec, "per_strategy": per_strategy,
              "per_population": per_population, "campaigns": campaigns,
              "margins": {b: {m: overall.get(m, math.nan) - overall.get(f"{b}_{m}", math.nan)
                              for m in ("ap", "recall_at_1pct_fpr")} for b in spec}}
    _print(result, list(spec), k)
    log.info("evaluate lake=%s source=%s days=%s..%s accounts=%d secs=%.1f", lake, source,
             first, last, len(acc), time.monotonic() - started)
    return result


def _campaign_delays(spark, lake: str, acc: pd.DataFrame) -> list[dict]:
    """Days from each campaign's first request (first feature row) to its first high flag."""
    from pyspark.sql import functions as F

    from jobs.train import features_uri

    members = acc[acc["campaign_id"].notna()][["account_id", "campaign_id", "first_flag"]]
    if members.empty:
        return []
    firsts = (spark.read.format("delta").load(features_uri(lake))
              .groupBy("account_id").agg(F.min("feature_date").alias("first_seen")).toPandas())
    m = members.merge(firsts, on="account_id", how="left")
    out = []
    for cid, g in m.groupby("campaign_id"):
        seen, flag = g["first_seen"].min(), g["first_flag"].dropna().min() if g[
            "first_flag"].notna().any() else None
        out.append({"campaign_id": cid, "accounts_scored": int(len(g)),
                    "first_seen": str(seen), "first_flag": str(flag) if flag else None,
                    "days_to_first_flag": (flag - seen).days if flag is not None
                    and seen is not None else None})
    return out


def _print(result: dict, baselines: list[str], k: int) -> None:
    from models.metrics import format_table

    print(f"evaluate: {result['source']}, days {result['start']}..{result['end']}, "
          f"{result['accounts_scored']} accounts ({result['legit_accounts']} legitimate, "
          f"{result['legit_flagged_high']:.2%} of them flagged high or critical)")
    cols = ["strategy", "accounts", "labelled", "flagged_high", "ap", "roc_auc",
            "recall_at_1pct_fpr", "recall_at_0_1pct_fpr", "unlabelled_recall_at_1pct_fpr"]
    for b in baselines:
        cols += [f"{b}_ap", f"{b}_recall_at_1pct_fpr"]
    print(format_table(result["per_strategy"], cols))
    print()
    print(format_table(result["per_population"], ["population", "accounts", "flagged_high"]))
    print()
    print(f"precision among each day's top {k}: " + ", ".join(
        f"{n} {v:.3f}" for n, v in result[f"precision_at_{k}_per_day"].items()))
    for b, m in result["margins"].items():
        print(f"model vs {b} (all attackers): AP {m['ap']:+.3f}, recall at 1% FPR "
              f"{m['recall_at_1pct_fpr']:+.3f}")
    if result["campaigns"]:
        print(format_table(result["campaigns"], ["campaign_id", "accounts_scored", "first_seen",
                                                 "first_flag", "days_to_first_flag"]))
