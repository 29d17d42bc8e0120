"""Daily aggregates -> per-account behaviour over the 1, 7 and 28 days ending on each day D.

Every function works on a calendar of days at once: an aggregate row (account, event day,
landed day) is joined to each day D of the calendar whose window holds its event day and that
knows it (`land_date <= D`), so one pass computes the windows of every day of a range, keyed by
(feature_date, account_id), and what lands after D never changes day D. A single day is a
calendar of one day. Restricted to the accounts the contract scores on D (active in D-6..D).
The 1- and 7-day figures come out of one group-by over the 7 days of aggregate rows, the 28-day
ones out of a second over the 28 days' few columns they need, joined by (day, account).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from core.enums import IP_TYPES, TOPICS
from features.calendar import DAY, KEY, calendar_days, known_from, on_calendar
from features.daily_activity import sample_rank
from features.local_time import COUNTRY_UTC_OFFSET
from features.params import DEFAULT_PARAMS, LONGEST_WINDOW, REASONING_TOPICS, FeatureParams

TOPIC_COLUMNS = [f"n_topic_{t}" for t in TOPICS] + ["n_topic_unknown"]


def as_of(agg: DataFrame, days: Sequence[dt.date], width: int = LONGEST_WINDOW) -> DataFrame:
    """Aggregate rows, each joined to every calendar day D whose `width` days ending on D hold
    its event day and that knows it (land_date <= D)."""
    days = calendar_days(days)
    first = days[0] - dt.timedelta(days=width - 1)
    near = agg.where(
        F.col("event_date").between(F.lit(first), F.lit(days[-1]))
        & (F.col("land_date") <= F.lit(days[-1]))
    )
    return on_calendar(
        near, days, known_from("event_date", "land_date"), F.date_add("event_date", width - 1)
    )


def scored_accounts(agg_window: DataFrame) -> DataFrame:
    """(feature_date, account_id) with at least one accepted interaction in the 7 days ending
    on the day. `agg_window`: rows of `as_of(..., 7)` or wider."""
    return agg_window.where(_in(7) & (F.col("requests") > 0)).select(*KEY).distinct()


# What the 28-day aggregates read: everything else is only ever summed over 7 days or less.
LONG_WINDOW_COLUMNS = [
    "account_id",
    "event_date",
    "requests",
    "input_tokens",
    "output_tokens",
    "n_status_429",
    "n_high_cot",
    "hour_counts",
    "gap_n",
    "gap_sum_s",
    "gap_sumsq_s",
    "n_thinking",
    "n_tools",
    *TOPIC_COLUMNS,
    "ip_hashes",
    "ip_prefixes",
    "ip_asns",
    "country_counts",
]


def day_windows(
    agg: DataFrame,
    days: Sequence[dt.date],
    keep: Callable[[DataFrame], DataFrame] | None = None,
) -> tuple[DataFrame, DataFrame, DataFrame]:
    """The scored accounts' aggregate rows as of each day: (the 7 days, all columns; the 28
    days, only `LONG_WINDOW_COLUMNS`; the scored (feature_date, account_id)).

    Two frames, not one, so that the 1- and 7-day aggregates never scan the 28 days and the
    28-day ones never carry the 7-day-only columns: a day's cost then grows with the window
    only where the feature does. `keep` (a cache) is applied to the 7-day frame, which the
    scored accounts and several aggregates read.
    """
    keep = keep or (lambda df: df)
    recent = keep(as_of(agg, days, 7))
    scored = scored_accounts(recent)
    long = as_of(agg.select("land_date", *LONG_WINDOW_COLUMNS), days).drop("land_date")
    return recent, long.join(scored, KEY, "left_semi"), scored


def _in(width: int) -> Column:
    """The row's event day is in the `width` days ending on its feature_date."""
    if width == 1:
        return F.col("event_date") == F.col(DAY)
    return F.col("event_date") >= F.date_sub(F.col(DAY), width - 1)


def _sum_if(cond: Column, col: Column | str) -> Column:
    col = F.col(col) if isinstance(col, str) else col
    return F.coalesce(F.sum(F.when(cond, col)), F.lit(0)).cast("bigint")


