"""`riskctl sql`: run a query over the `risk.*` tables; print the result as a table, CSV or JSON.

The process registers `risk.*` over the lake paths in its own catalog (jobs.sql_catalog), runs the
statements it was given (`SET account_id=...; SELECT ...` works: the result of the last one is
printed), and prints at most `limit` rows. Like the SQL server it only reads: a statement that
would write (INSERT, DELETE, CREATE, DROP, OPTIMIZE, ...) is refused before it runs. A SQL error
is one line on stderr (a PipelineError), never a traceback.
"""

from __future__ import annotations

import atexit
import csv
import datetime as dt
import decimal
import io
import json
import logging
import math
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass

from core.errors import PipelineError
from core.settings import configure, environment_value, export, settings
from jobs.sql_catalog import DATABASE, register

log = logging.getLogger("risk.sql")

# The statements that only read: the same allow-list as the SQL server's guard
# (infra/jvm/sqlguard/ReadOnlyGuard.java; a test keeps the two equal).
READ_ONLY_COMMANDS = frozenset(
    {
        "SetCommand",
        "ResetCommand",
        "SetCatalogAndNamespace",
        "SetNamespaceCommand",
        "SetCatalogCommand",
        "ShowCurrentNamespace",
        "ShowCurrentNamespaceCommand",
        "ShowTables",
        "ShowTablesExtended",
        "ShowTablesCommand",
        "ShowViews",
        "ShowViewsCommand",
        "ShowNamespaces",
        "ShowNamespacesCommand",
        "ShowCatalogs",
        "ShowCatalogsCommand",
        "ShowColumns",
        "ShowColumnsCommand",
        "ShowFunctions",
        "ShowFunctionsCommand",
        "ShowCreateTable",
        "ShowCreateTableCommand",
        "ShowCreateTableAsSerdeCommand",
        "ShowTableProperties",
        "ShowTablePropertiesCommand",
        "ShowPartitions",
        "ShowPartitionsCommand",
        "DescribeRelation",
        "DescribeColumn",
        "DescribeNamespace",
        "DescribeFunction",
        "DescribeTableCommand",
        "DescribeTableJsonCommand",
        "DescribeColumnCommand",
        "DescribeDatabaseCommand",
        "DescribeFunctionCommand",
        "DescribeQueryCommand",
        "ExplainCommand",
        "DescribeDeltaHistory",
        "DescribeDeltaHistoryCommand",
        "DescribeDeltaDetailCommand",
    }
)
REFUSED_NODES = frozenset(
    {
        "ScriptTransformation",
        "HiveScriptTransformation",
        "InsertIntoStatement",
        "DeltaDelete",
        "DeltaUpdateTable",
        "DeltaMergeInto",
        "DeleteFromTable",
        "UpdateTable",
        "MergeIntoTable",
    }
)


@dataclass
class Result:
    columns: list[str]
    types: list[str]  # Spark simple type names, e.g. "string", "double", "array<string>"
    rows: list[tuple]
    truncated: bool  # more rows exist than were fetched


# --- statements ----------------------------------------------------------------------------


