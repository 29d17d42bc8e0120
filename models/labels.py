"""Point-in-time labels from trust-and-safety decisions (LAKE.md, "raw/enforcement").

An account is a known positive from the `decided_at` of a `ban` or `suspend` with reason
`distillation` until any later `reinstate`. "Known as of day D" means decided before the end of
D *and* landed on or before D: a decision taken on D but landed on D+2 is not known on D.

Pure: DataFrames and days in, DataFrames out; no I/O, no session, no clock.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

POSITIVE_ACTIONS = ("ban", "suspend")
POSITIVE_REASON = "distillation"
REINSTATE = "reinstate"

LABEL_COLUMNS = (
    "account_id",
    "is_positive",
    "positive_since",
    "positive_date",
    "case_id",
    "cluster_key",
    "ever_positive",
    "other_enforcement",
)


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant after `day` (UTC): events of day D are strictly before it."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)


def known_enforcement(enforcement: DataFrame, as_of: dt.date) -> DataFrame:
    """Enforcement rows known as of the end of `as_of` (decided before its end, landed by it)."""
    return enforcement.where(
        (F.col("decided_at") < F.lit(end_of_day(as_of))) & (F.col("land_date") <= F.lit(as_of))
    )


def labels_as_of(enforcement: DataFrame, as_of: dt.date) -> DataFrame:
    """One row per account with any known decision as of `as_of`.

    - `is_positive`: the account's latest distillation ban/suspend is not followed by a
      reinstate (ties at the same instant: the reinstate wins, the conservative reading);
    - `positive_since`: `decided_at` of the first distillation ban/suspend of the current
      positive spell (after the last reinstate), null unless positive; `positive_date` its day;
    - `case_id`: the case of that decision (latest non-null in the spell);
    - `cluster_key`: the case, or the account itself when the decision names no case, so a
      case-less label counts as its own cluster;
    - `ever_positive`: some distillation ban/suspend was known, even if reinstated since;
    - `other_enforcement`: a ban/suspend for another reason (payment_fraud, other_abuse) is in
      force (not reinstated since): neither a positive nor a trustworthy negative.
    """
    known = known_enforcement(enforcement, as_of).select(
        "account_id", "decided_at", "action", "reason", "case_id"
    )
    is_pos_action = F.col("action").isin(*POSITIVE_ACTIONS) & (F.col("reason") == POSITIVE_REASON)
    is_other_action = F.col("action").isin(*POSITIVE_ACTIONS) & (F.col("reason") != POSITIVE_REASON)
    last_reinstate = F.max(F.when(F.col("action") == REINSTATE, F.col("decided_at")))
    w = Window.partitionBy("account_id")
    flagged = known.withColumn("_last_reinstate", last_reinstate.over(w))
    after_reinstate = F.col("_last_reinstate").isNull() | (
        F.col("decided_at") > F.col("_last_reinstate")
    )
    current_pos = is_pos_action & after_reinstate
    agg = flagged.groupBy("account_id").agg(
        F.min(F.when(current_pos, F.col("decided_at"))).alias("positive_since"),
        # max_by over a timestamp is deterministic; string max breaks exact-instant ties.
        F.max_by(
            F.when(current_pos, F.col("case_id")),
            F.when(current_pos & F.col("case_id").isNotNull(), F.col("decided_at")),
        ).alias("case_id"),
        F.max(is_pos_action.cast("int")).cast("boolean").alias("ever_positive"),
        F.max((is_other_action & after_reinstate).cast("int"))
        .cast("boolean")
        .alias("other_enforcement"),
    )
    return agg.select(
        "account_id",
        F.col("positive_since").isNotNull().alias("is_positive"),
        "positive_since",
        F.to_date("positive_since").alias("positive_date"),
        "case_id",
        F.when(
            F.col("positive_since").isNotNull(),
            F.coalesce(F.col("case_id"), F.concat(F.lit("account:"), F.col("account_id"))),
        ).alias("cluster_key"),
        "ever_positive",
        "other_enforcement",
    )


def label_counts(labels: DataFrame) -> tuple[int, int]:
    """(positive accounts, distinct clusters among them) of a `labels_as_of` frame."""
    row = (
        labels.where("is_positive")
        .agg(F.count("*").alias("n"), F.countDistinct("cluster_key").alias("c"))
        .first()
    )
    return (int(row["n"] or 0), int(row["c"] or 0)) if row else (0, 0)
