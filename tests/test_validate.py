"""The Great Expectations gate on the clean tables: a passing day (with a volume warning that
does not block), a blocked day with the message an engineer sees, stored results, Data Docs
without personal data, and the reusable `validate_frame`.

Silver tables are written directly from tiny hand-made rows (parsed by the contract, so they
look exactly like ingested rows); no ingest run is needed.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import orjson
import pytest

from core import delta_io
from core.errors import GateFailed
from core.tables import INGEST_AUDIT, SILVER, VALIDATION_RESULTS
from jobs.validate import _per_day_only, validate_days, validate_frame
from quality import suites
from quality.contract import parse_line

D1, D2 = dt.date(2026, 4, 20), dt.date(2026, 4, 21)
RAW_IP, RAW_DOMAIN = "203.0.113.7", "uni-example.edu"


def interaction(request_id: str, day: dt.date, **changes) -> dict:
    record = {
        "request_id": request_id,
        "ts": f"{day}T10:00:00Z",
        "account_id": "acct_1",
        "api_key_id": "key_1",
        "model": "claude-opus-4-7",
        "endpoint": "messages",
        "client_ip": RAW_IP,
        "input_tokens": 100,
        "output_tokens": 20,
        "prompt_simhash": "0123456789ABCDEF",
        "topic": "coding",
        "cot_request_score": 0.3,
        "status": 200,
    }
    return {**record, **changes}


def silver_rows(source: str, day: dt.date, records: list[dict]) -> list[tuple]:
    """Rows exactly as ingest would store them (the contract parses and pseudonymises)."""
    table = SILVER[source]
    rows = []
    for line_no, record in enumerate(records, 1):
        out = parse_line(source, orjson.dumps(record), day, b"test-key")
        assert out.reason is None, out.reason
        row = {
            **out.row,
            "land_date": day,
            "source_file": f"raw/{source}/date={day}/p.jsonl",
            "line_no": line_no,
        }
        rows.append(tuple(row[c] for c in table.columns))
    return rows


def write_silver(spark, lake: str, source: str, day, rows: list[tuple]) -> None:
    table = SILVER[source]
    delta_io.replace_where(
        spark.createDataFrame(rows, table.schema), table, lake, delta_io.predicate(land_date=day)
    )


@pytest.fixture(scope="module")
def checked_lake(spark, tmp_path_factory):
    """Two days of silver; a trailing week of audit rows (mean 100 rows a day); D1 validated."""
    lake = str(tmp_path_factory.mktemp("validate") / "lake")
    rows: dict[str, list[tuple]] = {"interactions": [], "accounts": [], "enforcement": []}
    for day in (D1, D2):
        rows["interactions"] += silver_rows(
            "interactions",
            day,
            [
                interaction(f"r{day.day}a", day),
                interaction(f"r{day.day}b", day, topic="chat"),
                interaction(f"r{day.day}c", day, ts=f"{day - dt.timedelta(days=2)}T23:00:00Z"),
            ],
        )
        rows["accounts"] += silver_rows(
            "accounts",
            day,
            [
                {
                    "account_id": "acct_1",
                    "created_at": "2026-01-01T00:00:00Z",
                    "updated_at": f"{day}T08:00:00Z",
                    "signup_channel": "education",
                    "email_domain": RAW_DOMAIN,
                    "tier": "free",
                    "verified": True,
                }
            ],
        )
        rows["enforcement"] += silver_rows(
            "enforcement",
            day,
            [
                {
                    "account_id": "acct_1",
                    "decided_at": f"{day}T09:00:00Z",
                    "action": "ban",
                    "reason": "distillation",
                }
            ],
        )
    for source, source_rows in rows.items():
        write_silver(spark, lake, source, [D1, D2], source_rows)
    history = [
        ("interactions", D1 - dt.timedelta(days=i), 100, 100, 0, 0, None) for i in range(1, 8)
    ]
    delta_io.replace_where(
        spark.createDataFrame(history, INGEST_AUDIT.schema),
        INGEST_AUDIT,
        lake,
        "land_date < DATE'2026-04-20'",
    )
    assert validate_days(lake, [D1]) is True
    return lake


def _results(spark, lake: str, table: str, day: dt.date) -> dict[str, tuple]:
    rows = (
        delta_io.read(spark, VALIDATION_RESULTS, lake)
        .where(f"table_name = '{table}' AND run_date = DATE'{day}'")
        .collect()
    )
    return {r.expectation: (r.severity, r.success) for r in rows}


def test_a_clean_day_passes_and_results_are_stored(spark, checked_lake):
    stored = _results(spark, checked_lake, "interactions", D1)
    assert set(stored) == {c.label for c in suites.silver_checks("interactions", 100.0)}
    assert stored["expect_column_values_to_be_unique(request_id)"] == ("blocking", True)
    assert stored["expect_column_values_to_be_in_set(endpoint)"] == ("blocking", True)
    assert stored["freshness(rows>0)"] == ("warning", True)
    # 3 rows against a trailing mean of 100: the volume warning fails, yet the day passed.
    assert stored["volume(vs trailing 7-day mean)"] == ("warning", False)
    assert all(ok for name, (_, ok) in stored.items() if not name.startswith("volume"))
    for table in ("accounts", "enforcement"):
        assert _results(spark, checked_lake, table, D1)
        assert all(ok for _, ok in _results(spark, checked_lake, table, D1).values())
    # Negative control: nothing was recorded for a day that was not validated.
    assert _results(spark, checked_lake, "interactions", D2) == {}


def test_expectations_carry_gx_severity_and_a_description(checked_lake):
    """GX's own fields, in the suite GX stored (what Data Docs render), not only in our meta."""
    import json

    [path] = (Path(checked_lake) / "ops" / "gx").rglob("expectations/interactions.json")
    stored = json.loads(path.read_text())
    by_name = {e["meta"]["name"]: e for e in stored["expectations"]}
    declared = {c.label: c for c in suites.silver_checks("interactions", 100.0)}
    # The day's row-count checks (volume, freshness) are read from one count per day in the
    # range pass, not run through GX; every other check is in the stored suite.
    per_day = {label for label, c in declared.items() if _per_day_only(c)}
    assert per_day == {"volume(vs trailing 7-day mean)", "freshness(rows>0)"}
    assert set(by_name) == set(declared) - per_day
    assert by_name["expect_column_values_to_be_unique(request_id)"]["severity"] == "critical"
    assert {declared[label].severity for label in per_day} == {"warning"}
    assert all(len(e.get("description") or "") > 15 for e in by_name.values())
    assert (
        "`request_id` is set on every row"
        in by_name["expect_column_values_to_not_be_null(request_id)"]["description"]
    )
    assert not any("severity" in e["meta"] for e in by_name.values())  # not duplicated in meta
    # Negative control: a severity GX does not know is refused when the check is declared.
    with pytest.raises(ValueError, match="severity 'fatal'"):
        suites.between("x", 0, severity="fatal")


