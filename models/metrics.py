"""Metrics that fit the problem, and the plots the MLflow run keeps.

Account-level, heavily imbalanced: average precision (PR-AUC), ROC-AUC, recall at a fixed
false-positive rate among legitimate accounts (1% and 0.1%), precision among the top k accounts
of each day (k = what investigators can review), and recall per cluster (campaign/case).

Pure numpy/pandas: scores and labels in, numbers (and matplotlib figures) out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

FPR_TARGETS = {"1pct": 0.01, "0_1pct": 0.001}
DEFAULT_TOP_K = 50
# The headline comparison of two scorers: recall at 1% FPR (what an investigations team can
# afford to review) and average precision (the whole ranking).
HEADLINE = ("recall_at_1pct_fpr", "ap")


def threshold_at_fpr(neg_scores: np.ndarray, fpr: float) -> float:
    """The lowest threshold t with at most floor(fpr * n) negatives scoring >= t.

    Ties are handled conservatively: t lies strictly above the first negative that must not be
    flagged, so a tie group straddling the budget is left out entirely.
    """
    neg = np.sort(np.asarray(neg_scores, dtype=np.float64))[::-1]
    if neg.size == 0:
        return -math.inf
    allowed = int(math.floor(fpr * neg.size + 1e-9))
    if allowed >= neg.size:
        return -math.inf
    return float(np.nextafter(neg[allowed], math.inf))


def realized_fpr(neg_scores: np.ndarray, threshold: float) -> float:
    neg = np.asarray(neg_scores, dtype=np.float64)
    return float((neg >= threshold).mean()) if neg.size else 0.0


# Positive-unlabelled (PU) correction of the FPR. The validation "negatives" are accounts with
# no label: legitimate accounts *and* the campaigns nobody has labelled yet. Those unlabelled
# attackers sit at the top of the negatives' scores, so a threshold set for 1% FPR among the
# negatives lands among the attackers and the bands flag (almost) nobody. Under the usual PU
# assumption (the labelled positives score like the unlabelled ones), the unlabelled share above
# t is U(t) = (1 - pi) F(t) + pi P(t), with F the legitimate FPR and P the labelled positives'
# recall; so F(t) = (U(t) - pi P(t)) / (1 - pi). pi is estimated by the tightest upper bound
# min_t U(t)/P(t), over thresholds with at least `min_positive` labelled positives above (fewer
# is noise). When the unlabelled campaigns score *lower* than the labelled ones (another
# strategy), the bound is loose at the top, pi comes out small and the correction small: it
# errs towards the uncorrected, stricter bands, never towards flagging more than the data shows.
# Not fewer: a bound from exactly 5 positives was tried and reverted (its pi on one outlier-led
# retrain flagged 4.3% of legitimate accounts a day; figures in docs/MODEL.md, "Short histories").
PU_MIN_POSITIVE = 5


def unlabelled_positive_share(
    unl_scores: np.ndarray, pos_scores: np.ndarray, min_positive: int = PU_MIN_POSITIVE
) -> float:
    """Estimated share of positives hidden among the unlabelled (0 when it cannot be told).

    The bound is read halfway between the k-th and (k+1)-th best labelled positives, for
    k = min_positive .. n-1: at a positive's own score the unlabelled just below it would be
    left out and the estimate would lean low by one step of the positives' grid.
    """
    unl = np.sort(np.asarray(unl_scores, dtype=np.float64))
    pos = np.sort(np.asarray(pos_scores, dtype=np.float64))
    lo = max(1, min_positive)
    if unl.size == 0 or pos.size <= lo:
        return 0.0
    top = pos[::-1]
    k = np.arange(lo, pos.size)
    thresholds = (top[k - 1] + top[k]) / 2.0

    def share_above(values: np.ndarray) -> np.ndarray:
        return (values.size - np.searchsorted(values, thresholds, side="left")) / values.size

    u_share, p_share = share_above(unl), share_above(pos)
    return float(min(1.0, np.min(u_share / p_share)))


def threshold_at_pu_fpr(
    unl_scores: np.ndarray, pos_scores: np.ndarray, fpr: float, pi: float
) -> float:
    """The lowest threshold whose PU-estimated legitimate FPR stays within `fpr` above it.

    With pi = 0 this is `threshold_at_fpr` (the same conservative handling of ties).
    """
    unl = np.sort(np.asarray(unl_scores, dtype=np.float64))
    pos = np.sort(np.asarray(pos_scores, dtype=np.float64))
    if unl.size == 0:
        return -math.inf
    if not 0.0 < pi < 1.0 or pos.size == 0:
        return threshold_at_fpr(unl, fpr)
    cands = np.unique(unl)[::-1]  # every distinct unlabelled score, from the top
    u_share = (unl.size - np.searchsorted(unl, cands, side="left")) / unl.size
    p_share = (pos.size - np.searchsorted(pos, cands, side="left")) / pos.size
    est = np.maximum(0.0, u_share - pi * p_share) / (1.0 - pi)
    over = np.flatnonzero(est > fpr + 1e-12)
    if over.size == 0:
        return -math.inf
    # Just above the first unlabelled score that would break the budget: lowering the
    # threshold to there adds only positives, which lowers the estimate.
    return float(np.nextafter(cands[over[0]], math.inf))


def pu_fpr(unl_scores: np.ndarray, pos_scores: np.ndarray, threshold: float, pi: float) -> float:
    """The PU-estimated legitimate FPR at `threshold` (the plain FPR when pi = 0)."""
    unl = np.asarray(unl_scores, dtype=np.float64)
    pos = np.asarray(pos_scores, dtype=np.float64)
    if unl.size == 0:
        return 0.0
    u = float((unl >= threshold).mean())
    if not 0.0 < pi < 1.0 or pos.size == 0:
        return u
    return max(0.0, u - pi * float((pos >= threshold).mean())) / (1.0 - pi)


def recall_at_fpr(y: np.ndarray, s: np.ndarray, fpr: float) -> float:
    y, s = np.asarray(y), np.asarray(s, dtype=np.float64)
    pos = s[y == 1]
    if pos.size == 0:
        return float("nan")
    return float((pos >= threshold_at_fpr(s[y == 0], fpr)).mean())


def average_precision(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    y = np.asarray(y)
    if y.sum() == 0:
        return float("nan")
    return float(average_precision_score(y, s))


def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    if y.sum() == 0 or y.sum() == y.size:
        return float("nan")
    return float(roc_auc_score(y, s))


def precision_at_k_per_day(
    y: np.ndarray, s: np.ndarray, days: np.ndarray, k: int = DEFAULT_TOP_K
) -> dict[str, float]:
    """Precision among the k highest-scored rows of each day; ties broken by row order."""
    frame = pd.DataFrame(
        {"y": np.asarray(y), "s": np.asarray(s, dtype=np.float64), "d": np.asarray(days)}
    )
    out = {}
    for day, grp in frame.groupby("d", sort=True):
        top = grp.sort_values("s", ascending=False, kind="mergesort").head(k)
        out[str(day)] = float(top["y"].mean()) if len(top) else float("nan")
    return out


def recall_per_cluster(
    y: np.ndarray, s: np.ndarray, clusters: np.ndarray, threshold: float
) -> dict[str, float]:
    """Share of each cluster's positive accounts scoring at or above `threshold`."""
    frame = pd.DataFrame(
        {
            "y": np.asarray(y),
            "s": np.asarray(s, dtype=np.float64),
            "c": np.asarray(clusters, dtype=object),
        }
    )
    frame = frame[(frame["y"] == 1) & frame["c"].notna()]
    return {str(c): float((g["s"] >= threshold).mean()) for c, g in frame.groupby("c")}


