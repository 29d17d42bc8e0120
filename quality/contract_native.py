"""The raw-zone contract as Spark SQL expressions: accept a line natively, or leave it undecided.

`quality.contract` is the definition: every line it accepts has one typed row, every other line
one reason code. This module builds the same typed row with Spark's own JSON parser for the
lines it can be sure of, so that ingest parses most lines without Python. It never names a
reason: a line it does not accept (broken, or merely unusual: IPv6, a lone surrogate escape, an
apostrophe...) is *undecided* and goes to `quality.contract`, which gives the exact outcome. Its
one promise, held by a differential test: a line accepted here is accepted by
`quality.contract` with exactly the same values. Leaving too much undecided costs only speed.

How Spark's lenient JSON reader is made strict:
- `from_json` with the contract's types and a corrupt-record column: an integer field only takes
  an integer literal that fits, a boolean only `true`/`false`, a double only a number (or the
  strings "NaN"/"Infinity", which the range check refuses); any failed conversion marks the
  record corrupt, and a corrupt record is undecided.
- A string field takes any token (a number comes back as its digits): a value that could be the
  text of a number, a boolean, an object or an array is undecided unless its shape proves it was
  a string (a timestamp, an IPv4 address, a known enum value).
- `from_json` stops after the first JSON value; `json_array_length` of the line wrapped as `[line]`
  and `[line,0]` must be 1 and 2, which holds only when nothing but whitespace follows it.
- What Spark's reader allows and JSON (and orjson) does not is undecided from the raw text:
  single quotes, NaN/Infinity literals, invalid UTF-8, lone surrogate escapes, and numbers that
  overflow a double (an exponent of 3+ digits or a run of 200+ digits, anywhere in the line).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import TYPE_CHECKING

from quality import contract, privacy
from quality.contract import (
    BOOL,
    DOMAIN,
    ENUM,
    FLOAT,
    INT,
    LATENESS_DAYS,
    SIMHASH,
    STR,
    TS,
    US_PER_DAY,
)

if TYPE_CHECKING:
    from pyspark.sql import Column

# Lines longer than this are left to Python (rare; it bounds what one row costs the JVM).
MAX_NATIVE_BYTES = 1 << 20
CORRUPT = "_corrupt_record"

_HMAC_BLOCK = 64
_IPV4_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"^{_IPV4_OCTET}\.{_IPV4_OCTET}\.{_IPV4_OCTET}\.{_IPV4_OCTET}$"
# contract._TS_RE with ASCII digits only (Python's \d also takes other scripts' digits: such
# lines are left to Python).
_TS = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
# What a non-string token looks like once Spark has turned it into a string.
_NOT_A_STRING = r"(?s)^(-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?|true|false|[\[{].*)$"
# Printable ASCII without spaces: Python's strip()/lower() and Spark's lower() agree on it.
_PLAIN_DOMAIN = r"^[!-~]+$"

# Raw text that makes a line undecided before Spark sees it: a \u escape (a lone surrogate is
# replaced by Spark and refused by orjson), single quotes and non-numeric numbers (accepted by
# Spark's reader, not by JSON).
_SUSPECT = (b"\\u", b"'", b"NaN", b"INF", b"Inf")
# Numbers that overflow a double (orjson refuses them; Spark skips them unread in an unknown
# field): an exponent of 3+ digits, or 200+ digits in a row. Searched in a copy of the bytes
# where every byte is replaced by its class, so that one small pattern finds them.
_CLASSES = bytes(
    ord("d")
    if chr(b).isdigit() and b < 128
    else ord("e")
    if b in b"eE"
    else ord("s")
    if b in b"+-"
    else ord(".")
    if b == ord(".")
    else ord(":")
    if b in b":,[ \t\r\n"
    else ord("x")
    for b in range(256)
)
_EXPONENT = re.compile(rb":s?d+(?:\.d+)?es?ddd")
_LONG_DIGITS = b"d" * 200


def suspect_positions(data: bytes) -> tuple[list[int], list[int]]:
    """(offsets in `data` that make their line undecided, offsets of `]`).

    Whole blocks of lines are scanned at once (bytes.find and one regex over a translated copy
    run in C), so a typical line costs no Python at all.
    """
    found: list[int] = []
    for needle in _SUSPECT:
        at = data.find(needle)
        while at >= 0:
            found.append(at)
            at = data.find(needle, at + 1)
    classes = data.translate(_CLASSES)
    found += [m.start() for m in _EXPONENT.finditer(classes)]
    at = classes.find(_LONG_DIGITS)
    while at >= 0:
        found.append(at)
        at = classes.find(_LONG_DIGITS, at + len(_LONG_DIGITS))
    brackets = []
    at = data.find(b"]")
    while at >= 0:
        brackets.append(at)
        at = data.find(b"]", at + 1)
    return found, brackets


def read_schema(source: str) -> str:
    """The DDL `from_json` reads a line with: each contract field at its parsed type (strings for
    timestamps, IPs and domains, converted afterwards) and the corrupt-record column."""
    parts = [f"{f.name} {_read_type(f)}" for f in contract.FIELDS[source]]
    return ", ".join(parts + [f"{CORRUPT} STRING"])


def _read_type(f: contract.Field) -> str:
    if f.kind == INT or (f.kind == ENUM and f.name == "status"):
        return "INT" if f.name in contract._INT_TYPES else "BIGINT"
    return {BOOL: "BOOLEAN", FLOAT: "DOUBLE"}.get(f.kind, "STRING")


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer key pads (RFC 2104)."""
    if len(key) > _HMAC_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_HMAC_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def _keyed_hash(pads: tuple[bytes, bytes], label: bytes, value):
    """privacy.keyed_hash in Spark SQL: HMAC-SHA256 of `label NUL value`, 32 hex digits."""
    from pyspark.sql import functions as F

    inner = F.unhex(F.sha2(F.concat(F.lit(pads[0] + label + b"\0"), value), 256))
    return F.substring(F.sha2(F.concat(F.lit(pads[1]), inner), 256), 1, privacy.HASH_HEX_CHARS)


