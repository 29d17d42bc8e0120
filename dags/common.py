"""What the project's DAGs share: settings, defaults, assets, the failure notifier, and the one
way a task runs a `riskctl` job.

The DAG processor imports these files every few seconds, so nothing here imports Spark, reads an
Airflow connection or Variable, or touches the lake. Everything that costs something or can fail
(Delta jar paths, Spark confs, the connection) is resolved when a task runs, in
`RiskSparkSubmitOperator.execute`. Only environment variables are read at parse time, and a bad
one never makes a DAG vanish: the default is used for parsing and every task fails at once with
a message naming the variable (`check_settings`).

Every job task is `spark-submit <repo>/jobs/cli.py <subcommand> --lake L ...` through the Spark
connection `spark_local` (`RISK_SPARK_CONN_ID`), in the pool `risk_spark` (one slot: two DAGs
never run Spark jobs at once on one machine). `riskctl run` calls the very same job functions in
the same order. The task acts on the job's exit code (core.errors.ExitCode), which `riskctl`
also writes with its one-line message to the file named by RISK_STATUS_FILE.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import Asset, BaseNotifier

from core.errors import ExitCode
from core.settings import (
    environment_value,
    is_remote,
    resolve_lake,
    settings_and_problems,
)
from core.tables import ACCOUNT_CLUSTERS, ACCOUNT_SCORES

REPO = Path(__file__).resolve().parent.parent
CLI = REPO / "jobs" / "cli.py"

# --- settings (parsed without ever raising: a bad value fails the tasks, never hides a DAG) ----

SETTINGS, _PROBLEMS = settings_and_problems()


def setting_problems() -> dict[str, str]:
    return dict(_PROBLEMS)


def check_settings() -> None:
    """Fail the task (no retry) when a setting read at parse time was bad."""
    if _PROBLEMS:
        raise AirflowFailException(
            "bad setting: "
            + "; ".join(_PROBLEMS[k] for k in sorted(_PROBLEMS))
            + " (fix the Airflow processes' environment, then clear the task)"
        )


# The interpreter of the project's virtual environment runs the driver and the Python workers,
# whatever interpreter runs Airflow itself.
_VENV_PYTHON = REPO / ".venv" / "bin" / "python"
PYTHON = SETTINGS.python or (str(_VENV_PYTHON) if _VENV_PYTHON.exists() else sys.executable)
# Where `spark-submit` is looked up first: the venv's (pyspark 4.0.1, matching the Delta jars).
SPARK_BIN_DIR = SETTINGS.spark_bin_dir or str(Path(PYTHON).parent)

LAKE = resolve_lake(SETTINGS.lake or str(REPO / "lake"))
SPARK_CONN_ID = SETTINGS.spark_conn_id
# One slot (infra/airflow.sh creates it): Spark jobs of all DAGs queue for this machine.
SPARK_POOL = SETTINGS.spark_pool
OWNER = "risk-data-eng"
# The simulator's first day; a deployment sets RISK_DAG_START to its own first landed day.
START_DATE = dt.datetime.fromisoformat(SETTINGS.dag_start).replace(tzinfo=dt.UTC)

RAW_SUFFIXES = (".jsonl.gz", ".jsonl")

# Assets link producer and consumer DAGs. Logical URIs (not the lake path) so that a consumer
# names them the same way on a laptop and on a cluster.
ACCOUNT_SCORES_ASSET = Asset(
    name=f"risk.{ACCOUNT_SCORES.name}", uri=f"risk://{ACCOUNT_SCORES.path}", group="risk"
)
ACCOUNT_CLUSTERS_ASSET = Asset(
    name=f"risk.{ACCOUNT_CLUSTERS.name}", uri=f"risk://{ACCOUNT_CLUSTERS.path}", group="risk"
)


# --- failure notifications ----------------------------------------------------------------------


def alert_log_path(lake: str = LAKE) -> str | None:
    """RISK_ALERT_LOG, else `<lake>/ops/alerts.log` for a local lake (None for a remote one)."""
    given = settings_and_problems()[0].alert_log
    if given:
        return given
    return None if is_remote(lake) else str(Path(lake) / "ops" / "alerts.log")


def failure_line(context: Any) -> str:
    """`<UTC time> FAILED dag=D day=YYYY-MM-DD task=T try=N: <the job's message>`."""
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", None) or getattr(context.get("task"), "task_id", "?")
    day = context.get("ds")
    if not day:  # asset-triggered and manual runs may have no logical date
        run = context.get("dag_run")
        when = getattr(run, "logical_date", None) or getattr(run, "run_after", None)
        day = when.date().isoformat() if when else "-"
    # The job task keeps its verdict on itself too: some callers (dag.test) pass no exception.
    error = (
        context.get("exception")
        or getattr(context.get("task"), "failure_message", None)
        or context.get("reason")
    )
    message = (
        str(error).strip().splitlines()[0]
        if error and str(error).strip()
        else ("failed without an error message (killed or timed out: see the task log)")
    )
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # a stamp only
    return (
        f"{now} FAILED dag={dag_id} day={day} task={task_id} "
        f"try={getattr(ti, 'try_number', '?')}: {message}"
    )


def _append(path: str, line: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def _post(url: str, line: str) -> None:
    import urllib.request

    body = json.dumps({"text": line}).encode()  # Slack, Mattermost and Teams read `text`
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - operator's URL
        response.read()


class RiskFailureNotifier(BaseNotifier):
    """One clear line per failed task, to every configured sink.

    Sinks, read when a task fails (not at parse time): the log file `alert_log_path()`
    (`RISK_ALERT_LOG`, default `<lake>/ops/alerts.log`); a webhook `RISK_ALERT_WEBHOOK` (POST of
    `{"text": line}`); e-mail to `RISK_ALERT_EMAIL` (comma-separated) through the SMTP
    connection `RISK_ALERT_SMTP_CONN_ID` (default `smtp_default`). One sink failing does not
    stop the others.
    """

    def notify(self, context: Any) -> None:
        line = failure_line(context)
        self.log.error("%s", line)
        sinks: list[tuple[str, Callable[[], None]]] = []
        path = alert_log_path()
        if path:
            sinks.append(("log file", lambda: _append(path, line)))
        current = settings_and_problems()[0]
        url = current.alert_webhook
        if url:
            sinks.append(("webhook", lambda: _post(url, line)))
        emails = [e.strip() for e in (current.alert_email or "").split(",") if e.strip()]
        if emails:
            sinks.append(("e-mail", lambda: self._mail(emails, line, context)))
        for name, send in sinks:
            try:
                send()
            except Exception as exc:  # the other sinks still get the line
                self.log.error("alert sink %s failed: %s", name, exc)

    @staticmethod
    def _mail(to: list[str], line: str, context: Any) -> None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        SmtpNotifier(
            to=to,
            subject=f"[risk] {line[:180]}",
            html_content=f"<pre>{html.escape(line)}</pre>",
            smtp_conn_id=settings_and_problems()[0].alert_smtp_conn_id,
        ).notify(context)


def default_args(**overrides: Any) -> dict[str, Any]:
    """Owner, retries with exponential backoff, a time limit and the failure notifier."""
    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=30),
        "execution_timeout": dt.timedelta(hours=4),
        "on_failure_callback": [RiskFailureNotifier()],
    }
    args.update(overrides)
    return args


# --- the lake and the job ------------------------------------------------------------------------


def raw_landed(lake: str, source: str, day: str) -> bool:
    """True when `<lake>/raw/<source>/date=<day>/` holds at least one data file."""
    folder = f"{lake.rstrip('/')}/raw/{source}/date={day}"
    if is_remote(lake):
        from airflow.sdk import ObjectStoragePath

        # fsspec names the Hadoop s3a scheme s3; credentials come from RISK_LAKE_CONN_ID.
        path = ObjectStoragePath(
            re.sub(r"^s3a://", "s3://", folder), conn_id=settings_and_problems()[0].lake_conn_id
        )
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


def read_status(path: str) -> dict | None:
    """The outcome `riskctl` wrote (jobs/cli.py write_status), or None when it wrote none."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "exit_code" in data else None


