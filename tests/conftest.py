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
os.environ.setdefault("RISK_SPARK_CONF", "spark.sql.shuffle.partitions=2")
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.pop("RISK_LAKE", None)


@pytest.fixture(scope="session")
def spark():
    from jobs.spark import get_spark, stop_spark

    session = get_spark("risk-tests")
    yield session
    stop_spark()


@pytest.fixture()
def lake(tmp_path: Path) -> str:
    root = tmp_path / "lake"
    root.mkdir()
    return str(root)
