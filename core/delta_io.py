"""Delta read/write helpers: every write replaces exactly the slice it owns.

Writes are keyed by partition values (`replaceWhere`), never a whole-table overwrite, so
re-running a day replaces that day and two different days can be written at the same time.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from core.tables import Table

log = logging.getLogger("risk.delta")


def sql_literal(value: object) -> str:
    if isinstance(value, dt.date):
        return f"DATE'{value.isoformat()}'"
    if isinstance(value, str):  # Spark SQL escapes with a backslash (a doubled quote ends it)
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)


def predicate(**equals: object) -> str:
    """`col = v AND ...`; a list/tuple/set value becomes `col IN (...)`."""
    parts = []
    for col, value in equals.items():
        if isinstance(value, list | tuple | set | frozenset):
            values = sorted(value)
            if not values:
                parts.append("false")
                continue
            parts.append(f"{col} IN ({', '.join(sql_literal(v) for v in values)})")
        else:
            parts.append(f"{col} = {sql_literal(value)}")
    return " AND ".join(parts) if parts else "true"


def exists(spark, table: Table, lake: str) -> bool:
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, table.uri(lake))


# Tables already checked against the registry in this process (one Delta log read each).
_CONFORMED: set[str] = set()
# The registry schemas as StructTypes, parsed once per table (each parse is a JVM round trip,
# and every read and write needs one).
_SCHEMAS: dict[str, object] = {}


def registry_schema(spark, table: Table):
    """The table's registry schema as a StructType, each column carrying its comment."""
    if table.name not in _SCHEMAS:
        from pyspark.sql.types import StructField, StructType

        plain = spark.createDataFrame([], table.schema).schema
        _SCHEMAS[table.name] = StructType(
            [
                StructField(
                    f.name,
                    f.dataType,
                    f.nullable,
                    {**f.metadata, "comment": table.column_comment(f.name)}
                    if table.column_comment(f.name)
                    else f.metadata,
                )
                for f in plain
            ]
        )
    return _SCHEMAS[table.name]


def ensure_table(spark, table: Table, lake: str) -> None:
    """Create the table empty, with its registry schema, comments, partitioning and properties;
    on a table written by an earlier release, add the registry's new columns (NULL in the old
    rows) and set the registry's properties and comments it lacks."""
    if exists(spark, table, lake):
        uri = table.uri(lake)
        if uri not in _CONFORMED:
            add_new_columns(spark, table, lake)
            set_properties(spark, table, lake)
            set_comments(spark, table, lake)
            _CONFORMED.add(uri)
        return
    from delta.tables import DeltaTable

    builder = DeltaTable.createIfNotExists(spark).location(table.uri(lake))
    builder = builder.addColumns(registry_schema(spark, table))
    if table.description:
        builder = builder.comment(table.description)
    if table.partition_by:
        builder = builder.partitionedBy(*table.partition_by)
    for key, value in table.properties.items():
        builder = builder.property(key, value)
    builder.execute()


def add_new_columns(spark, table: Table, lake: str) -> list[str]:
    """Additive migration: ALTER TABLE ADD COLUMNS for registry columns the table lacks.

    Only additions: a column the table has and the registry lost, or a changed type, is left to
    the write, which fails with Delta's schema-mismatch message naming it.
    """
    uri = table.uri(lake)
    have = {f.name for f in spark.read.format("delta").load(uri).schema}
    new = [f for f in registry_schema(spark, table) if f.name not in have]
    if new:
        cols = ", ".join(
            f"`{f.name}` {f.dataType.simpleString()}"
            + (
                f" COMMENT {sql_literal(f.metadata['comment'])}"
                if f.metadata.get("comment")
                else ""
            )
            for f in new
        )
        spark.sql(f"ALTER TABLE delta.`{uri}` ADD COLUMNS ({cols})")
        log.warning(
            "table=%s added columns %s (written by an earlier release)",
            table.name,
            [f.name for f in new],
        )
    return [f.name for f in new]


