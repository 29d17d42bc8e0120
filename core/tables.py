"""The one registry of tables: name, path under the lake, keys, partition columns, schema.

The core declares the tables it owns (bronze, silver, quarantine, operations, gold); the feature
tables, whose columns come from the feature catalog, are declared in `features/tables.py` and join
this registry when the `features` package is imported.

Every job, test, DAG and SQL registration takes names and paths from here. Schemas are DDL
strings so that importing this module never imports Spark (DAGs parse it cheaply).

Each table's `description` and each column's meaning (`Table.column_comment`: the table's own
`comments`, else the shared `COLUMN_MEANINGS`) are written into the Delta tables as their
comments (core.delta_io.ensure_table), which is what `DESCRIBE TABLE EXTENDED` and a JDBC
client's schema browser show.
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
    comments: dict[str, str] = field(default_factory=dict)  # column -> meaning, for this table

    def uri(self, lake: str) -> str:
        return f"{lake.rstrip('/')}/{self.path}"

    def column_comment(self, column: str) -> str:
        """What the column means, in words: this table's own comment, else the shared one."""
        return self.comments.get(column) or COLUMN_MEANINGS.get(column, "")

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

# What a column means wherever it appears; a table's `comments` override a name that means
# something else there.
_TS = "(UTC)"
COLUMN_MEANINGS: dict[str, str] = {
    # the raw contract's fields, as stored past the raw zone
    "request_id": "Unique id of the API request (deduplication key of interactions).",
    "ts": f"When the request started {_TS}.",
    "account_id": "The account (owner of the API key).",
    "api_key_id": "The API key used.",
    "org_id": "Organization of the account, when it has one.",
    "model": "Model requested, e.g. claude-opus-4-7.",
    "endpoint": "API endpoint: messages or batches.",
    "ip_prefix": "Network of the client IP: the /24 (IPv4) or /48 (IPv6) prefix; the full "
    "address is never stored.",
    "ip_hash": "Keyed hash of the client IP (RISK_PSEUDONYM_KEY): equal addresses, equal hashes.",
    "ip_asn": "Autonomous system of the client IP.",
    "ip_type": "GeoIP class of the client IP: residential, mobile, business, education, "
    "datacenter or vpn_proxy (NULL when unknown).",
    "country": "ISO 3166-1 alpha-2 country of the client IP.",
    "user_agent": "Client library and version.",
    "input_tokens": "Input tokens of the request.",
    "output_tokens": "Output tokens of the answer.",
    "thinking_enabled": "Extended thinking was requested.",
    "tool_count": "Tool definitions in the request.",
    "has_image": "The request carries an image.",
    "turns": "Messages in the request.",
    "prompt_simhash": "64-bit SimHash of the normalized last user message (16 lower-case hex "
    "digits); near-identical prompts differ in few bits. No prompt text is "
    "kept.",
    "system_prompt_hash": "Hash of the system prompt (NULL: no system prompt).",
    "topic": "Gateway topic class: coding, math_reasoning, agentic_tools, data_analysis, "
    "writing, chat, vision, translation or other.",
    "cot_request_score": "Gateway classifier: probability that the prompt asks the model to "
    "write out its reasoning step by step.",
    "status": "HTTP status returned (200, 400, 429, 500, 529).",
    "latency_ms": "Latency of the request in milliseconds.",
    "created_at": f"When the account was created {_TS}.",
    "updated_at": f"When this version of the registry record was written {_TS}; the latest "
    "known wins.",
    "signup_channel": "How the account signed up: self_serve, education, startup_program, "
    "research_program, enterprise_sales or reseller.",
    "payment_fingerprint": "Hash of the payment instrument (NULL: none on file).",
    "email_domain_hash": "Keyed hash of the e-mail domain (the domain itself is not kept).",
    "email_domain_class": "Kind of e-mail domain: edu, freemail or other.",
    "billing_country": "ISO 3166-1 alpha-2 billing country.",
    "tier": "Account tier: free, build, scale or enterprise.",
    "verified": "Identity or business verification passed.",
    "decided_at": f"When trust and safety decided {_TS}; a label counts from this moment on.",
    "action": "Decision: ban, suspend or reinstate.",
    "reason": "Why: distillation, payment_fraud, other_abuse or appeal_granted.",
    "case_id": "Investigation case; accounts of one case were judged together.",
    # lineage and partitions
    "event_date": "UTC day of the record's own time (ts, updated_at or decided_at).",
    "land_date": "UTC day the raw file holding the row landed (its date= folder).",
    "source_file": "Raw file the accepted copy was read from.",
    "line_no": "Line of that file (1 = first line).",
    "source": "Raw source: interactions, accounts or enforcement.",
    # gold
    "score_date": "The day scored, using only data known by the end of that day (UTC).",
    "risk_score": "Calibrated probability (0-1) that the account takes part in a distillation "
    "campaign.",
    "risk_band": "low, medium, high or critical: score thresholds set for a target false-"
    "positive rate among legitimate accounts (critical 0.1%, high 1%, medium 5%).",
    "cluster_id": "Linked-account cluster of the account (NULL: in no cluster); stable across "
    "days while most members persist.",
    "reasons": "Main contributors to the score, most important first, in words.",
    "model_name": "Registered model (MLflow) that produced the score.",
    "model_version": "Version of that model in the registry.",
    "scored_at": f"When the row was written {_TS}; a wall-clock stamp, not business time.",
    "n_accounts": "Accounts in the cluster.",
    "n_high_risk": "Members with risk_band high or critical.",
    "max_risk_score": "Highest risk_score among the members.",
    "mean_risk_score": "Mean risk_score of the members.",
    "requests_7d": "Requests in the 7 days ending on the day.",
    "link_types": "What ties the members: payment, ip_prefix, prompt_simhash, org.",
    "sample_accounts": "Up to 20 member account ids, riskiest first.",
    # operations
    "lines_read": "Non-empty lines read (an unreadable rest of a file counts as one line).",
    "rows_accepted": "Rows that reached the clean (silver) tables.",
    "duplicates_dropped": "Rows dropped as repeats of an already accepted key.",
    "rows_quarantined": "Rows set aside with a reason, kept in quarantine.",
    "ingested_at": f"When the audit row was written {_TS}; a wall-clock stamp.",
    "table_name": "Table the expectation ran on.",
    "run_date": "The landed day validated.",
    "expectation": "Great Expectations check (its type and columns, or its name).",
    "severity": "blocking (GX critical: stops the day) or warning (recorded only).",
    "success": "The check passed.",
    "observed": "What the check observed (counts only, never row values), as JSON.",
    "validated_at": f"When the check ran {_TS}; a wall-clock stamp.",
    "recorded_at": f"When the day's model was recorded {_TS}; a wall-clock stamp.",
    "feature": "Model feature monitored, or risk_score for the score itself.",
    "psi": "Population stability index of the day against the champion's training day.",
    "flagged": "PSI at or above the drift threshold.",
    "computed_at": f"When the row was computed {_TS}; a wall-clock stamp.",
    "reference_date": "The model version's training day (the reference population).",
    "edges": "Decile bin edges of the feature on the reference day.",
    "fractions": "Share of reference rows per bin (last bin: nulls).",
    "n_rows": "Rows of the reference day.",
    "raw_line": "The raw line as read (may hold personal data: raw zone retention applies).",
    "raw_line_bytes": "Length of the raw line in bytes.",
    "raw_line_truncated": "raw_line keeps only the line's first bytes.",
    "dedup_key": "The key the row repeats.",
    "kept_land_date": "Landed day of the accepted copy.",
    "kept_source_file": "File of the accepted copy.",
    "kept_line_no": "Line of the accepted copy.",
    "unreadable": "Part of the file could not be read (not gzip, truncated).",
    "error": "Why the file could not be read in full.",
    "feature_date": "The day D the row describes, using only what was known by the end of D.",
    "cluster_size": "Accounts in the cluster on that day.",
    "cluster_first_date": "First day the cluster id appeared.",
    "requests": "Requests counted.",
    "accounts": "Distinct accounts counted.",
}

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
BRONZE_INTERACTIONS = _add(
    Table(
        "bronze_interactions",
        "bronze/interactions",
        ("request_id",),
        ("event_date", "land_date"),
        f"{INTERACTION_COLUMNS}, event_date DATE, {_LINEAGE}",
        "Contract-valid interaction rows of each landed day, duplicates included.",
        properties=EVENT_PROPS,
    )
)
BRONZE_ACCOUNTS = _add(
    Table(
        "bronze_accounts",
        "bronze/accounts",
        ("account_id", "updated_at"),
        ("land_date",),
        f"{ACCOUNT_COLUMNS}, event_date DATE, {_LINEAGE}",
        "Contract-valid registry rows of each landed day, duplicates included.",
    )
)
BRONZE_ENFORCEMENT = _add(
    Table(
        "bronze_enforcement",
        "bronze/enforcement",
        ("account_id", "decided_at", "action"),
        ("land_date",),
        f"{ENFORCEMENT_COLUMNS}, event_date DATE, {_LINEAGE}",
        "Contract-valid enforcement rows of each landed day, duplicates included.",
    )
)

