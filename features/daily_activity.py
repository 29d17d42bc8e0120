"""One landed day of silver interactions -> mergeable per-account daily aggregates.

A row per (account_id, event_date, land_date): counts, sums, a 24-hour histogram, capped sets,
first/last timestamps and pooled inter-arrival moments, all of which merge across rows by
summing (or by set union, min, max). Keying by `land_date` is what makes windows point-in-time
exact: the features of day D merge the rows with `land_date <= D`, so a record landing after D
can never change them, and each day's job aggregates only what landed that day (all event days
it carries), so its cost does not grow with history.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from core.enums import IP_TYPES, TOPICS
from features.params import CONSUMER_IP_TYPES, DEFAULT_PARAMS, FeatureParams
from features.schemas import KEYS


def _n(cond: Column) -> Column:
    """Count of rows where `cond` holds (null counts as false)."""
    return F.sum(F.when(cond, 1).otherwise(0)).cast("bigint")


def _capped_set(col: str | Column, cap: int) -> Column:
    # The smallest `cap` values in sort order: deterministic whatever the row order.
    return F.slice(F.array_sort(F.collect_set(col)), 1, cap)


def simhash_to_long(col: Column) -> Column:
    """16 hex digits -> the same 64 bits as a signed BIGINT (no overflow under ANSI mode)."""
    hi = F.conv(F.substring(col, 1, 8), 16, 10).cast("bigint")
    lo = F.conv(F.substring(col, 9, 8), 16, 10).cast("bigint")
    return F.shiftleft(hi, 32).bitwiseOR(lo)


def sample_rank(col: Column) -> Column:
    """The order of the consistent SimHash sample: smallest xxhash64 first, ties by value."""
    return F.struct(F.xxhash64(col).alias("r"), col.alias("h"))


# The silver interaction columns the daily aggregates read (jobs/build_features selects them).
INTERACTION_COLUMNS = (
    "account_id",
    "event_date",
    "land_date",
    "ts",
    "model",
    "endpoint",
    "ip_prefix",
    "ip_hash",
    "ip_asn",
    "ip_type",
    "country",
    "user_agent",
    "api_key_id",
    "input_tokens",
    "output_tokens",
    "thinking_enabled",
    "tool_count",
    "has_image",
    "turns",
    "prompt_simhash",
    "topic",
    "cot_request_score",
    "status",
)


def _base(interactions: DataFrame) -> DataFrame:
    return interactions.select(
        *[F.lower(c).alias(c) if c == "prompt_simhash" else c for c in INTERACTION_COLUMNS]
    )


def account_day_aggregates(
    interactions: DataFrame, params: FeatureParams = DEFAULT_PARAMS
) -> DataFrame:
    """The per account-day counts, sums, histogram, capped sets and timing moments.

    Everything of the aggregate row but the model and country maps and synchrony, which need
    shuffles of their own (daily_activity joins them on). infra/duckdb_reference times this
    part against the same SQL in DuckDB.
    """
    p = params
    base = _base(interactions)
    # Gaps between consecutive requests of the same account-day row; computing them in a
    # window partitioned by the group keys lets the group-by reuse the same shuffle.
    by_row = Window.partitionBy(*KEYS).orderBy("ts")
    gap = (F.unix_micros("ts") - F.unix_micros(F.lag("ts").over(by_row))) / 1e6
    rows = base.withColumn("gap_s", gap.cast("double")).withColumn("hour", F.hour("ts"))

    topic_counts = [_n(F.col("topic") == t).alias(f"n_topic_{t}") for t in TOPICS]
    topic_counts.append(_n(F.col("topic").isNull()).alias("n_topic_unknown"))
    iptype_counts = [_n(F.col("ip_type") == t).alias(f"n_iptype_{t}") for t in IP_TYPES]
    iptype_counts.append(_n(F.col("ip_type").isNull()).alias("n_iptype_unknown"))
    cap = p.set_cap
    main = rows.groupBy(*KEYS).agg(
        F.count(F.lit(1)).alias("requests"),
        F.sum("input_tokens").cast("bigint").alias("input_tokens"),
        F.sum("output_tokens").cast("bigint").alias("output_tokens"),
        _n(F.col("status") == 200).alias("n_status_200"),
        _n(F.col("status") == 400).alias("n_status_400"),
        _n(F.col("status") == 429).alias("n_status_429"),
        _n(F.col("status").isin(500, 529)).alias("n_status_5xx"),
        _n(F.col("endpoint") == "batches").alias("n_batches"),
        _n(F.col("thinking_enabled")).alias("n_thinking"),
        _n(F.col("tool_count") > 0).alias("n_tools"),
        _n(F.col("has_image")).alias("n_image"),
        F.count("cot_request_score").alias("n_cot_scored"),
        F.sum("cot_request_score").alias("cot_score_sum"),
        _n(F.col("cot_request_score") >= p.high_cot_threshold).alias("n_high_cot"),
        F.count("turns").alias("n_turns"),
        F.sum("turns").cast("bigint").alias("turns_sum"),
        *topic_counts,
        *iptype_counts,
        F.array(*[_n(F.col("hour") == h) for h in range(24)]).alias("hour_counts"),
        _capped_set("ip_hash", cap).alias("ip_hashes"),
        _capped_set("ip_prefix", cap).alias("ip_prefixes"),
        # The prefixes seen on hosted networks only (not residential, not mobile): the ones that
        # may link accounts (features.links). A household /24 or a carrier pool holds many
        # unrelated people, and a campaign behind residential proxies shares them with them.
        # A record without ip_type (optional upstream) keeps its prefix linkable.
        _capped_set(
            F.when(
                F.coalesce(~F.col("ip_type").isin(*CONSUMER_IP_TYPES), F.lit(True)),
                F.col("ip_prefix"),
            ),
            cap,
        ).alias("link_prefixes"),
        _capped_set("ip_asn", cap).alias("ip_asns"),
        _capped_set("api_key_id", cap).alias("api_keys"),
        _capped_set("user_agent", cap).alias("user_agents"),
        F.collect_set("prompt_simhash").alias("_prompts"),
        F.min("ts").alias("first_ts"),
        F.max("ts").alias("last_ts"),
        F.count("gap_s").alias("gap_n"),
        F.coalesce(F.sum("gap_s"), F.lit(0.0)).alias("gap_sum_s"),
        F.coalesce(F.sum(F.col("gap_s") * F.col("gap_s")), F.lit(0.0)).alias("gap_sumsq_s"),
    )
    main = (
        main.withColumn("n_distinct_prompts", F.size("_prompts").cast("bigint"))
        .withColumn(
            "simhash_sample",
            F.transform(
                F.slice(
                    F.array_sort(F.transform("_prompts", sample_rank)), 1, p.simhash_sample_per_day
                ),
                lambda s: s["h"],
            ),
        )
        .drop("_prompts")
    )
    return main


def daily_activity(interactions: DataFrame, params: FeatureParams = DEFAULT_PARAMS) -> DataFrame:
    """Silver interaction rows (usually one `land_date`) -> the aggregate table's rows."""
    p = params
    main = account_day_aggregates(interactions, p)
    base = _base(interactions)
    models = _count_map(base, "model", "model_counts")
    countries = _count_map(base.where(F.col("country").isNotNull()), "country", "country_counts")
    sync = synchrony(base, p)
    out = main.join(models, KEYS, "left").join(countries, KEYS, "left").join(sync, KEYS, "left")
    zero = F.lit(0).cast("bigint")
    out = out.select(
        *[F.col(c) for c in main.columns],
        F.coalesce("model_counts", F.create_map().cast("map<string,bigint>")).alias("model_counts"),
        F.coalesce("country_counts", F.create_map().cast("map<string,bigint>")).alias(
            "country_counts"
        ),
        *[F.coalesce(c, zero).alias(c) for c in SYNC_COLUMNS],
    )
    return out


