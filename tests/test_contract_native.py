"""The native parse (quality/contract_native.py: Spark's JSON reader) against the Python parser
(quality/contract.py), line by line: the same accepted rows with the same values, the same
reason codes, line numbers and per-file counts. On crafted lines (every reason code, each type
trap), on the hand-written raw fixture and on fuzzed records. Each comparison first checks that
the native pass really accepted lines, and a deliberately loosened native rule is caught.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from core.tables import RAW_SOURCES
from jobs import ingest
from jobs.ingest import KIND_FILE, KIND_QUARANTINE, KIND_ROW, RawFile, parse_file
from quality import contract, contract_native
from tests.support.raw import _MISSING, ACCOUNT, BASE, DAYS, ENFORCEMENT, build_raw_small, line

DAY = dt.date(2026, 4, 22)
KEY = b"native-test-key"


def _value(v):
    # Doubles compare by their bits (a -0.0 must stay -0.0), everything else by value.
    return v.hex() if isinstance(v, float) and not math.isnan(v) else v


def _outcomes(rows: list[dict], source: str) -> dict:
    typed = [name for name, _ in contract.output_columns(source)]
    out = {"rows": {}, "quarantine": {}, "files": {}}
    for r in rows:
        where = (r["source_file"], r["line_no"])
        if r["kind"] == KIND_ROW:
            out["rows"][where] = tuple(_value(r[c]) for c in typed)
        elif r["kind"] == KIND_QUARANTINE:
            out["quarantine"][where] = (r["q_reason"], r["q_raw_line"], r["q_raw_line_bytes"])
        else:
            assert r["kind"] == KIND_FILE
            out["files"][r["source_file"]] = (r["file_lines_read"], r["file_unreadable"])
    return out


def python_outcomes(files: list[RawFile], source: str, day: dt.date, exempt: bool) -> dict:
    rows = [
        r for f in files for b in parse_file(f, source, day, KEY, exempt) for r in b.to_pylist()
    ]
    return _outcomes(rows, source)


def spark_outcomes(
    spark,
    files: list[RawFile],
    source: str,
    day: dt.date,
    first_accounts_day: dt.date | None = None,
) -> tuple[dict, set]:
    """What the ingest's parse gives, and the lines the native pass accepted itself."""
    parsed = ingest._parse(spark, source, [day], {day: files}, first_accounts_day, KEY)
    try:
        rows = parsed.frame.toArrow().to_pylist()
    finally:
        for frame in parsed.cached:
            frame.unpersist()
    native = {(r["source_file"], r["line_no"]) for r in rows if r["native"]}
    return _outcomes(rows, source), native


def write(
    tmp_path: Path, source: str, lines: list[bytes], name: str = "part-0.jsonl.gz"
) -> RawFile:
    path = tmp_path / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return RawFile(str(path), f"raw/{source}/{name}")


def assert_agree(
    spark, tmp_path, source: str, lines: list[bytes], plain: list[bytes], exempt: bool = False
) -> dict:
    """Both parsers give the same outcome for every line, and every line of `plain` (valid,
    nothing unusual) was accepted by the native pass itself."""
    raw = write(tmp_path, source, lines)
    expected = python_outcomes([raw], source, DAY, exempt)
    got, native = spark_outcomes(spark, [raw], source, DAY, DAY if exempt else None)
    assert got == expected
    numbers = {n for n, x in enumerate(lines, 1) if x in plain}
    assert numbers and numbers <= {n for _, n in native}, sorted(numbers - {n for _, n in native})
    return expected


def raw_line(base: dict | None = None, **changes) -> bytes:
    return line(base, **changes)


