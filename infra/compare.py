"""Compare two lakes table by table, the way the contract defines equality between runs.

Reads every registry table present with the `deltalake` package (no Spark: cheap and an
independent reader), drops the wall-clock columns, sorts rows, and reports the differences.
Used by the crash-safety harness, the cluster-vs-local test and the Airflow-vs-riskctl test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jobs import registry

# Columns that record when something was written, not what: ignored by run equality.
WALL_CLOCK = {"scored_at", "ingested_at", "validated_at", "computed_at", "recorded_at"}


def read_rows(path: str, ignore: set[str] | frozenset[str] = frozenset()) -> list[tuple]:
    from deltalake import DeltaTable

    tbl = DeltaTable(path).to_pyarrow_table()
    cols = [c for c in tbl.column_names if c not in WALL_CLOCK and c not in ignore]
    rows = [tuple(_freeze(r[c]) for c in cols) for r in tbl.select(cols).to_pylist()]
    return sorted(rows, key=repr)


def _freeze(value):
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, float):
        return round(value, 9)
    return value


def snapshot(lake: str, tables: list[str] | None = None,
             ignore: dict[str, set[str]] | None = None) -> dict[str, list[tuple]]:
    """Rows of every (or the named) registry table that exists under the lake."""
    out = {}
    for name, table in registry.TABLES.items():
        if tables and name not in tables:
            continue
        path = table.uri(lake)
        if (Path(path) / "_delta_log").is_dir():
            out[name] = read_rows(path, (ignore or {}).get(name, set()))
    return out


def diff(a: dict[str, list[tuple]], b: dict[str, list[tuple]]) -> dict[str, str]:
    """Human-readable differences; empty when the snapshots are equal."""
    problems = {}
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            problems[name] = "missing on one side"
            continue
        if a[name] != b[name]:
            only_a = set(a[name]) - set(b[name])
            only_b = set(b[name]) - set(a[name])
            problems[name] = (f"{len(a[name])} vs {len(b[name])} rows; {len(only_a)} only left, "
                              f"{len(only_b)} only right; e.g. {sorted(only_a, key=repr)[:1]} / "
                              f"{sorted(only_b, key=repr)[:1]}")
    return problems


def main() -> int:
    left, right = sys.argv[1], sys.argv[2]
    tables = sys.argv[3].split(",") if len(sys.argv) > 3 else None
    problems = diff(snapshot(left, tables), snapshot(right, tables))
    print(json.dumps(problems, indent=2, default=str) if problems else "equal")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
