"""DuckDB references, timed beside Spark on the same data:

- the feature step: the same per-account daily aggregates, in DuckDB SQL, over the same clean
  Parquet files, compared on a sample. DuckDB reads the silver table's *current* files
  (deltalake's `file_uris()`), never a glob that would also read files a replaceWhere removed;
- the ingest: DuckDB reads a landed day's raw interaction files and applies the contract's
  checks (types, required fields, enums, formats, timestamps, lateness), giving the lines read
  and the contract-valid rows, to set beside the ingest's lines_read and bronze rows.

DuckDB is the single-machine speed anchor: Spark is here because it scales out, so on one
machine the ratio Spark/DuckDB should stay small.

`python -m tools.duckdb_reference --lake L --days D1,D2` ingests those landed days of L's raw
zone into a fresh lake (raw/ linked, not copied) and prints both sides' lines/s and CPU time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time

# The additive core of features/daily_activity.py, column for column. Spark's timed query is
# account_day_aggregates pruned to these columns, so both sides do the same work: one window
# for the gaps, one group-by. The whole transform (sets, maps, synchrony) is timed apart.
COMPARED = [
    "requests",
    "input_tokens",
    "output_tokens",
    "n_status_429",
    "n_thinking",
    "n_tools",
    "n_high_cot",
    "n_batches",
    "first_ts",
    "last_ts",
    "gap_n",
]


def duckdb_aggregates(files: list[str], day: dt.date, high_cot: float):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rel = con.sql(
        f"""
        WITH rows AS (
          SELECT account_id, event_date, land_date, ts, status, endpoint, thinking_enabled,
                 tool_count, cot_request_score, input_tokens, output_tokens,
                 epoch_us(ts) - lag(epoch_us(ts)) OVER (
                   PARTITION BY account_id, event_date, land_date ORDER BY ts) AS gap_us
          FROM read_parquet(?, hive_partitioning = true)
          WHERE land_date = DATE '{day.isoformat()}'
        )
        SELECT account_id, event_date, land_date,
               count(*) AS requests,
               sum(input_tokens)::BIGINT AS input_tokens,
               sum(output_tokens)::BIGINT AS output_tokens,
               count(*) FILTER (WHERE status = 429) AS n_status_429,
               count(*) FILTER (WHERE thinking_enabled) AS n_thinking,
               count(*) FILTER (WHERE tool_count > 0) AS n_tools,
               count(*) FILTER (WHERE cot_request_score >= {high_cot}) AS n_high_cot,
               count(*) FILTER (WHERE endpoint = 'batches') AS n_batches,
               min(ts) AS first_ts, max(ts) AS last_ts, count(gap_us) AS gap_n
        FROM rows GROUP BY ALL
        """,
        params=[files],
    )
    # A relation's Arrow output, not a DB-API cursor's, which copies the rows once more.
    return rel.to_arrow_table()


def _best_of(runs: int, fn) -> tuple[float, object]:
    """The fastest of `runs` calls (the first pays JIT and cache warm-up) and its result."""
    best, result = float("inf"), None
    for _ in range(runs):
        t = time.monotonic()
        result = fn()
        best = min(best, time.monotonic() - t)
    return best, result


def compare_features(lake: str, day: dt.date, sample: int = 500, runs: int = 2) -> dict:
    """Time Spark's daily aggregate and DuckDB's for one landed day; compare a sample.

    `spark_over_duckdb` compares like with like (the additive core on both sides, best of
    `runs`); `spark_full_s` is the whole daily_activity transform, for scale.
    """
    from deltalake import DeltaTable
    from pyspark.sql import functions as F

    from core import delta_io, tables
    from core.spark import get_spark
    from features.daily_activity import account_day_aggregates, daily_activity
    from features.params import DEFAULT_PARAMS

    spark = get_spark()
    silver = delta_io.read(spark, tables.SILVER_INTERACTIONS, lake).where(
        F.col("land_date") == F.lit(day)
    )
    spark_secs, spark_rows = _best_of(
        runs,
        lambda: (
            account_day_aggregates(silver, DEFAULT_PARAMS)
            .select("account_id", "event_date", "land_date", *COMPARED)
            .toArrow()
        ),
    )
    full_secs, _ = _best_of(
        runs,
        lambda: (
            daily_activity(silver, DEFAULT_PARAMS).write.format("noop").mode("overwrite").save()
        ),
    )

    table = DeltaTable(tables.SILVER_INTERACTIONS.uri(lake))
    files = [f for f in table.file_uris() if f"land_date={day.isoformat()}" in f]
    duck_secs, duck_rows = _best_of(
        runs, lambda: duckdb_aggregates(files, day, DEFAULT_PARAMS.high_cot_threshold)
    )

    def plain(value):
        # Spark hands back UTC-aware timestamps, DuckDB naive ones in UTC: compare the instant.
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def keyed(tbl):
        return {
            (r["account_id"], r["event_date"]): tuple(plain(r[c]) for c in COMPARED)
            for r in tbl.to_pylist()
        }

    left, right = keyed(spark_rows), keyed(duck_rows)
    keys = sorted(left)[:: max(1, len(left) // sample)]
    mismatches = [k for k in keys if left.get(k) != right.get(k)]
    return {
        "day": day.isoformat(),
        "rows_spark": len(left),
        "rows_duckdb": len(right),
        "sample": len(keys),
        "sample_mismatches": len(mismatches),
        "spark_s": round(spark_secs, 2),
        "duckdb_s": round(duck_secs, 2),
        "spark_over_duckdb": round(spark_secs / max(duck_secs, 1e-6), 2),
        "spark_full_s": round(full_secs, 2),
    }


# The interaction contract in DuckDB SQL, for the ingest reference. It follows
# quality.contract on well-formed producers' data (what the generator writes); it is a speed
# anchor, not a second definition: the edge cases stay quality.contract's.
_INT_RANGES = {
    "ip_asn": (0, 2**63 - 1),
    "input_tokens": (0, 2**63 - 1),
    "output_tokens": (0, 2**63 - 1),
    "tool_count": (0, 2**31 - 1),
    "turns": (1, 2**31 - 1),
    "latency_ms": (0, 2**63 - 1),
}


def _contract_sql(day: dt.date) -> str:
    from quality import contract

    fields = contract.FIELDS["interactions"]
    paths = ", ".join(f"'$.{f.name}'" for f in fields)
    checks = []
    for i, f in enumerate(fields, 1):
        t, v = f"t[{i}]", f"v[{i}]"
        absent = f"({t} IS NULL OR {t} = 'NULL' OR ({t} = 'VARCHAR' AND {v} = ''))"
        if f.kind == contract.INT:
            lo, hi = _INT_RANGES[f.name]
            ok = f"{t} IN ('BIGINT', 'UBIGINT') AND TRY_CAST({v} AS HUGEINT) BETWEEN {lo} AND {hi}"
        elif f.name == "status":
            allowed = ", ".join(f"'{a}'" for a in sorted(f.allowed))
            ok = f"{t} IN ('BIGINT', 'UBIGINT') AND {v} IN ({allowed})"
        elif f.kind == contract.ENUM:
            ok = f"{t} = 'VARCHAR'" + (
                f" AND {v} IN ({', '.join(map(repr, sorted(f.allowed)))})" if f.required else ""
            )
        elif f.kind == contract.BOOL:
            ok = f"{t} = 'BOOLEAN'"
        elif f.kind == contract.FLOAT:
            ok = (
                f"{t} IN ('BIGINT', 'UBIGINT', 'DOUBLE') AND TRY_CAST({v} AS DOUBLE) "
                f"BETWEEN {f.lo} AND {f.hi}"
            )
        elif f.kind == contract.SIMHASH:
            ok = f"{t} = 'VARCHAR' AND regexp_full_match({v}, '[0-9a-fA-F]{{16}}')"
        elif f.kind == contract.IP:
            ok = (
                f"{t} = 'VARCHAR' AND (regexp_full_match({v}, '((25[0-5]|2[0-4][0-9]|"
                f"1[0-9][0-9]|[1-9]?[0-9])\\.){{3}}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])')"
                f" OR regexp_full_match({v}, '[0-9a-fA-F:.]*:[0-9a-fA-F:.]*'))"
            )
        elif f.kind == contract.TS:
            ok = (
                f"{t} = 'VARCHAR' AND regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}"
                f"[Tt ][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(\\.[0-9]{{1,9}})?([Zz]|[+-][0-9]{{2}}:"
                f"[0-9]{{2}})') AND TRY_CAST(upper({v}) AS TIMESTAMPTZ) IS NOT NULL"
            )
        else:
            ok = f"{t} = 'VARCHAR'"
        checks.append(f"NOT {absent} AND {ok}" if f.required else f"({absent} OR ({ok}))")
    start = f"TIMESTAMPTZ '{day.isoformat()} 00:00:00+00'"
    ts = "TRY_CAST(upper(v[2]) AS TIMESTAMPTZ)"
    checks += [
        f"{ts} < {start} + INTERVAL 1 DAY",
        f"{ts} >= {start} - INTERVAL {contract.LATENESS_DAYS} DAY",
    ]
    return f"""
        WITH raw AS (
          SELECT line FROM read_csv(?, columns = {{'line': 'VARCHAR'}}, delim = '\x1f',
                                    quote = '', escape = '', header = false,
                                    auto_detect = false, strict_mode = false)
          WHERE trim(line, ' \t\r') <> ''
        ), parsed AS (
          SELECT line, json_type(line, [{paths}]) AS t, json_extract_string(line, [{paths}]) AS v
          FROM raw
          -- DuckDB's JSON reader takes NaN, Infinity and trailing commas; JSON does not.
          WHERE json_valid(line) AND json_type(line) = 'OBJECT' AND NOT contains(line, 'NaN')
            AND NOT contains(line, 'Infinity') AND NOT regexp_matches(line, ',[ \\t]*[}}\\]]')
        ), checked AS (
          SELECT line, {" AND ".join(checks)} AS valid FROM parsed
        )
    """


def _ingest_sql(day: dt.date) -> str:
    return (
        _contract_sql(day)
        + """
        SELECT (SELECT count(*) FROM raw) AS lines, count(*) FILTER (WHERE valid) AS valid
        FROM checked
    """
    )


def duckdb_ingest(files: list[str], day: dt.date) -> dict:
    """Lines and contract-valid rows of one landed day's raw interaction files, in DuckDB."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    lines, valid = con.execute(_ingest_sql(day), [files]).fetchone()
    return {"lines": int(lines), "valid": int(valid)}