# --- silver: clean, deduplicated (first copy by landed day, file, line wins) ----------------
SILVER_INTERACTIONS = _add(
    Table(
        "interactions",
        "silver/interactions",
        ("request_id",),
        ("event_date", "land_date"),
        f"{INTERACTION_COLUMNS}, event_date DATE, {_LINEAGE}",
        "One row per API request (deduplicated), by the UTC day of its ts.",
        sql_visible=True,
        properties=EVENT_PROPS,
    )
)
SILVER_ACCOUNTS = _add(
    Table(
        "accounts",
        "silver/accounts",
        ("account_id", "updated_at"),
        ("land_date",),
        f"{ACCOUNT_COLUMNS}, event_date DATE, {_LINEAGE}",
        "Every registry version of every account; the latest updated_at known wins.",
        sql_visible=True,
    )
)
SILVER_ENFORCEMENT = _add(
    Table(
        "enforcement",
        "silver/enforcement",
        ("account_id", "decided_at", "action"),
        ("land_date",),
        f"{ENFORCEMENT_COLUMNS}, event_date DATE, {_LINEAGE}",
        "Trust-and-safety decisions (the labels).",
        sql_visible=True,
    )
)

SILVER = {
    "interactions": SILVER_INTERACTIONS,
    "accounts": SILVER_ACCOUNTS,
    "enforcement": SILVER_ENFORCEMENT,
}
BRONZE = {
    "interactions": BRONZE_INTERACTIONS,
    "accounts": BRONZE_ACCOUNTS,
    "enforcement": BRONZE_ENFORCEMENT,
}

