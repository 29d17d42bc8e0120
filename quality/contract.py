"""The raw-zone contract (LAKE.md) as code: parse and validate one raw line, or name why not.

Pure: no Spark, no I/O, no clock. `LineParser.parse(raw_bytes)` returns either the typed row
(a tuple in `output_columns(source)` order) or one reason code. Every non-empty line gets exactly
one outcome; nothing here raises on bad input.

Reason codes (the first failure wins, fields checked in the contract's column order, record-time
checks last):
- `invalid_json`: not strict JSON (NaN/Infinity, invalid UTF-8, trailing garbage, truncated...).
- `not_an_object`: valid JSON that is not an object (`[]`, `"x"`, `12`).
- `missing_field:<f>`: a required field absent, null, or the empty string. An empty string is
  treated as absent everywhere (in an optional field it becomes null), so an empty id is a
  missing id.
- `bad_type:<f>`: wrong JSON type. Strict: `"12"`, `12.5` or `12.0` for an int, a number for a
  string, `"true"` or `1` for a bool.
- `out_of_range:<f>`: tokens/tool_count/latency_ms/ip_asn < 0, turns < 1, cot_request_score
  outside [0, 1], or an int too large for its column.
- `unknown_value:<f>`: a required enum (endpoint, status; accounts signup_channel, tier;
  enforcement action, reason) outside its allowed set. Unknown optional enum values (ip_type,
  topic) become null instead.
- `bad_format:prompt_simhash` (not 16 hex digits), `bad_format:client_ip` (not IPv4/IPv6).
- `bad_timestamp:<f>`: not an RFC 3339 date-time with seconds and an offset (`Z` or +hh:mm).
- `future_ts`: record time at or after the end of the landed day.
- `too_late`: record time before the start of (landed day - 3 days); the first landed day of
  raw/accounts (the registry snapshot) is exempt.
- `unreadable_file`: emitted by the ingest job, not here, for the unreadable rest of a file.

Record time is `ts` (interactions), `updated_at` (accounts), `decided_at` (enforcement); its UTC
date is the row's `event_date`. Unknown extra fields are ignored.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import orjson

from core import enums
from quality import privacy

LATENESS_DAYS = enums.LATENESS_DAYS
RAW_LINE_MAX_BYTES = 1 << 20  # quarantine keeps at most 1 MB of a line (and its full size)

REASON_INVALID_JSON = "invalid_json"
REASON_NOT_OBJECT = "not_an_object"
REASON_FUTURE = "future_ts"
REASON_TOO_LATE = "too_late"
REASON_UNREADABLE = "unreadable_file"

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

US_PER_DAY = 86_400_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)
_EPOCH_DATE = dt.date(1970, 1, 1)

_TS_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)
_SIMHASH_RE = re.compile(r"[0-9a-fA-F]{16}")

# The contract's vocabularies as the sets the parser looks values up in (core/enums.py).
ENDPOINTS = frozenset(enums.ENDPOINTS)
STATUSES = frozenset(enums.STATUSES)
IP_TYPES = frozenset(enums.IP_TYPES)
TOPICS = frozenset(enums.TOPICS)
SIGNUP_CHANNELS = frozenset(enums.SIGNUP_CHANNELS)
TIERS = frozenset(enums.TIERS)
ACTIONS = frozenset(enums.ACTIONS)
ENFORCEMENT_REASONS = frozenset(enums.ENFORCEMENT_REASONS)
EMAIL_DOMAIN_CLASSES = enums.EMAIL_DOMAIN_CLASSES

# Field kinds (small ints: the per-line loop dispatches on them).
STR, ENUM, INT, FLOAT, BOOL, TS, SIMHASH, IP, DOMAIN = range(9)


@dataclass(frozen=True)
class Field:
    name: str
    kind: int
    required: bool
    allowed: frozenset = frozenset()  # ENUM: allowed values (str or int)
    lo: float = -math.inf  # INT/FLOAT: inclusive bounds
    hi: float = math.inf


def _f(
    name: str,
    kind: int,
    required: bool,
    allowed: frozenset = frozenset(),
    lo: float = -math.inf,
    hi: float = math.inf,
) -> Field:
    return Field(name, kind, required, allowed, lo, hi)


# Contract order (LAKE.md tables): also the order in which failures are looked for.
FIELDS: dict[str, tuple[Field, ...]] = {
    "interactions": (
        _f("request_id", STR, True),
        _f("ts", TS, True),
        _f("account_id", STR, True),
        _f("api_key_id", STR, True),
        _f("org_id", STR, False),
        _f("model", STR, True),
        _f("endpoint", ENUM, True, ENDPOINTS),
        _f("client_ip", IP, True),
        _f("ip_asn", INT, False, lo=0, hi=INT64_MAX),
        _f("ip_type", ENUM, False, IP_TYPES),
        _f("country", STR, False),
        _f("user_agent", STR, False),
        _f("input_tokens", INT, True, lo=0, hi=INT64_MAX),
        _f("output_tokens", INT, True, lo=0, hi=INT64_MAX),
        _f("thinking_enabled", BOOL, False),
        _f("tool_count", INT, False, lo=0, hi=INT32_MAX),
        _f("has_image", BOOL, False),
        _f("turns", INT, False, lo=1, hi=INT32_MAX),
        _f("prompt_simhash", SIMHASH, True),
        _f("system_prompt_hash", STR, False),
        _f("topic", ENUM, False, TOPICS),
        _f("cot_request_score", FLOAT, False, lo=0.0, hi=1.0),
        _f("status", ENUM, True, STATUSES),
        _f("latency_ms", INT, False, lo=0, hi=INT64_MAX),
    ),
    "accounts": (
        _f("account_id", STR, True),
        _f("org_id", STR, False),
        _f("created_at", TS, True),
        _f("updated_at", TS, True),
        _f("signup_channel", ENUM, True, SIGNUP_CHANNELS),
        _f("payment_fingerprint", STR, False),
        _f("email_domain", DOMAIN, True),
        _f("billing_country", STR, False),
        _f("tier", ENUM, True, TIERS),
        _f("verified", BOOL, True),
    ),
    "enforcement": (
        _f("account_id", STR, True),
        _f("decided_at", TS, True),
        _f("action", ENUM, True, ACTIONS),
        _f("reason", ENUM, True, ENFORCEMENT_REASONS),
        _f("case_id", STR, False),
    ),
}

RECORD_TIME = {"interactions": "ts", "accounts": "updated_at", "enforcement": "decided_at"}

# Column types of the parsed rows: string, timestamp (int micros UTC), long, int, double, bool.
_KIND_TYPE = {
    STR: "string",
    ENUM: "string",
    TS: "timestamp",
    BOOL: "boolean",
    FLOAT: "double",
    SIMHASH: "string",
}
_INT_TYPES = {"tool_count": "int", "turns": "int", "status": "int"}


def output_columns(source: str) -> list[tuple[str, str]]:
    """(name, type) of a parsed row, in tuple order; `event_date` (days since epoch) is last.

    Types: string, timestamp (microseconds since the epoch, UTC), long, int, double, boolean,
    date (days since the epoch). IPs expand to ip_prefix/ip_hash, email_domain to its hash/class.
    """
    cols: list[tuple[str, str]] = []
    for f in FIELDS[source]:
        if f.kind == IP:
            cols += [("ip_prefix", "string"), ("ip_hash", "string")]
        elif f.kind == DOMAIN:
            cols += [("email_domain_hash", "string"), ("email_domain_class", "string")]
        elif f.name in _INT_TYPES:
            cols.append((f.name, _INT_TYPES[f.name]))
        elif f.kind == INT:
            cols.append((f.name, "long"))
        else:
            cols.append((f.name, _KIND_TYPE[f.kind]))
    cols.append(("event_date", "date"))
    return cols


def parse_timestamp(text: str) -> int | None:
    """RFC 3339 date-time with any offset -> microseconds since the epoch (UTC); None if not."""
    if _TS_RE.fullmatch(text) is None:
        return None
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:  # month 13, hour 25, offset +24:00, leap second 60...
        return None
    return (value - _EPOCH) // _ONE_US


def day_start_us(day: dt.date) -> int:
    return (day - _EPOCH_DATE).days * US_PER_DAY


def micros_to_datetime(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


def days_to_date(days: int) -> dt.date:
    return _EPOCH_DATE + dt.timedelta(days=days)


class LineParser:
    """Validates the lines of one source landed on one day. One instance per file or task.

    `key` is the pseudonymisation key (quality.privacy); `exempt_too_late` is set for the first
    landed day of raw/accounts (the registry snapshot).
    """

    def __init__(
        self, source: str, land_date: dt.date, key: bytes, exempt_too_late: bool = False
    ) -> None:
        if source not in FIELDS:
            raise ValueError(f"unknown source {source!r}; known: {sorted(FIELDS)}")
        self.source = source
        self.fields = FIELDS[source]
        self.key = key
        self.record_time = RECORD_TIME[source]
        start = day_start_us(land_date)
        self.end_us = start + US_PER_DAY
        self.min_us = None if exempt_too_late else start - LATENESS_DAYS * US_PER_DAY
        self._pseudo = privacy.Pseudonymizer(key)

    def parse(self, raw: bytes) -> tuple[tuple | None, str | None]:
        """(row, None) for a valid line, (None, reason) otherwise. Never raises on bad input."""
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None, REASON_INVALID_JSON
        if type(obj) is not dict:
            return None, REASON_NOT_OBJECT
        out: list = []
        record_us = 0
        for f in self.fields:
            v = obj.get(f.name)
            if v is None or v == "":
                if f.required:
                    return None, "missing_field:" + f.name
                out.append(None)
                if f.kind == IP or f.kind == DOMAIN:
                    out.append(None)
                continue
            kind = f.kind
            if kind == STR:
                if type(v) is not str:
                    return None, "bad_type:" + f.name
                out.append(v)
            elif kind == INT:
                if type(v) is not int:
                    return None, "bad_type:" + f.name
                if v < f.lo or v > f.hi:
                    return None, "out_of_range:" + f.name
                out.append(v)
            elif kind == ENUM:
                allowed = f.allowed
                if f.name == "status":
                    if type(v) is not int:
                        return None, "bad_type:status"
                elif type(v) is not str:
                    return None, "bad_type:" + f.name
                if v in allowed:
                    out.append(v)
                elif f.required:
                    return None, "unknown_value:" + f.name
                else:
                    out.append(None)
            elif kind == TS:
                if type(v) is not str:
                    return None, "bad_type:" + f.name
                us = parse_timestamp(v)
                if us is None:
                    return None, "bad_timestamp:" + f.name
                if f.name == self.record_time:
                    record_us = us
                out.append(us)
            elif kind == BOOL:
                if type(v) is not bool:
                    return None, "bad_type:" + f.name
                out.append(v)
            elif kind == FLOAT:
                if type(v) is not float and type(v) is not int:
                    return None, "bad_type:" + f.name
                if not (f.lo <= v <= f.hi):
                    return None, "out_of_range:" + f.name
                out.append(float(v))
            elif kind == SIMHASH:
                if type(v) is not str:
                    return None, "bad_type:" + f.name
                if _SIMHASH_RE.fullmatch(v) is None:
                    return None, "bad_format:" + f.name
                out.append(v.lower())
            elif kind == IP:
                if type(v) is not str:
                    return None, "bad_type:" + f.name
                pair = self._pseudo.ip(v)
                if pair is None:
                    return None, "bad_format:" + f.name
                out.append(pair[0])
                out.append(pair[1])
            else:  # DOMAIN
                if type(v) is not str:
                    return None, "bad_type:" + f.name
                pair = self._pseudo.email_domain(v)
                out.append(pair[0])
                out.append(pair[1])
        if record_us >= self.end_us:
            return None, REASON_FUTURE
        if self.min_us is not None and record_us < self.min_us:
            return None, REASON_TOO_LATE
        out.append(record_us // US_PER_DAY)
        return tuple(out), None


@dataclass(frozen=True)
class Outcome:
    """One line's fate: a row (dict of typed values) or a reason."""

    row: dict | None
    reason: str | None


