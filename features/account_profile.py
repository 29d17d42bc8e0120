"""The account registry and the labels, as of each day D of a calendar.

As of D means: landed on or before D, and event time (`updated_at`, `decided_at`) before the end
of D. A registry record that lands on D+1, even if updated on D, is unknown on D. Outputs are
keyed by (feature_date, account_id); the single-day forms drop the day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from core.enums import EMAIL_DOMAIN_CLASSES, SIGNUP_CHANNELS, TIERS
from features.calendar import DAY, KEY, known_from, on_calendar
from features.params import DEFAULT_PARAMS, FeatureParams


def end_of(day: dt.date) -> Column:
    """The first instant after `day` (UTC): event times must be strictly before it."""
    return F.lit(dt.datetime.combine(day + dt.timedelta(days=1), dt.time())).cast("timestamp")


def known_on_days(rows: DataFrame, days: Sequence[dt.date], time_column: str) -> DataFrame:
    """Each row joined to every calendar day D it is known on: landed on or before D, its
    time (`time_column`) before the end of D."""
    return on_calendar(
        rows.withColumn("_event_day", F.to_date(time_column)),
        days,
        known_from("_event_day", "land_date"),
    ).drop("_event_day")


def accounts_as_of_days(accounts: DataFrame, days: Sequence[dt.date]) -> DataFrame:
    """The latest registry version of each account known by the end of each day D."""
    known = known_on_days(accounts, days, "updated_at")
    cols = [
        "org_id",
        "created_at",
        "updated_at",
        "signup_channel",
        "payment_fingerprint",
        "email_domain_class",
        "billing_country",
        "tier",
        "verified",
    ]
    # (updated_at, account_id) is the key, so the latest updated_at is one row.
    latest = known.groupBy(*KEY).agg(F.max_by(F.struct(*cols), "updated_at").alias("r"))
    return latest.select(*KEY, *[F.col(f"r.{c}").alias(c) for c in cols])


def accounts_as_of(accounts: DataFrame, day: dt.date) -> DataFrame:
    """The latest registry version of each account known by the end of `day`."""
    return accounts_as_of_days(accounts, [day]).drop(DAY)


def _flag(cond: Column) -> Column:
    return F.when(cond, 1).otherwise(0)


def profile_features(snapshot: DataFrame, params: FeatureParams = DEFAULT_PARAMS) -> DataFrame:
    """Registry features of each account with a record on each day (others get nulls from the
    caller). `snapshot`: `accounts_as_of_days`."""
    age = F.greatest(F.datediff(F.col(DAY), F.to_date("created_at")), F.lit(0))
    tier_rank = F.create_map(*[x for i, t in enumerate(TIERS) for x in (F.lit(t), F.lit(i))])
    return snapshot.select(
        *KEY,
        F.lit(1).alias("has_account_record"),
        age.cast("int").alias("account_age_days"),
        _flag(age < params.young_account_days).alias("is_young_account"),
        _flag(F.col("verified")).alias("verified"),
        _flag(F.col("payment_fingerprint").isNotNull()).alias("has_payment_fingerprint"),
        tier_rank[F.col("tier")].cast("int").alias("tier_rank"),
        *[_flag(F.col("signup_channel") == c).alias(f"signup_{c}") for c in SIGNUP_CHANNELS],
        *[
            _flag(F.col("email_domain_class") == c).alias(f"email_{c}")
            for c in EMAIL_DOMAIN_CLASSES
        ],
        "signup_channel",
        "tier",
        "email_domain_class",
        "billing_country",
    )


def registry_sharing(snapshot: DataFrame) -> DataFrame:
    """Other accounts (whole registry as of D) sharing the payment fingerprint, and the org."""

    def others(key: str, name: str) -> DataFrame:
        keyed = snapshot.where(F.col(key).isNotNull())
        sizes = keyed.groupBy(DAY, key).agg(F.count(F.lit(1)).alias("_n"))
        return keyed.join(sizes, [DAY, key]).select(*KEY, (F.col("_n") - 1).cast("int").alias(name))

    return (
        snapshot.select(*KEY)
        .join(others("payment_fingerprint", "payment_fp_accounts"), KEY, "left")
        .join(others("org_id", "org_accounts"), KEY, "left")
        .fillna(0, ["payment_fp_accounts", "org_accounts"])
    )


def known_bad_as_of_days(enforcement: DataFrame, days: Sequence[dt.date]) -> DataFrame:
    """(feature_date, account_id) labelled distillation as of each day D: a ban or suspend with
    reason distillation decided and landed by the end of D, with no later reinstate
    (LAKE.md)."""
    known = known_on_days(enforcement, days, "decided_at")
    positive = F.col("action").isin("ban", "suspend") & (F.col("reason") == "distillation")
    per = known.groupBy(*KEY).agg(
        F.max(F.when(positive, F.col("decided_at"))).alias("last_positive"),
        F.max(F.when(F.col("action") == "reinstate", F.col("decided_at"))).alias("last_reinstate"),
    )
    return per.where(
        F.col("last_positive").isNotNull()
        & (F.col("last_reinstate").isNull() | (F.col("last_reinstate") < F.col("last_positive")))
    ).select(*KEY)


def known_bad_as_of(enforcement: DataFrame, day: dt.date) -> DataFrame:
    """Accounts labelled distillation as of `day` (see `known_bad_as_of_days`)."""
    return known_bad_as_of_days(enforcement, [day]).drop(DAY)