def _sum(col: Column | str) -> Column:
    return _sum_if(F.lit(True), col)


def _union(col: str) -> Column:
    """Distinct union of the array column over the group's rows."""
    return F.array_distinct(F.flatten(F.collect_list(col)))


def _active_hours() -> Column:
    return F.size(F.filter("hour_counts", lambda x: x > 0))


def _hours() -> Column:
    return F.array(*[_sum(F.col("hour_counts")[h]) for h in range(24)])


def _active_days() -> Column:
    return F.size(F.array_distinct(F.collect_list("event_date")))


# Counts summed over 1, 7 and 28 days, and over 7 and 28 days only.
_SUMS_1_7_28 = (
    "requests",
    "input_tokens",
    "output_tokens",
    "n_status_429",
    "n_high_cot",
    "_active_hours",
    "gap_n",
)
_SUMS_7_28 = ("n_thinking", "n_tools", *TOPIC_COLUMNS)


def window_sums(
    recent: DataFrame, long: DataFrame, params: FeatureParams = DEFAULT_PARAMS
) -> DataFrame:
    """One row per scored account and day with the windowed sums, histograms and distinct sets.

    `recent`, `long`: the first two frames of `day_windows` (7 days, 28 days).
    """
    one_day = _in(1)
    rows = recent.withColumn("_active_hours", _active_hours())
    # Aggregates written before link_prefixes existed hold NULL: all their prefixes, as then.
    rows = rows.withColumn("_link_prefixes", F.coalesce("link_prefixes", "ip_prefixes"))
    short: list[Column] = []
    for name in _SUMS_1_7_28:
        out = name.lstrip("_")
        short += [_sum_if(one_day, name).alias(f"{out}_1d"), _sum(name).alias(f"{out}_7d")]
    for name in ("gap_sum_s", "gap_sumsq_s"):
        short += [
            F.coalesce(F.sum(F.when(one_day, F.col(name))), F.lit(0.0)).alias(f"{name}_1d"),
            F.coalesce(F.sum(name), F.lit(0.0)).alias(f"{name}_7d"),
        ]
    for name in (
        "n_batches",
        "n_turns",
        "turns_sum",
        "n_cot_scored",
        "n_image",
        "n_status_400",
        "n_status_5xx",
        "n_distinct_prompts",
        *SYNC_SUMS,
        *_SUMS_7_28,
        *[f"n_iptype_{t}" for t in IP_TYPES],
        "n_iptype_unknown",
    ):
        short.append(_sum(name).alias(f"{name}_7d"))
    short += [
        F.coalesce(F.sum("cot_score_sum"), F.lit(0.0)).alias("cot_score_sum_7d"),
        F.max("sync_ip_max_peers").alias("sync_ip_max_peers_7d"),
        F.max("sync_prompt_max_peers").alias("sync_prompt_max_peers_7d"),
        _active_days().alias("active_days_7d"),
        _hours().alias("hours_7d"),
        _union("ip_hashes").alias("ips_7d"),
        _union("ip_prefixes").alias("prefixes_7d"),
        _union("ip_asns").alias("asns_7d"),
        _union("_link_prefixes").alias("link_prefixes_7d"),
        _union("api_keys").alias("api_keys_7d"),
        _union("user_agents").alias("user_agents_7d"),
        _union("simhash_sample").alias("_simhashes_7d"),
    ]
    sums_7d = rows.groupBy(*KEY).agg(*short)

    lrows = long.withColumn("_active_hours", _active_hours())
    long_aggs = [
        _sum(name).alias(f"{name.lstrip('_')}_28d") for name in (*_SUMS_1_7_28, *_SUMS_7_28)
    ]
    long_aggs += [
        F.coalesce(F.sum(name), F.lit(0.0)).alias(f"{name}_28d")
        for name in ("gap_sum_s", "gap_sumsq_s")
    ]
    long_aggs += [
        _sum_if(F.dayofweek("event_date").isin(1, 7), "requests").alias("weekend_requests_28d"),
        _active_days().alias("active_days_28d"),
        _hours().alias("hours_28d"),
        _union("ip_hashes").alias("ips_28d"),
        _union("ip_prefixes").alias("prefixes_28d"),
        _union("ip_asns").alias("asns_28d"),
    ]
    sums_28d = lrows.groupBy(*KEY).agg(*long_aggs)
    # Every scored account has rows in both: it is active in the 7 days, inside the 28.
    sums = sums_7d.join(sums_28d, KEY)
    # The window's consistent sample: the smallest xxhash64 over the days' samples.
    return sums.withColumn(
        "simhashes_7d",
        F.transform(
            F.slice(
                F.array_sort(F.transform("_simhashes_7d", sample_rank)),
                1,
                params.simhash_sample_per_window,
            ),
            lambda s: s["h"],
        ),
    ).drop("_simhashes_7d")