# Valid lines with nothing unusual: the native pass must accept them itself.
PLAIN = [
    line(),
    line(request_id="r-plain-2", ts="2026-04-22T10:00:00+02:00"),  # any offset, to UTC
    line(request_id="r3", ts="2026-04-22t10:00:00z"),
    line(request_id="r4", ts="2026-04-22 10:00:00.123456789-03:30"),  # 9 digits: truncated
    line(request_id="r5", ts="2026-04-19T00:00:00Z"),  # the start of landed day - 3
    line(request_id="r6", ts="2026-04-22T23:59:59.999999Z"),
    line(request_id="r7", ts="2026-04-22T23:59:59.5+00:00"),
    line(
        request_id="r8",
        org_id="",
        ip_type="satellite",
        topic="",
        system_prompt_hash="",
        ip_asn=None,
        country="",
        thinking_enabled=None,
    ),  # empty/unknown optional -> null
    line(request_id="r9", prompt_simhash="ABCDEF0123456789"),  # stored lower-case
    line(request_id="r10", cot_request_score=0, tool_count=0, latency_ms=0),
    line(request_id="r11", cot_request_score=1, input_tokens=2**63 - 1, turns=2**31 - 1),
    line(request_id="r12", cot_request_score=-0.0),  # keeps its sign
    line(request_id="r13", cot_request_score=0.30000000000000004),
    line(request_id="r14", cot_request_score=1e-5, ip_asn=0),
    line(request_id="r15", brand_new_field={"x": [1, "]", 2.5e10]}, another=[]),  # extra
    line(request_id="r16", user_agent='quote " backslash \\ slash / tab \t é 中 😀'),
    line(request_id="r17", user_agent="}{][,:", model="12abc", country="1.5x"),
    line(request_id="r18", client_ip="0.0.0.0", topic="other", status=529),
    line(request_id="r19", client_ip="255.255.255.255", endpoint="batches", status=429),
    line(request_id="r20", prompt_simhash="1234567890abcdef", input_tokens=-0),
    b'{ "request_id" : "r21" ,' + line()[1:].replace(b'"request_id":"req_1",', b"") + b" \r",
    line(request_id="r22", extra_number=1e99, extra_int=orjson.Fragment(b"1" + b"0" * 30)),
]
# Valid lines the native pass may leave to Python (IPv6, escapes, number-like strings...).
VALID_UNUSUAL = [
    line(request_id="u1", client_ip="2001:db8:abcd:12::1"),
    line(request_id="u2", client_ip="::ffff:198.51.100.23"),
    b" " + line(request_id="u3"),  # leading whitespace
    line(request_id="u4").replace(b'"model":"claude-opus-4-7"', b'"model":"claude\\u002dopus"'),
    line(request_id="u5", prompt_simhash="1234567890123456"),  # reads like a number
    line(request_id="u6", prompt_simhash="12345e6789012345"),
    line(request_id="123"),
    line(request_id="true", account_id="12.5", api_key_id="1E+5"),
    line(request_id="u9", note="it's"),  # an apostrophe in an extra field
    line(request_id="u10", note="NaN and Infinity are words here"),
    line(request_id="u11", extra=1.5e300),
    line(request_id="u12", topic="12"),  # unknown optional enum that reads like a number
    line(request_id="u13", ts="2026-04-22T13:45:01+05:75"),  # fromisoformat takes it
    b'{"request_id":"u14","request_id":"u14b",'
    + line()[1:].replace(b'"request_id":"req_1",', b""),  # a repeated key: the last one wins
    line(request_id="u15", **{"user_agent": "x" * (1 << 20)}),  # longer than the native limit
]
BROKEN = [
    b'{"request_id": "r1", "ts": ',
    b"NaN",
    line().replace(b'"cot_request_score":0.5', b'"cot_request_score":NaN'),
    line().replace(b'"cot_request_score":0.5', b'"cot_request_score":-Infinity'),
    line().replace(b'"latency_ms":1500', b'"latency_ms":1500,"x":NaN'),
    line().replace(b'"latency_ms":1500', b'"latency_ms":1500,"x":1.5e400'),
    line().replace(b'"latency_ms":1500', b'"latency_ms":1500,"x":' + b"9" * 400),
    line().replace(b'"request_id":"req_1"', b'"request_id":1e400'),
    b'{"request_id": "r\xff\xfe"}',
    line().replace(b'"model":"claude-opus-4-7"', b'"model":"\xc3\x28"'),
    line().replace(b'"model":"claude-opus-4-7"', b'"model":"a\\ud800b"'),
    line().replace(b'"model":"claude-opus-4-7"', b'"model":"a\x01b"'),
    line().replace(b'"model":"claude-opus-4-7"', b"\"model\":'claude'"),
    line().replace(b'"model":"claude-opus-4-7"', b'"model":"a\\xb"'),
    line() + b" trailing",
    line() + b"}",
    line() + b"]",
    line() + b"],1",
    line() + b',"x":1',
    line() + b"{}",
    line() + b"//comment",
    line()[:-1] + b",}",
    line().replace(b'"input_tokens":1200', b'"input_tokens":01200'),
    b"\xef\xbb\xbf" + line(),
    b"\x0c" + line(),
    b"[1, 2]",
    b'"just a string"',
    b"12",
    b"null",
    b"true",
    b"[" + line() + b"]",
    line(request_id=_MISSING),
    line(request_id=None),
    line(request_id=""),
    line(account_id=""),
    line(prompt_simhash=_MISSING),
    line(status=None),
    line(ts=""),
    line(input_tokens="12"),
    line(input_tokens=12.5),
    line(input_tokens=12.0),
    line(input_tokens=True),
    line(input_tokens=1e2),
    line(input_tokens=""),
    line(input_tokens=[1]),
    line(input_tokens={"v": 1}),
    line(request_id=123),
    line(request_id=1.5),
    line(request_id=True),
    line(request_id=-0.0),
    line(request_id=orjson.Fragment(b"1" + b"0" * 25)),
    line(model=["claude"]),
    line(user_agent={"a": 1}),
    line(org_id=7),
    line(country=False),
    line(system_prompt_hash=2.5e-10),
    line(thinking_enabled="true"),
    line(thinking_enabled=1),
    line(status="200"),
    line(status=200.0),
    line(status=True),
    line(cot_request_score="0.5"),
    line(cot_request_score=True),
    line(cot_request_score="NaN"),
    line(cot_request_score="Infinity"),
    line(ip_type=3),
    line(topic=5),
    line(topic=True),
    line(client_ip=167772161),
    line(ts=1776865501),
    line(endpoint=1),
    line(prompt_simhash=1234567890123456),
    line(ip_asn="64500"),
    line(latency_ms=1.0),
    line(tool_count=3.0),
    line(turns="2"),
    line(input_tokens=-1),
    line(output_tokens=-5),
    line(input_tokens=2**63),
    line(input_tokens=orjson.Fragment(b"18446744073709551616")),
    line(tool_count=-1),
    line(tool_count=2**31),
    line(turns=0),
    line(latency_ms=-1),
    line(ip_asn=-1),
    line(cot_request_score=1.0000001),
    line(cot_request_score=-0.1),
    line(cot_request_score=2),
    line(endpoint="completions"),
    line(endpoint="Messages"),
    line(status=201),
    line(prompt_simhash="0123"),
    line(prompt_simhash="0123456789abcdeg"),
    line(prompt_simhash="0123456789abcdef0"),
    line(prompt_simhash=" 123456789abcdef"),
    line(client_ip="999.1.1.1"),
    line(client_ip="1.2.3"),
    line(client_ip="01.2.3.4"),
    line(client_ip="1.2.3.4 "),
    line(client_ip="localhost"),
    line(client_ip="2001:db8::g"),
    line(ts="2026-04-22"),
    line(ts="2026-04-22T13:45Z"),
    line(ts="2026-04-22T13:45:01"),
    line(ts="2026-13-01T00:00:00Z"),
    line(ts="2026-02-29T00:00:00Z"),
    line(ts="2026-04-31T00:00:00Z"),
    line(ts="2026-04-22T24:00:00Z"),
    line(ts="2026-04-22T23:60:00Z"),
    line(ts="2026-04-22T13:45:60Z"),
    line(ts="2026-04-22T13:45:01+24:00"),
    line(ts="２０２６-04-22T10:00:00Z"),
    line(ts="2026-04-22T13:45:01.Z"),
    line(ts="2026-04-22T13:45:01.1234567890Z"),
    line(ts="0000-01-01T00:00:00Z"),
    line(ts="yesterday"),
    line(ts="2026-04-22T13:45:01+0200"),
    line(ts="2026-04-23T00:00:00Z"),
    line(ts="2026-04-22T23:30:00-01:00"),
    line(ts="2099-01-01T00:00:00Z"),
    line(ts="2026-04-18T23:59:59.999999Z"),
    line(ts="2026-04-19T01:59:59+02:00"),
    line(ts="0001-01-01T00:00:00Z"),
    line(request_id=None, input_tokens=-1),
    line(ts="2099-01-01T00:00:00Z", endpoint="x"),
]


