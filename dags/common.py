"""What the project's DAGs share: defaults, assets, and the one way a task runs a `riskctl` job.

The DAG processor imports these files every few seconds, so nothing here imports Spark, reads an
Airflow connection or Variable, or touches the lake. Everything that costs something or can fail
(Delta jar paths, Spark confs, the connection) is resolved when a task runs, in
`RiskSparkSubmitOperator.execute`. Only environment variables are read at parse time.

Every job task is `spark-submit <repo>/jobs/cli.py <subcommand> --lake L ...` through the Spark
connection `spark_local` (`RISK_SPARK_CONN_ID`): a local master by default, a cluster by changing
only that connection. `riskctl run` calls the very same job functions in the same order.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import Asset

from core.settings import environment_value, is_remote, resolve_lake, settings
from core.tables import ACCOUNT_CLUSTERS, ACCOUNT_SCORES

REPO = Path(__file__).resolve().parent.parent
CLI = REPO / "jobs" / "cli.py"

# The interpreter of the project's virtual environment runs the driver and the Python workers,
# whatever interpreter runs Airflow itself.
_VENV_PYTHON = REPO / ".venv" / "bin" / "python"
_SETTINGS = settings()
PYTHON = _SETTINGS.python or (
    str(_VENV_PYTHON) if _VENV_PYTHON.exists() else sys.executable)
# Where `spark-submit` is looked up first: the venv's (pyspark 4.0.1, matching the Delta jars).
SPARK_BIN_DIR = _SETTINGS.spark_bin_dir or str(Path(PYTHON).parent)

LAKE = resolve_lake(_SETTINGS.lake or str(REPO / "lake"))
SPARK_CONN_ID = _SETTINGS.spark_conn_id
OWNER = "risk-data-eng"
# The simulator's first day; a deployment sets RISK_DAG_START to its own first landed day.
START_DATE = dt.datetime.fromisoformat(_SETTINGS.dag_start).replace(tzinfo=dt.UTC)

RAW_SUFFIXES = (".jsonl.gz", ".jsonl")

# Assets link producer and consumer DAGs. Logical URIs (not the lake path) so that a consumer
# names them the same way on a laptop and on a cluster.
ACCOUNT_SCORES_ASSET = Asset(name=f"risk.{ACCOUNT_SCORES.name}", uri=f"risk://{ACCOUNT_SCORES.path}",
                             group="risk")
ACCOUNT_CLUSTERS_ASSET = Asset(name=f"risk.{ACCOUNT_CLUSTERS.name}",
                               uri=f"risk://{ACCOUNT_CLUSTERS.path}", group="risk")
# Raised by drift monitoring (a task with `outlets=[DRIFT_FLAG]`, or POST /api/v2/assets/events)
# when the score or feature population moved past its threshold; `risk_retrain` listens to it.
DRIFT_FLAG = Asset(name="risk.drift_flag", uri="risk://drift_flag", group="risk")


def default_args(**overrides: Any) -> dict[str, Any]:
    """Owner, retries with exponential backoff and a time limit, shared by every task."""
    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=30),
        "execution_timeout": dt.timedelta(hours=4),
    }
    args.update(overrides)
    return args


def raw_landed(lake: str, source: str, day: str) -> bool:
    """True when `<lake>/raw/<source>/date=<day>/` holds at least one data file."""
    folder = f"{lake.rstrip('/')}/raw/{source}/date={day}"
    if is_remote(lake):
        from airflow.sdk import ObjectStoragePath

        # fsspec names the Hadoop s3a scheme s3; credentials come from RISK_LAKE_CONN_ID.
        path = ObjectStoragePath(re.sub(r"^s3a://", "s3://", folder),
                                 conn_id=settings().lake_conn_id)
    else:
        path = Path(folder)
    return path.is_dir() and any(p.name.endswith(RAW_SUFFIXES) for p in path.iterdir())


def job_env() -> dict[str, str]:
    """Environment of the spark-submit process (added to Airflow's own environment)."""
    pythonpath = os.pathsep.join(filter(None, [str(REPO), environment_value("PYTHONPATH")]))
    return {
        "PYSPARK_PYTHON": PYTHON,
        "PYSPARK_DRIVER_PYTHON": PYTHON,
        "PYTHONPATH": pythonpath,
        "PATH": os.pathsep.join([SPARK_BIN_DIR, environment_value("PATH")]),
    }


def submission(app_name: str) -> tuple[str, dict[str, str]]:
    """`(jars, conf)` for spark-submit, from the one Spark configuration in core/spark.py.

    Called when the task runs (the jar cache is checked then, not at parse time). The master is
    the connection's and the jars go in `--jars`, so those two keys are left out of the confs.
    """
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from core.spark import base_conf, delta_jars  # no pyspark import: safe in the worker

    conf = base_conf(app_name)
    for key in ("spark.master", "spark.jars", "spark.app.name"):
        conf.pop(key, None)
    conf["spark.pyspark.python"] = conf["spark.pyspark.driver.python"] = PYTHON
    return ",".join(delta_jars()), conf


# A Python traceback or a JVM exception means the job crashed (worth a retry); a non-zero exit
# without one means the job refused on purpose (quality gate, config, usage): retrying is useless.
_CRASH = re.compile(r'Traceback \(most recent call last\)|Exception in thread "')


class _SubmitOutput:
    """Watches spark-submit's output for the job's one-line verdict and for crash signs."""

    def __init__(self, command: str) -> None:
        self.prefix = f"riskctl {command}:"
        self.message: str | None = None
        self.crashed = False

    def tee(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            text = line.strip()
            if text.startswith(self.prefix):
                self.message = text
            elif _CRASH.search(text):
                self.crashed = True
            yield line


class RiskSparkSubmitOperator(SparkSubmitOperator):
    """spark-submit of one `riskctl` subcommand (jobs/cli.py is the application).

    Delta jars, Spark confs and the job's environment are resolved in `execute`. A job that
    exits 1 or 2 without a traceback failed on purpose (a blocking quality expectation, a missing
    input, a bad argument): the task fails at once with the job's own message, without retries.
    Crashes (traceback, JVM exception, killed process) keep the retries with backoff.
    `skip_on`: a regular expression; a refusal whose message matches it skips the task instead
    (a normal outcome that publishes nothing, e.g. no champion model yet).
    """

    def __init__(self, *, command: str, arguments: list[str], skip_on: str | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("conn_id", SPARK_CONN_ID)
        kwargs.setdefault("name", f"risk-{command}")
        super().__init__(application=str(CLI), application_args=[command, "--lake", LAKE,
                                                                 *arguments], **kwargs)
        self.command = command
        self.skip_on = skip_on
        self._output: _SubmitOutput | None = None

    def execute(self, context: Any) -> None:
        try:
            jars, conf = submission(f"risk-{self.command}")
        except Exception as exc:  # core.settings.ConfigError: e.g. `make setup` never ran
            raise AirflowFailException(f"cannot prepare spark-submit: {exc}") from exc
        self.jars = ",".join(filter(None, [jars, self.jars]))
        self.conf = {**conf, **(self.conf or {})}
        self.env_vars = {**job_env(), **(self.env_vars or {})}
        try:
            super().execute(context)
        except (AirflowFailException, AirflowSkipException):
            raise
        except AirflowException as exc:
            self._fail_fast_if_refused(exc)
            raise

    def _get_hook(self):
        hook = super()._get_hook()
        self._output = _SubmitOutput(self.command)
        process = hook._process_spark_submit_log
        output = self._output
        hook._process_spark_submit_log = lambda lines: process(output.tee(lines))
        return hook

    def _fail_fast_if_refused(self, exc: Exception) -> None:
        process = getattr(self._hook, "_submit_sp", None)
        code = getattr(process, "returncode", None)
        out = self._output
        if out is None or out.crashed or code not in (1, 2):
            return
        if self.skip_on and out.message and re.search(self.skip_on, out.message):
            raise AirflowSkipException(out.message) from exc
        reason = out.message or f"riskctl {self.command} exited {code} (see the job's log above)"
        raise AirflowFailException(f"{reason} [not retried: the job refused, it did not crash]"
                                   ) from exc


def riskctl_task(task_id: str, command: str, *arguments: str, **kwargs: Any
                 ) -> RiskSparkSubmitOperator:
    """A task that runs `riskctl <command> --lake <lake> <arguments...>` through spark-submit."""
    return RiskSparkSubmitOperator(task_id=task_id, command=command, arguments=list(arguments),
                                   **kwargs)