def last_row_per_account(rows: pd.DataFrame) -> pd.DataFrame:
    """Each account's latest row (the account-level view of row-level predictions)."""
    ordered = rows.sort_values(["account_id", "feature_date"], kind="mergesort")
    return ordered.groupby("account_id", sort=True).tail(1).reset_index(drop=True)


def scorer_metrics(rows: pd.DataFrame, score_col: str, k: int = DEFAULT_TOP_K) -> dict:
    """All metrics of one scorer on validation rows.

    `rows`: account_id, feature_date, label, cluster_key (null for negatives), `score_col`.
    Account-level metrics use each account's latest row; precision@k uses every day.
    """
    acc = last_row_per_account(rows)
    y, s = acc["label"].to_numpy(), acc[score_col].to_numpy(dtype=np.float64)
    out: dict[str, object] = {
        "n_accounts": int(len(acc)),
        "n_positive_accounts": int(y.sum()),
        "ap": average_precision(y, s),
        "roc_auc": roc_auc(y, s),
    }
    for name, fpr in FPR_TARGETS.items():
        out[f"recall_at_{name}_fpr"] = recall_at_fpr(y, s, fpr)
    per_day = precision_at_k_per_day(
        rows["label"].to_numpy(),
        rows[score_col].to_numpy(dtype=np.float64),
        rows["feature_date"].astype(str).to_numpy(),
        k,
    )
    out[f"precision_at_{k}_mean"] = (
        float(np.nanmean(list(per_day.values()))) if per_day else float("nan")
    )
    out["precision_at_k_per_day"] = per_day
    thr = threshold_at_fpr(s[y == 0], FPR_TARGETS["1pct"])
    per_cluster = recall_per_cluster(y, s, acc["cluster_key"].to_numpy(dtype=object), thr)
    out["cluster_recall_at_1pct_fpr"] = per_cluster
    out["cluster_recall_mean"] = (
        float(np.mean(list(per_cluster.values()))) if per_cluster else float("nan")
    )
    out["clusters_detected"] = int(sum(1 for v in per_cluster.values() if v > 0))
    return out


