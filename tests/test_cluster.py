"""The same job on a real Spark standalone cluster (master + 2 workers started by
infra/spark-cluster.sh) gives the same gold output as local mode.

Slow (a cluster and two full runs): `make test-slow`. Both runs score with one registered
model (trained once, in local mode), since distributed training is not bit-identical across
partitionings; the comparison is of everything the day publishes.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.compare import diff, snapshot

REPO = Path(__file__).resolve().parent.parent
START = dt.date(2026, 4, 22)
DAYS = 12


@pytest.mark.slow
def test_cluster_day_equals_local_day(tmp_path):
    from simulator import generate

    lake = str(tmp_path / "base")
    generate(lake, START, DAYS, "tiny", seed=7, progress=False)
    last = START + dt.timedelta(days=DAYS - 1)
    env = {**os.environ, "RISK_CLUSTER_DIR": str(tmp_path / "cluster"), "RISK_CLUSTER_PORT": "7177"}
    # all days but the last in local mode (this trains and promotes the model)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jobs.cli",
            "run",
            "--lake",
            lake,
            "--start",
            str(START),
            "--end",
            str(last - dt.timedelta(days=1)),
        ],
        check=True,
        env=env,
    )
    local, cluster = str(tmp_path / "local"), str(tmp_path / "cluster_lake")
    shutil.copytree(lake, local)
    shutil.copytree(lake, cluster)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jobs.cli",
            "run",
            "--lake",
            local,
            "--start",
            str(last),
            "--end",
            str(last),
        ],
        check=True,
        env=env,
    )
    subprocess.run(["bash", str(REPO / "infra" / "spark-cluster.sh"), "start"], check=True, env=env)
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "jobs.cli",
                "run",
                "--lake",
                cluster,
                "--master",
                "spark://127.0.0.1:7177",
                "--start",
                str(last),
                "--end",
                str(last),
            ],
            check=True,
            env=env,
        )
    finally:
        subprocess.run(["bash", str(REPO / "infra" / "spark-cluster.sh"), "stop"], env=env)
    gold = ["account_scores_daily", "account_clusters_daily"]
    left, right = snapshot(local, gold), snapshot(cluster, gold)
    assert left["account_scores_daily"], "nothing scored"
    assert diff(left, right) == {}
