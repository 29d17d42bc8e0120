"""Positive-unlabelled (PU) estimates: the label frequency, a calibration to P(attacker), and
band thresholds whose false-positive rate is estimated without trusting the unlabelled pool.

Only some attackers are ever labelled, and late. A classifier of labelled against unlabelled
accounts estimates g(x) = P(labelled | x). Elkan & Noto (KDD 2008): when the labelled
positives are a random sample of all positives, g(x) = c * P(attacker | x) with the label
frequency c = P(labelled | attacker), and c is the mean of g over held-out labelled positives
("spies": labelled accounts the model never trained on, here the validation group's). So:

1. Platt-fit g on the validation rows (labelled against unlabelled), read c as the mean of g
   over the validation positives' rows (`label_frequency`);
2. fit the calibration p(margin) = sigmoid(a * margin + b) by maximising the likelihood of the
   observed labels under P(labelled | margin) = c * p(margin) (`fit_pu_logistic`): p is then
   P(attacker | margin), strictly increasing, in (0, 1), with no cap to tie the top together;
3. the expected number of legitimate accounts above a threshold is the sum of (1 - p) over the
   unlabelled accounts above it, so a band's FPR among legitimate accounts is estimated as
   sum(1 - p above t) / sum(1 - p) over the unlabelled, and its recall as
   (labelled above t + sum(p above t)) / (labelled + sum(p)) (`band_estimates`).

Where the random-sample assumption fails (a campaign nobody labels scores lower than the
labelled ones), c comes out too high for it and its accounts too low: the error is towards
fewer flags, never more.

Pure numpy: arrays in, numbers out.
"""

from __future__ import annotations

import math

import numpy as np

# c is floored: a handful of validation positives scoring near zero must not blow every
# probability up to 1.
MIN_LABEL_FREQUENCY = 0.02


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))


def label_frequency(g_positive: np.ndarray) -> float:
    """c = mean P(labelled | x) over held-out labelled positives (Elkan-Noto's e1), in
    [MIN_LABEL_FREQUENCY, 1]; 1 when there are none (no correction)."""
    g = np.asarray(g_positive, dtype=np.float64)
    if g.size == 0:
        return 1.0
    return float(min(1.0, max(MIN_LABEL_FREQUENCY, g.mean())))


def fit_pu_logistic(
    margins: np.ndarray, labelled: np.ndarray, c: float, start: tuple[float, float] = (1.0, 0.0)
) -> tuple[float, float]:
    """(a, b) maximising sum s log(c p) + (1 - s) log(1 - c p), p = sigmoid(a m + b), a > 0.

    With c = 1 this is Platt scaling. `start` is usually Platt's own (a, b).
    """
    from scipy.optimize import minimize

    m = np.asarray(margins, dtype=np.float64)
    s = np.asarray(labelled, dtype=np.float64)
    if m.size == 0 or s.min() == s.max():
        return start

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = theta
        p = sigmoid(a * m + b)
        q = np.clip(c * p, 1e-12, 1 - 1e-12)
        loss = -(s * np.log(q) + (1 - s) * np.log1p(-q)).sum()
        # d loss / d z = -(s / q - (1 - s) / (1 - q)) * c * p * (1 - p)
        dz = -(s / q - (1 - s) / (1 - q)) * c * p * (1 - p)
        return float(loss), np.array([float((dz * m).sum()), float(dz.sum())])

    res = minimize(
        nll,
        np.asarray(start, dtype=np.float64),
        jac=True,
        method="L-BFGS-B",
        bounds=[(1e-6, None), (None, None)],
    )
    a, b = (float(x) for x in res.x)
    return a, b


def band_estimates(
    unl_scores: np.ndarray, unl_p: np.ndarray, pos_scores: np.ndarray, threshold: float
) -> tuple[float, float]:
    """(estimated legitimate FPR, estimated recall) of flagging every score >= threshold.

    unl_scores / unl_p: each unlabelled account's score and its P(attacker); pos_scores: the
    labelled positives' scores.
    """
    s = np.asarray(unl_scores, dtype=np.float64)
    p = np.asarray(unl_p, dtype=np.float64)
    pos = np.asarray(pos_scores, dtype=np.float64)
    above = s >= threshold
    legit = (1.0 - p).sum()
    fpr = float((1.0 - p)[above].sum() / legit) if legit > 0 else 0.0
    attackers = pos.size + p.sum()
    recall = (
        float(((pos >= threshold).sum() + p[above].sum()) / attackers) if attackers > 0 else 0.0
    )
    return fpr, recall


def threshold_at_estimated_fpr(unl_scores: np.ndarray, unl_p: np.ndarray, fpr: float) -> float:
    """The lowest threshold whose estimated legitimate FPR (`band_estimates`) is <= fpr.

    Ties are handled as in `models.metrics.threshold_at_fpr`: the threshold lies just above the
    first score that would break the budget, so a tie group straddling it is left out.
    """
    s = np.asarray(unl_scores, dtype=np.float64)
    w = 1.0 - np.asarray(unl_p, dtype=np.float64)
    if s.size == 0 or w.sum() <= 0:
        return -math.inf
    order = np.argsort(-s, kind="mergesort")
    s, w = s[order], w[order]
    # Expected legitimate accounts at or above each distinct score, from the top.
    cum = np.cumsum(w) / w.sum()
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    over = np.flatnonzero(last_of_tie & (cum > fpr + 1e-12))
    if over.size == 0:
        return -math.inf
    return float(np.nextafter(s[over[0]], math.inf))