def scalar_metrics(metrics: Mapping[str, object], prefix: str = "") -> dict[str, float]:
    """The numeric entries of a metrics dict (MLflow logs numbers only); NaN kept out."""
    out = {}
    for key, value in metrics.items():
        if isinstance(value, bool | int | float | np.floating | np.integer):
            v = float(value)
            if not math.isnan(v):
                out[f"{prefix}{key}"] = v
    return out


def margins(
    model: Mapping[str, object],
    baseline: Mapping[str, object],
    keys: Sequence[str] = (
        "ap",
        "roc_auc",
        "recall_at_1pct_fpr",
        "recall_at_0_1pct_fpr",
        "cluster_recall_mean",
    ),
) -> dict[str, float]:
    """model minus baseline for each metric both have (positive = the model is better)."""
    out = {}
    for key in keys:
        a, b = model.get(key), baseline.get(key)
        if a is None or b is None:
            continue
        a, b = float(a), float(b)  # type: ignore[arg-type]
        if not (math.isnan(a) or math.isnan(b)):
            out[key] = a - b
    return out


def format_table(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> str:
    """A plain fixed-width table (numbers with 3 decimals) for logs and the terminal."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            return "-" if math.isnan(v) else f"{v:.3f}"
        return str(v)

    body = [[cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [
        max(len(c), *(len(b[i]) for b in body)) if body else len(c) for i, c in enumerate(columns)
    ]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(lines)


def report_text(
    model: Mapping[str, object],
    baselines: Mapping[str, Mapping[str, object]],
    k: int = DEFAULT_TOP_K,
) -> str:
    """The validation report: each scorer's metrics, then by how much the model beats each."""
    cols = [
        "scorer",
        "n_accounts",
        "n_positive_accounts",
        "ap",
        "roc_auc",
        "recall_at_1pct_fpr",
        "recall_at_0_1pct_fpr",
        f"precision_at_{k}_mean",
        "cluster_recall_mean",
    ]
    rows = [{"scorer": "model", **model}]
    rows += [{"scorer": name, **m} for name, m in baselines.items()]
    text = [format_table(rows, cols)]
    for name, m in baselines.items():
        diff = margins(model, m)
        parts = ", ".join(f"{key} {value:+.3f}" for key, value in diff.items())
        text.append(f"model vs {name}: {parts or 'no comparable metric'}")
    return "\n".join(text)


# --- against a generator's ground truth (riskctl evaluate) ---------------------------------------


def operating_point(y: np.ndarray, flagged: np.ndarray) -> dict[str, float]:
    """Recall among positives and false-positive rate among negatives of a yes/no decision."""
    y, f = np.asarray(y).astype(bool), np.asarray(flagged).astype(bool)
    return {
        "recall": float(f[y].mean()) if y.any() else float("nan"),
        "fpr": float(f[~y].mean()) if (~y).any() else float("nan"),
    }


def quietest(volume: np.ndarray, share: float = 0.1) -> np.ndarray:
    """Mask of the `share` of rows with the least volume: ceil(share * n) rows, at least one,
    ties in volume broken by row order."""
    v = np.asarray(volume, dtype=np.float64)
    mask = np.zeros(v.size, bool)
    if v.size:
        mask[np.argsort(v, kind="stable")[: max(1, math.ceil(share * v.size - 1e-9))]] = True
    return mask


def detection_delays(
    groups: np.ndarray, first_seen: np.ndarray, first_flag: np.ndarray
) -> pd.DataFrame:
    """Per group (campaign): its first activity, its first flag, and the days between (NaN when
    never flagged). Inputs are per member; dates or NaT."""
    frame = pd.DataFrame(
        {
            "group": np.asarray(groups, dtype=object),
            "first_seen": pd.to_datetime(pd.Series(first_seen)),
            "first_flag": pd.to_datetime(pd.Series(first_flag)),
        }
    )
    out = (
        frame.groupby("group", sort=True)
        .agg(first_seen=("first_seen", "min"), first_flag=("first_flag", "min"))
        .reset_index()
    )
    out["days"] = (out["first_flag"] - out["first_seen"]).dt.days.astype("float64")
    return out


def share_before_flag(
    accounts: np.ndarray, days: np.ndarray, counts: np.ndarray, first_flag: Mapping[str, object]
) -> float:
    """Share of requests sent on or before the day their account was first flagged, or at any
    time by an account never flagged: a day's score is published once the day is over, so that
    day's requests were all served before the flag."""
    frame = pd.DataFrame(
        {
            "a": np.asarray(accounts, dtype=object),
            "d": pd.to_datetime(pd.Series(days)),
            "n": np.asarray(counts, dtype=np.float64),
        }
    )
    total = frame["n"].sum()
    if total == 0:
        return float("nan")
    flag = pd.to_datetime(frame["a"].map(first_flag))
    before = flag.isna() | (frame["d"] <= flag)
    return float(frame.loc[before.to_numpy(), "n"].sum() / total)


# --- plots (matplotlib, Agg: no display needed) -------------------------------------------------


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_pr_curves(y: np.ndarray, scores: Mapping[str, np.ndarray]):
    from sklearn.metrics import precision_recall_curve

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, s in scores.items():
        if np.asarray(y).sum() == 0:
            continue
        p, r, _ = precision_recall_curve(y, s)
        ax.plot(r, p, label=f"{name} (AP {average_precision(y, s):.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall, validation accounts")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def plot_score_histograms(y: np.ndarray, s: np.ndarray, thresholds: Mapping[str, float]):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    y, s = np.asarray(y), np.asarray(s, dtype=np.float64)
    bins = np.linspace(0, 1, 41)
    ax.hist(s[y == 0], bins=bins, alpha=0.6, label=f"negative ({(y == 0).sum()})", log=True)
    ax.hist(s[y == 1], bins=bins, alpha=0.6, label=f"positive ({(y == 1).sum()})", log=True)
    for band, t in thresholds.items():
        if math.isfinite(t):
            ax.axvline(t, linestyle="--", linewidth=1, color="k")
            ax.text(t, ax.get_ylim()[1] * 0.5, band, rotation=90, fontsize=8)
    ax.set_xlabel("risk_score (calibrated)")
    ax.set_ylabel("accounts (log)")
    ax.set_title("Validation scores by class, with band thresholds")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_feature_importance(importance: Mapping[str, float], top: int = 25):
    plt = _plt()
    items = sorted(importance.items(), key=lambda kv: kv[1], reverse=True)[:top][::-1]
    fig, ax = plt.subplots(figsize=(6, max(2.5, 0.25 * len(items) + 1)))
    ax.barh([k for k, _ in items], [v for _, v in items])
    ax.set_xlabel("total gain")
    ax.set_title("Feature importance")
    fig.tight_layout()
    return fig


def calibration_table(
    y: np.ndarray, p: np.ndarray, n_bins: int = 10, bins: str = "quantile"
) -> pd.DataFrame:
    """Reliability by bins of the predicted probability: `quantile` (equal counts) or `uniform`
    (equal widths over [0, 1], the textbook expected calibration error's bins)."""
    frame = pd.DataFrame({"y": np.asarray(y), "p": np.asarray(p, dtype=np.float64)})
    if bins == "uniform":
        frame["bin"] = np.clip((frame["p"] * n_bins).astype(int), 0, n_bins - 1)
    elif bins == "quantile":
        frame["bin"] = (
            pd.qcut(frame["p"].rank(method="first"), q=min(n_bins, len(frame)), labels=False)
            if len(frame)
            else []
        )
    else:
        raise ValueError(f"bins must be 'quantile' or 'uniform', got {bins!r}")
    return (
        frame.groupby("bin")
        .agg(mean_p=("p", "mean"), frac_pos=("y", "mean"), n=("y", "size"))
        .reset_index()
    )


def expected_calibration_error(
    y: np.ndarray, p: np.ndarray, n_bins: int = 10, bins: str = "quantile"
) -> float:
    """Mean |predicted - observed| over bins, weighted by the rows in each."""
    table = calibration_table(y, p, n_bins, bins)
    if table.empty:
        return float("nan")
    return float(
        (table["n"] * (table["mean_p"] - table["frac_pos"]).abs()).sum() / table["n"].sum()
    )


def plot_calibration(y: np.ndarray, p: np.ndarray):
    plt = _plt()
    table = calibration_table(y, p)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.plot(table["mean_p"], table["frac_pos"], marker="o")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_xlabel("mean predicted risk_score")
    ax.set_ylabel("share positive")
    ax.set_title("Calibration (validation, quantile bins)")
    fig.tight_layout()
    return fig