SYNC_SUMS = (
    "sync_ip_slots",
    "sync_ip_shared_slots",
    "sync_prompt_slots",
    "sync_prompt_shared_slots",
)


def model_mix(agg_window: DataFrame, new_models: DataFrame) -> DataFrame:
    """Per account and day: distinct models, top model share and share on new models (1d, 7d).
    `agg_window`: rows of at least the 7 days ending on each day (older rows are ignored);
    `new_models`: (feature_date, model)."""
    rows = agg_window.where(_in(7)).select(
        *KEY, "event_date", F.explode("model_counts").alias("model", "n")
    )
    per_model = rows.groupBy(*KEY, "model").agg(
        F.sum("n").alias("n7"), F.sum(F.when(_in(1), F.col("n"))).alias("n1")
    )
    flagged = per_model.join(
        F.broadcast(new_models.withColumn("_new", F.lit(1))), [DAY, "model"], "left"
    )
    is_new = F.col("_new").isNotNull()
    return flagged.groupBy(*KEY).agg(
        F.count(F.lit(1)).cast("int").alias("distinct_models_7d"),
        ratio(F.max("n7"), F.sum("n7")).alias("model_top_share_7d"),
        ratio(F.sum(F.when(is_new, F.col("n1")).otherwise(0)), F.sum("n1")).alias(
            "new_model_share_1d"
        ),
        ratio(F.sum(F.when(is_new, F.col("n7")).otherwise(0)), F.sum("n7")).alias(
            "new_model_share_7d"
        ),
    )


def new_models(
    model_activity: DataFrame, days: Sequence[dt.date], params: FeatureParams = DEFAULT_PARAMS
) -> DataFrame:
    """(feature_date, model): models first seen in the lake within `new_model_days` of each
    day D (as of D).

    Models already present on the lake's first landed day are never new: the lake's start is
    not a release.
    """
    known = on_calendar(model_activity, days, known_from("event_date", "land_date"), None)
    first = known.groupBy(DAY, "model").agg(
        F.min("event_date").alias("first_seen"), F.min("land_date").alias("_first_land")
    )
    lake_start = F.min("_first_land").over(Window.partitionBy(DAY))
    since = F.date_sub(F.col(DAY), params.new_model_days - 1)
    return (
        first.withColumn("lake_start", lake_start)
        .where((F.col("first_seen") >= since) & (F.col("first_seen") > F.col("lake_start")))
        .select(DAY, "model")
    )


def country_mix(agg_window: DataFrame, billing: DataFrame) -> DataFrame:
    """Per account and day: distinct countries (7d), the most frequent country (28d) and the
    share of 7-day requests from outside the billing country. `agg_window`: the 28 days ending
    on each day (feature_date, account_id, event_date, country_counts); `billing`:
    feature_date, account_id, billing_country."""
    rows = agg_window.select(
        *KEY, _in(7).alias("_in7"), F.explode("country_counts").alias("country", "n")
    )
    per = rows.groupBy(*KEY, "country").agg(
        F.sum(F.when(F.col("_in7"), F.col("n")).otherwise(0)).alias("c7"), F.sum("n").alias("c28")
    )
    per = per.join(billing, KEY, "left")
    elsewhere = F.col("country") != F.col("billing_country")
    return (
        per.groupBy(*KEY)
        .agg(
            F.sum(F.when(F.col("c7") > 0, 1).otherwise(0))
            .cast("int")
            .alias("distinct_countries_7d"),
            # The most frequent country over 28 days, ties to the alphabetically first.
            F.sort_array(F.collect_list(F.struct((-F.col("c28")).alias("k"), "country")))[0][
                "country"
            ].alias("top_country_28d"),
            ratio(F.sum(F.when(elsewhere, F.col("c7")).otherwise(0)), F.sum("c7")).alias(
                "_mismatch_7d"
            ),
            F.first("billing_country", ignorenulls=True).alias("_billing"),
        )
        .select(
            *KEY,
            "distinct_countries_7d",
            "top_country_28d",
            F.when(F.col("_billing").isNotNull(), F.col("_mismatch_7d")).alias(
                "country_mismatch_share_7d"
            ),
        )
    )


