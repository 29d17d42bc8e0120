"""The `risk` SQL catalog: every `sql_visible` registry table, registered over its lake path,
and the `latest_*` views of the last published day.

Spark's embedded Derby metastore admits one process at a time, so no catalog is shared between
processes. Instead each process (a job, `riskctl sql`, the SQL server) registers `risk.*` in its
own throwaway catalog at start-up, as external Delta tables over the lake paths. The lake paths
are the shared truth: every process sees the same tables at their latest committed versions, and
losing a registration loses nothing. Registering never writes to the lake (an external table over
an existing Delta location is catalog metadata only). The tables' and columns' comments live in
the Delta tables themselves (written by the jobs from the registry, core.delta_io), so every
process's catalog shows them.

`latest_account_scores` and `latest_account_clusters` are the rows of the latest published
`score_date` ("today" is the latest day the pipeline published, never the wall clock).

Run as a script (`spark-submit jobs/sql_catalog.py --lake DIR`), it registers the tables in the
session's catalog and exits: the SQL server uses that to fill its own metastore before it starts.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import shutil
import sys
import tempfile
import time

from core.errors import PipelineError
from core.tables import TABLES, Table

log = logging.getLogger("risk.catalog")

DATABASE = "risk"

# view -> (table it reads, comment)
VIEWS = {
    "latest_account_scores": (
        "account_scores_daily",
        "Today's scores: the rows of account_scores_daily for the latest published score_date.",
    ),
    "latest_account_clusters": (
        "account_clusters_daily",
        "Today's clusters: the rows of account_clusters_daily for the latest published score_date.",
    ),
}

# What this process registered: (application id, database, table) -> location. A new
# SparkContext (new application id) starts with an empty in-memory catalog.
_registered: dict[tuple[str, str, str], str] = {}


def visible_tables() -> list[Table]:
    """The analysts' tables: registry tables marked `sql_visible`, by name."""
    return sorted((t for t in TABLES.values() if t.sql_visible), key=lambda t: t.name)


def sql_string(text: str) -> str:
    """A Spark SQL string literal (backslash escapes are on by default)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ensure_database(spark, database: str) -> None:
    if spark.catalog.databaseExists(database):
        return
    location = ""
    if spark.conf.get("spark.sql.catalogImplementation", "in-memory") != "hive":
        # The in-memory catalog would create the database under ./spark-warehouse of whatever
        # directory the command runs in; a throwaway directory keeps the caller's cwd clean.
        tmp = tempfile.mkdtemp(prefix="risk-catalog-")
        atexit.register(shutil.rmtree, tmp, True)
        location = f" LOCATION {sql_string(tmp + f'/{database}.db')}"
    spark.sql(
        f"CREATE DATABASE IF NOT EXISTS {database}{location} "
        "COMMENT 'Risk pipeline tables, registered over the lake paths'"
    )


def _drop_registration(spark, database: str, name: str) -> None:
    """Drop a stale registration; only external tables, whose drop never touches data."""
    kind = spark.catalog.getTable(f"{database}.{name}").tableType
    if str(kind).upper() != "EXTERNAL":
        raise PipelineError(
            f"{database}.{name} is a {kind} table in this process's catalog, not a registration "
            "over the lake; drop or rename it by hand, then run again"
        )
    spark.sql(f"DROP TABLE {database}.{name}")


def register(spark, lake: str, database: str = DATABASE) -> list[str]:
    """Register `<database>.<name>` for every sql_visible table that exists in the lake, and
    the `latest_*` views over the tables registered.

    Idempotent and cheap when nothing changed; a table registered for another lake (the same
    process switching lakes) is re-pointed; a registration whose table vanished is dropped.
    Returns the registered table names, then the view names.
    """
    from delta.tables import DeltaTable

    start = time.monotonic()
    _ensure_database(spark, database)
    app = spark.sparkContext.applicationId
    names: list[str] = []
    for t in visible_tables():
        uri = t.uri(lake)
        key = (app, database, t.name)
        present = spark.catalog.tableExists(f"{database}.{t.name}")
        on_disk = DeltaTable.isDeltaTable(spark, uri)
        if present and _registered.get(key) == uri and on_disk:
            names.append(t.name)
            continue
        if present:
            _drop_registration(spark, database, t.name)
            _registered.pop(key, None)
        if not on_disk:
            log.debug("not registered table=%s reason=no Delta table at %s", t.name, uri)
            continue
        spark.sql(
            f"CREATE TABLE IF NOT EXISTS {database}.{t.name} USING DELTA LOCATION {sql_string(uri)}"
        )
        _registered[key] = uri
        names.append(t.name)
    names += _views(spark, database, names)
    log.debug(
        "registered database=%s tables=%s secs=%.1f",
        database,
        ",".join(names) or "-",
        time.monotonic() - start,
    )
    return names


def _views(spark, database: str, tables: list[str]) -> list[str]:
    """(Re)create the views whose table is registered; drop those whose table is not."""
    app = spark.sparkContext.applicationId
    out = []
    for view, (base, comment) in VIEWS.items():
        key = (app, database, view)
        if base not in tables:
            if spark.catalog.tableExists(f"{database}.{view}"):
                spark.sql(f"DROP VIEW IF EXISTS {database}.{view}")
            _registered.pop(key, None)
            continue
        target = _registered.get((app, database, base))
        if _registered.get(key) != target or not spark.catalog.tableExists(f"{database}.{view}"):
            spark.sql(
                f"CREATE OR REPLACE VIEW {database}.{view} COMMENT {sql_string(comment)} "
                f"AS SELECT * FROM {database}.{base} WHERE score_date = "
                f"(SELECT max(score_date) FROM {database}.{base})"
            )
            _registered[key] = target
        out.append(view)
    return out


def main(argv: list[str] | None = None) -> int:
    """Register the tables in this application's catalog (the SQL server's metastore) and exit."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--lake", required=True)
    args = parser.parse_args(argv)
    from core.spark import get_spark, stop_spark

    spark = get_spark("risk-sql-catalog")
    try:
        names = register(spark, args.lake)
    except PipelineError as exc:
        print(f"catalog: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_spark()
    print(f"registered {len(names)} tables in {DATABASE}: {', '.join(names) or '(none)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