def split_statements(text: str) -> list[str]:
    """Split SQL text on `;` outside quotes and comments; drop empty statements."""
    out: list[str] = []
    cur: list[str] = []
    has_code = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"`":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" and ch != "`" else 1
            cur.append(text[i : j + 1])
            has_code = True
            i = j + 1
        elif text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            cur.append(text[i:j])
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            cur.append(text[i:j])
            i = j
        elif ch == ";":
            if has_code:
                out.append("".join(cur).strip())
            cur, has_code = [], False
            i += 1
        else:
            has_code = has_code or not ch.isspace()
            cur.append(ch)
            i += 1
    if has_code:
        out.append("".join(cur).strip())
    return out


def _children(node) -> list:
    seq = node.children()
    return [seq.apply(i) for i in range(seq.size())]


def check_read_only(spark, statement: str) -> None:
    """Refuse a statement whose parsed plan writes (or is a command not on the allow-list).

    Only parses: nothing runs. A statement that does not parse passes through, so Spark reports
    the syntax error itself.
    """
    jvm = spark.sparkContext._jvm
    try:
        plan = spark._jsparkSession.sessionState().sqlParser().parsePlan(statement)
    except Exception:  # noqa: BLE001 - the real run reports the parse error with its position
        return
    command = jvm.java.lang.Class.forName("org.apache.spark.sql.catalyst.plans.logical.Command")
    stack = [plan]
    while stack:
        node = stack.pop()
        name = node.getClass().getSimpleName()
        if name in REFUSED_NODES or (command.isInstance(node) and name not in READ_ONLY_COMMANDS):
            raise PipelineError(
                f"read-only: {name} refused; riskctl sql and the SQL server only read (queries, "
                "SHOW, DESCRIBE, EXPLAIN, USE, SET): the pipeline's jobs write the tables"
            )
        stack.extend(_children(node))


def one_line(exc: BaseException) -> str:
    """Spark's error message as one line: its first line plus the position, no plan, no trace."""
    text = str(exc)
    java = getattr(exc, "java_exception", None)
    if java is not None and not hasattr(exc, "getCondition"):  # a raw Py4JJavaError
        text = str(java.getMessage() or java.toString())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    first = lines[0] if lines else type(exc).__name__
    pos = re.search(r"line (\d+),? pos (\d+)", text)
    if pos and f"line {pos.group(1)}" not in first:
        first += f" (line {pos.group(1)}, pos {pos.group(2)})"
    return first


def execute(spark, lake: str, text: str, limit: int = 50) -> Result:
    """Register risk.*, run the statements of `text`, return the last one's rows (<= limit)."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    statements = split_statements(text)
    if not statements:
        raise PipelineError("no SQL statement given")
    names = register(spark, lake)
    previous_db = spark.catalog.currentDatabase()
    spark.catalog.setCurrentDatabase(DATABASE)
    try:
        df = None
        for statement in statements:
            check_read_only(spark, statement)
            df = spark.sql(statement)  # commands run here; queries run when collected below
        assert df is not None
        fetched = (df.limit(limit + 1) if limit > 0 else df).collect()
    except (PySparkException, Py4JJavaError) as exc:
        message = one_line(exc)
        if "TABLE_OR_VIEW_NOT_FOUND" in message:
            message += f" [tables in {DATABASE}: {', '.join(names) or 'none in ' + lake}]"
        raise PipelineError(f"query failed: {message}") from None
    finally:
        spark.catalog.setCurrentDatabase(previous_db)
    truncated = limit > 0 and len(fetched) > limit
    rows = fetched[:limit] if limit > 0 else fetched
    fields = df.schema.fields
    local_ts = {i for i, f in enumerate(fields) if f.dataType.typeName() == "timestamp"}
    return Result(
        columns=[f.name for f in fields],
        types=[f.dataType.simpleString() for f in fields],
        rows=[tuple(_utc(v) if i in local_ts else v for i, v in enumerate(r)) for r in rows],
        truncated=truncated,
    )


def _utc(value):
    # PySpark turns TIMESTAMP values into naive datetimes in the Python process's local time;
    # the tables (and the session) are UTC, so show UTC whatever the caller's TZ is.
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


# --- printing ------------------------------------------------------------------------------

_NUMERIC = re.compile(r"^(tinyint|smallint|int|bigint|float|double|decimal.*)$")


def format_value(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return text if text not in ("0", "-0") or value == 0 else f"{value:.3g}"
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "asDict"):  # a struct (Row)
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.asDict().items()) + "}"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{format_value(k)}: {format_value(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value).replace("\r", "\\r").replace("\n", "\\n")


def format_table(result: Result) -> str:
    """An aligned text table: header, rule, rows (numbers right-aligned), and a row count."""
    cells = [[format_value(v) for v in row] for row in result.rows]
    widths = [len(c) for c in result.columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    numeric = [bool(_NUMERIC.match(t)) for t in result.types]

    def line(values: list[str], header: bool = False) -> str:
        parts = [
            v.rjust(w) if num and not header else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return " | ".join(parts).rstrip()

    out = [line(result.columns, header=True), "-+-".join("-" * w for w in widths)]
    out += [line(row) for row in cells]
    n = len(cells)
    if result.truncated:
        out.append(f"({n} rows shown; more exist: raise --limit, or 0 for all)")
    else:
        out.append(f"({n} row{'' if n == 1 else 's'})")
    return "\n".join(out)


# --- the command ---------------------------------------------------------------------------


def quiet_log_config(level: str | None = None) -> str:
    """A log4j2 file that keeps Spark's JVM at `level` (default RISK_SPARK_LOG_LEVEL or ERROR)."""
    level = (level or settings().spark_log_level).lower()
    tmp = tempfile.mkdtemp(prefix="risk-log4j-")
    atexit.register(shutil.rmtree, tmp, True)
    path = os.path.join(tmp, "log4j2.properties")
    with open(path, "w") as fh:
        fh.write(
            f"rootLogger.level = {level}\n"
            "rootLogger.appenderRef.stderr.ref = console\n"
            "appender.console.type = Console\n"
            "appender.console.name = console\n"
            "appender.console.target = SYSTEM_ERR\n"
            "appender.console.layout.type = PatternLayout\n"
            "appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n\n"
            # PySpark's driver announces "Setting default log level" unless its entry-point
            # loggers have a level of their own.
            "logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer\n"
            f"logger.gateway.level = {level}\n"
            "logger.repl.name = org.apache.spark.repl.Main\n"
            f"logger.repl.level = {level}\n"
            "logger.context.name = org.apache.spark.SparkContext\n"
            f"logger.context.level = {level}\n"
        )
    return path


def _prepare_process() -> None:
    """Before this process's SparkSession exists: quiet JVM logs, keep the cwd clean."""
    from pyspark import SparkContext
    from pyspark.logger import PySparkLogger

    # PySpark logs every SQL error it raises, with the JVM stack, as JSON on stderr; the
    # command reports the error itself, as one line.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
    if SparkContext._active_spark_context is not None:
        return
    opts = environment_value("SPARK_SUBMIT_OPTS")
    if "log4j2.configurationFile" not in opts:
        export(
            "SPARK_SUBMIT_OPTS",
            f"{opts} -Dlog4j2.configurationFile=file:{quiet_log_config()}".strip(),
        )
    conf = settings().spark_conf
    if "spark.sql.warehouse.dir" not in dict(conf):
        # The default database would otherwise appear as ./spark-warehouse wherever riskctl runs.
        tmp = tempfile.mkdtemp(prefix="risk-warehouse-")
        atexit.register(shutil.rmtree, tmp, True)
        configure(spark_conf=(*conf, ("spark.sql.warehouse.dir", tmp)))


def plain_value(value):
    """A cell as JSON-ready Python: dates as ISO text, structs as objects, decimals as text."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or infinity
    if hasattr(value, "asDict"):
        return {k: plain_value(v) for k, v in value.asDict().items()}
    if isinstance(value, dict):
        return {str(plain_value(k)): plain_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    return value


def format_csv(result: Result) -> str:
    """CSV with a header row; NULL is an empty field, arrays and structs are JSON text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        cells = []
        for value in row:
            v = plain_value(value)
            cells.append(
                ""
                if v is None
                else json.dumps(v)
                if isinstance(v, list | dict)
                else ("true" if v else "false")
                if isinstance(v, bool)
                else v
            )
        writer.writerow(cells)
    return out.getvalue().rstrip("\n")


def format_json(result: Result) -> str:
    """A JSON array with one object per row, keys in column order."""
    rows = [
        dict(zip(result.columns, (plain_value(v) for v in row), strict=True)) for row in result.rows
    ]
    return json.dumps(rows, indent=1, ensure_ascii=False)


FORMATS = {"table": format_table, "csv": format_csv, "json": format_json}


def run_query(lake: str, query: str, limit: int = 50, fmt: str = "table") -> None:
    """Print the result of `query` (its last statement) on stdout as `fmt` (table, csv, json).

    For csv and json stdout holds only the data; that more rows exist goes to stderr.
    """
    if fmt not in FORMATS:
        raise PipelineError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    _prepare_process()
    from core.spark import get_spark

    result = execute(get_spark("riskctl-sql"), lake, query, limit=limit)
    print(FORMATS[fmt](result), flush=True)
    if fmt != "table" and result.truncated:
        print(
            f"riskctl sql: {len(result.rows)} rows shown; more exist: raise --limit, or 0 for all",
            file=sys.stderr,
        )
