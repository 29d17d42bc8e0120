"""Hand-made silver rows for the feature tests (no tests here: helpers shared by test_features*).

Every row gets the registry's silver schema, with defaults a test overrides field by field.
"""

from __future__ import annotations

import datetime as dt
import zlib

from core import delta_io
from core.tables import SILVER_ACCOUNTS, SILVER_ENFORCEMENT, SILVER_INTERACTIONS

D = dt.date(2026, 5, 20)  # a Wednesday


def day(offset: int) -> dt.date:
    return D + dt.timedelta(days=offset)


def at(offset: int, hh: int = 12, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime.combine(day(offset), dt.time(hh, mm, ss))


_counter = [0]


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


def req(account: str, ts: dt.datetime, land: dt.date | None = None, **kw) -> dict:
    """One silver interaction row; `land` defaults to the event day (on time)."""
    _counter[0] += 1
    row = {
        "request_id": f"r{_counter[0]:08d}",
        "ts": ts,
        "account_id": account,
        "api_key_id": f"k-{account}",
        "org_id": None,
        "model": "claude-opus-4-6",
        # Each account on its own /24 unless a test says otherwise.
        "endpoint": "messages",
        "ip_prefix": f"10.{_crc(account) >> 8 & 255}.{_crc(account) & 255}.0/24",
        "ip_hash": f"ip-{account}",
        "ip_asn": 64500,
        "ip_type": "residential",
        "country": "US",
        "user_agent": "sdk/1.0",
        "input_tokens": 100,
        "output_tokens": 200,
        "thinking_enabled": False,
        "tool_count": 0,
        "has_image": False,
        "turns": 1,
        # Unrelated prompts: hashes spread over the 64 bits, far apart from each other.
        "prompt_simhash": f"{_counter[0] * 0x9E3779B97F4A7C15 % (1 << 64):016x}",
        "system_prompt_hash": None,
        "topic": "chat",
        "cot_request_score": 0.1,
        "status": 200,
        "latency_ms": 500,
    }
    row.update(kw)
    row["event_date"] = row["ts"].date()
    row["land_date"] = land or row["event_date"]
    row["source_file"] = "f.jsonl"
    row["line_no"] = _counter[0]
    return row


def account(
    account_id: str,
    created: dt.datetime,
    land: dt.date | None = None,
    updated: dt.datetime | None = None,
    **kw,
) -> dict:
    row = {
        "account_id": account_id,
        "org_id": None,
        "created_at": created,
        "updated_at": updated or created,
        "signup_channel": "self_serve",
        "payment_fingerprint": None,
        "email_domain_hash": "h",
        "email_domain_class": "other",
        "billing_country": "US",
        "tier": "free",
        "verified": False,
    }
    row.update(kw)
    row["event_date"] = row["updated_at"].date()
    row["land_date"] = land or row["event_date"]
    row["source_file"] = "a.jsonl"
    row["line_no"] = 1
    return row


def decision(
    account_id: str,
    decided: dt.datetime,
    action: str = "ban",
    reason: str = "distillation",
    land: dt.date | None = None,
) -> dict:
    return {
        "account_id": account_id,
        "decided_at": decided,
        "action": action,
        "reason": reason,
        "case_id": None,
        "event_date": decided.date(),
        "land_date": land or decided.date(),
        "source_file": "e.jsonl",
        "line_no": 1,
    }


def frame(spark, table, rows: list[dict]):
    schema = spark.createDataFrame([], table.schema).schema
    return spark.createDataFrame([tuple(r.get(f.name) for f in schema) for r in rows], schema)


def interactions(spark, rows):
    return frame(spark, SILVER_INTERACTIONS, rows)


def write_silver(spark, lake: str, interactions_rows=(), account_rows=(), decision_rows=()):
    """Append rows to the silver tables of a temp lake (replacing the landed days they hold)."""
    for table, rows in (
        (SILVER_INTERACTIONS, interactions_rows),
        (SILVER_ACCOUNTS, account_rows),
        (SILVER_ENFORCEMENT, decision_rows),
    ):
        delta_io.ensure_table(spark, table, lake)
        rows = list(rows)
        if rows:
            df = frame(spark, table, rows)
            df.write.format("delta").mode("append").save(table.uri(lake))


def build(
    spark, rows, on: dt.date, accounts=(), decisions=(), previous=(), week_ago=(), params=None
):
    """Features and cluster rows of day `on` from hand-made silver rows, all in memory."""
    from features.assemble import DayInputs, build_day
    from features.daily_activity import daily_activity, model_activity
    from features.params import DEFAULT_PARAMS
    from features.tables import ACCOUNT_CLUSTERS_MAP

    params = params or DEFAULT_PARAMS
    inter = interactions(spark, list(rows))
    inputs = DayInputs(
        day=on,
        activity=daily_activity(inter, params),
        model_activity=model_activity(inter),
        accounts=frame(spark, SILVER_ACCOUNTS, list(accounts)),
        enforcement=frame(spark, SILVER_ENFORCEMENT, list(decisions)),
        previous_clusters=frame(spark, ACCOUNT_CLUSTERS_MAP, list(previous)),
        week_ago_clusters=frame(spark, ACCOUNT_CLUSTERS_MAP, list(week_ago)),
    )
    result = build_day(inputs, params)
    try:
        features = {r.account_id: r.asDict() for r in result.features.collect()}
        clusters = {r.account_id: r.asDict() for r in result.clusters.collect()}
    finally:
        result.release()
    return features, clusters