def set_properties(spark, table: Table, lake: str) -> dict[str, str]:
    """ALTER TABLE SET TBLPROPERTIES for registry properties the table lacks or holds otherwise.

    One metadata commit, only when something differs: a lake created by an earlier release gets
    today's settings (they govern files written from now on; old files keep what they have).
    """
    from delta.tables import DeltaTable

    if not table.properties:
        return {}
    uri = table.uri(lake)
    detail = DeltaTable.forPath(spark, uri).detail().first()
    have = (detail["properties"] if detail is not None else None) or {}
    changed = {k: v for k, v in table.properties.items() if have.get(k) != v}
    if changed:
        props = ", ".join(
            f"{sql_literal(k)} = {sql_literal(v)}" for k, v in sorted(changed.items())
        )
        spark.sql(f"ALTER TABLE delta.`{uri}` SET TBLPROPERTIES ({props})")
        log.warning(
            "table=%s set properties %s (they differed from the registry)", table.name, changed
        )
    return changed


def set_comments(spark, table: Table, lake: str) -> list[str]:
    """Give the table the registry's description and column comments where they differ.

    At most two metadata commits (all columns in one ALTER), only when something differs: what
    `DESCRIBE TABLE EXTENDED` and SQL clients' schema browsers show comes from here. Returns the
    columns (and `<table>` for the description) that changed.
    """
    from delta.tables import DeltaTable

    uri = table.uri(lake)
    stored = {
        f.name: f.metadata.get("comment", "") for f in spark.read.format("delta").load(uri).schema
    }
    wanted = {f.name: f.metadata.get("comment", "") for f in registry_schema(spark, table)}
    changed = [c for c, text in wanted.items() if text and c in stored and stored[c] != text]
    if changed:
        spark.sql(
            f"ALTER TABLE delta.`{uri}` ALTER COLUMN "
            + ", ".join(f"`{c}` COMMENT {sql_literal(wanted[c])}" for c in changed)
        )
    if table.description:
        detail = DeltaTable.forPath(spark, uri).detail().first()
        have = detail["description"] if detail is not None else None
        if have != table.description:
            spark.sql(f"COMMENT ON TABLE delta.`{uri}` IS {sql_literal(table.description)}")
            changed.append("<table>")
    if changed:
        log.info("table=%s comments set on %d columns", table.name, len(changed))
    return changed


def read(spark, table: Table, lake: str):
    """The table as a DataFrame; an empty frame of the registry schema when it does not exist."""
    if not exists(spark, table, lake):
        return spark.createDataFrame([], registry_schema(spark, table))
    df = spark.read.format("delta").load(table.uri(lake))
    # A table from an earlier release not yet migrated (nothing written since): its missing
    # registry columns read as NULL, as they will after `add_new_columns`.
    missing = [f for f in registry_schema(spark, table) if f.name not in df.columns]
    if missing:
        from pyspark.sql import functions as F

        df = df.withColumns({f.name: F.lit(None).cast(f.dataType) for f in missing})
    return df


def conform(df, table: Table):
    """Select exactly the registry's columns, cast to its types (fails loudly on a missing one)."""
    from pyspark.sql import functions as F

    schema = registry_schema(df.sparkSession, table)
    missing = [f.name for f in schema if f.name not in df.columns]
    if missing:
        raise ValueError(f"{table.name}: frame lacks columns {missing}")
    return df.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in schema])


def replace_where(df, table: Table, lake: str, where: str, conform_schema: bool = True) -> None:
    """Atomically replace the rows matching `where` with `df` (one Delta commit).

    `where` must cover every row of `df` (Delta checks it), so a write can never leak outside
    the slice it owns.
    """
    start = time.monotonic()
    spark = df.sparkSession
    ensure_table(spark, table, lake)
    out = conform(df, table) if conform_schema else df
    (
        out.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", where)
        .save(table.uri(lake))
    )
    log.info("wrote table=%s where=%s secs=%.1f", table.name, where, time.monotonic() - start)


def replace_partitions(df, table: Table, lake: str, **values: object) -> None:
    replace_where(df, table, lake, predicate(**values))