def _timestamp_micros(s):
    """RFC 3339 text (already matched by _TS) -> microseconds since the epoch, or NULL when the
    date or time is impossible (what datetime.fromisoformat refuses)."""
    from pyspark.sql import functions as F

    def num(pos: int, n: int):
        return F.substring(s, pos, n).try_cast("int")

    year, month, day = num(1, 4), num(6, 2), num(9, 2)
    hour, minute, sec = num(12, 2), num(15, 2), num(18, 2)
    zulu = F.upper(F.substring(s, -1, 1)) == "Z"
    off_h = F.when(zulu, 0).otherwise(F.substring(s, -5, 2).try_cast("int"))
    off_m = F.when(zulu, 0).otherwise(F.substring(s, -2, 2).try_cast("int"))
    sign = F.when(F.substring(s, -6, 1) == "-", -1).otherwise(1)
    # The fraction (1-9 digits) is truncated to microseconds, as fromisoformat does.
    digits = F.length(s) - F.when(zulu, 21).otherwise(26)
    frac = F.when(
        digits > 0, F.rpad(F.substring(s, 21, F.least(digits, F.lit(6))), 6, "0").try_cast("long")
    ).otherwise(0)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = (
        F.when(month == 2, F.when(leap, 29).otherwise(28))
        .when(month.isin(4, 6, 9, 11), 30)
        .otherwise(31)
    )
    valid = (
        year.between(1, 9999)
        & month.between(1, 12)
        & day.between(1, month_days)
        & hour.between(0, 23)
        & minute.between(0, 59)
        & sec.between(0, 59)
        & off_h.between(0, 23)
        & off_m.between(0, 59)
    )
    days = F.unix_date(F.make_date(year, month, day)).cast("long")
    secs = days * 86400 + hour * 3600 + minute * 60 + sec - sign * (off_h * 3600 + off_m * 60)
    return F.when(valid, secs * 1_000_000 + frac)


def _single_value(line_col: str, bracket_col: str) -> Column:
    """The line holds exactly one JSON value and nothing after it but whitespace: `[line]` has
    one element, and `[line,0]` two when a `]` in the line could have closed the wrapper early
    (both counts would then be the same). A seam: tests switch it off to see it matter."""
    from pyspark.sql import functions as F

    def count(suffix: str):
        return F.expr(f"json_array_length(concat('[', CAST({line_col} AS STRING), '{suffix}'))")

    return (count("]") == 1) & (~F.col(bracket_col) | (count(",0]") == 2))


