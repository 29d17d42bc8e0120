"""Shared raw inputs for tests: contract-valid records to mutate and the hand-written raw zone.

The raw zone (tests/fixtures/raw_small, see its README) holds, per source and landed day, a
duplicate in one file, a duplicate landing two days after its original, a late record, broken
lines of many kinds, an unknown extra field, whitespace-only lines, a file that is not gzip, a
truncated gzip and two folders whose date does not parse.
"""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path

import orjson

BASE = {
    "request_id": "req_1",
    "ts": "2026-04-22T13:45:01.123Z",
    "account_id": "acct_1",
    "api_key_id": "key_1",
    "org_id": "org_1",
    "model": "claude-opus-4-7",
    "endpoint": "messages",
    "client_ip": "203.0.113.7",
    "ip_asn": 64500,
    "ip_type": "datacenter",
    "country": "US",
    "user_agent": "anthropic-python/0.40.0",
    "input_tokens": 1200,
    "output_tokens": 300,
    "thinking_enabled": True,
    "tool_count": 2,
    "has_image": False,
    "turns": 3,
    "prompt_simhash": "0123456789ABCDEF",
    "system_prompt_hash": "sys_1",
    "topic": "coding",
    "cot_request_score": 0.5,
    "status": 200,
    "latency_ms": 1500,
}
ACCOUNT = {
    "account_id": "acct_1",
    "org_id": None,
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-04-22T08:00:00Z",
    "signup_channel": "education",
    "payment_fingerprint": "pf_1",
    "email_domain": "CS.Example.EDU",
    "billing_country": "US",
    "tier": "free",
    "verified": False,
}
ENFORCEMENT = {
    "account_id": "acct_1",
    "decided_at": "2026-04-22T08:00:00Z",
    "action": "ban",
    "reason": "distillation",
    "case_id": "c1",
}
_MISSING = object()


def line(base: dict | None = None, **changes) -> bytes:
    record = dict(BASE if base is None else base)
    for k, v in changes.items():
        if v is _MISSING:
            record.pop(k, None)
        else:
            record[k] = v
    return orjson.dumps(record)


FIXTURE = Path(__file__).parent.parent / "fixtures" / "raw_small"
D1, D2, D3, D4 = (dt.date(2026, 4, 20) + dt.timedelta(days=i) for i in range(4))
DAYS = [D1, D2, D3, D4]


def build_raw_small(lake: str) -> None:
    """Copy the fixture into `<lake>/raw`, gzip the `.gz.plain` files, add two broken files."""
    raw = Path(lake) / "raw"
    for src in sorted(FIXTURE.rglob("*")):
        if src.is_dir() or src.name == "README.md":
            continue
        dst = raw / src.relative_to(FIXTURE)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.name.endswith(".gz.plain"):
            dst.with_name(src.name.removesuffix(".plain")).write_bytes(
                gzip.compress(src.read_bytes(), mtime=0)
            )
        else:
            shutil.copyfile(src, dst)
    # Plain text under a .gz name: unreadable from its first byte.
    (raw / "interactions/date=2026-04-20/part-002.jsonl.gz").write_bytes(
        b'{"request_id": "r900"}\n' * 3
    )
    # A complete gzip member with r13 and r14, then a second member cut after 12 bytes.
    template = (FIXTURE / "interactions/date=2026-04-21/part-000.jsonl.gz.plain").read_text()
    first = template.splitlines()[0]
    good = "\n".join(first.replace('"r10"', f'"{r}"') for r in ("r13", "r14")) + "\n"
    cut = gzip.compress((first + "\n").encode() * 20, mtime=0)[:12]
    (raw / "interactions/date=2026-04-21/part-001.jsonl.gz").write_bytes(
        gzip.compress(good.encode(), mtime=0) + cut
    )
