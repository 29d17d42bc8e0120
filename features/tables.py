"""The feature tables, declared beside the catalog that defines their columns.

They join the one table registry (`core.tables`) when this module is imported, which importing
the `features` package does.
"""

from __future__ import annotations

from core.enums import IP_TYPES, TOPICS
from core.tables import Table, register
from features.catalog import feature_columns, feature_table_ddl
from features.schemas import AGG_DDL, CLUSTERS_DDL, MODEL_ACTIVITY_DDL

_OF_DAY = "of the account on event_date, among the rows that landed on land_date"


def _activity_comments() -> dict[str, str]:
    """Column meanings of the mergeable daily aggregates (docs/FEATURES.md has the details)."""
    out = {
        "requests": f"Requests {_OF_DAY}.",
        "input_tokens": f"Input tokens {_OF_DAY}.",
        "output_tokens": f"Output tokens {_OF_DAY}.",
        "n_status_200": f"Requests answered 200 {_OF_DAY}.",
        "n_status_400": f"Requests answered 400 {_OF_DAY}.",
        "n_status_429": f"Requests rate-limited (429) {_OF_DAY}.",
        "n_status_5xx": f"Requests answered 500 or 529 {_OF_DAY}.",
        "n_batches": f"Requests through the batches endpoint {_OF_DAY}.",
        "n_thinking": f"Requests with extended thinking {_OF_DAY}.",
        "n_tools": f"Requests carrying tool definitions {_OF_DAY}.",
        "n_image": f"Requests carrying an image {_OF_DAY}.",
        "n_cot_scored": f"Requests with a chain-of-thought score {_OF_DAY}.",
        "cot_score_sum": f"Sum of chain-of-thought scores {_OF_DAY}.",
        "n_high_cot": f"Requests that ask for step-by-step reasoning {_OF_DAY}.",
        "n_turns": f"Requests with a message count {_OF_DAY}.",
        "turns_sum": f"Sum of messages per request {_OF_DAY}.",
        "n_topic_unknown": f"Requests without a gateway topic {_OF_DAY}.",
        "n_iptype_unknown": f"Requests from an IP of unknown class {_OF_DAY}.",
        "hour_counts": "Requests per UTC hour (24 values).",
        "model_counts": "Requests per model.",
        "country_counts": "Requests per client country.",
        "ip_hashes": "Smallest distinct client IP hashes (capped set).",
        "ip_prefixes": "Smallest distinct client networks (capped set).",
        "ip_asns": "Smallest distinct client ASNs (capped set).",
        "api_keys": "Smallest distinct API keys (capped set).",
        "user_agents": "Smallest distinct user agents (capped set).",
        "n_distinct_prompts": "Distinct prompt SimHashes.",
        "simhash_sample": "Prompt SimHashes with the smallest xxhash64 (a fixed-size sample).",
        "first_ts": "First request time (UTC).",
        "last_ts": "Last request time (UTC).",
        "gap_n": "Gaps between consecutive requests counted.",
        "gap_sum_s": "Sum of those gaps in seconds.",
        "gap_sumsq_s": "Sum of squared gaps (seconds squared).",
        "sync_ip_slots": "(network, time slot) pairs with an on-time request.",
        "sync_ip_shared_slots": "Of those, slots shared with enough other accounts.",
        "sync_ip_max_peers": "Most accounts seen in one of those network slots.",
        "sync_prompt_slots": "(prompt band, time slot) pairs with an on-time request.",
        "sync_prompt_shared_slots": "Of those, slots shared with enough other accounts.",
        "sync_prompt_max_peers": "Most accounts seen in one of those prompt slots.",
        "link_prefixes": "Client networks on hosted IP types (not residential or mobile): the "
        "only prefixes that link accounts (NULL before the column existed).",
    }
    out.update({f"n_topic_{t}": f"Requests with gateway topic {t} {_OF_DAY}." for t in TOPICS})
    out.update({f"n_iptype_{t}": f"Requests from a {t} IP {_OF_DAY}." for t in IP_TYPES})
    return out


ACCOUNT_ACTIVITY = register(
    Table(
        "account_activity_daily",
        "features/account_activity_daily",
        ("account_id", "event_date", "land_date"),
        ("land_date",),
        AGG_DDL,
        "Mergeable per-account aggregates of the interactions that landed on land_date, per event "
        "day: windows of day D sum the rows with land_date <= D.",
        sql_visible=True,
        comments=_activity_comments(),
    )
)
MODEL_ACTIVITY = register(
    Table(
        "model_activity_daily",
        "features/model_activity_daily",
        ("model", "event_date", "land_date"),
        ("land_date",),
        MODEL_ACTIVITY_DDL,
        "Requests and accounts per model, event day and landed day (when a model was first seen).",
    )
)
ACCOUNT_FEATURES = register(
    Table(
        "account_features_daily",
        "features/account_features_daily",
        ("account_id", "feature_date"),
        ("feature_date",),
        feature_table_ddl(),
        "One row per account active in the 7 days ending on feature_date: 1/7/28-day behaviour, "
        "cross-account and cluster features as of that day (docs/FEATURES.md).",
        sql_visible=True,
        comments={f.name: f.meaning for f in feature_columns()},
    )
)
ACCOUNT_CLUSTERS_MAP = register(
    Table(
        "account_clusters_map",
        "features/account_clusters",
        ("account_id", "feature_date"),
        ("feature_date",),
        CLUSTERS_DDL,
        "Linked-account cluster of each clustered scored account as of feature_date (accounts in "
        "no cluster have no row).",
        sql_visible=True,
    )
)