def _count_map(rows: DataFrame, col: str, name: str) -> DataFrame:
    counts = rows.groupBy(*KEYS, col).agg(F.count(F.lit(1)).alias("n"))
    return counts.groupBy(*KEYS).agg(
        F.map_from_entries(F.array_sort(F.collect_list(F.struct(col, "n")))).alias(name)
    )


SYNC_COLUMNS = [
    "sync_ip_slots",
    "sync_ip_shared_slots",
    "sync_ip_max_peers",
    "sync_prompt_slots",
    "sync_prompt_shared_slots",
    "sync_prompt_max_peers",
]


def bucket_of(ts: Column, minutes: int) -> Column:
    return F.floor(F.unix_seconds(ts) / (minutes * 60)).cast("bigint")


def synchrony(rows: DataFrame, params: FeatureParams = DEFAULT_PARAMS) -> DataFrame:
    """Per account-day: its (slot) count, slots shared by >= min accounts, most peers in one.

    A slot is a (/24 prefix, 10-minute bucket), or a (16-bit prompt SimHash band, 10-minute
    bucket). Only on-time records (event_date = land_date) take part: late records would only
    meet the other late records of their landing, a biased sample.
    """
    p = params
    on_time = rows.where(F.col("event_date") == F.col("land_date")).select(
        "account_id",
        "event_date",
        "land_date",
        "ip_prefix",
        "prompt_simhash",
        bucket_of(F.col("ts"), p.sync_bucket_minutes).alias("bucket"),
    )
    ip_slots = on_time.where(F.col("ip_prefix").isNotNull()).select(
        "account_id", "land_date", F.col("ip_prefix").alias("slot"), "bucket"
    )
    # The 64 bits once per request, then its four bands: inlined into the band expressions,
    # the hex parsing would run four times per request.
    hashed = on_time.select(
        "account_id", "land_date", "bucket", simhash_to_long(F.col("prompt_simhash")).alias("_h")
    )
    # Band b of the 64 bits and the bucket become one BIGINT, (b * 65536 + value) * 2^32 +
    # bucket: a request adds four narrow rows, and the slot shuffle and the window sort one long
    # instead of a (band, bucket) pair (bucket numbers stay below 2^32 for any bucket width of a
    # minute or more until the year 10,000).
    bands = F.array(
        *[
            F.shiftleft(
                F.lit(b * 65536) + F.shiftrightunsigned("_h", 16 * b).bitwiseAND(F.lit(0xFFFF)), 32
            ).bitwiseOR(F.col("bucket"))
            for b in range(4)
        ]
    )
    prompt_slots = hashed.select("account_id", "land_date", F.explode(bands).alias("slot"))
    ip = _slot_stats(ip_slots, ["slot", "bucket"], p.sync_min_accounts, "sync_ip")
    prompt = _slot_stats(prompt_slots, ["slot"], p.sync_min_accounts, "sync_prompt")
    return ip.join(prompt, KEYS, "full")


