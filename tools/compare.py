"""Compare two lakes table by table, the way the contract defines equality between runs.

Reads every registry table present with the `deltalake` package (no Spark: cheap and an
independent reader), drops the wall-clock columns, sorts rows, and reports the differences.
Used by the crash-safety harness, the cluster-vs-local test and the Airflow-vs-riskctl test.

    python -m tools.compare LEFT_LAKE RIGHT_LAKE [TABLE,TABLE...] [--mlflow]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import features  # noqa: F401  (registers the feature tables)
from core.settings import settings
from core.tables import TABLES

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


def snapshot(
    lake: str,
    tables: list[str] | None = None,
    ignore: dict[str, set[str]] | None = None,
    mlflow: bool = False,
) -> dict[str, list[tuple]]:
    """Rows of every (or the named) registry table that exists under the lake.

    With mlflow, also the embedded model registry (`mlflow_snapshot`): the crash harness
    compares it; lakes run by different means (cluster vs local) need not share one.
    """
    out = mlflow_snapshot(lake) if mlflow else {}
    for name, table in TABLES.items():
        if tables and name not in tables:
            continue
        path = table.uri(lake)
        if (Path(path) / "_delta_log").is_dir():
            out[name] = read_rows(path, (ignore or {}).get(name, set()))
    return out


# Model-version tags that record how a run went rather than what it decided: the feature
# table's Delta version counts commits, so a killed attempt that wrote the day once already
# makes it larger without changing a row.
MLFLOW_IGNORED_TAGS = {"feature_table_version"}


def mlflow_snapshot(lake: str) -> dict[str, list[tuple]]:
    """The lake's model registry as comparable rows: the project's registered model, its
    versions (number, stage/status, decision tags), aliases and registered-model tags.

    Read through MLflow's client on the lake's own tracking URI (`models.model_registry.client`),
    so the embedded SQLite store and a tracking server read alike. Run ids, sources and times
    are left out: they differ between two correct runs. Empty when the lake never trained.
    """
    from mlflow.exceptions import MlflowException

    from models import model_registry

    if not settings().mlflow_tracking_uri and not (Path(lake) / "_mlflow" / "mlflow.db").is_file():
        return {}  # no store: do not create one just to find it empty
    client, name = model_registry.client(lake), model_registry.model_name()
    try:
        model = client.get_registered_model(name)
    except MlflowException as exc:
        # Only "nothing registered yet" means an empty registry; any other error (a locked or
        # unreachable store) must fail the comparison, not make two snapshots look equal.
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return {}
    versions = [
        (
            name,
            str(v.version),
            f"{v.current_stage}/{v.status}",
            tuple(
                sorted(
                    (k, val) for k, val in (v.tags or {}).items() if k not in MLFLOW_IGNORED_TAGS
                )
            ),
        )
        for v in client.search_model_versions(f"name = '{name}'")
    ]
    return {
        "mlflow:model_versions": sorted(versions, key=repr),
        "mlflow:aliases": sorted((name, a, str(v)) for a, v in (model.aliases or {}).items()),
        "mlflow:registered_model_tags": sorted((name, k, v) for k, v in (model.tags or {}).items()),
    }


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
            problems[name] = (
                f"{len(a[name])} vs {len(b[name])} rows; {len(only_a)} only left, "
                f"{len(only_b)} only right; e.g. {sorted(only_a, key=repr)[:1]} / "
                f"{sorted(only_b, key=repr)[:1]}"
            )
    return problems


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--mlflow"]
    with_mlflow = "--mlflow" in sys.argv[1:]
    left, right = args[0], args[1]
    tables = args[2].split(",") if len(args) > 2 else None
    problems = diff(
        snapshot(left, tables, mlflow=with_mlflow), snapshot(right, tables, mlflow=with_mlflow)
    )
    print(json.dumps(problems, indent=2, default=str) if problems else "equal")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