def _personal_data(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".yml", ".js"):
            text = path.read_text(errors="replace")
            found += [f"{path.name}:{s}" for s in (RAW_IP, RAW_DOMAIN) if s in text]
    return found


def test_data_docs_built_without_personal_data(checked_lake, tmp_path):
    docs = Path(checked_lake) / "ops" / "data_docs"
    index = docs / "index.html"
    assert index.is_file() and "interactions" in index.read_text()
    assert any(p.suffix == ".html" for p in (docs / "validations").rglob("*"))
    assert _personal_data(docs) == []
    assert _personal_data(Path(checked_lake) / "ops" / "gx") == []  # GX's stored results too
    # Negative control: a raw IP planted into a copy of the site is found by the scan.
    planted = tmp_path / "docs"
    shutil.copytree(docs, planted)
    (planted / "index.html").write_text(index.read_text() + f"<td>{RAW_IP}</td>")
    assert _personal_data(planted) == [f"index.html:{RAW_IP}"]


def test_a_broken_day_is_blocked_with_a_message(spark, checked_lake):
    # Inject straight into silver: a repeated request_id with an out-of-range token count.
    rows = silver_rows("interactions", D2, [interaction("r21a", D2), interaction("r21b", D2)])
    columns = SILVER["interactions"].columns
    bad = list(rows[0])
    bad[columns.index("input_tokens")] = -7
    bad[columns.index("line_no")] = 3
    write_silver(spark, checked_lake, "interactions", D2, [*rows, tuple(bad)])
    with pytest.raises(GateFailed) as failed:
        validate_days(checked_lake, [D2])
    message = failed.value.operator_message
    print("\nthe message an engineer sees:\nriskctl validate: " + message)
    assert message.startswith("validation gate failed: table=interactions day=2026-04-21 failed: ")
    assert "expect_column_values_to_be_unique(request_id)" in message
    assert "expect_column_values_to_be_between(input_tokens)" in message
    assert "expect_column_values_to_be_in_set(endpoint)" not in message  # passed
    assert "table=accounts" not in message  # the other tables of the day passed
    assert str(Path(checked_lake) / "ops" / "data_docs" / "index.html") in message
    stored = _results(spark, checked_lake, "interactions", D2)
    assert stored["expect_column_values_to_be_unique(request_id)"] == ("blocking", False)
    assert stored["expect_column_values_to_be_between(input_tokens)"] == ("blocking", False)
    assert stored["expect_column_values_to_be_between(output_tokens)"] == ("blocking", True)
    assert _results(spark, checked_lake, "accounts", D2)  # every table of the day recorded