def native_parse(
    lines,
    source: str,
    key: bytes,
    exempt_day: dt.date | None = None,
    line_col: str = "line",
    land_col: str = "land_date",
    bracket_col: str = "bracket",
):
    """`lines` plus the source's typed columns (`contract.output_columns`: names and types) and
    `native_ok`: true when the line is accepted, false when it is left undecided (the typed
    columns of an undecided line are then null).

    `line_col` holds the raw line (BINARY; a trailing newline is allowed), `land_col` its landed
    day (DATE), `exempt_col` whether the too_late check is waived (the registry's first
    snapshot), `bracket_col` whether the line holds a `]`. The line must already be free of
    `suspect_spans` (the reader leaves those lines to Python).
    """
    from pyspark.sql import functions as F

    pads = _hmac_pads(key)
    text = F.col(line_col).cast("string")
    guard = (
        (F.length(line_col) <= MAX_NATIVE_BYTES + 1)
        & F.expr(f"is_valid_utf8({line_col})")
        & _single_value(line_col, bracket_col)
    )
    parsed = "_native"
    frame = lines.withColumn(
        parsed,
        F.when(
            guard, F.from_json(text, read_schema(source), {"columnNameOfCorruptRecord": CORRUPT})
        ),
    )

    checks = [F.col(parsed).isNotNull(), F.col(f"{parsed}.{CORRUPT}").isNull()]
    values: dict[str, object] = {}
    record_us: Column | None = None
    for f in contract.FIELDS[source]:
        v = F.col(f"{parsed}.{f.name}")
        absent = v.isNull() | (v == "") if _read_type(f) == "STRING" else v.isNull()
        if f.kind in (STR, DOMAIN):
            ok = ~v.rlike(_NOT_A_STRING)
            if f.kind == STR:
                out = {f.name: v}
            else:
                ok = ok & v.rlike(_PLAIN_DOMAIN)
                domain = F.regexp_replace(F.substring_index(F.lower(v), "@", -1), r"\.+$", "")
                labels = F.split(domain, r"\.", -1)
                edu = (F.element_at(labels, -1) == "edu") | (
                    (F.size(labels) >= 3)
                    & F.element_at(labels, -2).isin("edu", "ac")
                    & (F.length(F.element_at(labels, -1)) == 2)
                )
                out = {
                    "email_domain_hash": _keyed_hash(
                        pads, b"email_domain", F.encode(domain, "UTF-8")
                    ),
                    "email_domain_class": F.when(
                        domain.isin(sorted(privacy.FREEMAIL_DOMAINS)), "freemail"
                    )
                    .when(edu, "edu")
                    .otherwise("other"),
                }
        elif f.kind == INT:
            ok, out = v.between(int(f.lo), int(f.hi)), {f.name: v}
        elif f.kind == ENUM and f.name == "status":
            ok, out = v.isin(sorted(f.allowed)), {f.name: v}
        elif f.kind == ENUM:
            known = v.isin(sorted(f.allowed))
            # An unknown value of an optional enum is null, if it was a string at all.
            ok = known if f.required else known | ~v.rlike(_NOT_A_STRING)
            out = {f.name: F.when(known, v)}
        elif f.kind == TS:
            us = F.when(v.rlike(_TS), _timestamp_micros(v))
            ok, out = us.isNotNull(), {f.name: F.timestamp_micros(us)}
            if f.name == contract.RECORD_TIME[source]:
                record_us = us
        elif f.kind in (BOOL, FLOAT):
            ok = F.lit(True) if f.kind == BOOL else v.between(f.lo, f.hi)
            out = {f.name: v}
        elif f.kind == SIMHASH:
            ok = v.rlike("^[0-9a-fA-F]{16}$") & ~v.rlike(_NOT_A_STRING)
            out = {f.name: F.lower(v)}
        else:  # IP: three dots, so never the text of a number
            ok = v.rlike(_IPV4)
            octets = F.split(v, r"\.")
            packed = F.unhex(
                F.lpad(
                    F.hex(
                        octets[0].try_cast("long") * 16777216
                        + octets[1].try_cast("long") * 65536
                        + octets[2].try_cast("long") * 256
                        + octets[3].try_cast("long")
                    ),
                    8,
                    "0",
                )
            )
            out = {
                "ip_prefix": F.concat(F.substring_index(v, ".", 3), F.lit(".0/24")),
                "ip_hash": _keyed_hash(pads, b"ip", packed),
            }
        checks.append(~absent & ok if f.required else absent | ok)
        values.update({name: F.when(~absent & ok, value) for name, value in out.items()})
    if record_us is None:
        raise ValueError(f"the contract names no record time among the fields of {source!r}")
    land_us = F.unix_date(F.col(land_col)).cast("long") * US_PER_DAY
    checks.append(record_us < land_us + US_PER_DAY)
    exempt = F.lit(False) if exempt_day is None else F.col(land_col) == F.lit(exempt_day)
    checks.append(exempt | (record_us >= land_us - LATENESS_DAYS * US_PER_DAY))
    values["event_date"] = F.date_from_unix_date(F.floor(record_us / US_PER_DAY).cast("int"))
    accepted = F.lit(True)
    for check in checks:
        accepted = accepted & F.coalesce(check, F.lit(False))
    return frame.select(
        *lines.columns,
        *[F.when(accepted, value).alias(name) for name, value in values.items()],
        accepted.alias("native_ok"),
    )
