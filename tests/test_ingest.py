"""Integration tests of the ingest job on a hand-written raw zone with known counts.

The fixture (tests/fixtures/raw_small, see its README) holds, per source and landed day, a
duplicate in one file, a duplicate landing two days after its original, a late record, broken
lines of many kinds, an unknown extra field, whitespace-only lines, a file that is not gzip, a
truncated gzip and two folders whose date does not parse.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import delta_io
from core.tables import (
    BRONZE,
    DUPLICATES,
    INGEST_AUDIT,
    INGEST_FILES,
    QUARANTINE,
    SILVER,
)
from jobs.ingest import ingest_days, touched_event_dates
from tests.support.raw import D1, D2, D3, D4, DAYS, build_raw_small

# (source, land_date) -> (lines_read, rows_accepted, duplicates_dropped, rows_quarantined)
EXPECTED_AUDIT = {
    ("interactions", D1): (22, 7, 1, 14),
    ("interactions", D2): (6, 5, 0, 1),
    ("interactions", D3): (3, 1, 2, 0),
    ("interactions", D4): (0, 0, 0, 0),
    ("accounts", D1): (5, 2, 1, 2),
    ("accounts", D2): (2, 1, 0, 1),
    ("accounts", D3): (0, 0, 0, 0),
    ("accounts", D4): (1, 1, 0, 0),
    ("enforcement", D1): (0, 0, 0, 0),
    ("enforcement", D2): (3, 1, 1, 1),
    ("enforcement", D3): (2, 1, 1, 0),
    ("enforcement", D4): (0, 0, 0, 0),
}
# Personal data present in the raw fixture that must never appear past raw/ and quarantine/.
RAW_SECRETS = [
    "198.51.100.23",
    "198.51.100.77",
    "2001:db8:85a3::8a2e:370:7334",
    "gmail.com",
    "cs.stanford.edu",
    "example.ac.uk",
]
TABLES = [*BRONZE.values(), *SILVER.values(), QUARANTINE, DUPLICATES, INGEST_FILES, INGEST_AUDIT]
WALL_CLOCK = {"ingested_at"}


def snapshot(spark, lake: str) -> dict[str, list[tuple]]:
    """Full contents of every table the ingest writes (minus wall-clock stamps), sorted."""
    out = {}
    for table in TABLES:
        cols = [c for c in table.columns if c not in WALL_CLOCK]
        rows = delta_io.read(spark, table, lake).select(*cols).collect()
        out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def audit(spark, lake: str) -> dict[tuple[str, dt.date], tuple[int, int, int, int]]:
    rows = delta_io.read(spark, INGEST_AUDIT, lake).collect()
    return {
        (r.source, r.land_date): (
            r.lines_read,
            r.rows_accepted,
            r.duplicates_dropped,
            r.rows_quarantined,
        )
        for r in rows
    }


@pytest.fixture(scope="module")
def ingested(spark, tmp_path_factory):
    """The fixture ingested in date order: (lake, report, snapshot)."""
    lake = str(tmp_path_factory.mktemp("ingest") / "lake")
    build_raw_small(lake)
    report = ingest_days(lake, DAYS)
    return lake, report, snapshot(spark, lake)


def test_audit_equals_known_counts(spark, ingested):
    lake, report, _ = ingested
    assert audit(spark, lake) == EXPECTED_AUDIT
    returned = {
        (r["source"], r["land_date"]): (
            r["lines_read"],
            r["rows_accepted"],
            r["duplicates_dropped"],
            r["rows_quarantined"],
        )
        for r in report
    }
    assert returned == EXPECTED_AUDIT
    for lines, accepted, dups, quarantined in EXPECTED_AUDIT.values():
        assert lines == accepted + dups + quarantined
    assert sorted(report.skipped_folders) == [
        "raw/enforcement/date=yesterday",
        "raw/interactions/date=2026-02-30",
    ]


def test_rows_land_where_the_contract_says(ingested):
    lake, report, snap = ingested
    silver = {r[0]: r for r in snap["interactions"]}
    cols = SILVER["interactions"].columns
    col = {c: i for i, c in enumerate(cols)}
    assert sorted(silver) == [
        "r1",
        "r10",
        "r11",
        "r12",
        "r13",
        "r14",
        "r2",
        "r20",
        "r3",
        "r4",
        "r5",
        "r6",
        "r7",
    ]
    # The late record reaches its own event day, landed two days later.
    r11 = silver["r11"]
    assert (r11[col["event_date"]], r11[col["land_date"]]) == (dt.date(2026, 4, 19), D2)
    # An offset timestamp is converted to UTC (01:30+02:00 is the previous UTC day).
    assert silver["r4"][col["event_date"]] == dt.date(2026, 4, 19)
    assert silver["r4"][col["ts"]] == dt.datetime(2026, 4, 19, 23, 30)  # Spark returns UTC naive
    # Unknown optional enum and empty optional string are nulls; IPv6 keeps a /48.
    r5 = silver["r5"]
    assert r5[col["ip_type"]] is None and r5[col["topic"]] is None
    assert r5[col["ip_prefix"]] == "2001:db8:85a3::/48"
    # The accepted copy of r1 is the first one: D1, part-000, line 1.
    r1 = silver["r1"]
    assert (r1[col["land_date"]], r1[col["source_file"]], r1[col["line_no"]]) == (
        D1,
        "raw/interactions/date=2026-04-20/part-000.jsonl.gz",
        1,
    )
    assert report.touched_event_dates[D2] == [dt.date(2026, 4, 19), D2]
    assert touched_event_dates(lake, D2) == [dt.date(2026, 4, 19), D2]


def test_duplicate_ledger_names_the_kept_copy(ingested):
    _, _, snap = ingested
    ledger = {(r[0], r[1], r[2], r[3]): r[4:] for r in snap["duplicates"]}
    f1 = "raw/interactions/date=2026-04-20/part-000.jsonl.gz"
    assert ledger[("interactions", D1, f1, 3)] == (
        '{"request_id":"r1"}',
        D1,
        D1,
        f1,
        1,
    )  # the repeat in the same file
    assert ledger[
        ("interactions", D3, "raw/interactions/date=2026-04-22/part-000.jsonl.gz", 1)
    ] == ('{"request_id":"r1"}', D1, D1, f1, 1)  # two days after
    assert ledger[("interactions", D3, "raw/interactions/date=2026-04-22/part-000.jsonl.gz", 3)][
        2:
    ] == (D2, "raw/interactions/date=2026-04-21/part-000.jsonl.gz", 2)
    assert len(ledger) == 3 + 1 + 2  # interactions, accounts, enforcement


def test_quarantine_reasons_per_line(ingested):
    _, _, snap = ingested
    q = {(r[0], r[1], r[2], r[3]): r[4] for r in snap["quarantine"]}
    f = "raw/interactions/date=2026-04-20/part-000.jsonl.gz"
    assert {n: reason for (s, d, file, n), reason in q.items() if file == f} == {
        5: "invalid_json",
        6: "missing_field:request_id",
        7: "bad_type:input_tokens",
        8: "out_of_range:output_tokens",
        10: "unknown_value:endpoint",
        11: "future_ts",
        12: "too_late",
        14: "invalid_json",
        15: "missing_field:request_id",
        16: "bad_format:prompt_simhash",
        17: "bad_format:client_ip",
        18: "not_an_object",
    }
    assert (
        q[("interactions", D1, "raw/interactions/date=2026-04-20/part-001.jsonl", 2)]
        == "invalid_json"
    )
    assert (
        q[("interactions", D1, "raw/interactions/date=2026-04-20/part-002.jsonl.gz", 1)]
        == "unreadable_file"
    )
    assert (
        q[("interactions", D2, "raw/interactions/date=2026-04-21/part-001.jsonl.gz", 3)]
        == "unreadable_file"
    )
    assert q[("accounts", D2, "raw/accounts/date=2026-04-21/part-000.jsonl", 2)] == "too_late"
    assert (
        q[("enforcement", D2, "raw/enforcement/date=2026-04-21/part-000.jsonl", 3)]
        == "unknown_value:action"
    )
    files = {(r[0], r[2]): (r[3], r[4]) for r in snap["ingest_files"]}
    assert files[("interactions", "raw/interactions/date=2026-04-20/part-002.jsonl.gz")] == (
        1,
        True,
    )
    assert files[("interactions", "raw/interactions/date=2026-04-21/part-001.jsonl.gz")] == (
        3,
        True,
    )
    assert files[("interactions", "raw/interactions/date=2026-04-20/part-000.jsonl.gz")] == (
        18,
        False,
    )


def test_accounts_snapshot_and_updates(ingested):
    _, _, snap = ingested
    col = {c: i for i, c in enumerate(SILVER["accounts"].columns)}
    versions = sorted(
        (r[col["account_id"]], r[col["updated_at"]].date(), r[col["email_domain_class"]])
        for r in snap["accounts"]
    )
    assert versions == [
        ("acct_001", dt.date(2025, 12, 1), "freemail"),
        ("acct_001", D2, "freemail"),
        ("acct_002", dt.date(2026, 4, 19), "edu"),
        ("acct_006", D4, "edu"),
    ]
    payment = {r[col["account_id"]]: r[col["payment_fingerprint"]] for r in snap["accounts"]}
    assert payment["acct_002"] is None  # empty optional string -> null


def _strings_in_parquet(root: Path) -> list[str]:
    values = []
    for path in root.rglob("*.parquet"):
        table = pq.read_table(path)
        for column in table.columns:
            if str(column.type) in ("string", "large_string"):
                values += [v for v in column.to_pylist() if v]
    return values


def _leaks(root: Path) -> list[str]:
    found = []
    for value in _strings_in_parquet(root):
        found += [s for s in RAW_SECRETS if s in value]
    for path in root.rglob("*.json"):  # Delta logs carry column statistics (min/max values)
        text = path.read_text(errors="replace")
        found += [s for s in RAW_SECRETS if s in text]
    return found


def test_no_raw_ip_or_email_domain_past_raw_and_quarantine(ingested, tmp_path):
    lake, _, _ = ingested
    scanned = [Path(lake) / d for d in ("bronze", "silver", "ops")]
    assert all(p.is_dir() for p in scanned)
    assert len(_strings_in_parquet(Path(lake) / "silver")) > 50  # the scan reads real values
    for root in scanned:
        assert _leaks(root) == [], root
    # Negative control: a planted raw IP in a copy of a silver file is found.
    planted = tmp_path / "planted"
    shutil.copytree(Path(lake) / "silver" / "interactions", planted)
    victim = next(planted.rglob("*.parquet"))
    table = pq.read_table(victim)
    table = table.set_column(
        table.column_names.index("ip_prefix"),
        "ip_prefix",
        pa.array(["198.51.100.23"] * table.num_rows),
    )
    pq.write_table(table, victim)
    assert "198.51.100.23" in _leaks(planted)


def test_reingest_same_day_leaves_identical_tables(spark, ingested):
    lake, _, before = ingested
    rows = ingest_days(lake, [D1])
    after = snapshot(spark, lake)
    assert after == before
    # The re-run recomputed the later days whose dedup status D1 can change.
    assert {(r["source"], r["land_date"]) for r in rows} >= {("interactions", D3), ("accounts", D4)}
    # Negative control: one altered value is seen by the comparison.
    altered = dict(after)
    first = list(altered["interactions"][0])
    first[list(SILVER["interactions"].columns).index("input_tokens")] += 1
    altered["interactions"] = [tuple(first)] + altered["interactions"][1:]
    assert altered != before


def test_out_of_order_ingest_gives_the_same_tables(spark, ingested, tmp_path):
    _, _, in_order = ingested
    lake = str(tmp_path / "lake")
    build_raw_small(lake)
    ingest_days(lake, [D2, D3, D4])  # the later days first: D1's repeats look accepted...
    early = audit(spark, lake)
    assert early[("interactions", D3)] == (3, 2, 1, 0)  # r1 has no earlier copy yet
    ingest_days(lake, [D1])  # ...until D1 lands: D3's copy of r1 becomes a duplicate
    assert audit(spark, lake) == EXPECTED_AUDIT
    assert snapshot(spark, lake) == in_order


def test_dedup_is_the_same_when_hashes_collide_and_without_broadcast(
    spark, ingested, tmp_path, monkeypatch, caplog
):
    """The hash only pre-selects repeated keys and the broadcast is only a join strategy: with
    every key's hash colliding (all rows reach the exact grouping) and broadcasting switched off
    (Spark's threshold -1, what a re-sent whole day's lookup meets), the tables are the same."""
    import logging

    from pyspark.sql import functions as F

    from jobs import ingest

    lake = str(tmp_path / "lake")
    build_raw_small(lake)
    monkeypatch.setattr(ingest, "_key_hash", lambda keys: F.lit(0).cast("bigint"))
    threshold = "spark.sql.autoBroadcastJoinThreshold"
    before = spark.conf.get(threshold)
    spark.conf.set(threshold, "-1")
    try:
        with caplog.at_level(logging.INFO, logger="risk.ingest"):
            ingest_days(lake, DAYS)
    finally:
        spark.conf.set(threshold, before)
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith("dedup source=interactions")
    ]
    # The forced path was taken: one hash for every key, so every row reached the exact grouping.
    assert lines and all(" repeated_hashes=1 " in m for m in lines)
    assert snapshot(spark, lake) == ingested[2]

    # Negative control: a hash that differs for every copy finds no repeated key, so the copy of
    # r1 repeated in D1's own file is accepted twice, which the comparison above would show.
    wrong = str(tmp_path / "wrong")
    build_raw_small(wrong)
    monkeypatch.setattr(
        ingest, "_key_hash", lambda keys: F.xxhash64("land_date", "source_file", "line_no")
    )
    ingest_days(wrong, [D1])
    ids = [r.request_id for r in delta_io.read(spark, SILVER["interactions"], wrong).collect()]
    assert ids.count("r1") == 2
    assert [r[0] for r in ingested[2]["interactions"]].count("r1") == 1


def _simulator_available() -> bool:
    return importlib.util.find_spec("simulator") is not None


GEN_DAYS = [dt.date(2026, 4, 22) + dt.timedelta(days=i) for i in range(6)]


@pytest.fixture(scope="module")
def generated(spark, tmp_path_factory):
    """Six generated tiny days, ingested: (lake, ingest report)."""
    if not _simulator_available():
        pytest.skip("the generator is not there yet")
    from simulator import generate

    lake = str(tmp_path_factory.mktemp("generated") / "lake")
    generate(lake, GEN_DAYS[0], len(GEN_DAYS), "tiny", 11, progress=False)
    return lake, ingest_days(lake, GEN_DAYS)


def test_generated_lake_audit_equals_truth(generated):
    lake, report = generated
    truth = json.loads((Path(lake) / "_truth" / "counts.json").read_text())["sources"]
    got = {
        (r["source"], r["land_date"].isoformat()): (
            r["lines_read"],
            r["rows_accepted"],
            r["duplicates_dropped"],
            r["rows_quarantined"],
        )
        for r in report
    }
    expected = {
        (s, d): (t["lines_written"], t["accepted"], t["duplicates"], t["broken"])
        for s, per_day in truth.items()
        for d, t in per_day.items()
    }
    assert sum(v[2] for v in expected.values()) > 0 and sum(v[3] for v in expected.values()) > 0
    assert got == expected


def test_no_raw_ip_outside_raw_and_quarantine(spark, generated):
    """Privacy: after ingest, the quality gate (its GX Data Docs keep samples of unexpected
    values) and a day's clusters and features, no file outside raw/ and quarantine/ holds a
    client IP of the raw zone. (The slow end-to-end test scans a lake with models and gold.)"""
    from jobs.build_features import aggregate_landed_days, build_day_tables
    from jobs.validate import validate_days
    from tools.privacy_scan import raw_ips, scan

    lake, _ = generated
    validate_days(lake, GEN_DAYS, raise_on_failure=False)
    aggregate_landed_days(spark, lake, GEN_DAYS)
    build_day_tables(spark, lake, GEN_DAYS[-1])
    written = {p.relative_to(lake).parts[0] for p in Path(lake).rglob("*.parquet")}
    assert {"silver", "features", "ops"} <= written
    assert any(Path(lake).rglob("*.html")), "no GX Data Docs page was built"
    ips = raw_ips(lake)
    assert len(ips) > 100
    assert scan(lake, ips) == []
    # Negative control: one raw IP in a page under the lake is found.
    leak = Path(lake) / "ops" / "leak.html"
    leak.write_text(f"<td>{sorted(ips)[0]}</td>")
    try:
        assert scan(lake, ips) == [(str(leak), sorted(ips)[0])]
    finally:
        leak.unlink()
