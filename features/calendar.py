"""The calendar of a range of days: how a row of a table reaches the days D it counts for.

Features of a range are computed in one pass, keyed by (feature_date, account_id): a row that
counts for the days D in [first, last] (an aggregate row for the windows holding its event day,
a registry record from the day it is known on) is joined to exactly those days of the calendar.
A single day is a calendar of one day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

DAY = "feature_date"
KEY = [DAY, "account_id"]


def calendar_days(days: Sequence[dt.date]) -> list[dt.date]:
    days = sorted(set(days))
    if not days:
        raise ValueError("an empty calendar")
    return days


def contiguous(days: Sequence[dt.date]) -> bool:
    return (days[-1] - days[0]).days + 1 == len(days)


def on_calendar(
    rows: DataFrame, days: Sequence[dt.date], first: Column, last: Column | None = None
) -> DataFrame:
    """`rows` joined to every calendar day D with first <= D (and D <= last when given): one
    output row per (row, D), D in column `feature_date`.

    The days a row reaches form one interval, so they are generated (`sequence`) rather than
    found by a join; a calendar with gaps then drops the days it lacks.
    """
    days = calendar_days(days)
    lo = F.greatest(first, F.lit(days[0]))
    hi = F.lit(days[-1]) if last is None else F.least(last, F.lit(days[-1]))
    out = rows.where(lo <= hi).withColumn(DAY, F.explode(F.sequence(lo, hi)))
    return out if contiguous(days) else out.where(F.col(DAY).isin(days))


def known_from(*cols: str) -> Column:
    """The first day a row is known as of: the latest of its dates (e.g. event and landing)."""
    return F.greatest(*[F.col(c) for c in cols])