def test_a_range_is_checked_in_one_pass_with_results_per_day(spark, checked_lake):
    """D1 (clean) and D2 (broken) gated as one range: D2 is named and blocked, and D1's stored
    results are exactly those D1 validated alone stored."""
    from jobs.validate import gate_days

    def stored(day: dt.date) -> list[tuple]:
        rows = (
            delta_io.read(spark, VALIDATION_RESULTS, checked_lake)
            .where(f"run_date = DATE'{day}'")
            .drop("validated_at")
            .collect()
        )
        return sorted(tuple(r) for r in rows)

    assert validate_days(checked_lake, [D1]) is True
    alone = stored(D1)
    assert len(alone) > 20 and any(not r[4] for r in alone)  # the volume warning failed
    rows = silver_rows("interactions", D2, [interaction("r21a", D2), interaction("r21a", D2)])
    write_silver(spark, checked_lake, "interactions", D2, rows)  # a repeated request_id

    failed = gate_days(checked_lake, [D1, D2])
    assert set(failed) == {D2} and "expect_column_values_to_be_unique(request_id)" in failed[D2]
    assert stored(D1) == alone
    assert _results(spark, checked_lake, "interactions", D2)[
        "expect_column_values_to_be_unique(request_id)"
    ] == ("blocking", False)
    # Negative control: the comparison sees D2's results, which differ.
    assert stored(D2) != [(*r[:1], D2, *r[2:]) for r in alone]


def test_a_long_range_is_checked_in_passes_of_bounded_rows():
    from jobs.validate import _passes

    d1, d2, d3 = (D1 + dt.timedelta(days=i) for i in range(3))
    assert _passes([d1, d2, d3], {d1: 5, d2: 5, d3: 5}, budget=10) == [[d1, d2], [d3]]
    assert _passes([d1, d2, d3], {d1: 20, d2: 1, d3: 1}, budget=10) == [[d1], [d2, d3]]
    assert _passes([d1, d2, d3], {}, budget=10) == [[d1, d2, d3]]


def test_validate_frame_is_reusable_for_other_tables(spark, checked_lake):
    checks = [
        suites.unique("account_id"),
        suites.between("risk_score", 0, 1),
        suites.between(
            "risk_score", 0, 0.9, severity=suites.WARNING, name="risk_score_mostly_below_0.9"
        ),
    ]
    good = spark.createDataFrame(
        [("a", 1.0), ("b", 0.5), ("c", None)], "account_id STRING, risk_score DOUBLE"
    )
    results = validate_frame(checked_lake, good, "my_scores", D1, checks)
    assert [(r.name, r.severity, r.success) for r in results] == [
        ("expect_column_values_to_be_unique(account_id)", "blocking", True),
        ("expect_column_values_to_be_between(risk_score)", "blocking", True),
        ("risk_score_mostly_below_0.9", "warning", False),
    ]  # a warning does not block
    bad = spark.createDataFrame([("a", 1.5), ("a", 0.5)], "account_id STRING, risk_score DOUBLE")
    with pytest.raises(
        GateFailed,
        match=r"table=my_scores day=2026-04-20 failed: "
        r"expect_column_values_to_be_unique\(account_id\), ",
    ):
        validate_frame(checked_lake, bad, "my_scores", D1, checks)
    # Results are stored before the gate raises (replacing the passing run of the same day).
    assert _results(spark, checked_lake, "my_scores", D1) == {
        "expect_column_values_to_be_unique(account_id)": ("blocking", False),
        "expect_column_values_to_be_between(risk_score)": ("blocking", False),
        "risk_score_mostly_below_0.9": ("warning", False),
    }
