"""The DuckDB reference (tools/duckdb_reference.py) agrees with Spark's core, row for row.

`make bench` prints the Spark/DuckDB ratio only if the two sides compute the same thing; this
pins that on a hand-made day, and a reference fed a different threshold must disagree.
"""

from __future__ import annotations

from tests.support.features_kit import D, at, req, write_silver
from tools import duckdb_reference


def _rows() -> list[dict]:
    return [
        req("a", at(0, 1), cot_request_score=0.9, thinking_enabled=True, status=429),
        req("a", at(0, 1, 0, 30), cot_request_score=0.2, tool_count=1, endpoint="batches"),
        req("a", at(0, 5), cot_request_score=None, input_tokens=7, output_tokens=11),
        req("b", at(0, 9)),
        req("c", at(0, 23, 59, 59), cot_request_score=0.95),
        req("d", at(-1, 10), land=D),  # late: its own (event_date, land_date) row
        req("e", at(-1, 10)),  # another landed day: not in D's figures
    ]


def test_duckdb_matches_spark(spark, lake):
    write_silver(spark, lake, _rows())
    out = duckdb_reference.compare_features(lake, D, runs=1)
    assert (out["rows_spark"], out["rows_duckdb"]) == (4, 4)
    assert (out["sample"], out["sample_mismatches"]) == (4, 0)
    assert out["spark_s"] > 0 and out["duckdb_s"] > 0 and out["spark_full_s"] > 0


def test_duckdb_core_values(spark, lake):
    from deltalake import DeltaTable

    from core.tables import SILVER_INTERACTIONS

    write_silver(spark, lake, _rows())
    files = DeltaTable(SILVER_INTERACTIONS.uri(lake)).file_uris()
    rows = {
        r["account_id"]: r for r in duckdb_reference.duckdb_aggregates(files, D, 0.5).to_pylist()
    }
    a = rows["a"]
    assert (a["requests"], a["input_tokens"], a["output_tokens"]) == (3, 207, 411)
    assert (
        a["n_status_429"],
        a["n_thinking"],
        a["n_tools"],
        a["n_high_cot"],
        a["n_batches"],
        a["gap_n"],
    ) == (1, 1, 1, 1, 1, 2)
    assert set(rows) == {"a", "b", "c", "d"} and "e" not in rows


def test_a_different_reference_is_caught(spark, lake, monkeypatch):
    # Negative control: the reference counting "high CoT" from 0.1 instead of 0.5 must show.
    real = duckdb_reference.duckdb_aggregates
    monkeypatch.setattr(
        duckdb_reference, "duckdb_aggregates", lambda files, day, high_cot: real(files, day, 0.1)
    )
    write_silver(spark, lake, _rows())
    out = duckdb_reference.compare_features(lake, D, runs=1)
    assert out["sample_mismatches"] > 0


def test_duckdb_ingest_counts_the_contract_valid_lines(tmp_path, monkeypatch):
    """The ingest reference reads raw lines and applies the contract: on a hand-made file its
    counts are the Python parser's; with a lateness window of 100 days it counts one more."""
    import datetime as dt
    import gzip

    from quality import contract
    from tests.support.raw import line

    day = dt.date(2026, 4, 22)
    good = [line(request_id=f"r{i}") for i in range(4)] + [
        line(request_id="r6", client_ip="2001:db8::1", ts="2026-04-22T01:00:00+02:00"),
        line(request_id="r7", org_id=None, topic="poetry", cot_request_score=1),
    ]
    bad = [
        line(input_tokens="12"),
        line(endpoint="x"),
        line(status=201),
        line() + b" x",
        line().replace(b'"cot_request_score":0.5', b'"cot_request_score":NaN'),
        line()[:-1] + b",}",
        line(ts="2026-04-23T00:00:00Z"),
        line(prompt_simhash="xyz"),
        line(request_id=""),
        line(tool_count=-1),
        b"[1]",
    ]
    late = line(ts="2026-04-10T00:00:00Z")
    path = tmp_path / "part-0.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(good + bad + [late, b"  "]) + b"\n"))
    parser = contract.LineParser("interactions", day, b"k")
    accepted = sum(parser.parse(x)[1] is None for x in good + bad + [late])
    assert accepted == len(good)
    out = duckdb_reference.duckdb_ingest([str(path)], day)
    assert out == {"lines": len(good) + len(bad) + 1, "valid": accepted}
    monkeypatch.setattr(contract, "LATENESS_DAYS", 100)
    assert duckdb_reference.duckdb_ingest([str(path)], day)["valid"] == accepted + 1
