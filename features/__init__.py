"""Pure feature transforms (DataFrame -> DataFrame) and the feature catalog.

Nothing in this package reads or writes tables, builds a SparkSession or looks at the clock:
`jobs/build_features.py` does the I/O and passes the day in. Modules, one job each:

- `catalog`: every feature column (name, family, window, type, meaning), `model_feature_names`,
  `describe`, and the rendering of docs/FEATURES.md.
- `params`: the tunable knobs (windows, caps, thresholds) in one frozen dataclass.
- `local_time`: fixed UTC offset per country, for night activity in local time.
- `daily_activity`: one landed day of silver interactions -> mergeable per-account aggregates.
- `windows`: daily aggregates -> 1/7/28-day per-account behaviour features.
- `account_profile`: the registry and the labels as of a day.
- `simhash_lsh`: near-duplicate prompt SimHashes across accounts by banding (never all pairs).
- `links`: the account-to-entity graph and the cross-account sharing counts.
- `components`: connected components as iterative Spark joins (large-star / small-star).
- `clusters`: components -> clusters with stable ids and cluster features.
- `assemble`: everything joined into the feature table's row per account and day.
"""

# Registers the feature tables in the one table registry (core.tables): Spark-free, cheap.
from features import tables as _tables  # noqa: E402,F401
