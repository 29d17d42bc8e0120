"""Shared test fixtures: one local Spark session for the whole test session, a temp lake per test.

Heavier shared fixtures (a generated tiny lake, a full `riskctl run` over it) are built once
per session and reused by every test that needs them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Set before any job module reads them: tests must never depend on the developer's machine.
os.environ.setdefault("RISK_PSEUDONYM_KEY", "test-only-pseudonym-key")
# Test frames are tiny, so Spark's fixed costs dominate: compiling generated code for each stage
# and re-planning after each stage (AQE) take most of a feature test's time (docs/DESIGN.md).
# Interpreted evaluation and static plans compute the same results; `test_features_pit` re-runs
# a day with the production settings (PRODUCTION_SQL_CONF) and asserts equal tables, and
# `make test-slow`, `make demo` and `make bench` run them all along.
os.environ.setdefault(
    "RISK_SPARK_CONF",
    ",".join(
        [
            "spark.sql.shuffle.partitions=2",
            "spark.sql.codegen.wholeStage=false",
            "spark.sql.codegen.factoryMode=NO_CODEGEN",
            "spark.sql.adaptive.enabled=false",
        ]
    ),
)
# What the project's own defaults (core/spark.py) leave these at; all three are runtime confs.
PRODUCTION_SQL_CONF = {
    "spark.sql.codegen.wholeStage": "true",
    "spark.sql.codegen.factoryMode": "FALLBACK",
    "spark.sql.adaptive.enabled": "true",
}
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.pop("RISK_LAKE", None)


@pytest.fixture(scope="session")
def spark():
    from core.spark import get_spark, stop_spark

    session = get_spark("risk-tests")
    yield session
    stop_spark()


@pytest.fixture()
def production_sql(spark):
    """A context manager running its block with the production code generation and AQE."""
    from core.spark import session_conf

    return lambda: session_conf(spark, PRODUCTION_SQL_CONF)


@pytest.fixture()
def lake(tmp_path: Path) -> str:
    root = tmp_path / "lake"
    root.mkdir()
    return str(root)