def parse_line(
    source: str,
    raw: bytes | str,
    land_date: dt.date,
    key: bytes = b"test",
    exempt_too_late: bool = False,
) -> Outcome:
    """Convenience wrapper (tests, debugging): timestamps as datetimes, dates as dates."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    values, reason = LineParser(source, land_date, key, exempt_too_late).parse(raw)
    if values is None:
        return Outcome(None, reason)
    row = {}
    for (name, typ), value in zip(output_columns(source), values, strict=True):
        if value is not None and typ == "timestamp":
            value = micros_to_datetime(value)
        elif value is not None and typ == "date":
            value = days_to_date(value)
        row[name] = value
    return Outcome(row, None)


def is_blank(line: bytes) -> bool:
    """A line of only whitespace (or nothing) is not a line: not counted, not parsed."""
    return not line.strip()


def clip_raw_line(line: bytes) -> tuple[str, int, bool]:
    """(text kept in quarantine, original size in bytes, truncated?) for a raw line.

    At most RAW_LINE_MAX_BYTES are kept; bytes that are not UTF-8 become U+FFFD so that the
    quarantine column stays a valid string.
    """
    size = len(line)
    truncated = size > RAW_LINE_MAX_BYTES
    kept = line[:RAW_LINE_MAX_BYTES] if truncated else line
    return kept.decode("utf-8", "replace"), size, truncated