def test_crafted_interaction_lines_agree(spark, tmp_path):
    lines = PLAIN + VALID_UNUSUAL + BROKEN
    expected = assert_agree(spark, tmp_path, "interactions", lines, PLAIN)
    # The crafted set means what it says: the valid lines are accepted, every broken line is
    # quarantined, and the reasons cover every code a line can get.
    assert len(expected["rows"]) == len(PLAIN) + len(VALID_UNUSUAL)
    assert len(expected["quarantine"]) == len(BROKEN)
    reasons = {r.split(":")[0] for r, _, _ in expected["quarantine"].values()}
    assert reasons == {
        "invalid_json",
        "not_an_object",
        "missing_field",
        "bad_type",
        "out_of_range",
        "unknown_value",
        "bad_format",
        "bad_timestamp",
        "future_ts",
        "too_late",
    }


ACCOUNT_PLAIN = [
    line(ACCOUNT),
    line(
        ACCOUNT,
        account_id="a2",
        email_domain="Student@CS.Stanford.EDU.",
        payment_fingerprint="",
        org_id="org_1",
    ),
    line(ACCOUNT, account_id="a3", email_domain="gmail.com", verified=True, tier="enterprise"),
    line(ACCOUNT, account_id="a4", email_domain="ox.ac.uk", signup_channel="reseller"),
    line(ACCOUNT, account_id="a5", email_domain="edu.example.com", billing_country=None),
    line(ACCOUNT, account_id="a6", email_domain="..."),
]
ACCOUNT_OTHER = [
    line(ACCOUNT, account_id="a7", email_domain="Ünï.edu"),
    line(ACCOUNT, account_id="a8", email_domain=" gmail.com "),
    line(ACCOUNT, account_id="a9", email_domain="12"),
    line(ACCOUNT, account_id="a10", updated_at="2025-06-01T00:00:00Z"),  # too_late or exempt
    line(ACCOUNT, tier="platinum"),
    line(ACCOUNT, signup_channel="x"),
    line(ACCOUNT, verified="yes"),
    line(ACCOUNT, verified=None),
    line(ACCOUNT, email_domain=""),
    line(ACCOUNT, email_domain=5),
    line(ACCOUNT, created_at="x"),
    line(ACCOUNT, updated_at="2026-04-23T00:00:00Z"),
]


