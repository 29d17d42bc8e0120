"""Schemas (Spark DDL strings) of the tables the feature job writes.

Spark-free on purpose: `core/tables.py` imports this, and DAGs import the registry at parse
time. The feature table's own schema comes from the catalog (`catalog.feature_table_ddl`).
"""

from __future__ import annotations

from core.enums import IP_TYPES, TOPICS

# account_activity_daily: one row per (account_id, event_date, land_date).
KEYS = ["account_id", "event_date", "land_date"]

AGG_DDL = (
    "account_id STRING, event_date DATE, land_date DATE, requests BIGINT, "
    "input_tokens BIGINT, output_tokens BIGINT, "
    "n_status_200 BIGINT, n_status_400 BIGINT, n_status_429 BIGINT, n_status_5xx BIGINT, "
    "n_batches BIGINT, n_thinking BIGINT, n_tools BIGINT, n_image BIGINT, "
    "n_cot_scored BIGINT, cot_score_sum DOUBLE, n_high_cot BIGINT, n_turns BIGINT, "
    "turns_sum BIGINT, "
    + "".join(f"n_topic_{t} BIGINT, " for t in TOPICS)
    + "n_topic_unknown BIGINT, "
    + "".join(f"n_iptype_{t} BIGINT, " for t in IP_TYPES)
    + "n_iptype_unknown BIGINT, "
    "hour_counts ARRAY<BIGINT>, model_counts MAP<STRING, BIGINT>, "
    "country_counts MAP<STRING, BIGINT>, ip_hashes ARRAY<STRING>, ip_prefixes ARRAY<STRING>, "
    "ip_asns ARRAY<BIGINT>, api_keys ARRAY<STRING>, user_agents ARRAY<STRING>, "
    "n_distinct_prompts BIGINT, simhash_sample ARRAY<STRING>, first_ts TIMESTAMP, "
    "last_ts TIMESTAMP, gap_n BIGINT, gap_sum_s DOUBLE, gap_sumsq_s DOUBLE, "
    "sync_ip_slots BIGINT, sync_ip_shared_slots BIGINT, sync_ip_max_peers BIGINT, "
    "sync_prompt_slots BIGINT, sync_prompt_shared_slots BIGINT, sync_prompt_max_peers BIGINT, "
    # Added after the first release: tables written before get it by additive migration
    # (core.delta_io.ensure_table) and hold NULL there (read as ip_prefixes).
    "link_prefixes ARRAY<STRING>"
)

# model_activity_daily: one row per (model, event_date, land_date).
MODEL_ACTIVITY_DDL = (
    "model STRING, event_date DATE, land_date DATE, requests BIGINT, accounts BIGINT"
)

# account_clusters: one row per clustered account and feature_date.
CLUSTERS_DDL = (
    "account_id STRING, feature_date DATE, cluster_id STRING, cluster_size INT, "
    "link_types ARRAY<STRING>, cluster_first_date DATE"
)
