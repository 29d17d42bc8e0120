"""Leave-one-strategy-out: how the model fares on attacker strategies nobody labelled.

For generated lakes (it reads `<lake>/_truth`). For each labelled attacker strategy in turn
(and once with none held out), the labels of that strategy's accounts are removed, a model is
trained as of `--as-of` with the pipeline's own training set and estimator, and it scores the
validation-group accounts (never in training) on the days after the validation window (never
used for training or calibration: the maturity days up to the as-of day). Per strategy: AP and
recall at 1% FPR against the generator's legitimate accounts, and the legitimate population most
flagged at that threshold. Two training configurations are compared: the pipeline's current
one and the one before young unlabelled accounts were taken out of the negatives and the risk
directions bound the model (`--configs` picks).

    python -m tools.strategy_holdout --lake DIR --as-of 2026-04-30

Prints one table; the figures quoted in docs/MODEL.md come from it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import time

import numpy as np
import pandas as pd

log = logging.getLogger("risk.holdout")

CONFIGS = {
    # name: (SplitConfig overrides, ModelConfig overrides)
    "current": ({}, {}),
    "before": ({"min_negative_age_days": 0}, {"monotone": False}),
}


def _metrics(scored: pd.DataFrame, truth: pd.DataFrame) -> dict[str, object]:
    """Per strategy AP / recall at 1% FPR over accounts (max score over the days)."""
    from models import metrics as ev

    acc = (
        scored.groupby("account_id", as_index=False)["margin"]
        .max()
        .merge(truth, on="account_id", how="inner")
    )
    legit = (acc["role"] == "legit").to_numpy()
    s = acc["margin"].to_numpy(dtype=np.float64)
    thr = ev.threshold_at_fpr(s[legit], 0.01)
    out: dict[str, object] = {}
    attackers = (acc["role"] == "attacker").to_numpy()
    groups = [("all", attackers)] + [
        (name, (acc["strategy"] == name).to_numpy())
        for name in sorted(acc.loc[attackers, "strategy"].dropna().unique())
    ]
    for name, mask in groups:
        sub = mask | legit
        out[f"{name}_ap"] = ev.average_precision(mask[sub].astype(int), s[sub])
        out[f"{name}_recall"] = float((s[mask] >= thr).mean()) if mask.any() else math.nan
    flagged = (
        pd.Series(s[legit] >= thr)
        .groupby(acc.loc[legit, "population"].to_numpy())
        .mean()
        .sort_values()
    )
    if len(flagged):
        out["most_flagged_legit"] = f"{flagged.index[-1]} {flagged.iloc[-1]:.1%}"
    return out


def run(
    lake: str, as_of: dt.date, configs: list[str], n_estimators: int | None = None
) -> list[dict]:
    from pyspark.sql import functions as F

    from core.spark import get_spark
    from jobs import train as jt
    from jobs.evaluate import read_truth
    from models import labels as lb
    from models import training_set as ts
    from models.scoring import with_margin
    from models.training import ModelConfig, fit

    spark = get_spark("strategy-holdout")
    truth = read_truth(spark, lake)
    inputs = jt.load_inputs(spark, lake, as_of)
    # Read once, trained on by every model below.
    inputs["features"] = inputs["features"].persist()
    feats, enforcement = inputs["features"], inputs["enforcement"]
    strategy_of = spark.createDataFrame(truth[["account_id", "strategy"]].dropna())
    labelled = sorted(
        r[0]
        for r in lb.labels_as_of(enforcement, as_of)
        .where("is_positive")
        .join(strategy_of, "account_id")
        .select("strategy")
        .distinct()
        .collect()
    )
    results = []
    for config in configs:
        split_kw, model_kw = CONFIGS[config]
        split = ts.SplitConfig(**split_kw)
        model_cfg = ModelConfig(
            heldout_check=False,
            **model_kw,
            **({"n_estimators": n_estimators} if n_estimators else {}),
        )
        probe = None
        for held in [None, *labelled]:
            start = time.monotonic()
            held_inputs = inputs
            if held is not None:  # the strategy was never labelled: no enforcement rows of it
                gone = strategy_of.where(F.col("strategy") == held).select("account_id")
                held_inputs = {
                    **inputs,
                    "enforcement": enforcement.join(gone, "account_id", "left_anti"),
                }
            # The pipeline's own training rows (`riskctl train` builds them the same way).
            rows, names, _, bounds = jt._build_rows(held_inputs, as_of, split, None)
            if probe is None:
                # Evaluation rows never used in training or calibration: validation-group
                # accounts on the days after the validation window.
                probe = (
                    feats.where(
                        (F.col("feature_date") > F.lit(bounds.val_end))
                        & ts.in_validation_group(F.col("account_id"), split)
                    )
                    .select(
                        "account_id",
                        "feature_date",
                        *[F.col(n).cast("double").alias(n) for n in names],
                    )
                    .persist()
                )
            model = fit(rows.where("split = 'train'"), names, model_cfg)
            scored = with_margin(probe, model).select("account_id", "margin").toPandas()
            row = {
                "config": config,
                "held_out": held or "-",
                **_metrics(scored, truth),
                "secs": round(time.monotonic() - start, 1),
            }
            log.info(
                "config=%s held_out=%s all_ap=%.3f secs=%.1f",
                config,
                held,
                row.get("all_ap", math.nan),
                row["secs"],
            )
            results.append(row)
        if probe is not None:
            probe.unpersist()
    feats.unpersist()
    return results


def main(argv: list[str] | None = None) -> int:
    from models.metrics import format_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lake", required=True)
    parser.add_argument("--as-of", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--configs", default="current,before")
    parser.add_argument("--n-estimators", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    results = run(args.lake, args.as_of, args.configs.split(","), args.n_estimators)
    cols = ["config", "held_out"] + [c for c in results[0] if c.endswith(("_ap", "_recall"))]
    cols += ["most_flagged_legit", "secs"]
    print(
        f"leave-one-strategy-out, trained as of {args.as_of} on {args.lake}: AP / recall at "
        "1% FPR per strategy (validation-group accounts, days after the validation window)"
    )
    print(format_table(results, [c for c in cols if any(c in r for r in results)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