def compare_ingest(lake: str, day: dt.date, spark_secs: float | None = None, runs: int = 1) -> dict:
    """DuckDB over a landed day's raw interaction files beside what the ingest stored for it:
    lines read and contract-valid (bronze) rows, and lines/s when the ingest's time is given."""
    from pyspark.sql import functions as F

    from core import delta_io, tables
    from core.spark import get_spark
    from jobs.ingest import list_files, list_land_days

    folders, _ = list_land_days(lake, "interactions")
    files = [f.uri for f in list_files(lake, "interactions", folders[day])]
    secs, duck = _best_of(runs, lambda: duckdb_ingest(files, day))
    spark = get_spark()
    audit = (
        delta_io.read(spark, tables.INGEST_AUDIT, lake)
        .where((F.col("source") == "interactions") & (F.col("land_date") == F.lit(day)))
        .collect()
    )
    bronze = (
        delta_io.read(spark, tables.BRONZE_INTERACTIONS, lake)
        .where(F.col("land_date") == F.lit(day))
        .count()
    )
    out = {
        "day": day.isoformat(),
        "lines_spark": audit[0].lines_read if audit else None,
        "lines_duckdb": duck["lines"],
        "valid_rows_spark": bronze,
        "valid_rows_duckdb": duck["valid"],
        "duckdb_s": round(secs, 2),
        "duckdb_lines_per_s": round(duck["lines"] / max(secs, 1e-9)),
    }
    if spark_secs:
        out["spark_s"] = round(spark_secs, 2)
        out["spark_lines_per_s"] = round((out["lines_spark"] or 0) / max(spark_secs, 1e-9))
        out["spark_over_duckdb"] = round(spark_secs / max(secs, 1e-9), 2)
    return out


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its descendants, ended ones included."""
    import psutil

    total = 0.0
    me = psutil.Process()
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def ingest_comparison(raw_lake: str, days: list[dt.date], workdir: str) -> list[dict]:
    """Ingest `days` of `raw_lake`'s raw zone into a fresh lake (timed: wall and CPU), then run
    the DuckDB reference over each day's files."""
    from jobs.ingest import ingest_days

    lake = os.path.join(workdir, "lake")
    os.makedirs(lake)
    os.symlink(os.path.abspath(os.path.join(raw_lake, "raw")), os.path.join(lake, "raw"))
    out = []
    for day in days:
        cpu, start = cpu_seconds(), time.monotonic()
        ingest_days(lake, [day])
        secs, cpu = time.monotonic() - start, cpu_seconds() - cpu
        duck_cpu = cpu_seconds()
        row = compare_ingest(lake, day, secs)
        row["spark_cpu_s"] = round(cpu, 1)
        row["spark_lines_per_cpu_s"] = round((row["lines_spark"] or 0) / max(cpu, 1e-9))
        row["duckdb_cpu_s_approx"] = round(cpu_seconds() - duck_cpu, 1)  # includes the lookups
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lake", required=True, help="a lake whose raw/ zone to ingest")
    parser.add_argument("--days", required=True, help="comma-separated landed days")
    parser.add_argument("--workdir", help="where the fresh lake goes (default: a temp dir)")
    args = parser.parse_args()
    days = [dt.date.fromisoformat(d) for d in args.days.split(",")]
    workdir = args.workdir or tempfile.mkdtemp(prefix="risk-ingest-ref-")
    for row in ingest_comparison(args.lake, days, workdir):
        print("ingest vs DuckDB reference:", json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
