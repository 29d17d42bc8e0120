"""The foundation: Spark with Delta offline, the CLI's argument checks, the tables."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core import tables
from features import tables as feature_tables
from jobs.cli import main

REPO = Path(__file__).resolve().parent.parent


def test_delta_write_merge_read_and_time_travel(spark, lake):
    from delta.tables import DeltaTable

    path = f"{lake}/t"
    spark.createDataFrame([(1, "a"), (2, "b")], "id INT, v STRING").write.format("delta").save(path)
    updates = spark.createDataFrame([(2, "B"), (3, "c")], "id INT, v STRING")
    metrics = (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(updates.alias("u"), "t.id = u.id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    ).collect()[0]
    assert metrics["num_updated_rows"] == 1
    assert metrics["num_inserted_rows"] == 1
    now = {r.id: r.v for r in spark.read.format("delta").load(path).collect()}
    assert now == {1: "a", 2: "B", 3: "c"}
    v0 = {
        r.id: r.v for r in spark.read.format("delta").option("versionAsOf", 0).load(path).collect()
    }
    assert v0 == {1: "a", 2: "b"}
    assert v0 != now  # negative control: the merge really changed the table


def test_session_conf_is_project_conf(spark):
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert "delta-spark_2.13-4.0.0.jar" in conf.get("spark.jars")
    assert not conf.contains("spark.jars.packages")
    assert conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"


def _can_unshare() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not _can_unshare(), reason="needs `unshare -n` (root) to cut the network")
def test_session_starts_without_network(tmp_path):
    """In a network namespace with only loopback, a session starts and writes Delta."""
    script = tmp_path / "offline.py"
    script.write_text(
        textwrap.dedent(f"""
        from core.spark import get_spark
        s = get_spark("offline")
        s.range(3).write.format("delta").save({str(tmp_path / "t")!r})
        print("rows", s.read.format("delta").load({str(tmp_path / "t")!r}).count())
    """)
    )
    cmd = f"ip link set lo up && {sys.executable} {script}"
    out = subprocess.run(
        ["unshare", "-n", "sh", "-c", cmd],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=300,
    )
    assert "rows 3" in out.stdout, out.stderr[-2000:]
    # negative control: the namespace really has no route out
    probe = subprocess.run(
        [
            "unshare",
            "-n",
            "sh",
            "-c",
            f"{sys.executable} -c \"import socket; socket.create_connection(('1.1.1.1', 443), 3)\"",
        ],
        capture_output=True,
        text=True,
    )
    assert probe.returncode != 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--start", "2026-05-02", "--end", "2026-05-01"], "is before --start"),
        (["run", "--start", "2026-02-30", "--end", "2026-05-01"], "is not a date"),
        (
            ["run", "--lake", "/proc/no/such/lake", "--start", "2026-05-01", "--end", "2026-05-01"],
            "cannot create lake",
        ),
    ],
)
def test_cli_bad_arguments_give_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) if "not a date" in message else contextlib.nullcontext():
        rc = main(argv)
        assert rc != 0
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


def test_cli_help_works():
    for argv in (["--help"], ["run", "--help"]):
        out = subprocess.run(
            [sys.executable, "-m", "jobs.cli", *argv], capture_output=True, text=True, cwd=REPO
        )
        assert out.returncode == 0
        assert "usage: riskctl" in out.stdout


def test_registry_paths_unique_and_gold_schema_matches_contract():
    paths = [t.path for t in tables.TABLES.values()]
    assert len(paths) == len(set(paths))
    assert tables.ACCOUNT_SCORES.columns == [
        "account_id",
        "score_date",
        "risk_score",
        "risk_band",
        "cluster_id",
        "reasons",
        "model_name",
        "model_version",
        "scored_at",
    ]
    assert tables.INGEST_AUDIT.columns == [
        "source",
        "land_date",
        "lines_read",
        "rows_accepted",
        "duplicates_dropped",
        "rows_quarantined",
        "ingested_at",
    ]


def test_table_from_an_earlier_release_gets_new_columns(spark, lake):
    """Additive migration: a registry column added after a table was written is added to it
    (NULL in the old rows), and reads of a not yet migrated table show it as NULL."""
    from pyspark.sql import functions as F

    from core import delta_io

    table = feature_tables.ACCOUNT_ACTIVITY
    full = spark.createDataFrame([], table.schema)
    old_cols = [c for c in full.columns if c != "link_prefixes"]
    row = full.select(*old_cols).unionByName(
        spark.range(1).select(
            *[
                (F.lit("acct") if c == "account_id" else F.lit(None))
                .cast(full.schema[c].dataType)
                .alias(c)
                for c in old_cols
            ]
        )
    )
    row = row.withColumn("event_date", F.lit("2026-05-01").cast("date")).withColumn(
        "land_date", F.lit("2026-05-01").cast("date")
    )
    row.write.format("delta").partitionBy(*table.partition_by).save(table.uri(lake))
    assert "link_prefixes" not in spark.read.format("delta").load(table.uri(lake)).columns
    before = delta_io.read(spark, table, lake)
    assert before.where("link_prefixes IS NULL").count() == 1
    assert delta_io.add_new_columns(spark, table, lake) == ["link_prefixes"]
    stored = spark.read.format("delta").load(table.uri(lake))
    assert stored.columns == full.columns
    assert stored.where("account_id = 'acct' AND link_prefixes IS NULL").count() == 1
    # Negative control: a second call has nothing left to add.
    assert delta_io.add_new_columns(spark, table, lake) == []


def test_table_from_an_earlier_release_gets_registry_properties(spark, lake):
    """A table created before the registry gave it properties gets them set once; new tables
    are created with them (stats only on the columns named, which is what makes writes of the
    interaction tables fast)."""
    from delta.tables import DeltaTable

    from core import delta_io

    table = tables.SILVER_INTERACTIONS
    assert table.properties == {"delta.dataSkippingStatsColumns": "account_id,ts"}
    spark.createDataFrame([], table.schema).write.format("delta").partitionBy(
        *table.partition_by
    ).save(table.uri(lake))

    def props() -> dict:
        return DeltaTable.forPath(spark, table.uri(lake)).detail().first()["properties"]

    assert "delta.dataSkippingStatsColumns" not in props()
    delta_io._CONFORMED.discard(table.uri(lake))
    delta_io.ensure_table(spark, table, lake)
    assert props()["delta.dataSkippingStatsColumns"] == "account_id,ts"
    # Negative control: nothing differs any more, so nothing is set.
    assert delta_io.set_properties(spark, table, lake) == {}
    # A value changed by hand is put back to the registry's.
    spark.sql(
        f"ALTER TABLE delta.`{table.uri(lake)}` SET TBLPROPERTIES "
        "('delta.dataSkippingStatsColumns' = 'ts')"
    )
    assert delta_io.set_properties(spark, table, lake) == {
        "delta.dataSkippingStatsColumns": "account_id,ts"
    }

    fresh = tables.BRONZE_INTERACTIONS
    delta_io.ensure_table(spark, fresh, lake)
    assert (
        DeltaTable.forPath(spark, fresh.uri(lake))
        .detail()
        .first()["properties"]["delta.dataSkippingStatsColumns"]
        == "account_id,ts"
    )


def test_local_profile_builds_delta_snapshots_in_few_tasks(monkeypatch, spark):
    """Local mode rebuilds Delta snapshots in 4 tasks, not Delta's 50; a cluster keeps Delta's
    default (negative control), and RISK_SPARK_CONF still overrides it."""
    from core.spark import base_conf

    key = "spark.databricks.delta.snapshotPartitions"
    assert spark.conf.get(key) == "4"
    monkeypatch.setenv("RISK_PROFILE", "cluster")
    assert key not in base_conf()
    monkeypatch.setenv("RISK_PROFILE", "local")
    monkeypatch.setenv("RISK_SPARK_CONF", f"{key}=8")
    assert base_conf()[key] == "8"


def test_scoped_session_conf_restores_what_was_there(spark):
    """A feature pass turns adaptive execution off on the local profile and gives back the
    session's own setting afterwards, also when the block fails; a conf that was unset is
    unset again."""
    from core.spark import session_conf
    from jobs.build_features import pass_conf

    key, unset_key = "spark.sql.adaptive.enabled", "spark.risk.test.unset"
    original = spark.conf.get(key)  # the test session runs without AQE (conftest)
    spark.conf.set(key, "true")  # as in production
    try:
        assert pass_conf() == {key: "false"}
        with session_conf(spark, {key: "false", unset_key: "x"}):
            assert spark.conf.get(key) == "false"
            assert spark.conf.get(unset_key) == "x"
        assert spark.conf.get(key) == "true"
        assert spark.conf.get(unset_key, None) is None
        with contextlib.suppress(RuntimeError), session_conf(spark, {key: "false"}):
            raise RuntimeError("a pass that fails")
        assert spark.conf.get(key) == "true"
        # Negative control: a plain set outside the helper stays set.
        spark.conf.set(key, "false")
        assert spark.conf.get(key) == "false"
    finally:
        spark.conf.set(key, original)