@pytest.mark.parametrize("exempt", [False, True])
def test_crafted_account_lines_agree(spark, tmp_path, exempt):
    expected = assert_agree(
        spark, tmp_path, "accounts", ACCOUNT_PLAIN + ACCOUNT_OTHER, ACCOUNT_PLAIN, exempt
    )
    late = ("raw/accounts/part-0.jsonl.gz", len(ACCOUNT_PLAIN) + 4)
    assert (late in expected["rows"]) == exempt  # the first snapshot is exempt from too_late


def test_crafted_enforcement_lines_agree(spark, tmp_path):
    plain = [
        line(ENFORCEMENT),
        line(
            ENFORCEMENT, account_id="a2", case_id=None, action="reinstate", reason="appeal_granted"
        ),
    ]
    other = [
        line(ENFORCEMENT, action="warn"),
        line(ENFORCEMENT, reason="spam"),
        line(ENFORCEMENT, decided_at=None),
        line(ENFORCEMENT, case_id=12),
    ]
    assert_agree(spark, tmp_path, "enforcement", plain + other, plain)


def test_raw_fixture_agrees_file_by_file(spark, tmp_path):
    """The hand-written fixture, broken files included: every (source, landed day)."""
    lake = str(tmp_path / "lake")
    build_raw_small(lake)
    native_total = 0
    for source in RAW_SOURCES:
        folders, _ = ingest.list_land_days(lake, source)
        first = min(folders) if source == "accounts" else None
        for day in DAYS:
            if day not in folders:
                continue
            files = ingest.list_files(lake, source, folders[day])
            expected: dict = {"rows": {}, "quarantine": {}, "files": {}}
            for f in files:
                for part, value in python_outcomes([f], source, day, day == first).items():
                    expected[part].update(value)
            got, native = spark_outcomes(spark, files, source, day, first)
            assert got == expected, (source, day)
            native_total += len(native)
    assert native_total >= 15  # most of the fixture's valid lines went the native way


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "",
            "0",
            "12",
            "1.5",
            "true",
            "2026-04-22T10:00:00Z",
            "1.2.3.4",
            "0123456789abcdef",
            "messages",
            "coding",
            "::1",
            "NaN",
            "[1]",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=5,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    records=st.lists(
        st.dictionaries(st.sampled_from(sorted(BASE) + ["extra"]), _json_values, max_size=4),
        min_size=60,
        max_size=60,
    ),
    drops=st.lists(st.sampled_from(sorted(BASE)), max_size=60),
)
def test_fuzzed_records_agree(spark, tmp_path_factory, records, drops):
    """Mutated records (any JSON value in any field, fields dropped, stdlib json so that ints
    beyond 64 bits and infinities appear), all in one file: the parsers agree on every line."""
    lines = []
    for i, changes in enumerate(records):
        record = {**BASE, "request_id": f"f{i}"}
        record.update(changes)
        if i < len(drops):
            record.pop(drops[i], None)
        lines.append(json.dumps(record, allow_nan=True).encode())
    tmp = tmp_path_factory.mktemp("fuzz")
    assert_agree(spark, tmp, "interactions", lines + PLAIN[:2], PLAIN[:2])


