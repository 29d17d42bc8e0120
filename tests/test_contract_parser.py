"""Pure tests of the raw-line contract (quality/contract.py), the file reader and pseudonyms.

No Spark: every broken kind of line gets its exact reason; fuzzing proves the parser never raises
and gives exactly one outcome per non-empty line, including through the streaming file reader.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.tables import BRONZE
from jobs.ingest import KIND_FILE, KIND_QUARANTINE, KIND_ROW, RawFile, parse_file
from quality import contract, privacy
from quality.contract import LineParser, clip_raw_line, is_blank, output_columns, parse_line
from tests.support.raw import _MISSING, ACCOUNT, BASE, ENFORCEMENT, line

DAY = dt.date(2026, 4, 22)
KEY = b"unit-test-key"


def reason(raw: bytes, source: str = "interactions", **kw) -> str | None:
    return parse_line(source, raw, DAY, KEY, **kw).reason


def test_valid_interaction_is_typed_pseudonymised_and_utc():
    out = parse_line("interactions", line(), DAY, KEY)
    assert out.reason is None
    row = out.row
    assert row["ts"] == dt.datetime(2026, 4, 22, 13, 45, 1, 123000, tzinfo=dt.UTC)
    assert row["event_date"] == DAY
    assert row["prompt_simhash"] == "0123456789abcdef"  # stored lower-case
    assert row["ip_prefix"] == "203.0.113.0/24"
    assert len(row["ip_hash"]) == 32 and "203.0.113.7" not in row.values()
    assert "client_ip" not in row
    assert row["input_tokens"] == 1200 and row["status"] == 200
    assert row["thinking_enabled"] is True and row["cot_request_score"] == 0.5
    # Negative control: a different key gives a different pseudonym for the same address.
    other = parse_line("interactions", line(), DAY, b"another-key").row
    assert other["ip_hash"] != row["ip_hash"] and other["ip_prefix"] == row["ip_prefix"]


def test_output_columns_match_registry_bronze_schema():
    for source, table in BRONZE.items():
        names = [n for n, _ in output_columns(source)]
        assert names == table.columns[: len(names)], source
        assert table.columns[len(names) :] == ["land_date", "source_file", "line_no"]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b'{"request_id": "r1", "ts": ', "invalid_json"),
        (b"NaN", "invalid_json"),
        (line().replace(b'"cot_request_score":0.5', b'"cot_request_score":NaN'), "invalid_json"),
        (
            line().replace(b'"cot_request_score":0.5', b'"cot_request_score":Infinity'),
            "invalid_json",
        ),
        (b'{"request_id": "r\xff\xfe"}', "invalid_json"),  # not UTF-8
        (line() + b" trailing", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b'"just a string"', "not_an_object"),
        (b"12", "not_an_object"),
        (b"null", "not_an_object"),
        (line(request_id=_MISSING), "missing_field:request_id"),
        (line(request_id=None), "missing_field:request_id"),
        (line(request_id=""), "missing_field:request_id"),  # an empty id is a missing id
        (line(account_id=""), "missing_field:account_id"),
        (line(prompt_simhash=_MISSING), "missing_field:prompt_simhash"),
        (line(status=None), "missing_field:status"),
        (line(input_tokens="12"), "bad_type:input_tokens"),
        (line(input_tokens=12.5), "bad_type:input_tokens"),
        (line(input_tokens=12.0), "bad_type:input_tokens"),
        (line(input_tokens=True), "bad_type:input_tokens"),
        (line(request_id=123), "bad_type:request_id"),
        (line(model=["claude"]), "bad_type:model"),
        (line(org_id=7), "bad_type:org_id"),  # a number for an optional string is still wrong
        (line(thinking_enabled="true"), "bad_type:thinking_enabled"),
        (line(thinking_enabled=1), "bad_type:thinking_enabled"),
        (line(status="200"), "bad_type:status"),
        (line(status=200.0), "bad_type:status"),
        (line(cot_request_score="0.5"), "bad_type:cot_request_score"),
        (line(cot_request_score=True), "bad_type:cot_request_score"),
        (line(ip_type=3), "bad_type:ip_type"),
        (line(client_ip=167772161), "bad_type:client_ip"),
        (line(ts=1776865501), "bad_type:ts"),
        (line(input_tokens=-1), "out_of_range:input_tokens"),
        (line(output_tokens=-5), "out_of_range:output_tokens"),
        (line(input_tokens=2**63), "out_of_range:input_tokens"),
        (line(tool_count=-1), "out_of_range:tool_count"),
        (line(tool_count=2**31), "out_of_range:tool_count"),
        (line(turns=0), "out_of_range:turns"),
        (line(latency_ms=-1), "out_of_range:latency_ms"),
        (line(ip_asn=-1), "out_of_range:ip_asn"),
        (line(cot_request_score=1.0000001), "out_of_range:cot_request_score"),
        (line(cot_request_score=-0.1), "out_of_range:cot_request_score"),
        (line(endpoint="completions"), "unknown_value:endpoint"),
        (line(endpoint="Messages"), "unknown_value:endpoint"),
        (line(status=201), "unknown_value:status"),
        (line(prompt_simhash="0123"), "bad_format:prompt_simhash"),
        (line(prompt_simhash="0123456789abcdeg"), "bad_format:prompt_simhash"),
        (line(prompt_simhash="0123456789abcdef0"), "bad_format:prompt_simhash"),
        (line(client_ip="999.1.1.1"), "bad_format:client_ip"),
        (line(client_ip="1.2.3"), "bad_format:client_ip"),
        (line(client_ip="localhost"), "bad_format:client_ip"),
        (line(client_ip="2001:db8::g"), "bad_format:client_ip"),
        (line(ts="2026-04-22"), "bad_timestamp:ts"),
        (line(ts="2026-04-22T13:45Z"), "bad_timestamp:ts"),
        (line(ts="2026-04-22T13:45:01"), "bad_timestamp:ts"),  # no offset
        (line(ts="2026-13-01T00:00:00Z"), "bad_timestamp:ts"),
        (line(ts="2026-04-22T24:00:01Z"), "bad_timestamp:ts"),
        (line(ts="yesterday"), "bad_timestamp:ts"),
        (line(ts="2026-04-23T00:00:00Z"), "future_ts"),  # exactly the end of the landed day
        (line(ts="2026-04-22T23:30:00-01:00"), "future_ts"),  # 00:30 UTC the next day
        (line(ts="2099-01-01T00:00:00Z"), "future_ts"),
        (line(ts="2026-04-18T23:59:59.999999Z"), "too_late"),  # just before landed day - 3
        (line(ts="0001-01-01T00:00:00Z"), "too_late"),
    ],
)
def test_broken_lines_get_their_exact_reason(raw, expected):
    assert reason(raw) == expected


def test_first_failure_in_contract_order_wins():
    # request_id comes before input_tokens in the contract: its failure is the one reported.
    assert reason(line(request_id=None, input_tokens=-1)) == "missing_field:request_id"
    assert reason(line(input_tokens=-1, status=999)) == "out_of_range:input_tokens"
    # Field failures come before record-time checks.
    assert reason(line(ts="2099-01-01T00:00:00Z", endpoint="x")) == "unknown_value:endpoint"


@pytest.mark.parametrize(
    "ts, event_date",
    [
        ("2026-04-19T00:00:00Z", dt.date(2026, 4, 19)),  # the start of landed day - 3: still ok
        ("2026-04-22T23:59:59.999999Z", DAY),
        ("2026-04-23T01:00:00+02:00", DAY),  # 23:00 UTC on the landed day
        ("2026-04-22t10:00:00z", DAY),
        ("2026-04-22 10:00:00.123456789+00:00", DAY),
    ],
)
def test_timestamps_any_offset_converted_to_utc(ts, event_date):
    out = parse_line("interactions", line(ts=ts), DAY, KEY)
    assert out.reason is None and out.row["event_date"] == event_date
    assert out.row["ts"].utcoffset() == dt.timedelta(0)


def test_optional_fields_empty_null_unknown_and_extra():
    raw = line(
        org_id="",
        ip_type="satellite",
        topic="poetry",
        system_prompt_hash="",
        ip_asn=None,
        country="",
        thinking_enabled=None,
        brand_new_field={"x": [1, 2]},
        client_ip="2001:db8:abcd:12::1",
    )
    row = parse_line("interactions", raw, DAY, KEY).row
    assert row is not None
    for name in (
        "org_id",
        "ip_type",
        "topic",
        "system_prompt_hash",
        "ip_asn",
        "country",
        "thinking_enabled",
    ):
        assert row[name] is None, name
    assert row["ip_prefix"] == "2001:db8:abcd::/48"
    assert "brand_new_field" not in row
    # Negative control: known optional enum values are kept.
    assert parse_line("interactions", line(), DAY, KEY).row["ip_type"] == "datacenter"


def test_accounts_contract_and_snapshot_exemption():
    row = parse_line("accounts", line(ACCOUNT), DAY, KEY).row
    assert row["email_domain_class"] == "edu" and len(row["email_domain_hash"]) == 32
    assert "email_domain" not in row and row["org_id"] is None
    assert row["event_date"] == DAY and row["verified"] is False
    old = line(ACCOUNT, updated_at="2025-06-01T00:00:00Z")
    assert reason(old, "accounts") == "too_late"
    assert reason(old, "accounts", exempt_too_late=True) is None
    assert (
        reason(line(ACCOUNT, updated_at="2026-04-23T00:00:00Z"), "accounts", exempt_too_late=True)
        == "future_ts"
    )
    assert reason(line(ACCOUNT, tier="platinum"), "accounts") == "unknown_value:tier"
    assert reason(line(ACCOUNT, signup_channel="x"), "accounts") == "unknown_value:signup_channel"
    assert reason(line(ACCOUNT, verified="yes"), "accounts") == "bad_type:verified"
    assert reason(line(ACCOUNT, verified=None), "accounts") == "missing_field:verified"
    assert reason(line(ACCOUNT, email_domain=""), "accounts") == "missing_field:email_domain"
    assert reason(line(ACCOUNT, created_at="x"), "accounts") == "bad_timestamp:created_at"


def test_enforcement_contract():
    row = parse_line("enforcement", line(ENFORCEMENT), DAY, KEY).row
    assert row["action"] == "ban" and row["reason"] == "distillation"
    assert reason(line(ENFORCEMENT, action="warn"), "enforcement") == "unknown_value:action"
    assert reason(line(ENFORCEMENT, reason="spam"), "enforcement") == "unknown_value:reason"
    assert reason(line(ENFORCEMENT, decided_at=None), "enforcement") == "missing_field:decided_at"


def test_huge_strings_and_lines():
    big = "x" * (5 << 20)
    row = parse_line("interactions", line(user_agent=big), DAY, KEY).row
    assert row is not None and len(row["user_agent"]) == 5 << 20
    one_mb = b'{"junk": "' + b"a" * (1 << 20) + b'"'  # 1 MB of unterminated JSON
    assert reason(one_mb) == "invalid_json"
    text, size, truncated = clip_raw_line(one_mb)
    assert truncated and size == len(one_mb) and len(text.encode()) == 1 << 20
    text, size, truncated = clip_raw_line(b"\xffabc")
    assert (text, size, truncated) == ("\ufffdabc", 4, False)


def test_blank_lines():
    assert is_blank(b"") and is_blank(b"   \t \r") and is_blank(b"\x0b\x0c")
    assert not is_blank(b" x ") and not is_blank(b"{}")


# --- fuzzing -----------------------------------------------------------------------------------


def _one_outcome(raw: bytes, parser: LineParser) -> None:
    values, why = parser.parse(raw)
    assert (values is None) != (why is None)
    if values is not None:
        assert len(values) == len(output_columns(parser.source))
    else:
        assert isinstance(why, str) and why


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_never_raise(raw):
    for source in contract.FIELDS:
        _one_outcome(raw, LineParser(source, DAY, KEY))


@settings(max_examples=400, deadline=None, database=None)
@given(
    st.dictionaries(st.sampled_from(sorted(BASE)), _json_values, max_size=8),
    st.sampled_from(["drop", "keep"]),
)
def test_fuzz_mutated_records_never_raise(changes, mode):
    record = {} if mode == "drop" else dict(BASE)
    record.update(changes)
    raw = json.dumps(record).encode()  # stdlib: also writes ints beyond 64 bits
    for source in contract.FIELDS:
        _one_outcome(raw, LineParser(source, DAY, KEY))


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=200))
def test_fuzz_jsonish_text_never_raises(text):
    raw = text.encode("utf-8", "surrogatepass")
    _one_outcome(raw, LineParser("interactions", DAY, KEY))
    _one_outcome(b'{"request_id": ' + raw + b"}", LineParser("interactions", DAY, KEY))


# --- the streaming file reader (jobs/ingest.py, no Spark needed) -------------------------------


def _outcomes(path, source: str = "interactions") -> dict[str, list]:
    out = {"rows": [], "quarantine": [], "files": []}
    for batch in parse_file(RawFile(str(path), "raw/x/" + path.name), source, DAY, KEY):
        d = batch.to_pydict()
        for i, kind in enumerate(d["kind"]):
            if kind == KIND_ROW:
                out["rows"].append((d["line_no"][i], d["request_id"][i]))
            elif kind == KIND_QUARANTINE:
                out["quarantine"].append(
                    (
                        d["line_no"][i],
                        d["q_reason"][i],
                        d["q_raw_line_bytes"][i],
                        d["q_raw_line_truncated"][i],
                    )
                )
            else:
                assert kind == KIND_FILE
                out["files"].append((d["file_lines_read"][i], d["file_unreadable"][i]))
    return out


_nasty_lines = st.one_of(
    st.binary(max_size=200).map(lambda b: b.replace(b"\n", b"")),
    st.sampled_from(
        [
            b"",
            b"   ",
            b"\t\r",
            b"NaN",
            b"{}",
            b"[]",
            b"\xff\xfe\xfd",
            line(),
            line(input_tokens="12"),
            line(request_id=""),
            b'{"a":' * 50,
        ]
    ),
)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=st.lists(_nasty_lines, max_size=40), gz=st.booleans(), final_newline=st.booleans())
def test_fuzz_file_reader_accounts_for_every_line(tmp_path_factory, lines, gz, final_newline):
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    path = tmp_path_factory.mktemp("f") / ("part.jsonl.gz" if gz else "part.jsonl")
    path.write_bytes(gzip.compress(data) if gz else data)
    out = _outcomes(path)
    expected = sum(1 for x in data.split(b"\n") if x.strip())
    assert out["files"] == [(expected, False)]
    assert len(out["rows"]) + len(out["quarantine"]) == expected
    line_nos = sorted([n for n, *_ in out["rows"]] + [n for n, *_ in out["quarantine"]])
    assert len(set(line_nos)) == len(line_nos)


def test_reader_huge_line_and_unreadable_files(tmp_path):
    huge = b'{"user_agent": "' + b"u" * (3 << 20) + b'"}'  # 3 MB, valid JSON, broken record
    path = tmp_path / "big.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join([line(), huge, b"   ", line(request_id="r2")])))
    out = _outcomes(path)
    assert out["rows"] == [(1, "req_1"), (4, "r2")]
    assert out["quarantine"] == [(2, "missing_field:request_id", len(huge), True)]
    assert out["files"] == [(3, False)]

    not_gzip = tmp_path / "plain.jsonl.gz"
    not_gzip.write_bytes(line() + b"\n" + line() + b"\n")
    out = _outcomes(not_gzip)
    assert out["rows"] == [] and out["files"] == [(1, True)]
    assert [q[:2] for q in out["quarantine"]] == [(1, "unreadable_file")]

    # A complete member with two lines, then a member cut inside: 2 lines + 1 unreadable.
    truncated = tmp_path / "cut.jsonl.gz"
    good = gzip.compress(line() + b"\n" + line(request_id="r2") + b"\n")
    truncated.write_bytes(good + gzip.compress(line() * 100)[:40])
    out = _outcomes(truncated)
    assert out["rows"] == [(1, "req_1"), (2, "r2")]
    assert [q[:2] for q in out["quarantine"]] == [(3, "unreadable_file")]
    assert out["files"] == [(3, True)]

    empty = tmp_path / "empty.jsonl.gz"
    empty.write_bytes(b"")
    assert _outcomes(empty)["files"] == [(0, False)]


# --- privacy -----------------------------------------------------------------------------------


def test_ip_pseudonyms():
    assert privacy.ip_pseudonyms(KEY, "198.51.100.23")[0] == "198.51.100.0/24"
    assert privacy.ip_pseudonyms(KEY, "::ffff:198.51.100.23") == privacy.ip_pseudonyms(
        KEY, "198.51.100.23"
    )
    assert privacy.ip_pseudonyms(KEY, "2001:db8:abcd:12::1")[0] == "2001:db8:abcd::/48"
    # The fast IPv4 path agrees with the ipaddress module on the hash.
    assert privacy.ip_pseudonyms(KEY, "10.0.0.1")[1] == privacy.keyed_hash(
        KEY, b"ip", bytes([10, 0, 0, 1])
    )
    for bad in ("01.2.3.4", "1.2.3.256", " 1.2.3.4", "1.2.3", "", "a" * 100):
        assert privacy.ip_pseudonyms(KEY, bad) is None, bad


def test_email_domain_class():
    assert privacy.email_domain_class("mit.edu") == "edu"
    assert privacy.email_domain_class("cs.ox.ac.uk") == "edu"
    assert privacy.email_domain_class("unimelb.edu.au") == "edu"
    assert privacy.email_domain_class("GMail.com.") == "freemail"
    assert privacy.email_domain_class("edu.example.com") == "other"
    assert privacy.email_domain_class("acme.io") == "other"


def test_pseudonym_key_generated_once_and_never_logged(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    monkeypatch.setenv("RISK_PSEUDONYM_KEY_FILE", str(tmp_path / "cfg" / "pseudonym.key"))
    with caplog.at_level(logging.WARNING, logger="risk.privacy"):
        first = privacy.pseudonym_key()
    assert len(first) == 64 and (tmp_path / "cfg" / "pseudonym.key").is_file()
    assert "generated a pseudonymisation key" in caplog.text
    assert first.decode() not in caplog.text
    assert oct((tmp_path / "cfg" / "pseudonym.key").stat().st_mode & 0o777) == "0o600"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="risk.privacy"):
        assert privacy.pseudonym_key() == first  # reused, silently
    assert caplog.text == ""
    monkeypatch.setenv(privacy.KEY_ENV, "from-env")
    assert privacy.pseudonym_key() == b"from-env"
