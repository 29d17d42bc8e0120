"""The bands' true false-positive rate and recall, logged beside the estimates in MLflow.

For generated lakes only (it reads `<lake>/_truth`; the pipeline never does). Training logs
each band's *estimated* legitimate FPR and recall (`band_<b>_val_fpr_est`,
`band_<b>_val_recall_est`, models.pu). This tool reads the gold table, takes the days each
registered model version scored, and logs to that version's MLflow run what the truth says
about them: per band, the share of legitimate accounts and of attackers flagged at that band or
stricter on any of those days (`band_<b>_true_fpr`, `band_<b>_true_recall`, account level, a
bought account counting only from its handover), and the expected calibration error of
risk_score on the version's last day (`true_ece_last_day`, ten equal-width bins). Days the
label-free scorer published are summed up in the printout only (no MLflow run holds them).

    python -m tools.band_truth --lake DIR [--no-log]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging

import numpy as np
import pandas as pd

log = logging.getLogger("risk.band_truth")

STRICTER = {
    "critical": ("critical",),
    "high": ("critical", "high"),
    "medium": ("critical", "high", "medium"),
}


def truth_by_band(scores: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Per band, true legitimate FPR and attacker recall over the rows' accounts (flagged on any
    of their days), and the ECE of risk_score on the last day.

    scores: account_id, score_date, risk_score, risk_band; truth: account_id, role,
    handover_at (UTC, null unless a bought account).
    """
    from models import metrics as ev

    s = scores.merge(truth[["account_id", "role", "handover_at"]], on="account_id", how="inner")
    handover = pd.to_datetime(s["handover_at"], utc=True).dt.date
    s = s[handover.isna() | (s["score_date"] >= handover.fillna(dt.date.min))]
    s = s[s["role"].isin(["legit", "attacker"])]
    out: dict[str, float] = {}
    for band, members in STRICTER.items():
        acc = (
            s.assign(f=s["risk_band"].isin(members))
            .groupby("account_id")
            .agg(f=("f", "max"), role=("role", "first"))
        )
        out[f"band_{band}_true_fpr"] = float(acc.loc[acc["role"] == "legit", "f"].mean())
        out[f"band_{band}_true_recall"] = float(acc.loc[acc["role"] == "attacker", "f"].mean())
    last = s[s["score_date"] == s["score_date"].max()]
    out["true_ece_last_day"] = ev.expected_calibration_error(
        (last["role"] == "attacker").to_numpy(dtype=int),
        last["risk_score"].to_numpy(dtype=np.float64),
        bins="uniform",
    )
    return out


def run(lake: str, log_to_mlflow: bool = True) -> dict[str, dict[str, float]]:
    import mlflow

    from core import delta_io, tables
    from core.spark import get_spark
    from jobs.evaluate import read_truth
    from models import model_registry

    spark = get_spark("band-truth")
    truth = read_truth(spark, lake)
    gold = (
        delta_io.read(spark, tables.ACCOUNT_SCORES, lake)
        .select(
            "account_id", "score_date", "risk_score", "risk_band", "model_name", "model_version"
        )
        .toPandas()
    )
    results = {}
    for (name, version), rows in gold.groupby(["model_name", "model_version"]):
        figures = truth_by_band(rows, truth)
        results[f"{name} v{version}"] = figures
        if log_to_mlflow and name == model_registry.model_name():
            mv = model_registry.client(lake).get_model_version(name, version)
            with model_registry.tracking(lake):
                mlflow.log_metrics(figures, run_id=mv.run_id)
            log.info("logged true band figures for %s v%s to run %s", name, version, mv.run_id)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lake", required=True)
    parser.add_argument("--no-log", action="store_true", help="print only, log nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for scorer, figures in run(args.lake, not args.no_log).items():
        print(scorer + ": " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(figures.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