def test_a_loosened_native_rule_is_caught(spark, tmp_path, monkeypatch):
    """Negative controls: with a native rule switched off, the comparison sees the difference."""
    lines = [line(), line(request_id=12), line() + b" trailing"]
    raw = write(tmp_path, "interactions", lines)
    expected = python_outcomes([raw], "interactions", DAY, False)
    assert len(expected["rows"]) == 1 and len(expected["quarantine"]) == 2
    assert spark_outcomes(spark, [raw], "interactions", DAY)[0] == expected
    # A number taken for a string: the line with "request_id": 12 is accepted as "12".
    monkeypatch.setattr(contract_native, "_NOT_A_STRING", "^$never")
    got, native = spark_outcomes(spark, [raw], "interactions", DAY)
    assert got != expected and ("raw/interactions/part-0.jsonl.gz", 2) in native
    monkeypatch.undo()
    # Trailing garbage let through: the wrapper check switched off.
    monkeypatch.setattr(contract_native, "_single_value", lambda *cols: F.lit(True))
    got, _ = spark_outcomes(spark, [raw], "interactions", DAY)
    assert got != expected
    assert ("raw/interactions/part-0.jsonl.gz", 3) in got["rows"]


def test_an_altered_line_is_caught(spark, tmp_path):
    """Negative control of the comparison itself: one value changed on one side is seen."""
    raw = write(tmp_path, "interactions", [line()])
    expected = python_outcomes([raw], "interactions", DAY, False)
    other = write(tmp_path / "b", "interactions", [line(input_tokens=1201)])
    got, native = spark_outcomes(spark, [other], "interactions", DAY)
    assert native and got["rows"].keys() == expected["rows"].keys()
    assert got != expected


def test_suspect_positions_find_what_spark_would_let_through():
    data = b"\n".join(
        [
            line(),
            line(x=orjson.Fragment(b"1.5e400")),
            line(note="it's"),
            b'{"a":[1]}',
            line(x=orjson.Fragment(b"1" * 250)),
            line(x=orjson.Fragment(b"1e99")),
            line(x=orjson.Fragment(b"-2.5E+308")),
        ]
    )
    ends = [i + 1 for i, b in enumerate(data + b"\n") if b == 10]
    suspect, brackets = contract_native.suspect_positions(data + b"\n")
    lines_of = {sum(1 for e in ends if e <= p) + 1 for p in suspect}
    assert lines_of == {2, 3, 5, 7}
    assert {sum(1 for e in ends if e <= p) + 1 for p in brackets} == {4}


_physical_lines = st.lists(
    st.one_of(
        st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")),
        st.sampled_from([b"", b"  ", b"\r", b"{}", line()]),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None, database=None)
@given(
    lines=_physical_lines,
    gz=st.booleans(),
    final_newline=st.booleans(),
    piece=st.integers(min_value=1, max_value=64),
    cut=st.integers(min_value=0, max_value=3),
)
def test_block_reader_yields_the_lines_of_the_line_reader(
    tmp_path_factory, lines, gz, final_newline, piece, cut
):
    """RawFileReader.blocks() against iterating the reader: the same lines, numbers, oversized
    lines, error and tail, with tiny pieces so that lines straddle them, and files cut short."""
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    payload = gzip.compress(data) if gz else data
    if gz and cut:
        payload = payload[: max(1, len(payload) - cut * 7)]  # a truncated gzip
    path = tmp_path_factory.mktemp("r") / ("f.jsonl.gz" if gz else "f.jsonl")
    path.write_bytes(payload)
    mp = pytest.MonkeyPatch()
    mp.setattr(ingest, "PIECE_MAX", piece)
    mp.setattr(ingest, "READ_CHUNK", piece)
    mp.setattr(ingest, "LINE_HARD_LIMIT", 40)  # some lines are oversized
    try:
        by_line = ingest.RawFileReader(str(path))
        expected = [
            (by_line.line_no, (x.head, x.size) if isinstance(x, ingest._Oversized) else x)
            for x in by_line
        ]
        by_block = ingest.RawFileReader(str(path))
        got = []
        for block in by_block.blocks():
            if isinstance(block, ingest._Oversized):
                got.append((by_block.line_no, (block.head, block.size)))
                continue
            first, data_, ends = block
            starts = [0, *ends[:-1]]
            got += [
                (first + i, data_[s : e - 1])
                for i, (s, e) in enumerate(zip(starts, ends, strict=True))
            ]
            assert all(data_[e - 1 : e] == b"\n" for e in ends)
    finally:
        mp.undo()
    assert got == expected
    assert (by_block.line_no, by_block.error, by_block.tail) == (
        by_line.line_no,
        by_line.error,
        by_line.tail,
    )