def _slot_stats(
    slots: DataFrame, slot_keys: list[str], min_accounts: int, prefix: str
) -> DataFrame:
    """(account_id, land_date, *slot_keys) rows, repeats allowed -> per account-day stats.

    Every step is a hash aggregate or a window over primitive and string keys: the repeats go
    in a group-by, each slot's accounts are counted by a window over the same partitions, and
    the account-day stats are one more group-by (a set per slot would make Spark fall back to a
    sort-based object aggregate: docs/DESIGN.md). On-time rows have event_date =
    land_date, and a bucket lies inside one day, so the slot keys (which hold the bucket) name
    the slot without the land_date, and (account_id, land_date) is the account-day.
    """
    # Shuffle once by the slot: the group-by (on the slot plus the account-day) and the window
    # (on the slot) both find their rows already in place.
    pairs = slots.repartition(*slot_keys).select(*slot_keys, "account_id", "land_date").distinct()
    with_n = pairs.select(
        "account_id", "land_date", F.count(F.lit(1)).over(Window.partitionBy(*slot_keys)).alias("n")
    )
    stats = with_n.groupBy("account_id", "land_date").agg(
        F.count(F.lit(1)).alias(f"{prefix}_slots"),
        _n(F.col("n") >= min_accounts).alias(f"{prefix}_shared_slots"),
        (F.max("n") - 1).cast("bigint").alias(f"{prefix}_max_peers"),
    )
    return stats.select(
        "account_id",
        F.col("land_date").alias("event_date"),
        "land_date",
        *[c for c in stats.columns if c.startswith(prefix)],
    )


def model_activity(interactions: DataFrame) -> DataFrame:
    """Requests and accounts per (model, event_date, land_date): when each model was first seen."""
    return interactions.groupBy("model", "event_date", "land_date").agg(
        F.count(F.lit(1)).alias("requests"),
        F.countDistinct("account_id").alias("accounts"),
    )
