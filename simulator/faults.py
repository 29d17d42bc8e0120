"""Delivery faults of real upstreams, and the exact accounting of what they do to each line.

A line is written once as an *original* (landing `lag` days after its own day) and possibly again
as copies: one in the same file, and one landing 1-3 days later. Some originals are broken on
purpose. The truth counts follow LAKE.md's rule: validation first, then of repeated keys the first
valid line by (landed day, file name, line number) is accepted and later valid copies are
duplicates; a copy of a broken line is broken too, and a copy landing more than 3 days after its
record's own day is too late, hence broken.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa

from simulator.render import gather_bytes
from simulator.world import DAY_MS

# required fields whose loss or corruption sends the line to quarantine
REQUIRED = {
    "interactions": [
        "request_id",
        "ts",
        "account_id",
        "api_key_id",
        "model",
        "endpoint",
        "client_ip",
        "input_tokens",
        "output_tokens",
        "prompt_simhash",
        "status",
    ],
    "accounts": [
        "account_id",
        "created_at",
        "updated_at",
        "signup_channel",
        "email_domain",
        "tier",
        "verified",
    ],
    "enforcement": ["account_id", "decided_at", "action", "reason"],
}
TIME_FIELD = {"interactions": "ts", "accounts": "updated_at", "enforcement": "decided_at"}
ID_FIELDS = {
    "interactions": ["request_id", "account_id", "api_key_id"],
    "accounts": ["account_id"],
    "enforcement": ["account_id"],
}
TIME_KINDS = ("future_ts", "too_late")
KINDS = {
    "interactions": {
        "invalid_json": 3,
        "truncated": 3,
        "nan": 1,
        "missing_field": 3,
        "null_required": 1,
        "string_int": 2,
        "float_int": 2,
        "negative_tokens": 2,
        "future_ts": 2,
        "too_late": 2,
        "bad_ts": 1,
        "unknown_enum": 2,
        "empty_id": 2,
        "bad_simhash": 2,
    },
    "accounts": {
        "invalid_json": 2,
        "truncated": 2,
        "missing_field": 3,
        "bad_type": 2,
        "empty_id": 2,
        "future_ts": 1,
        "too_late": 1,
        "bad_ts": 1,
    },
    "enforcement": {
        "invalid_json": 2,
        "truncated": 1,
        "missing_field": 2,
        "unknown_enum": 3,
        "empty_id": 1,
        "future_ts": 1,
    },
}


@dataclass
class Rates:
    late: tuple[float, float, float]  # probability of landing 1, 2, 3 days late
    dup_same: float
    dup_later: float
    broken: float


RATES = {
    "interactions": Rates((0.02, 0.007, 0.003), 0.004, 0.003, 0.0035),
    "accounts": Rates((0, 0, 0), 0.005, 0.005, 0.005),  # lateness comes from the registry plan
    "enforcement": Rates((0, 0, 0), 0.02, 0.02, 0.03),
}


def fmt_ms(ms: int) -> str:
    t = dt.datetime.fromtimestamp(ms // 1000, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def corrupt(source: str, kind: str, line: str, landed_start_ms: int, r: random.Random) -> str:
    """A broken version of one valid line (with its trailing newline)."""
    body = line.rstrip("\n")
    if kind == "invalid_json":
        choice = r.randrange(4)
        if choice == 0:
            return body[:-1] + "\n"  # lost closing brace
        if choice == 1:
            return body[:-1] + ",}\n"  # trailing comma
        if choice == 2:
            return body.replace('":', '" ', 1) + "\n"  # a key without its colon
        return "{'" + body[2:].replace('"', "'", 3) + "\n"  # single quotes
    if kind == "truncated":
        return body[: r.randrange(10, max(11, len(body) - 5))] + "\n"
    if kind == "nan":
        if '"cot_request_score":' in body:
            return re.sub(r'"cot_request_score":[0-9.]+', '"cot_request_score":NaN', body) + "\n"
        return re.sub(r'"input_tokens":[0-9]+', '"input_tokens":NaN', body) + "\n"
    rec = orjson.loads(body)
    if kind == "missing_field":
        del rec[r.choice(REQUIRED[source])]
    elif kind == "null_required":
        rec[r.choice(REQUIRED[source])] = None
    elif kind == "string_int":
        f = r.choice(["input_tokens", "output_tokens", "status"])
        rec[f] = str(rec[f])
    elif kind == "float_int":
        f = r.choice(["input_tokens", "output_tokens"])
        rec[f] = rec[f] + 0.5
    elif kind == "negative_tokens":
        f = r.choice(["input_tokens", "output_tokens"])
        rec[f] = -(rec[f] + 1)
    elif kind == "bad_type":  # accounts: a boolean written as text
        rec["verified"] = "true" if rec["verified"] else "false"
    elif kind == "future_ts":
        rec[TIME_FIELD[source]] = fmt_ms(landed_start_ms + DAY_MS + r.randrange(0, 2 * DAY_MS))
    elif kind == "too_late":
        rec[TIME_FIELD[source]] = fmt_ms(
            landed_start_ms - 3 * DAY_MS - r.randrange(60_000, 10 * DAY_MS)
        )
    elif kind == "bad_ts":
        f = "created_at" if source == "accounts" else "ts"
        rec[f] = r.choice(["2026-13-45T99:00:00Z", "not a timestamp", "1714000000", ""])
    elif kind == "unknown_enum":
        if source == "interactions":
            if r.random() < 0.5:
                rec["endpoint"] = r.choice(["completions", "chat", "embeddings"])
            else:
                rec["status"] = r.choice([418, 302, 503])
        elif r.random() < 0.5:
            rec["action"] = r.choice(["warn", "escalate", "shadow_ban"])
        else:
            rec["reason"] = r.choice(["spam", "tos_violation"])
    elif kind == "empty_id":
        rec[r.choice(ID_FIELDS[source])] = ""
    elif kind == "bad_simhash":
        h = rec["prompt_simhash"]
        rec["prompt_simhash"] = r.choice([h[:15], "0x" + h[:14], h[:15] + "g", h + "0"])
    else:  # pragma: no cover - a kind without a corruption is a programming error
        raise ValueError(kind)
    return orjson.dumps(rec).decode() + "\n"


@dataclass
class Plan:
    """Per original line: landing lag, whether broken (and how), and its copies."""

    lag: np.ndarray
    kind: np.ndarray  # "" when valid
    dup_same: np.ndarray
    dup_later: np.ndarray  # extra days after the original lands; 0 = no such copy

    def rows(self, a: int, b: int) -> Plan:
        return Plan(self.lag[a:b], self.kind[a:b], self.dup_same[a:b], self.dup_later[a:b])


def plan(
    source: str, rng: np.random.Generator, lag: np.ndarray | None, n: int, no_time_kinds: np.ndarray
) -> Plan:
    rt = RATES[source]
    if lag is None:
        u = rng.random(n)
        c = np.cumsum(rt.late)
        lag = (u < c[2]).astype(np.int64) + (u < c[1]) + (u < c[0])
    kinds = KINDS[source]
    names = list(kinds)
    w = np.array([kinds[k] for k in names], dtype=np.float64)
    broken = rng.random(n) < rt.broken
    pick = rng.choice(len(names), size=n, p=w / w.sum())
    kind = np.where(broken, np.array(names, dtype=object)[pick], "")
    # the first landed registry day is a snapshot exempt from lateness: keep it unambiguous
    is_time = np.isin(kind, TIME_KINDS)
    kind = np.where(is_time & no_time_kinds, "missing_field", kind)
    timed = np.isin(kind, TIME_KINDS)
    dup_same = rng.random(n) < rt.dup_same
    dup_later = np.where((rng.random(n) < rt.dup_later) & ~timed, rng.integers(1, 4, n), 0)
    dup_same &= ~timed
    return Plan(lag=lag.astype(np.int64), kind=kind, dup_same=dup_same, dup_later=dup_later)


@dataclass
class Counts:
    lines: int = 0
    duplicates: int = 0
    broken: int = 0

    def add(self, other: Counts) -> None:
        self.lines += other.lines
        self.duplicates += other.duplicates
        self.broken += other.broken


def breaks(
    source: str, text: pa.Array, p: Plan, d: int, start_ms: int, seed_parts: tuple[int, ...]
) -> dict[int, bytes]:
    """Corrupted text of the originals planned broken (a Python loop over a few lines)."""
    bad = np.flatnonzero(p.kind != "")
    if not len(bad):
        return {}
    r = random.Random(hash_seed(seed_parts))
    lines = text.take(pa.array(bad)).to_pylist()
    return {
        int(i): corrupt(
            source, str(p.kind[i]), s, start_ms + (d + int(p.lag[i])) * DAY_MS, r
        ).encode()
        for i, s in zip(bad, lines, strict=True)
    }


def hash_seed(parts: tuple[int, ...]) -> int:
    """A stable integer seed from a tuple (Python's hash() of str is salted per process)."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def route(
    text: pa.Array,
    broken_text: dict[int, bytes],
    p: Plan,
    ev_day: np.ndarray,
    d: int,
    days: int,
    rng: np.random.Generator,
) -> tuple[dict[int, list], dict[int, Counts], dict[int, dict[str, int]]]:
    """Split one batch of originals into per-lag outputs (copies included) and count them.

    Returns {lag: byte runs in file order (views into text)}, {lag: counts} and
    {lag: broken kind -> count}; lags whose landing day falls after the window are dropped
    (they would land after the run ends).
    """
    n = len(text)
    broken = p.kind != ""
    src_idx = [np.arange(n)]
    land = [p.lag]
    order_key = [np.arange(n, dtype=np.float64)]
    kind = [p.kind]
    is_copy = [np.zeros(n, bool)]
    s = np.flatnonzero(p.dup_same)
    if len(s):  # a retry written again a little further down the same file
        src_idx.append(s)
        land.append(p.lag[s])
        order_key.append(s + rng.uniform(0.5, 40, len(s)))
        kind.append(p.kind[s])
        is_copy.append(np.ones(len(s), bool))
    later = np.flatnonzero(p.dup_later > 0)
    if len(later):  # a replayed batch landing days later
        lag2 = p.lag[later] + p.dup_later[later]
        late = (d + lag2 - ev_day[later]) > 3
        src_idx.append(later)
        land.append(lag2)
        order_key.append(later.astype(np.float64))
        kind.append(np.where(broken[later], p.kind[later], np.where(late, "too_late", "")))
        is_copy.append(np.ones(len(later), bool))
    src_idx_a = np.concatenate(src_idx)
    land_a = np.concatenate(land)
    key_a = np.concatenate(order_key)
    kind_a = np.concatenate(kind)
    copy_a = np.concatenate(is_copy)
    outputs: dict[int, list] = {}
    counts: dict[int, Counts] = {}
    kinds: dict[int, dict[str, int]] = {}
    for lag in np.unique(land_a):
        if d + lag >= days:
            continue
        sel = np.flatnonzero(land_a == lag)
        sel = sel[np.argsort(key_a[sel], kind="stable")]
        outputs[int(lag)] = gather_bytes(text, src_idx_a[sel], broken_text)
        kb = kind_a[sel]
        bad = kb != ""
        counts[int(lag)] = Counts(
            lines=len(sel), broken=int(bad.sum()), duplicates=int((copy_a[sel] & ~bad).sum())
        )
        ks, kc = np.unique(kb[bad], return_counts=True)
        kinds[int(lag)] = {str(k): int(v) for k, v in zip(ks, kc, strict=True)}
    return outputs, counts, kinds
