"""Hostile input beyond the contract's broken lines: a 50 MB single line, an empty file, and a
day on which upstream renamed a required field. Each is quarantined or stopped by the gate with
a clear message, and the audit balances. (A non-gzip `.gz`, a truncated gzip and folders whose
date does not parse are in tests/test_ingest.py's fixture.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest

from core import delta_io
from core.errors import GateFailed
from core.tables import INGEST_AUDIT, INGEST_FILES, QUARANTINE
from jobs.ingest import ingest_days
from jobs.validate import validate_days
from quality.contract import RAW_LINE_MAX_BYTES
from quality.suites import QUARANTINE_CHECK, quarantine_share_check

D1, D2 = dt.date(2026, 4, 20), dt.date(2026, 4, 21)
HUGE = 50 << 20
GOOD, RENAMED = 30, 25


def record(i: int, day: dt.date) -> dict:
    return {
        "request_id": f"r{day.day}-{i}",
        "ts": f"{day}T10:{i % 60:02d}:00Z",
        "account_id": f"acct_{i % 5}",
        "api_key_id": "key_1",
        "model": "claude-opus-4-7",
        "endpoint": "messages",
        "client_ip": "203.0.113.7",
        "input_tokens": 100,
        "output_tokens": 20,
        "prompt_simhash": "0123456789abcdef",
        "topic": "coding",
        "cot_request_score": 0.3,
        "status": 200,
    }


def lines(records: list[dict]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


@pytest.fixture(scope="module")
def hostile_lake(spark, tmp_path_factory) -> str:
    lake = tmp_path_factory.mktemp("hostile") / "lake"
    d1 = lake / "raw" / "interactions" / f"date={D1}"
    d1.mkdir(parents=True)
    # 30 good lines around one line of 50 MB that is not JSON (no newline inside it).
    with open(d1 / "part-000.jsonl", "wb") as out:
        out.write(lines([record(i, D1) for i in range(GOOD // 2)]))
        out.write(b'{"request_id": "' + b"x" * HUGE + b"\n")
        out.write(lines([record(i, D1) for i in range(GOOD // 2, GOOD)]))
    (d1 / "part-001.jsonl").write_bytes(b"")  # an empty file
    # Upstream renamed account_id -> accountId for the whole of D2.
    d2 = lake / "raw" / "interactions" / f"date={D2}"
    d2.mkdir(parents=True)
    renamed = []
    for i in range(RENAMED):
        r = record(i, D2)
        r["accountId"] = r.pop("account_id")
        renamed.append(r)
    (d2 / "part-000.jsonl").write_bytes(lines(renamed))
    ingest_days(str(lake), [D1, D2])
    return str(lake)


def _audit(spark, lake: str) -> dict:
    rows = delta_io.read(spark, INGEST_AUDIT, lake).where("source = 'interactions'").collect()
    return {
        r.land_date: (r.lines_read, r.rows_accepted, r.duplicates_dropped, r.rows_quarantined)
        for r in rows
    }


def test_audit_balances_on_hostile_days(spark, hostile_lake):
    assert _audit(spark, hostile_lake) == {
        D1: (GOOD + 1, GOOD, 0, 1),
        D2: (RENAMED, 0, 0, RENAMED),
    }


def test_huge_line_is_quarantined_with_its_size_and_a_bounded_copy(spark, hostile_lake):
    rows = delta_io.read(spark, QUARANTINE, hostile_lake).where(f"land_date = DATE'{D1}'").collect()
    assert len(rows) == 1
    q = rows[0]
    assert (q.reason, q.line_no, q.raw_line_truncated) == ("invalid_json", GOOD // 2 + 1, True)
    assert q.raw_line_bytes == HUGE + len('{"request_id": "')
    assert len(q.raw_line.encode()) <= RAW_LINE_MAX_BYTES


def test_empty_file_is_read_as_zero_lines(spark, hostile_lake):
    files = {
        Path(r.source_file).name: (r.lines_read, r.unreadable)
        for r in delta_io.read(spark, INGEST_FILES, hostile_lake)
        .where(f"land_date = DATE'{D1}'")
        .collect()
    }
    assert files == {"part-000.jsonl": (GOOD + 1, False), "part-001.jsonl": (0, False)}


def test_renamed_field_day_is_stopped_by_the_gate_with_the_reason(hostile_lake):
    assert validate_days(hostile_lake, [D1]) is True
    with pytest.raises(GateFailed) as err:
        validate_days(hostile_lake, [D2])
    message = str(err.value)
    assert f"table=interactions day={D2}" in message
    assert QUARANTINE_CHECK in message
    assert f"{RENAMED} of {RENAMED} lines quarantined" in message
    assert f"missing_field:account_id: {RENAMED}" in message


def test_quarantine_share_threshold():
    assert quarantine_share_check(26, 13, {}).success  # exactly half passes
    assert not quarantine_share_check(26, 14, {"invalid_json": 14}).success
    # a few lines are noise, whatever their share
    assert quarantine_share_check(19, 19, {"invalid_json": 19}).success
    top = quarantine_share_check(40, 30, {"a": 1, "b": 20, "c": 5, "d": 4}).observed
    assert top["top_reasons"] == {"b": 20, "c": 5, "d": 4}
