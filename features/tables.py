"""The feature tables, declared beside the catalog that defines their columns.

They join the one table registry (`core.tables`) when this module is imported, which importing
the `features` package does.
"""

from __future__ import annotations

from core.tables import Table, register
from features.catalog import feature_table_ddl
from features.schemas import AGG_DDL, CLUSTERS_DDL, MODEL_ACTIVITY_DDL

ACCOUNT_ACTIVITY = register(Table(
    "account_activity_daily", "features/account_activity_daily",
    ("account_id", "event_date", "land_date"), ("land_date",), AGG_DDL,
    "Mergeable per-account aggregates of the interactions that landed on land_date, per event "
    "day: windows of day D sum the rows with land_date <= D.", sql_visible=True))
MODEL_ACTIVITY = register(Table(
    "model_activity_daily", "features/model_activity_daily",
    ("model", "event_date", "land_date"), ("land_date",), MODEL_ACTIVITY_DDL,
    "Requests and accounts per model, event day and landed day (when a model was first seen)."))
ACCOUNT_FEATURES = register(Table(
    "account_features_daily", "features/account_features_daily",
    ("account_id", "feature_date"), ("feature_date",), feature_table_ddl(),
    "One row per account active in the 7 days ending on feature_date: 1/7/28-day behaviour, "
    "cross-account and cluster features as of that day (docs/FEATURES.md).", sql_visible=True))
ACCOUNT_CLUSTERS_MAP = register(Table(
    "account_clusters_map", "features/account_clusters", ("account_id", "feature_date"),
    ("feature_date",), CLUSTERS_DDL,
    "Linked-account cluster of each clustered scored account as of feature_date (accounts in "
    "no cluster have no row).", sql_visible=True))