# --- quarantine and operations ---------------------------------------------------------------
QUARANTINE = _add(
    Table(
        "quarantine",
        "quarantine/lines",
        ("source", "land_date", "source_file", "line_no"),
        ("source", "land_date"),
        "source STRING, land_date DATE, source_file STRING, line_no BIGINT, reason STRING, "
        "raw_line STRING, raw_line_bytes BIGINT, raw_line_truncated BOOLEAN",
        "Raw lines that broke the contract, with the reason; raw text may hold personal data.",
    )
)
DUPLICATES = _add(
    Table(
        "duplicates",
        "ops/duplicates",
        ("source", "land_date", "source_file", "line_no"),
        ("source", "land_date"),
        "source STRING, land_date DATE, source_file STRING, line_no BIGINT, dedup_key STRING, "
        "event_date DATE, kept_land_date DATE, kept_source_file STRING, kept_line_no BIGINT",
        "The duplicate ledger: each dropped repeat and the accepted copy it repeats.",
    )
)
INGEST_FILES = _add(
    Table(
        "ingest_files",
        "ops/ingest_files",
        ("source", "land_date", "source_file"),
        ("source", "land_date"),
        "source STRING, land_date DATE, source_file STRING, lines_read BIGINT, "
        "unreadable BOOLEAN, error STRING",
        "Lines read per raw file (non-empty lines, plus one for an unreadable rest).",
    )
)
INGEST_AUDIT = _add(
    Table(
        # Partitioned by day so that two days ingested at once replace disjoint files (no conflict).
        "ingest_audit",
        "ops/ingest_audit",
        ("source", "land_date"),
        ("land_date",),
        "source STRING, land_date DATE, lines_read BIGINT, rows_accepted BIGINT, "
        "duplicates_dropped BIGINT, rows_quarantined BIGINT, ingested_at TIMESTAMP",
        "Every raw line accounted for, per source and landed day (LAKE.md).",
        sql_visible=True,
        comments={"land_date": "The date= partition read."},
    )
)
VALIDATION_RESULTS = _add(
    Table(
        "validation_results",
        "ops/validation_results",
        ("table_name", "run_date", "expectation"),
        ("table_name", "run_date"),
        "table_name STRING, run_date DATE, expectation STRING, severity STRING, success BOOLEAN, "
        "observed STRING, validated_at TIMESTAMP",
        "Great Expectations results per table and day (blocking and warning checks).",
        sql_visible=True,
    )
)

