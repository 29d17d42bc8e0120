"""SQL for analysts: `riskctl sql`, the saved queries, non-Spark readers, the read-only server.

The gold tables are built by hand with the registry schemas: a few accounts over five score
days, two of them critical today, one cluster that grew from 2 to 3 accounts this week.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import tables
from core.delta_io import predicate, replace_where
from core.errors import PipelineError

REPO = Path(__file__).resolve().parent.parent
# This checkout's CLI (the venv's `riskctl` script may point at another checkout).
RISKCTL = [sys.executable, "-m", "jobs.cli"]
SQL_DIR = REPO / "sql"

D = dt.date(2026, 5, 31)  # "today": the latest score_date in the fixture
SCORE_DAYS = [D - dt.timedelta(days=k) for k in (7, 5, 2, 1, 0)]
SCORED_AT = dt.datetime(2026, 6, 1, 2, 30, 0)
MODEL = ("risk_model", "3")

# account -> band on each score day (None: not scored that day)
BANDS = {
    "acct_crit_a": ["medium", "medium", "medium", "medium", "critical"],  # turned on D
    "acct_crit_b": ["critical", "critical", "critical", "critical", "critical"],
    "acct_high_c": ["low", "low", "high", "high", "high"],  # turned on D-2
    "acct_low_d": ["low", "low", "low", "low", "low"],
    "acct_low_e": ["low", "low", "low", "low", "low"],
    "acct_new_f": [None, None, None, None, "high"],  # first seen on D, already high
}
SCORE_OF_BAND = {"low": 0.05, "medium": 0.4, "high": 0.8, "critical": 0.95}
REASONS = {
    "low": [],
    "medium": ["many near-identical prompts"],
    "high": ["shares a payment instrument with a banned account", "many near-identical prompts"],
    "critical": [
        "asks for step-by-step reasoning on most requests",
        "shares a payment instrument with a banned account",
    ],
}


def _cluster_of(account: str, day_index: int) -> str | None:
    if account in ("acct_crit_b", "acct_high_c") or (account == "acct_crit_a" and day_index >= 2):
        return "clu_big"
    if account in ("acct_low_d", "acct_low_e"):
        return "clu_small"
    return None


def score_rows() -> list[tuple]:
    rows = []
    for account, bands in BANDS.items():
        for i, (day, band) in enumerate(zip(SCORE_DAYS, bands, strict=True)):
            if band is None:
                continue
            # a per-account, per-day offset keeps every score distinct and the order stable
            score = round(SCORE_OF_BAND[band] + 0.001 * i + 0.0001 * (ord(account[-1]) - 96), 6)
            rows.append(
                (
                    account,
                    day,
                    score,
                    band,
                    _cluster_of(account, i),
                    REASONS[band],
                    *MODEL,
                    SCORED_AT,
                )
            )
    return rows


def cluster_rows() -> list[tuple]:
    rows = []
    for i, day in enumerate(SCORE_DAYS):
        big = ["acct_crit_b", "acct_high_c"] + (["acct_crit_a"] if i >= 2 else [])
        scores = {r[0]: r[2] for r in score_rows() if r[1] == day}
        bands = {r[0]: r[3] for r in score_rows() if r[1] == day}
        for cid, members, links in (
            ("clu_big", big, ["payment", "prompt_simhash"]),
            ("clu_small", ["acct_low_d", "acct_low_e"], ["ip_prefix"]),
        ):
            member_scores = [scores[m] for m in members]
            ranked = sorted(members, key=lambda m: -scores[m])
            rows.append(
                (
                    cid,
                    day,
                    len(members),
                    sum(bands[m] in ("high", "critical") for m in members),
                    max(member_scores),
                    sum(member_scores) / len(member_scores),
                    100 * len(members) + i,
                    links,
                    ranked,
                )
            )
    return rows


def audit_rows() -> list[tuple]:
    rows = []
    for k in range(3):
        day = D - dt.timedelta(days=k)
        for j, source in enumerate(tables.RAW_SOURCES):
            read = 1000 + 10 * k + j
            rows.append((source, day, read, read - 7 - j, 5, 2 + j, SCORED_AT))
    return rows


def build_gold(spark, lake: str) -> None:
    """The fixture lake: both gold tables and the ingest audit (silver tables left absent)."""
    for table, rows, col in (
        (tables.ACCOUNT_SCORES, score_rows(), "score_date"),
        (tables.ACCOUNT_CLUSTERS, cluster_rows(), "score_date"),
        (tables.INGEST_AUDIT, audit_rows(), "land_date"),
    ):
        df = spark.createDataFrame(rows, table.schema)
        replace_where(df, table, lake, predicate(**{col: sorted({r[1] for r in rows})}))


@pytest.fixture(scope="module")
def gold_lake(spark, tmp_path_factory) -> str:
    lake = str(tmp_path_factory.mktemp("sql") / "lake")
    build_gold(spark, lake)
    return lake


def saved_queries() -> list[Path]:
    return sorted(SQL_DIR.glob("*.sql"))


# --- riskctl sql ---------------------------------------------------------------------------

CRITICAL_TODAY = (
    "SELECT account_id, risk_score, cluster_id FROM risk.account_scores_daily "
    "WHERE score_date = DATE'2026-05-31' AND risk_band = '{band}' "
    "ORDER BY account_id"
)


def test_run_query_prints_an_aligned_table(spark, gold_lake, capsys):
    from jobs.sql import run_query

    run_query(gold_lake, CRITICAL_TODAY.format(band="critical"))
    assert capsys.readouterr().out.splitlines() == [
        "account_id  | risk_score | cluster_id",
        "------------+------------+-----------",
        "acct_crit_a |     0.9541 | clu_big",
        "acct_crit_b |     0.9542 | clu_big",
        "(2 rows)",
    ]
    # negative control: another band gives other rows, so the output above was not a constant
    run_query(gold_lake, CRITICAL_TODAY.format(band="low"))
    out = capsys.readouterr().out
    assert "acct_low_d" in out and "acct_crit_a" not in out
    # a limit below the row count says more rows exist
    run_query(gold_lake, "SELECT account_id FROM risk.account_scores_daily ORDER BY 1", limit=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:4] == ["acct_crit_a", "acct_crit_a"] and "more exist" in lines[-1]


def test_run_query_prints_csv_and_json(spark, gold_lake, capsys):
    import csv
    import io
    import json

    from jobs.sql import run_query

    query = (
        "SELECT account_id, score_date, risk_score, cluster_id, reasons "
        "FROM risk.account_scores_daily WHERE score_date = DATE'2026-05-31' "
        "AND account_id IN ('acct_crit_a', 'acct_new_f') ORDER BY account_id"
    )
    run_query(gold_lake, query, fmt="csv")
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [
        ["account_id", "score_date", "risk_score", "cluster_id", "reasons"],
        ["acct_crit_a", "2026-05-31", "0.9541", "clu_big", json.dumps(REASONS["critical"])],
        # NULL cluster: an empty field
        ["acct_new_f", "2026-05-31", "0.8046", "", json.dumps(REASONS["high"])],
    ]
    run_query(gold_lake, query, fmt="json")
    data = json.loads(capsys.readouterr().out)
    assert data == [
        {
            "account_id": "acct_crit_a",
            "score_date": "2026-05-31",
            "risk_score": 0.9541,
            "cluster_id": "clu_big",
            "reasons": REASONS["critical"],
        },
        {
            "account_id": "acct_new_f",
            "score_date": "2026-05-31",
            "risk_score": 0.8046,
            "cluster_id": None,
            "reasons": REASONS["high"],
        },
    ]
    # Negative control: another day gives other values through the same formats.
    run_query(gold_lake, query.replace("2026-05-31", "2026-05-30"), fmt="json")
    other = json.loads(capsys.readouterr().out)
    assert other != data and other[0]["score_date"] == "2026-05-30"
    # More rows than the limit: stdout stays pure CSV, the notice goes to stderr.
    run_query(gold_lake, "SELECT account_id FROM risk.account_scores_daily", limit=2, fmt="csv")
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 3 and "more exist" in captured.err


def test_sql_errors_are_one_line(spark, gold_lake):
    from jobs.sql import execute

    for query, expected in (
        ("SELECT * FROM risk.no_such_table", "TABLE_OR_VIEW_NOT_FOUND"),
        ("SELECT * FORM risk.account_scores_daily", "PARSE_SYNTAX_ERROR"),
        ("SELECT no_such_column FROM risk.account_scores_daily", "UNRESOLVED_COLUMN"),
    ):
        with pytest.raises(PipelineError) as info:
            execute(spark, gold_lake, query)
        message = str(info.value)
        assert expected in message and "\n" not in message, message
        assert "Traceback" not in message and "\tat " not in message
    assert "account_scores_daily" in str(
        pytest.raises(PipelineError, execute, spark, gold_lake, "SELECT * FROM nope").value
    )


def test_riskctl_sql_refuses_writes(spark, gold_lake):
    from deltalake import DeltaTable

    from jobs.sql import execute

    path = tables.ACCOUNT_SCORES.uri(gold_lake)
    before = DeltaTable(path).version()
    for statement in (
        "INSERT INTO risk.account_scores_daily SELECT * FROM risk.account_scores_daily",
        "DELETE FROM risk.account_scores_daily",
        "DROP TABLE risk.account_scores_daily",
        "CREATE TABLE risk.x (a INT) USING delta",
        f"INSERT INTO delta.`{path}` SELECT * FROM risk.account_scores_daily",
    ):
        with pytest.raises(PipelineError, match="read-only"):
            execute(spark, gold_lake, statement)
    assert DeltaTable(path).version() == before
    # reads, metadata and settings still work
    assert execute(spark, gold_lake, "SHOW TABLES IN risk").rows
    assert execute(spark, gold_lake, "DESCRIBE HISTORY risk.account_scores_daily").rows
    assert execute(spark, gold_lake, "SET x_unused=1; SELECT '${x_unused}' AS v").rows == [("1",)]
    spark.conf.unset("x_unused")


def test_catalog_registers_only_existing_tables_and_follows_the_lake(spark, gold_lake, lake):
    from jobs.sql_catalog import register, visible_tables

    names = register(spark, gold_lake)
    assert names == [
        "account_clusters_daily",
        "account_scores_daily",
        "ingest_audit",
        "latest_account_scores",
        "latest_account_clusters",
    ]
    assert {t.name for t in visible_tables()} >= set(names[:3]) | {"interactions"}
    # another lake with only the scores table: the registrations follow it
    rows = [r for r in score_rows() if r[1] == D][:2]
    replace_where(
        spark.createDataFrame(rows, tables.ACCOUNT_SCORES.schema),
        tables.ACCOUNT_SCORES,
        lake,
        predicate(score_date=D),
    )
    assert register(spark, lake) == ["account_scores_daily", "latest_account_scores"]
    assert spark.table("risk.account_scores_daily").count() == 2
    assert not spark.catalog.tableExists("risk.ingest_audit")
    assert not spark.catalog.tableExists("risk.latest_account_clusters")
    assert register(spark, gold_lake) == names
    assert spark.table("risk.account_scores_daily").count() == len(score_rows())


def test_latest_views_hold_the_last_published_day(spark, gold_lake):
    from jobs.sql import execute

    latest = execute(
        spark, gold_lake, "SELECT DISTINCT score_date FROM risk.latest_account_scores", limit=0
    ).rows
    assert latest == [(D,)]  # "today" is the latest score_date, never the wall clock
    n = execute(spark, gold_lake, "SELECT count(*) FROM risk.latest_account_scores").rows[0][0]
    assert n == sum(1 for r in score_rows() if r[1] == D) == 6
    clusters = execute(
        spark,
        gold_lake,
        "SELECT cluster_id, n_accounts FROM risk.latest_account_clusters ORDER BY 1",
    ).rows
    assert clusters == [("clu_big", 3), ("clu_small", 2)]
    # Negative control: the table itself holds more days than the view.
    days = execute(
        spark, gold_lake, "SELECT count(DISTINCT score_date) FROM risk.account_scores_daily"
    ).rows[0][0]
    assert days == len(SCORE_DAYS) > 1


def test_tables_and_columns_carry_their_comments(spark, gold_lake):
    """What DESCRIBE TABLE EXTENDED and a SQL client's schema browser show comes from the
    registry, written into the Delta tables by the jobs."""
    from jobs.sql import execute

    desc = execute(
        spark, gold_lake, "DESCRIBE TABLE EXTENDED risk.account_scores_daily", limit=0
    ).rows
    by_col = {r[0]: r[2] for r in desc[: len(tables.ACCOUNT_SCORES.columns)]}
    assert by_col["risk_score"] == tables.ACCOUNT_SCORES.column_comment("risk_score")
    assert by_col["risk_score"].startswith("Calibrated probability")
    details = {r[0]: r[1] for r in desc[len(by_col) :]}  # "# Detailed Table Information"
    assert details["Comment"] == tables.ACCOUNT_SCORES.description
    # the catalog's column list (JDBC getColumns) and the views have them too
    for name, table in (
        ("account_clusters_daily", tables.ACCOUNT_CLUSTERS),
        ("latest_account_clusters", tables.ACCOUNT_CLUSTERS),
        ("ingest_audit", tables.INGEST_AUDIT),
    ):
        columns = spark.catalog.listColumns(f"risk.{name}")
        assert [c.description for c in columns] == [
            table.column_comment(c.name) for c in columns
        ], name
        assert all(c.description for c in columns), name
    assert spark.catalog.getTable("risk.latest_account_scores").description.startswith(
        "Today's scores"
    )
    # different tables, different words for the same column name
    assert tables.ACCOUNT_CLUSTERS.column_comment("requests_7d").startswith("Members'")
    assert tables.INGEST_AUDIT.column_comment("land_date") == "The date= partition read."


def test_every_sql_table_and_column_has_a_comment():
    import features  # noqa: F401 - registers the feature tables
    from jobs.sql_catalog import visible_tables

    for t in visible_tables():
        assert t.description, t.name
        assert [c for c in t.columns if not t.column_comment(c)] == [], t.name
    # the feature table's comments are the catalog's meanings
    from features.catalog import feature_columns

    feats = tables.table("account_features_daily")
    assert all(feats.column_comment(f.name) == f.meaning for f in feature_columns())


def test_docs_list_every_table_and_view():
    import features  # noqa: F401 - registers the feature tables
    from jobs.sql_catalog import VIEWS, visible_tables

    text = (REPO / "docs" / "SQL.md").read_text()
    names = [t.name for t in visible_tables()] + list(VIEWS)
    assert [n for n in names if f"`risk.{n}`" not in text] == []
    # Negative control: the same check flags a name the page lacks.
    assert "`risk.no_such_table`" not in text


def test_comments_reach_a_table_written_before_they_existed(spark, lake):
    from delta.tables import DeltaTable

    from core import delta_io

    table = tables.MODEL_DAYS
    spark.createDataFrame([], table.schema).write.format("delta").save(table.uri(lake))
    assert all(not f.metadata for f in spark.read.format("delta").load(table.uri(lake)).schema)
    assert sorted(delta_io.set_comments(spark, table, lake)) == sorted([*table.columns, "<table>"])
    stored = spark.read.format("delta").load(table.uri(lake)).schema
    assert {f.name: f.metadata["comment"] for f in stored} == {
        c: table.column_comment(c) for c in table.columns
    }
    assert (
        DeltaTable.forPath(spark, table.uri(lake)).detail().first()["description"]
        == table.description
    )
    # Negative control: nothing differs any more, so nothing is written.
    version = DeltaTable.forPath(spark, table.uri(lake)).history(1).first()["version"]
    assert delta_io.set_comments(spark, table, lake) == []
    assert DeltaTable.forPath(spark, table.uri(lake)).history(1).first()["version"] == version


def test_riskctl_sql_command(gold_lake, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ok = subprocess.run(
        [*RISKCTL, "sql", "--lake", gold_lake, CRITICAL_TODAY.format(band="critical")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[2:5] == [
        "acct_crit_a |     0.9541 | clu_big",
        "acct_crit_b |     0.9542 | clu_big",
        "(2 rows)",
    ]

    bad = subprocess.run(
        [*RISKCTL, "sql", "--lake", gold_lake, "SELECT * FROM risk.nope"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert bad.returncode == 2 and bad.stdout == ""  # refused: nothing done
    lines = bad.stderr.splitlines()
    errors = [ln for ln in lines if ln.startswith("riskctl sql:")]
    assert len(errors) == 1 and "TABLE_OR_VIEW_NOT_FOUND" in errors[0], bad.stderr
    # the only other stderr line allowed is the JVM's own notice, printed before Spark starts
    assert [
        ln
        for ln in lines
        if ln not in errors and not ln.startswith("WARNING: Using incubator modules")
    ] == [], bad.stderr
    assert not (tmp_path / "spark-warehouse").exists()  # the command leaves the cwd clean


def test_read_only_allow_lists_match_the_server_guard():
    from jobs.sql import READ_ONLY_COMMANDS, REFUSED_NODES

    java = (REPO / "infra" / "jvm" / "sqlguard" / "ReadOnlyGuard.java").read_text()

    def java_set(name: str) -> set[str]:
        body = re.search(name + r" = Set\.of\((.*?)\);", java, re.S).group(1)
        return set(re.findall(r'"(\w+)"', body))

    assert java_set("READ_ONLY_COMMANDS") == READ_ONLY_COMMANDS
    assert java_set("REFUSED_NODES") == REFUSED_NODES
    assert "InsertIntoStatement" in REFUSED_NODES  # negative control: the parse found names


def test_split_statements_respects_quotes_and_comments():
    from jobs.sql import split_statements

    text = (
        "-- today's header; not a statement\nSET a=1;\n"
        "SELECT ';' AS s, \"x;y\" /* ; */ FROM t; ;\n-- trailing comment"
    )
    assert split_statements(text) == [
        "-- today's header; not a statement\nSET a=1",
        "SELECT ';' AS s, \"x;y\" /* ; */ FROM t",
    ]
    assert split_statements("-- only a comment;\n") == []


# --- saved queries -------------------------------------------------------------------------

EXPECTED_FIRST_COLUMN = {
    "critical_accounts_today": ["acct_crit_b", "acct_crit_a"],
    "clusters_grew_most_this_week": ["clu_big"],
    "turned_high_risk_last_3_days": ["acct_crit_a", "acct_new_f", "acct_high_c"],
    "account_score_history": ["acct_crit_b"] * 5,  # unset parameter: today's riskiest account
    "riskiest_clusters_today": ["clu_big", "clu_small"],
    "ingest_audit_recent": [
        D,
        D,
        D,
        D - dt.timedelta(1),
        D - dt.timedelta(1),
        D - dt.timedelta(1),
        D - dt.timedelta(2),
        D - dt.timedelta(2),
        D - dt.timedelta(2),
    ],
}


def test_saved_queries_answer_on_the_fixture(spark, gold_lake):
    from jobs.sql import execute

    files = saved_queries()
    assert {f.stem for f in files} == set(EXPECTED_FIRST_COLUMN)
    docs = (REPO / "docs" / "SQL.md").read_text()
    for f in files:
        text = f.read_text()
        assert text.startswith("-- ") and f.name in docs, f"{f.name}: header comment, docs"
        result = execute(spark, gold_lake, text, limit=0)
        assert result.rows, f"{f.name} returned no rows"
        assert [r[0] for r in result.rows] == EXPECTED_FIRST_COLUMN[f.stem], f.name
    grew = execute(spark, gold_lake, (SQL_DIR / "clusters_grew_most_this_week.sql").read_text())
    assert grew.rows[0][2:5] == (2, 3, 1)  # accounts then, today, growth
    audit = execute(spark, gold_lake, (SQL_DIR / "ingest_audit_recent.sql").read_text())
    assert all(r[audit.columns.index("balanced")] for r in audit.rows)


def test_account_history_takes_its_parameter(spark, gold_lake):
    from jobs.sql import execute

    text = (SQL_DIR / "account_score_history.sql").read_text()
    try:
        picked = execute(spark, gold_lake, "SET account_id=acct_high_c;\n" + text)
    finally:
        spark.conf.unset("account_id")
    assert [r[0] for r in picked.rows] == ["acct_high_c"] * 5
    bands = [r[picked.columns.index("risk_band")] for r in picked.rows]
    assert bands == ["low", "low", "high", "high", "high"]
    # negative control: unset again, the default account comes back
    assert execute(spark, gold_lake, text).rows[0][0] == "acct_crit_b"


# --- readers without Spark -----------------------------------------------------------------

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _norm(value):
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return (aware - _EPOCH) // dt.timedelta(microseconds=1)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return tuple(_norm(v) for v in value)
    return value


def _rows(records, columns) -> list[tuple]:
    return sorted((tuple(_norm(r[c]) for c in columns) for r in records), key=repr)


def spark_rows(spark, table, lake) -> list[tuple]:
    from pyspark.sql import functions as F

    df = spark.read.format("delta").load(table.uri(lake))
    for f in df.schema.fields:  # timestamps as epoch micros: no local-time conversion
        if f.dataType.typeName() == "timestamp":
            df = df.withColumn(f.name, F.unix_micros(f.name))
    return _rows([r.asDict() for r in df.collect()], table.columns)


def deltalake_rows(table, lake) -> list[tuple]:
    from deltalake import DeltaTable

    return _rows(DeltaTable(table.uri(lake)).to_pyarrow_table().to_pylist(), table.columns)


def duckdb_rows(table, lake, via: str) -> list[tuple]:
    import duckdb
    from deltalake import DeltaTable

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    cols = ", ".join(table.columns)
    if via == "arrow":
        con.register("gold", DeltaTable(table.uri(lake)).to_pyarrow_table())
        cur = con.execute(f"SELECT {cols} FROM gold")
    else:
        files = DeltaTable(table.uri(lake)).file_uris()  # the current files only, not a glob
        casts = ", ".join(
            f"CAST({c} AS DATE) AS {c}" if c.endswith("_date") else c for c in table.columns
        )
        cur = con.execute(f"SELECT {casts} FROM read_parquet(?, hive_partitioning = true)", [files])
    names = [d[0] for d in cur.description]
    return _rows([dict(zip(names, r, strict=True)) for r in cur.fetchall()], table.columns)


def test_gold_tables_read_the_same_without_spark(spark, gold_lake):
    for table in (tables.ACCOUNT_SCORES, tables.ACCOUNT_CLUSTERS):
        expected = spark_rows(spark, table, gold_lake)
        assert len(expected) == len(
            score_rows() if table is tables.ACCOUNT_SCORES else cluster_rows()
        )
        assert deltalake_rows(table, gold_lake) == expected, table.name
        assert duckdb_rows(table, gold_lake, "arrow") == expected, table.name
        assert duckdb_rows(table, gold_lake, "parquet") == expected, table.name
    scores = spark_rows(spark, tables.ACCOUNT_SCORES, gold_lake)
    band = tables.ACCOUNT_SCORES.columns.index("risk_band")
    assert any(r[band] == "critical" for r in scores)  # real content, not an empty match
    clusters = spark_rows(spark, tables.ACCOUNT_CLUSTERS, gold_lake)
    assert max(r[tables.ACCOUNT_CLUSTERS.columns.index("n_accounts")] for r in clusters) >= 3
    # negative control: one altered value makes the comparison fail
    altered = list(deltalake_rows(tables.ACCOUNT_SCORES, gold_lake))
    score = tables.ACCOUNT_SCORES.columns.index("risk_score")
    altered[0] = altered[0][:score] + (altered[0][score] + 1e-9,) + altered[0][score + 1 :]
    assert altered != scores


def test_duckdb_reads_current_files_not_a_glob(spark, lake):
    import duckdb

    table = tables.ACCOUNT_SCORES
    rows = [r for r in score_rows() if r[1] == D]
    for _ in range(2):  # the same day written twice: the first files are logically removed
        replace_where(
            spark.createDataFrame(rows, table.schema), table, lake, predicate(score_date=D)
        )
    assert duckdb_rows(table, lake, "parquet") == spark_rows(spark, table, lake)
    globbed = (
        duckdb.connect()
        .execute(f"SELECT count(*) FROM read_parquet('{table.uri(lake)}/**/*.parquet')")
        .fetchall()
    )
    assert globbed == [(2 * len(rows),)]  # why the docs say file_uris(), not a glob


# --- the SQL server ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


SERVER_START_TIMEOUT_S = 420  # two Spark starts; minutes on a loaded 2-core machine


@pytest.fixture(scope="module")
def sql_server(gold_lake, tmp_path_factory):
    """`riskctl sql-server` over the fixture lake on a free port; always stopped afterwards."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("sql-server") / "server.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(
            [*RISKCTL, "sql-server", "--lake", gold_lake, "--port", str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=str(REPO),
        )
    try:
        start = time.monotonic()
        while not _listening(port):
            if proc.poll() is not None:
                pytest.fail(f"sql-server exited {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() - start > SERVER_START_TIMEOUT_S:
                pytest.fail(
                    f"sql-server not listening after {SERVER_START_TIMEOUT_S}s:\n"
                    f"{log_path.read_text()[-3000:]}"
                )
            time.sleep(1)
        print(f"sql-server listening after {time.monotonic() - start:.0f}s")
        yield port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # riskctl stops its Spark child and cleans up
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the group this fixture started
                proc.wait()


def _connect(port: int):
    from pyhive import hive

    return hive.connect(host="127.0.0.1", port=port, username="analyst", database="risk")


def test_sql_server_answers_saved_queries(sql_server, gold_lake):
    with _connect(sql_server) as conn:
        cur = conn.cursor()
        cur.execute("SHOW TABLES")
        assert {r[1] for r in cur.fetchall()} == {
            "account_clusters_daily",
            "account_scores_daily",
            "ingest_audit",
            "latest_account_clusters",
            "latest_account_scores",
        }
        cur.execute((SQL_DIR / "critical_accounts_today.sql").read_text())
        rows = cur.fetchall()
        assert [r[0] for r in rows] == ["acct_crit_b", "acct_crit_a"]
        assert "shares a payment instrument" in rows[0][3]
        cur.execute("SET account_id=acct_high_c")
        cur.execute((SQL_DIR / "account_score_history.sql").read_text())
        assert [r[0] for r in cur.fetchall()] == ["acct_high_c"] * 5


def jdbc_columns(conn, table: str) -> dict[str, str]:
    """Column -> REMARKS, from the Thrift GetColumns call a JDBC schema browser makes."""
    from TCLIService import ttypes

    response = conn.client.GetColumns(
        ttypes.TGetColumnsReq(
            sessionHandle=conn.sessionHandle, schemaName="risk", tableName=table, columnName="%"
        )
    )
    assert response.status.statusCode == ttypes.TStatusCode.SUCCESS_STATUS, response.status
    cur = conn.cursor()
    cur._state, cur._operationHandle = cur._STATE_RUNNING, response.operationHandle
    names = [d[0].upper() for d in cur.description]
    return {row[names.index("COLUMN_NAME")]: row[names.index("REMARKS")] for row in cur.fetchall()}


def test_sql_server_schema_browser_shows_comments(sql_server):
    with _connect(sql_server) as conn:
        remarks = jdbc_columns(conn, "account_scores_daily")
        view = jdbc_columns(conn, "latest_account_scores")
    assert list(remarks) == tables.ACCOUNT_SCORES.columns
    assert remarks == {
        c: tables.ACCOUNT_SCORES.column_comment(c) for c in tables.ACCOUNT_SCORES.columns
    }
    assert view == remarks
    # Negative control: another table's columns have other remarks.
    with _connect(sql_server) as conn:
        assert jdbc_columns(conn, "ingest_audit")["land_date"] != remarks["score_date"]


def test_sql_server_beeline_url(sql_server, tmp_path):
    beeline = Path(sys.executable).parent / "beeline"
    if not beeline.exists():
        pytest.skip("no beeline in the venv")
    script = tmp_path / "session.sql"
    script.write_text(
        (SQL_DIR / "account_score_history.sql").read_text()
        + "\nDROP TABLE risk.account_scores_daily;\n"
    )
    done = subprocess.run(
        [
            str(beeline),
            "-u",
            f"jdbc:hive2://localhost:{sql_server}/risk",
            "-n",
            "analyst",
            "--hivevar",
            "account_id=acct_high_c",
            "--outputformat=csv2",
            "-f",
            str(script),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        # as with an activated venv: beeline finds Spark's home through the venv's python
        env=dict(os.environ, PATH=f"{beeline.parent}{os.pathsep}{os.environ.get('PATH', '')}"),
    )
    out = done.stdout + done.stderr
    assert done.stdout.count("acct_high_c,") == 5, out[-3000:]
    assert done.returncode != 0 and "READ_ONLY" in out, out[-3000:]


WRITES = (
    "INSERT INTO risk.account_scores_daily SELECT * FROM risk.account_scores_daily",
    "INSERT INTO risk.account_scores_daily VALUES ('acct_x', DATE'2026-05-31', 0.5, 'medium', "
    "NULL, array('x'), 'm', '1', current_timestamp())",
    "DELETE FROM risk.account_scores_daily WHERE risk_band = 'low'",
    "UPDATE risk.account_scores_daily SET risk_score = 0",
    "MERGE INTO risk.account_scores_daily t USING risk.account_scores_daily s "
    "ON t.account_id = s.account_id AND t.score_date = s.score_date WHEN MATCHED THEN DELETE",
    "CREATE TABLE risk.analyst_scratch (a INT) USING delta",
    "CREATE TABLE risk.analyst_copy USING delta AS SELECT * FROM risk.account_scores_daily",
    "DROP TABLE risk.account_scores_daily",
    "TRUNCATE TABLE risk.account_clusters_daily",
    "ALTER TABLE risk.account_scores_daily SET TBLPROPERTIES ('x' = 'y')",
    "OPTIMIZE risk.account_scores_daily",
    "CREATE TEMPORARY FUNCTION f AS 'org.apache.hadoop.hive.ql.udf.UDFRand'",
)


def test_sql_server_refuses_writes(sql_server, spark, gold_lake, tmp_path):
    from deltalake import DeltaTable
    from pyhive.exc import OperationalError

    gold = (tables.ACCOUNT_SCORES, tables.ACCOUNT_CLUSTERS)
    before = {
        t.name: (DeltaTable(t.uri(gold_lake)).version(), deltalake_rows(t, gold_lake)) for t in gold
    }
    raw = Path(gold_lake) / "raw" / "interactions" / "date=2026-05-31"
    raw.mkdir(parents=True)
    (raw / "part-0.jsonl").write_text('{"request_id": "r1", "client_ip": "203.0.113.7"}\n')
    with _connect(sql_server) as conn:
        cur = conn.cursor()
        for statement in WRITES + (
            f"INSERT INTO delta.`{tables.ACCOUNT_SCORES.uri(gold_lake)}` "
            "SELECT * FROM risk.account_scores_daily",
        ):
            with pytest.raises(OperationalError) as info:
                cur.execute(statement)
            message = str(info.value)
            assert "READ_ONLY" in message or "TABLE_OR_VIEW_NOT_FOUND" in message, message
        # the raw zone (raw IPs) is out of SQL's reach, and cannot be brought back into it
        with pytest.raises(OperationalError, match="TABLE_OR_VIEW_NOT_FOUND"):
            cur.execute(f"SELECT * FROM json.`{raw}`")
        # nor can a query run code: a shell script, a JVM method
        for statement in (
            "SET spark.sql.runSQLOnFiles=true",
            "SET spark.sql.catalog.other=org.apache.spark.sql.execution.datasources"
            ".v2.jdbc.JDBCTableCatalog",
            "SELECT reflect('java.lang.System', 'getenv', 'HOME')",
            "SELECT TRANSFORM(source) USING 'cat' FROM risk.ingest_audit",
        ):
            with pytest.raises(OperationalError, match="READ_ONLY"):
                cur.execute(statement)
        # still all there for the next analyst
        cur.execute("SHOW TABLES")
        assert len(cur.fetchall()) == 5  # three tables, two latest_* views
        cur.execute("SELECT count(*) FROM risk.account_scores_daily")
        assert cur.fetchone()[0] == len(score_rows())
    for t in gold:
        assert (DeltaTable(t.uri(gold_lake)).version(), deltalake_rows(t, gold_lake)) == before[
            t.name
        ], t.name
    assert sorted(p.name for p in Path(gold_lake).iterdir()) == ["gold", "ops", "raw"]

    # negative control: the same statements are real writes where no guard stands (this test's
    # own unguarded Spark, on a copy of the lake), so the server refused them, not the SQL
    from jobs.sql_catalog import register

    copy = str(tmp_path / "copy")
    shutil.copytree(gold_lake, copy, ignore=shutil.ignore_patterns("raw"))
    register(spark, copy)
    path = tables.ACCOUNT_SCORES.uri(copy)
    spark.sql(WRITES[0])
    spark.sql(WRITES[2])
    assert DeltaTable(path).version() == before["account_scores_daily"][0] + 2
    spark.sql(WRITES[7])
    assert not spark.catalog.tableExists("risk.account_scores_daily")
    register(spark, gold_lake)  # put the module's registrations back
