"""The one registry of tables: name, path under the lake, keys, partition columns, schema.

The core declares the tables it owns (bronze, silver, quarantine, operations, gold); the feature
tables, whose columns come from the feature catalog, are declared in `features/tables.py` and join
this registry when the `features` package is imported.

Every job, test, DAG and SQL registration takes names and paths from here. Schemas are DDL
strings so that importing this module never imports Spark (DAGs parse it cheaply).
"""

from __future__ import annotations

from dataclasses import dataclass, field

RAW_SOURCES = ("interactions", "accounts", "enforcement")


@dataclass(frozen=True)
class Table:
    name: str  # SQL name inside the `risk` database
    path: str  # relative to the lake root
    keys: tuple[str, ...]  # what makes a row unique
    partition_by: tuple[str, ...]
    schema: str  # Spark DDL
    description: str = ""
    sql_visible: bool = False  # registered as risk.<name> for analysts
    properties: dict[str, str] = field(default_factory=dict)

    def uri(self, lake: str) -> str:
        return f"{lake.rstrip('/')}/{self.path}"

    @property
    def columns(self) -> list[str]:
        return [c.strip().split(" ", 1)[0] for c in split_ddl(self.schema)]


def split_ddl(ddl: str) -> list[str]:
    """Split top-level comma-separated column definitions (commas inside <...> are kept)."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in ddl:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


# Lineage columns every clean row carries: where its accepted copy was read.
_LINEAGE = "land_date DATE, source_file STRING, line_no BIGINT"

# Client IPs are personal data: past the raw zone only a /24 (IPv4) or /48 (IPv6) prefix and a
# keyed hash (RISK_PSEUDONYM_KEY) of the address are kept.
INTERACTION_COLUMNS = (
    "request_id STRING, ts TIMESTAMP, account_id STRING, api_key_id STRING, org_id STRING, "
    "model STRING, endpoint STRING, ip_prefix STRING, ip_hash STRING, ip_asn BIGINT, "
    "ip_type STRING, country STRING, user_agent STRING, input_tokens BIGINT, "
    "output_tokens BIGINT, thinking_enabled BOOLEAN, tool_count INT, has_image BOOLEAN, "
    "turns INT, prompt_simhash STRING, system_prompt_hash STRING, topic STRING, "
    "cot_request_score DOUBLE, status INT, latency_ms BIGINT"
)
ACCOUNT_COLUMNS = (
    "account_id STRING, org_id STRING, created_at TIMESTAMP, updated_at TIMESTAMP, "
    "signup_channel STRING, payment_fingerprint STRING, email_domain_hash STRING, "
    "email_domain_class STRING, billing_country STRING, tier STRING, verified BOOLEAN"
)
ENFORCEMENT_COLUMNS = (
    "account_id STRING, decided_at TIMESTAMP, action STRING, reason STRING, case_id STRING"
)

TABLES: dict[str, Table] = {}


def register(t: Table) -> Table:
    """Add a table to the registry (packages above the core declare their own tables here)."""
    if TABLES.get(t.name, t) != t:
        raise ValueError(f"table {t.name!r} is already registered with another definition")
    TABLES[t.name] = t
    return t


_add = register


# The interaction tables are the lake's largest, and Delta collects min/max/null counts on the
# first 32 columns of every file it writes, which costs as much as the write itself
# (docs/DESIGN.md). Their reads select by the partition columns, so only the columns a point
# lookup would use keep stats.
EVENT_PROPS = {"delta.dataSkippingStatsColumns": "account_id,ts"}

# --- bronze: every contract-valid row as read, before deduplication -------------------------
BRONZE_INTERACTIONS = _add(Table(
    "bronze_interactions", "bronze/interactions", ("request_id",), ("event_date", "land_date"),
    f"{INTERACTION_COLUMNS}, event_date DATE, {_LINEAGE}",
    "Contract-valid interaction rows of each landed day, duplicates included.",
    properties=EVENT_PROPS))
BRONZE_ACCOUNTS = _add(Table(
    "bronze_accounts", "bronze/accounts", ("account_id", "updated_at"), ("land_date",),
    f"{ACCOUNT_COLUMNS}, event_date DATE, {_LINEAGE}",
    "Contract-valid registry rows of each landed day, duplicates included."))
BRONZE_ENFORCEMENT = _add(Table(
    "bronze_enforcement", "bronze/enforcement", ("account_id", "decided_at", "action"),
    ("land_date",), f"{ENFORCEMENT_COLUMNS}, event_date DATE, {_LINEAGE}",
    "Contract-valid enforcement rows of each landed day, duplicates included."))

# --- silver: clean, deduplicated (first copy by landed day, file, line wins) ----------------
SILVER_INTERACTIONS = _add(Table(
    "interactions", "silver/interactions", ("request_id",), ("event_date", "land_date"),
    f"{INTERACTION_COLUMNS}, event_date DATE, {_LINEAGE}",
    "One row per API request (deduplicated), by the UTC day of its ts.", sql_visible=True,
    properties=EVENT_PROPS))
SILVER_ACCOUNTS = _add(Table(
    "accounts", "silver/accounts", ("account_id", "updated_at"), ("land_date",),
    f"{ACCOUNT_COLUMNS}, event_date DATE, {_LINEAGE}",
    "Every registry version of every account; the latest updated_at known wins.",
    sql_visible=True))
SILVER_ENFORCEMENT = _add(Table(
    "enforcement", "silver/enforcement", ("account_id", "decided_at", "action"), ("land_date",),
    f"{ENFORCEMENT_COLUMNS}, event_date DATE, {_LINEAGE}",
    "Trust-and-safety decisions (the labels).", sql_visible=True))

SILVER = {"interactions": SILVER_INTERACTIONS, "accounts": SILVER_ACCOUNTS,
          "enforcement": SILVER_ENFORCEMENT}
BRONZE = {"interactions": BRONZE_INTERACTIONS, "accounts": BRONZE_ACCOUNTS,
          "enforcement": BRONZE_ENFORCEMENT}

# --- quarantine and operations ---------------------------------------------------------------
QUARANTINE = _add(Table(
    "quarantine", "quarantine/lines", ("source", "land_date", "source_file", "line_no"),
    ("source", "land_date"),
    "source STRING, land_date DATE, source_file STRING, line_no BIGINT, reason STRING, "
    "raw_line STRING, raw_line_bytes BIGINT, raw_line_truncated BOOLEAN",
    "Raw lines that broke the contract, with the reason; raw text may hold personal data."))
DUPLICATES = _add(Table(
    "duplicates", "ops/duplicates", ("source", "land_date", "source_file", "line_no"),
    ("source", "land_date"),
    "source STRING, land_date DATE, source_file STRING, line_no BIGINT, dedup_key STRING, "
    "event_date DATE, kept_land_date DATE, kept_source_file STRING, kept_line_no BIGINT",
    "The duplicate ledger: each dropped repeat and the accepted copy it repeats."))
INGEST_FILES = _add(Table(
    "ingest_files", "ops/ingest_files", ("source", "land_date", "source_file"),
    ("source", "land_date"),
    "source STRING, land_date DATE, source_file STRING, lines_read BIGINT, "
    "unreadable BOOLEAN, error STRING",
    "Lines read per raw file (non-empty lines, plus one for an unreadable rest)."))
INGEST_AUDIT = _add(Table(
    # Partitioned by day so that two days ingested at once replace disjoint files (no conflict).
    "ingest_audit", "ops/ingest_audit", ("source", "land_date"), ("land_date",),
    "source STRING, land_date DATE, lines_read BIGINT, rows_accepted BIGINT, "
    "duplicates_dropped BIGINT, rows_quarantined BIGINT, ingested_at TIMESTAMP",
    "Every raw line accounted for, per source and landed day (LAKE.md).", sql_visible=True))
VALIDATION_RESULTS = _add(Table(
    "validation_results", "ops/validation_results", ("table_name", "run_date", "expectation"),
    ("table_name", "run_date"),
    "table_name STRING, run_date DATE, expectation STRING, severity STRING, success BOOLEAN, "
    "observed STRING, validated_at TIMESTAMP",
    "Great Expectations results per table and day (blocking and warning checks).",
    sql_visible=True))

# --- gold (the contract) ---------------------------------------------------------------------
GOLD_PROPS = {"delta.enableDeletionVectors": "false"}
ACCOUNT_SCORES = _add(Table(
    "account_scores_daily", "gold/account_scores_daily", ("account_id", "score_date"),
    ("score_date",),
    "account_id STRING, score_date DATE, risk_score DOUBLE, risk_band STRING, "
    "cluster_id STRING, reasons ARRAY<STRING>, model_name STRING, model_version STRING, "
    "scored_at TIMESTAMP",
    "Daily risk score of every account active in the 7 days ending on score_date.",
    sql_visible=True, properties=GOLD_PROPS))
ACCOUNT_CLUSTERS = _add(Table(
    "account_clusters_daily", "gold/account_clusters_daily", ("cluster_id", "score_date"),
    ("score_date",),
    "cluster_id STRING, score_date DATE, n_accounts INT, n_high_risk INT, "
    "max_risk_score DOUBLE, mean_risk_score DOUBLE, requests_7d BIGINT, "
    "link_types ARRAY<STRING>, sample_accounts ARRAY<STRING>",
    "Linked-account clusters of each day with their risk.", sql_visible=True,
    properties=GOLD_PROPS))


# --- scoring (jobs/score.py) ------------------------------------------------------------------
SCORES_STAGING = _add(Table(
    "scores_staging", "ops/scores_staging", ("account_id", "score_date"), ("score_date",),
    "account_id STRING, score_date DATE, risk_score DOUBLE, risk_band STRING, "
    "cluster_id STRING, reasons ARRAY<STRING>, model_name STRING, model_version STRING, "
    "scored_at TIMESTAMP, requests_7d BIGINT, link_types ARRAY<STRING>",
    "One day's scores computed once, from which both gold tables are published."))
MODEL_DAYS = _add(Table(
    "model_days", "ops/model_days", ("score_date",), ("score_date",),
    "score_date DATE, model_name STRING, model_version STRING, recorded_at TIMESTAMP",
    "Which model version scored each day, so re-running a day reuses it.", sql_visible=True))


# --- drift monitoring (jobs/drift.py) ---------------------------------------------------------
DRIFT = _add(Table(
    "drift_daily", "ops/drift_daily", ("score_date", "feature"), ("score_date",),
    "score_date DATE, model_version STRING, feature STRING, psi DOUBLE, flagged BOOLEAN, "
    "computed_at TIMESTAMP",
    "Population stability index of each model feature and of the score (feature "
    "`risk_score`) against the champion's training day.", sql_visible=True))
DRIFT_REFERENCE = _add(Table(
    "drift_reference", "ops/drift_reference", ("model_name", "model_version", "feature"), (),
    "model_name STRING, model_version STRING, reference_date DATE, feature STRING, "
    "edges ARRAY<DOUBLE>, fractions ARRAY<DOUBLE>, n_rows BIGINT, computed_at TIMESTAMP",
    "Decile bin edges and bin shares of each feature on a model version's training day, "
    "computed once per version (last bin: nulls)."))
# --- end drift monitoring ---------------------------------------------------------------------




def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"no table {name!r} in the registry (feature tables are registered by "
                       f"importing the `features` package); known: {sorted(TABLES)}") from None


def raw_dir(lake: str, source: str) -> str:
    return f"{lake.rstrip('/')}/raw/{source}"