def offset_map() -> Column:
    items = sorted(COUNTRY_UTC_OFFSET.items())
    return F.create_map(*[x for k, v in items for x in (F.lit(k), F.lit(v))])


def local_offset(billing_country: Column, top_country: Column) -> Column:
    """UTC offset of the account's own country: billing, else most frequent request country."""
    m = offset_map()
    return F.coalesce(m[billing_country], m[top_country], F.lit(0)).cast("int")


def entropy(counts: Column) -> Column:
    """Shannon entropy in bits of a count array (0 for an empty or all-zero one)."""
    total = F.aggregate(counts, F.lit(0).cast("bigint"), lambda a, x: a + x)
    pos = F.filter(counts, lambda x: x > 0)
    return F.when(
        total > 0, F.aggregate(pos, F.lit(0.0), lambda a, x: a - (x / total) * F.log2(x / total))
    ).otherwise(0.0)


def night_count(hours: Column, offset: Column, params: FeatureParams = DEFAULT_PARAMS) -> Column:
    """Requests of a UTC-hour histogram that fall in the local night for `offset`."""
    p = params
    return F.aggregate(
        F.sequence(F.lit(0), F.lit(23)),
        F.lit(0).cast("bigint"),
        lambda a, i: (
            a
            + F.when(
                (F.pmod(i + offset, F.lit(24)) >= p.night_start_hour)
                & (F.pmod(i + offset, F.lit(24)) < p.night_end_hour),
                F.element_at(hours, i + 1),
            ).otherwise(0)
        ),
    )


def ratio(num: Column | str, den: Column | str) -> Column:
    """num / den, null when den is 0 (a share over an empty window is undefined)."""
    num = F.col(num) if isinstance(num, str) else num
    den = F.col(den) if isinstance(den, str) else den
    return F.when(den > 0, num / den)


def _cv(k: str) -> Column:
    n, s, sq = F.col(f"gap_n_{k}"), F.col(f"gap_sum_s_{k}"), F.col(f"gap_sumsq_s_{k}")
    mean = s / n
    var = F.greatest(sq / n - mean * mean, F.lit(0.0))
    return F.when((n >= 2) & (mean > 0), F.sqrt(var) / mean)