# --- gold (the contract) ---------------------------------------------------------------------
GOLD_PROPS = {"delta.enableDeletionVectors": "false"}
ACCOUNT_SCORES = _add(
    Table(
        "account_scores_daily",
        "gold/account_scores_daily",
        ("account_id", "score_date"),
        ("score_date",),
        "account_id STRING, score_date DATE, risk_score DOUBLE, risk_band STRING, "
        "cluster_id STRING, reasons ARRAY<STRING>, model_name STRING, model_version STRING, "
        "scored_at TIMESTAMP",
        "Daily risk score of every account active in the 7 days ending on score_date.",
        sql_visible=True,
        properties=GOLD_PROPS,
    )
)
ACCOUNT_CLUSTERS = _add(
    Table(
        "account_clusters_daily",
        "gold/account_clusters_daily",
        ("cluster_id", "score_date"),
        ("score_date",),
        "cluster_id STRING, score_date DATE, n_accounts INT, n_high_risk INT, "
        "max_risk_score DOUBLE, mean_risk_score DOUBLE, requests_7d BIGINT, "
        "link_types ARRAY<STRING>, sample_accounts ARRAY<STRING>",
        "Linked-account clusters of each day with their risk.",
        sql_visible=True,
        properties=GOLD_PROPS,
        comments={
            "cluster_id": "Linked-account cluster; stable across days while most members persist.",
            "requests_7d": "Members' requests in the 7 days ending on score_date.",
        },
    )
)


# --- scoring (jobs/score.py) ------------------------------------------------------------------
SCORES_STAGING = _add(
    Table(
        "scores_staging",
        "ops/scores_staging",
        ("account_id", "score_date"),
        ("score_date",),
        "account_id STRING, score_date DATE, risk_score DOUBLE, risk_band STRING, "
        "cluster_id STRING, reasons ARRAY<STRING>, model_name STRING, model_version STRING, "
        "scored_at TIMESTAMP, requests_7d BIGINT, link_types ARRAY<STRING>",
        "One day's scores computed once, from which both gold tables are published.",
    )
)
MODEL_DAYS = _add(
    Table(
        "model_days",
        "ops/model_days",
        ("score_date",),
        ("score_date",),
        "score_date DATE, model_name STRING, model_version STRING, recorded_at TIMESTAMP",
        "Which model version scored each day, so re-running a day reuses it.",
        sql_visible=True,
        comments={
            "score_date": "The day scored.",
            "model_name": "Registered model that scored it.",
            "model_version": "Its version in the registry.",
        },
    )
)


# --- drift monitoring (jobs/drift.py) ---------------------------------------------------------
DRIFT = _add(
    Table(
        "drift_daily",
        "ops/drift_daily",
        ("score_date", "feature"),
        ("score_date",),
        "score_date DATE, model_version STRING, feature STRING, psi DOUBLE, flagged BOOLEAN, "
        "computed_at TIMESTAMP",
        "Population stability index of each model feature and of the score (feature "
        "`risk_score`) against the champion's training day.",
        sql_visible=True,
        comments={
            "score_date": "The day compared with the reference.",
            "model_version": "Champion version whose training day is the reference.",
        },
    )
)
DRIFT_REFERENCE = _add(
    Table(
        "drift_reference",
        "ops/drift_reference",
        ("model_name", "model_version", "feature"),
        (),
        "model_name STRING, model_version STRING, reference_date DATE, feature STRING, "
        "edges ARRAY<DOUBLE>, fractions ARRAY<DOUBLE>, n_rows BIGINT, computed_at TIMESTAMP",
        "Decile bin edges and bin shares of each feature on a model version's training day, "
        "computed once per version (last bin: nulls).",
    )
)
# --- end drift monitoring ---------------------------------------------------------------------


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(
            f"no table {name!r} in the registry (feature tables are registered by "
            f"importing the `features` package); known: {sorted(TABLES)}"
        ) from None


def raw_dir(lake: str, source: str) -> str:
    return f"{lake.rstrip('/')}/raw/{source}"