def _codes(value: int | Collection[int] | None) -> frozenset[int]:
    if value is None:
        return frozenset()
    return frozenset([value] if isinstance(value, int) else value)


class RiskSparkSubmitOperator(SparkSubmitOperator):
    """spark-submit of one `riskctl` subcommand (jobs/cli.py is the application).

    Delta jars, Spark confs and the job's environment are resolved in `execute`. The job's exit
    code decides what the task does, like BashOperator's `skip_on_exit_code`:

    - `skip_on_exit_code` (e.g. 4, no champion yet): the task is skipped with the job's message;
    - `fail_fast_on_exit_code` (default 2 refused and 3 gate failed): the task fails at once,
      without retries, with the job's message (retrying cannot change a refusal);
    - any other non-zero code (1 crashed, a killed process, a JVM failure) keeps the retries.
    """

    def __init__(
        self,
        *,
        command: str,
        arguments: list[str],
        skip_on_exit_code: int | Collection[int] | None = None,
        fail_fast_on_exit_code: int | Collection[int] | None = (
            ExitCode.REFUSED,
            ExitCode.GATE_FAILED,
        ),
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("conn_id", SPARK_CONN_ID)
        kwargs.setdefault("name", f"risk-{command}")
        kwargs.setdefault("pool", SPARK_POOL)
        super().__init__(
            application=str(CLI), application_args=[command, "--lake", LAKE, *arguments], **kwargs
        )
        self.command = command
        self.failure_message: str | None = None
        self.skip_on_exit_code = _codes(skip_on_exit_code)
        self.fail_fast_on_exit_code = _codes(fail_fast_on_exit_code)

    def execute(self, context: Any) -> None:
        try:
            self._submit(context)
        except AirflowException as verdict:  # kept on the task for the failure notifier
            self.failure_message = str(verdict)
            raise

    def _submit(self, context: Any) -> None:
        check_settings()
        try:
            jars, conf = submission(f"risk-{self.command}")
        except Exception as exc:  # core.settings.ConfigError: e.g. `make setup` never ran
            raise AirflowFailException(f"cannot prepare spark-submit: {exc}") from exc
        self.jars = ",".join(filter(None, [jars, self.jars]))
        self.conf = {**conf, **(self.conf or {})}
        fd, status_path = tempfile.mkstemp(prefix=f"riskctl-{self.command}-", suffix=".json")
        os.close(fd)
        self.env_vars = {**job_env(), **(self.env_vars or {}), "RISK_STATUS_FILE": status_path}
        try:
            try:
                super().execute(context)
            except AirflowException as exc:
                self._raise_for(read_status(status_path), exc)
        finally:
            Path(status_path).unlink(missing_ok=True)

    def _raise_for(self, status: dict | None, exc: Exception) -> None:
        """Turn the job's recorded outcome into skip, fail-fast or a retryable failure."""
        if status is None:  # killed, or died before riskctl could write: a crash
            raise AirflowException(
                f"riskctl {self.command}: no outcome recorded (killed, or Spark failed "
                f"before the job ran) [crashed: retried while tries remain]"
            ) from exc
        code = int(status["exit_code"])
        message = status.get("message") or f"riskctl {self.command} exited {code}"
        if code in self.skip_on_exit_code:
            raise AirflowSkipException(message) from exc
        if code in self.fail_fast_on_exit_code:
            outcome = status.get("outcome", "refused").replace("_", " ")
            raise AirflowFailException(
                f"{message} [exit {code}: {outcome}; not retried: the job refused, it did not "
                "crash]"
            ) from exc
        if code == ExitCode.OK:  # the job finished but spark-submit failed afterwards
            message = f"riskctl {self.command}: spark-submit failed after the job ended"
        raise AirflowException(
            f"{message} [exit {code}: crashed; retried while tries remain]"
        ) from exc


def riskctl_task(
    task_id: str, command: str, *arguments: str, **kwargs: Any
) -> RiskSparkSubmitOperator:
    """A task that runs `riskctl <command> --lake <lake> <arguments...>` through spark-submit."""
    return RiskSparkSubmitOperator(
        task_id=task_id, command=command, arguments=list(arguments), **kwargs
    )
