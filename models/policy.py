"""The retraining policy, one for `riskctl run` and the Airflow DAGs alike (LAKE.md).

1. A day on which a model was already trained (a registered version tagged `trained_as_of` = the
   day) reuses that version: re-running a day never registers a second model.
2. No training without enough known labels as of the day: at least MIN_POSITIVE_ACCOUNTS
   accounts that are known positives *and* at least MIN_CLUSTERS distinct clusters among them
   (a case_id; a label without a case counts as its own). Why these numbers: with fewer than
   ~20 positive accounts the held-out validation side gets a handful of positives and the band
   thresholds and calibration are noise; with one case only, the model learns one operator's
   fingerprint (one template, one payment instrument) instead of the behaviour of a campaign.
3. The first model: on the first day with enough labels and no champion yet.
4. Then weekly, every Monday (UTC), and on any day the drift monitor raises its flag.

Promotion (models.model_registry): a newly trained model becomes champion when there is none, or
when it beats the current champion on the challenger's own (most recent) validation window *and*
that window holds at least MIN_VALIDATION_POSITIVES positive accounts. Why the floor: labels land
weeks late, so a retrain soon after a quiet spell can validate on a handful of positives; on a
45-day `small` lake a drift retrain validated on 5 (AP 0.11 against the champion's 0.04 on the
same 5) replaced a champion trained on 71 and flagged ~500 legitimate accounts a day
(docs/MODEL.md, "Promotion"). An AP from 5 positives moves by a whole rank step per account; it
cannot tell two models apart. Such a challenger is registered (and can be promoted by hand) but
does not replace the champion automatically.

Pure: numbers and days in, a decision out.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

MIN_POSITIVE_ACCOUNTS = 20
MIN_CLUSTERS = 2
RETRAIN_WEEKDAY = 0  # Monday (date.weekday())
# The challenger must beat the champion's average precision on the same validation rows by at
# least this much: a tie (e.g. the same data twice) keeps the model in place.
MIN_AP_GAIN = 1e-9
# Positive accounts the validation window needs before a challenger may replace a champion; the
# same count the policy asks of the labels before the first model (see the docstring).
MIN_VALIDATION_POSITIVES = MIN_POSITIVE_ACCOUNTS


@dataclass(frozen=True)
class Decision:
    train: bool
    reason: str
    reuse_version: str | None = None


def decide(
    day: dt.date,
    *,
    n_positive: int,
    n_clusters: int,
    has_champion: bool,
    version_for_day: str | None = None,
    drift_flag: bool = False,
) -> Decision:
    """Whether to train a model as of `day` (see the module docstring for the rules)."""
    if version_for_day is not None:
        return Decision(
            False, f"reuse version {version_for_day} trained as of {day}", version_for_day
        )
    if n_positive < MIN_POSITIVE_ACCOUNTS or n_clusters < MIN_CLUSTERS:
        return Decision(
            False,
            f"not enough labels as of {day}: {n_positive} positive accounts "
            f"in {n_clusters} clusters (need {MIN_POSITIVE_ACCOUNTS} in "
            f"{MIN_CLUSTERS})",
        )
    if not has_champion:
        return Decision(True, "first model")
    if day.weekday() == RETRAIN_WEEKDAY:
        return Decision(True, "weekly retrain (Monday)")
    if drift_flag:
        return Decision(True, "drift")
    return Decision(False, "no retraining due")


def should_promote(
    challenger_ap: float, champion_ap: float | None, n_val_positive: int | None = None
) -> tuple[bool, str]:
    """Promote when there is no comparable champion, or when the challenger's AP is higher on a
    validation window with at least MIN_VALIDATION_POSITIVES positive accounts
    (`n_val_positive`; None: not known, no floor applied)."""
    if champion_ap is None or math.isnan(champion_ap):
        return True, "no comparable champion"
    if math.isnan(challenger_ap):
        return False, "challenger has no validation AP"
    if n_val_positive is not None and n_val_positive < MIN_VALIDATION_POSITIVES:
        return False, (
            f"only {n_val_positive} positive accounts in the validation window (need "
            f"{MIN_VALIDATION_POSITIVES} to replace a champion; AP "
            f"{challenger_ap:.4f} vs champion's {champion_ap:.4f})"
        )
    if challenger_ap > champion_ap + MIN_AP_GAIN:
        return True, f"AP {challenger_ap:.4f} > champion's {champion_ap:.4f} on the same window"
    return False, f"AP {challenger_ap:.4f} <= champion's {champion_ap:.4f} on the same window"