def behaviour_features(
    sums: DataFrame,
    mix: DataFrame,
    countries: DataFrame,
    billing: DataFrame,
    params: FeatureParams = DEFAULT_PARAMS,
) -> DataFrame:
    """Windowed sums + model mix + country mix + billing country -> behaviour feature columns,
    one row per (feature_date, account_id) of `sums`.

    `billing`: feature_date, account_id, billing_country (as of the day; accounts without a
    record are absent).
    """
    df = sums.join(mix, KEY, "left").join(countries, KEY, "left").join(billing, KEY, "left")
    off = local_offset(F.col("billing_country"), F.col("top_country_28d"))
    df = df.withColumn("local_utc_offset", off)
    out: list[Column | str] = [F.col(DAY), F.col("account_id")]
    for k in ("1d", "7d", "28d"):
        out += [
            F.col(f"requests_{k}"),
            F.col(f"input_tokens_{k}"),
            F.col(f"output_tokens_{k}"),
            ratio(
                F.col(f"output_tokens_{k}"), F.greatest(F.col(f"input_tokens_{k}"), F.lit(1))
            ).alias(f"output_input_ratio_{k}"),
            F.col(f"active_hours_{k}").cast("int").alias(f"active_hours_{k}"),
            _cv(k).alias(f"interarrival_cv_{k}"),
            ratio(f"n_status_429_{k}", f"requests_{k}").alias(f"rate_limited_share_{k}"),
            ratio(f"n_high_cot_{k}", f"requests_{k}").alias(f"high_cot_share_{k}"),
        ]
    for k in ("7d", "28d"):
        topics = F.array(*[F.col(f"{c}_{k}") for c in TOPIC_COLUMNS])
        out += [
            F.col(f"active_days_{k}").cast("int"),
            entropy(F.col(f"hours_{k}")).alias(f"hour_entropy_{k}"),
            ratio(
                night_count(F.col(f"hours_{k}"), F.col("local_utc_offset"), params), f"requests_{k}"
            ).alias(f"night_share_{k}"),
            entropy(topics).alias(f"topic_entropy_{k}"),
            ratio(F.array_max(topics), f"requests_{k}").alias(f"topic_top_share_{k}"),
            ratio(f"n_thinking_{k}", f"requests_{k}").alias(f"thinking_share_{k}"),
            ratio(f"n_tools_{k}", f"requests_{k}").alias(f"tool_share_{k}"),
            F.size(f"ips_{k}").cast("int").alias(f"distinct_ips_{k}"),
            F.size(f"prefixes_{k}").cast("int").alias(f"distinct_ip_prefixes_{k}"),
            F.size(f"asns_{k}").cast("int").alias(f"distinct_asns_{k}"),
        ]
    reasoning = sum((F.col(f"n_topic_{t}_7d") for t in REASONING_TOPICS), F.lit(0))
    out += [
        ratio("requests_28d", "active_days_28d").alias("requests_per_active_day_28d"),
        ratio(F.col("requests_7d") * 4, "requests_28d").alias("requests_7d_vs_28d"),
        ratio("n_batches_7d", "requests_7d").alias("batch_share_7d"),
        ratio("turns_sum_7d", "n_turns_7d").alias("mean_turns_7d"),
        ratio("weekend_requests_28d", "requests_28d").alias("weekend_share_28d"),
        F.col("local_utc_offset"),
        ratio(reasoning, "requests_7d").alias("reasoning_topic_share_7d"),
        ratio("cot_score_sum_7d", "n_cot_scored_7d").alias("cot_score_mean_7d"),
        ratio("n_image_7d", "requests_7d").alias("image_share_7d"),
        F.coalesce("distinct_models_7d", F.lit(0)).alias("distinct_models_7d"),
        "model_top_share_7d",
        "new_model_share_1d",
        "new_model_share_7d",
        ratio("n_distinct_prompts_7d", "requests_7d").alias("prompt_unique_ratio_7d"),
        F.coalesce("distinct_countries_7d", F.lit(0)).alias("distinct_countries_7d"),
        F.size("api_keys_7d").cast("int").alias("distinct_api_keys_7d"),
        F.size("user_agents_7d").cast("int").alias("distinct_user_agents_7d"),
        ratio("n_iptype_datacenter_7d", "requests_7d").alias("datacenter_share_7d"),
        ratio("n_iptype_vpn_proxy_7d", "requests_7d").alias("vpn_proxy_share_7d"),
        ratio(F.col("n_iptype_residential_7d") + F.col("n_iptype_mobile_7d"), "requests_7d").alias(
            "residential_share_7d"
        ),
        "country_mismatch_share_7d",
        ratio("n_status_5xx_7d", "requests_7d").alias("server_error_share_7d"),
        ratio("n_status_400_7d", "requests_7d").alias("client_error_share_7d"),
        ratio("sync_ip_shared_slots_7d", "sync_ip_slots_7d").alias("sync_ip_share_7d"),
        F.coalesce("sync_ip_max_peers_7d", F.lit(0)).cast("int").alias("sync_ip_max_peers_7d"),
        ratio("sync_prompt_shared_slots_7d", "sync_prompt_slots_7d").alias("sync_prompt_share_7d"),
        F.coalesce("sync_prompt_max_peers_7d", F.lit(0))
        .cast("int")
        .alias("sync_prompt_max_peers_7d"),
    ]
    return df.select(*out)
