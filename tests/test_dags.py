"""The Airflow DAGs: safe to parse, well-formed, thin over riskctl, and equal to `riskctl run`.

Airflow is imported only in subprocesses (with their own AIRFLOW_HOME): it configures logging
and settings at import, which must not leak into the rest of the test session.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DAGS = REPO / "dags"
PY = sys.executable
SPARK_CONN = '{"conn_type": "spark", "host": "local[2]"}'
DAILY_ORDER = [
    "wait_for_interactions",
    "ingest",
    "validate",
    "features",
    "train_if_due",
    "score_and_publish",
]


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW_CONN_SPARK_LOCAL": SPARK_CONN,
        }
    )
    env.update(extra)
    return env


def run_json(code: str, env: dict[str, str], timeout: int = 300) -> dict:
    """Run `code` in a fresh interpreter; it prints one JSON line prefixed with RESULT=."""
    proc = subprocess.run(
        [PY, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(REPO),
    )
    found = re.findall(r"^RESULT=(.*)$", proc.stdout, re.M)
    assert found, (
        f"no result (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return json.loads(found[-1])


# Parses a DAG folder the way the DAG processor does, with connections and Variables booby-
# trapped, then describes every DAG: what the integrity and structure tests need, as JSON.
PARSE = """
import json, sys
from unittest import mock


def trap(kind):
    def boom(*args, **kwargs):
        raise RuntimeError(f"{kind} read at parse time")
    return boom

import airflow.sdk as sdk
from airflow.models.connection import Connection as ModelConnection
from airflow.models.variable import Variable as ModelVariable

traps = [
    mock.patch.object(sdk.BaseHook, "get_connection", trap("connection")),
    mock.patch.object(sdk.Connection, "get", trap("connection")),
    mock.patch.object(sdk.Variable, "get", trap("variable")),
    mock.patch.object(ModelConnection, "get_connection_from_secrets", trap("connection")),
    mock.patch.object(ModelVariable, "get", trap("variable")),
]
for t in traps:
    t.start()

from airflow.models.dagbag import DagBag


def describe(dag):
    tasks = {}
    for t in dag.tasks:
        tasks[t.task_id] = {
            "class": type(t).__name__,
            "mro": [c.__name__ for c in type(t).__mro__],
            "owner": t.owner,
            "retries": t.retries,
            "backoff": bool(t.retry_exponential_backoff),
            "depends_on_past": t.depends_on_past,
            "upstream": sorted(t.upstream_task_ids),
            "downstream": sorted(t.downstream_task_ids),
            "conn_id": getattr(t, "_conn_id", None),
            "application": getattr(t, "application", None),
            "args": getattr(t, "application_args", None),
            "jars": getattr(t, "jars", None),
            "conf": getattr(t, "conf", None),
            "outlets": sorted(getattr(o, "uri", str(o)) for o in t.outlets),
            "mode": getattr(t, "mode", None),
            "soft_fail": getattr(t, "soft_fail", None),
            "timeout": getattr(t, "timeout", None),
            "pool": t.pool,
            "skip_on_exit_code": sorted(getattr(t, "skip_on_exit_code", None) or []),
            "fail_fast_on_exit_code": sorted(getattr(t, "fail_fast_on_exit_code", None) or []),
            "on_failure": [type(cb).__name__ for cb in (
                t.on_failure_callback if isinstance(t.on_failure_callback, list)
                else [t.on_failure_callback] if t.on_failure_callback else [])],
        }
    return {
        "fileloc": dag.fileloc,
        "tags": sorted(dag.tags),
        "doc_md": dag.doc_md or "",
        "catchup": dag.catchup,
        "default_retries": (dag.default_args or {}).get("retries"),
        "max_active_runs": dag.max_active_runs,
        "timetable": type(dag.timetable).__name__,
        "tasks": tasks,
    }


results = {}
for folder in FOLDERS:  # the project's folder first: later ones may import pyspark
    bag = DagBag(dag_folder=folder, include_examples=False)
    results[folder] = {
        "errors": {k: str(v) for k, v in bag.import_errors.items()},
        "dags": {dag_id: describe(dag) for dag_id, dag in bag.dags.items()},
        "pyspark": sorted(m for m in sys.modules if m == "pyspark" or m.startswith("pyspark.")),
    }
print("RESULT=" + json.dumps(results, default=str))
"""


def write_offending_dags(folder: Path) -> None:
    """DAG files that read a Variable, a connection, or import pyspark at parse time."""
    folder.mkdir()
    header = "from airflow.sdk import dag, BaseHook, Variable\n"
    (folder / "reads_variable.py").write_text(
        header + "LAKE = Variable.get('lake')\n@dag(schedule=None)\ndef v():\n    pass\nv()\n"
    )
    (folder / "reads_connection.py").write_text(
        header + "C = BaseHook.get_connection('spark_local')\n"
        "@dag(schedule=None)\ndef c():\n    pass\nc()\n"
    )
    (folder / "imports_spark.py").write_text(
        header + "import pyspark  # noqa\n@dag(schedule=None)\ndef s():\n    pass\ns()\n"
    )


@pytest.fixture(scope="module")
def parses(tmp_path_factory) -> dict:
    """One interpreter parses the project's DAG folder, then a folder of offending DAGs."""
    tmp = tmp_path_factory.mktemp("parse")
    write_offending_dags(tmp / "bad_dags")
    folders = [str(DAGS), str(tmp / "bad_dags")]
    out = run_json(PARSE.replace("FOLDERS", repr(folders)), airflow_env(tmp / "home"))
    return {"good": out[folders[0]], "bad": out[folders[1]]}


@pytest.fixture(scope="module")
def parsed(parses) -> dict:
    return parses["good"]


def test_every_dag_file_imports_without_error(parsed):
    assert parsed["errors"] == {}
    files = {Path(d["fileloc"]).name for d in parsed["dags"].values()}
    assert files == {"risk_daily.py", "risk_retrain.py", "lake_maintenance.py", "risk_backfill.py"}
    assert set(parsed["dags"]) == {
        "risk_daily",
        "risk_retrain",
        "lake_maintenance",
        "risk_backfill",
    }


def test_parsing_imports_no_spark_and_reads_no_connection_or_variable(parsed):
    # The traps raise inside any DAG file that reads one: it would show up as an import error.
    assert parsed["errors"] == {}
    assert parsed["pyspark"] == []
    for dag in parsed["dags"].values():
        for task in dag["tasks"].values():
            # Jars and confs are resolved when the task runs, not when the file is parsed.
            assert task["jars"] is None and task["conf"] in (None, {})


def test_the_parse_checks_catch_offending_dags(parses):
    """Negative control: the same checks flag DAG files that read a Variable or a connection
    or import pyspark at parse time."""
    out = parses["bad"]
    errors = {Path(k).name: v for k, v in out["errors"].items()}
    assert "variable read at parse time" in errors["reads_variable.py"]
    assert "connection read at parse time" in errors["reads_connection.py"]
    assert "pyspark" in out["pyspark"]


def test_every_dag_has_tags_owner_retries_and_a_doc(parsed):
    for dag_id, dag in parsed["dags"].items():
        assert dag["tags"], dag_id
        assert len(dag["doc_md"].strip()) > 200, dag_id
        assert dag["max_active_runs"] == 1 and dag["catchup"] is False, dag_id
        assert dag["default_retries"] >= 1, dag_id
        for task_id, task in dag["tasks"].items():
            assert task["owner"] and task["owner"] != "airflow", (dag_id, task_id)
            if "RiskSparkSubmitOperator" in task["mro"]:
                assert task["retries"] >= 1 and task["backoff"], (dag_id, task_id)


def test_risk_daily_runs_the_steps_of_riskctl_run_in_order(parsed):
    dag = parsed["dags"]["risk_daily"]
    tasks = dag["tasks"]
    assert set(tasks) == set(DAILY_ORDER)
    for before, after in zip(DAILY_ORDER, DAILY_ORDER[1:], strict=False):
        assert tasks[before]["downstream"] == [after]
        assert tasks[after]["upstream"] == [before]
    assert tasks[DAILY_ORDER[0]]["upstream"] == [] and tasks[DAILY_ORDER[-1]]["downstream"] == []
    # Days strictly in order: one active run, and each task waits for yesterday's.
    assert all(t["depends_on_past"] for t in tasks.values())
    assert dag["timetable"] == "CronDataIntervalTimetable"  # ds = the day that just ended

    commands = [tasks[t]["args"][0] for t in DAILY_ORDER[1:]]
    assert commands == ["ingest", "validate", "features", "train-if-due", "score"]
    for task_id in DAILY_ORDER[1:]:
        t = tasks[task_id]
        assert "SparkSubmitOperator" in t["mro"]
        assert t["conn_id"] == "spark_local"
        assert t["application"] == str(REPO / "jobs" / "cli.py")
        assert t["args"][1:] == ["--lake", t["args"][2], "--start", "{{ ds }}"]
    assert tasks["score_and_publish"]["outlets"] == [
        "risk://gold/account_clusters_daily",
        "risk://gold/account_scores_daily",
    ]


def test_risk_daily_steps_match_riskctl_run_and_the_cli():
    """The DAG's subcommands are the steps `riskctl run` goes through, in the same order."""
    import inspect

    from jobs import run
    from jobs.cli import build_parser

    # Every step `riskctl run` times is one of its declared steps, and each is timed.
    labels = set(re.findall(r'timed\("(\w+)"', inspect.getsource(run)))
    assert labels == set(run.STEPS)
    # Drift is computed inside the policy step in the DAG (train-if-due), beside training.
    folded = [("train" if step == "drift" else step) for step in run.STEPS]
    folded = [x for i, x in enumerate(folded) if i == 0 or folded[i - 1] != x]
    assert folded == ["ingest", "validate", "features", "train", "score"]
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {
        "ingest",
        "validate",
        "features",
        "train-if-due",
        "score",
        "train",
        "promote",
        "maintain",
    } <= set(sub.choices)


def test_risk_backfill_runs_a_range_as_one_riskctl_run(parsed):
    dag = parsed["dags"]["risk_backfill"]
    assert dag["timetable"] == "NullTimetable" and dag["max_active_runs"] == 1
    (task,) = dag["tasks"].values()
    assert "SparkSubmitOperator" in task["mro"] and task["conn_id"] == "spark_local"
    assert task["args"][0] == "run"
    assert task["args"][3:] == ["--start", "{{ params.start }}", "--end", "{{ params.end }}"]
    assert task["outlets"] == [
        "risk://gold/account_clusters_daily",
        "risk://gold/account_scores_daily",
    ]


def test_wait_sensor_reschedules_and_fails_loudly(parsed):
    wait = parsed["dags"]["risk_daily"]["tasks"]["wait_for_interactions"]
    assert wait["mode"] == "reschedule"
    assert wait["soft_fail"] is False  # a skipped day would leave a hole the next day reads
    assert 0 < float(wait["timeout"]) <= 24 * 3600


def test_every_task_notifies_on_failure_and_spark_jobs_share_one_pool(parsed):
    for dag_id, dag in parsed["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["on_failure"] == ["RiskFailureNotifier"], (dag_id, task_id)
            if "RiskSparkSubmitOperator" in task["mro"]:
                assert task["pool"] == "risk_spark", (dag_id, task_id)
                assert task["fail_fast_on_exit_code"] == [2, 3], (dag_id, task_id)
            else:  # glue steps start no Spark: they need no slot of the pool
                assert task["pool"] == "default_pool", (dag_id, task_id)
    skips = {
        (d, t): task["skip_on_exit_code"]
        for d, dag in parsed["dags"].items()
        for t, task in dag["tasks"].items()
        if task["skip_on_exit_code"]
    }
    assert skips == {("risk_daily", "score_and_publish"): [4]}  # no champion yet
    # the pool the tasks name is the one `make airflow` creates, with one slot
    script = (REPO / "infra" / "airflow.sh").read_text()
    assert re.search(r"airflow pools set risk_spark 1 ", script)


def test_retrain_and_maintenance_dags(parsed):
    retrain = parsed["dags"]["risk_retrain"]
    # Drift retrains through risk_daily's train_if_due; no asset trigger nobody produces.
    assert retrain["timetable"] == "CronTriggerTimetable"
    train = retrain["tasks"]["train_gate_promote"]
    # The gate lives in `train --promote`; `riskctl promote` alone would promote unconditionally.
    assert train["args"][0] == "train" and train["args"][-3:] == [
        "--as-of",
        "{{ ti.xcom_pull(task_ids='resolve_as_of') }}",
        "--promote",
    ]
    assert train["upstream"] == ["resolve_as_of"]
    assert set(retrain["tasks"]) == {"resolve_as_of", "train_gate_promote"}
    maint = parsed["dags"]["lake_maintenance"]["tasks"]["optimize_and_vacuum"]
    assert maint["args"][0] == "maintain"
    assert int(maint["args"][maint["args"].index("--retention-hours") + 1]) >= 168


# --- the operator at execution time, against a fake spark-submit ----------------------------

# Plays riskctl under spark-submit: writes the outcome to $RISK_STATUS_FILE as jobs/cli.py does,
# prints misleading text (the operator must act on the code, not the words), exits with it.
FAKE_SUBMIT = """#!/bin/bash
printf '%s\\n' "$@" > "$FAKE_OUT/args"
env > "$FAKE_OUT/env"
status() { printf '{"command": "%s", "exit_code": %s, "outcome": "%s", "message": "%s"}\\n' \\
           "$1" "$2" "$3" "$4" > "$RISK_STATUS_FILE"; }
case "$FAKE_MODE" in
  ok) echo "riskctl did its work"; status validate 0 ok "riskctl validate: done"; exit 0 ;;
  gate) echo "Traceback (most recent call last): a quoted log line"
        status validate 3 gate_failed \\
          "riskctl validate: interactions 2026-05-01: 3 blocking expectations failed"
        exit 3 ;;
  refused) status validate 2 refused "riskctl validate: lake /x does not exist"; exit 2 ;;
  crash) echo "Traceback (most recent call last):"; echo "OSError: disk"
         status validate 1 crashed "riskctl validate crashed: OSError: disk"; exit 1 ;;
  killed) echo "riskctl validate: some line"; exit 137 ;;
  nochampion) status score 4 no_champion "riskctl score: no champion model yet: no alias"
              exit 4 ;;
esac
"""

EXECUTE = """
import json
import os

from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from dags.common import riskctl_task

out = {}
for mode in ("ok", "gate", "refused", "crash", "killed", "nochampion"):
    os.environ["FAKE_MODE"] = mode
    if mode == "nochampion":
        op = riskctl_task("score_and_publish", "score", "--start", "2026-05-01",
                          skip_on_exit_code=4)
    else:
        op = riskctl_task("validate", "validate", "--start", "2026-05-01")
    before = (op.jars, op.conf)
    try:
        op.execute({})
        out[mode] = {"raised": None}
    except AirflowSkipException as exc:
        out[mode] = {"raised": "skip", "msg": str(exc)}
    except AirflowFailException as exc:
        out[mode] = {"raised": "fail", "msg": str(exc)}
    except AirflowException as exc:
        out[mode] = {"raised": "retry", "msg": str(exc)[:300]}
    out[mode]["before"] = before
    out[mode]["failure_message"] = op.failure_message
    out[mode]["status_left"] = os.path.exists(op.env_vars["RISK_STATUS_FILE"])
print("RESULT=" + json.dumps(out))
"""


def test_operator_resolves_submission_at_run_time_and_acts_on_the_exit_code(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "spark-submit"
    fake.write_text(FAKE_SUBMIT)
    fake.chmod(0o755)
    env = airflow_env(
        tmp_path / "home",
        RISK_SPARK_BIN_DIR=str(bindir),
        FAKE_OUT=str(tmp_path),
        RISK_LAKE=str(tmp_path / "lake"),
    )
    out = run_json(EXECUTE, env)

    assert out["ok"]["raised"] is None and out["ok"]["before"] == [None, None]  # nothing at parse
    # Exit 3 and 2: no retry for a job that refused on purpose, whatever it printed.
    assert out["gate"]["raised"] == "fail"
    assert out["gate"]["msg"] == (
        "riskctl validate: interactions 2026-05-01: 3 blocking expectations failed "
        "[exit 3: gate failed; not retried: the job refused, it did not crash]"
    )
    assert out["refused"]["raised"] == "fail"
    assert out["refused"]["msg"].startswith("riskctl validate: lake /x does not exist [exit 2")
    # Exit 1, or killed before riskctl wrote an outcome: a crash keeps its retries.
    assert out["crash"]["raised"] == "retry"
    assert (
        out["crash"]["msg"] == "riskctl validate crashed: OSError: disk [exit 1: crashed; "
        "retried while tries remain]"
    )
    assert out["killed"]["raised"] == "retry"  # its "riskctl validate:" line is not a verdict
    assert "no outcome recorded" in out["killed"]["msg"]
    # Before the first model, scoring publishes nothing and the day goes on (as riskctl run).
    assert out["nochampion"]["raised"] == "skip"
    assert out["nochampion"]["msg"] == "riskctl score: no champion model yet: no alias"
    # The verdict stays on the task for the failure notifier; the status file is removed.
    assert out["gate"]["failure_message"] == out["gate"]["msg"]
    assert not any(o["status_left"] for o in out.values())

    args = (tmp_path / "args").read_text().splitlines()
    assert args[args.index("--master") + 1] == "local[2]"  # from the connection
    jars = args[args.index("--jars") + 1].split(",")
    assert [Path(j).name for j in jars] == ["delta-spark_2.13-4.0.0.jar", "delta-storage-4.0.0.jar"]
    confs = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "--conf")
    assert confs["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert "spark.master" not in confs and "spark.jars" not in confs
    assert args[-5:] == ["score", "--lake", str(tmp_path / "lake"), "--start", "2026-05-01"]
    assert args[-6] == str(REPO / "jobs" / "cli.py")
    env_seen = dict(
        line.split("=", 1) for line in (tmp_path / "env").read_text().splitlines() if "=" in line
    )
    assert env_seen["PYSPARK_PYTHON"] == confs["spark.pyspark.python"]


# --- failures reach a person: the notifier, through Airflow's own task runner ------------------

DAG_TEST = """
import datetime as dt
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

received = []


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=server.serve_forever, daemon=True).start()
os.environ["RISK_ALERT_WEBHOOK"] = f"http://127.0.0.1:{server.server_port}/hook"

# An SMTP server that keeps what it receives (the standard library's, enough for a test).
import warnings
warnings.simplefilter("ignore", DeprecationWarning)
import asyncore
import smtpd

mails = []


class Sink(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        mails.append({"to": rcpttos, "data": data.decode() if isinstance(data, bytes) else data})


sink = Sink(("127.0.0.1", 0), None)
threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.2}, daemon=True).start()
os.environ["RISK_ALERT_EMAIL"] = "oncall@example.org"
os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = json.dumps({
    "conn_type": "smtp", "host": "127.0.0.1", "port": sink.socket.getsockname()[1],
    "extra": {"from_email": "risk@example.org", "disable_ssl": True, "disable_tls": True}})

from airflow.models.dagbag import DagBag

bag = DagBag(dag_folder=DAGS_FOLDER, include_examples=False)
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": sorted(bag.dags),
       "states": {}}
for mode, day in MODES:
    os.environ["FAKE_MODE"] = mode
    run = bag.get_dag("lake_maintenance").test(
        logical_date=dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC))
    out["states"][day] = str(run.state)
out["webhook"] = [r["text"] for r in received]
out["mails"] = mails
print("RESULT=" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def migrated_home(tmp_path_factory) -> Path:
    """An Airflow home with a migrated SQLite database (what `dag.test()` needs)."""
    home = tmp_path_factory.mktemp("airflow_home")
    subprocess.run(
        [str(Path(PY).parent / "airflow"), "db", "migrate"],
        env=airflow_env(home),
        check=True,
        capture_output=True,
        timeout=900,
    )
    return home


def _dag_test(home: Path, tmp_path: Path, modes: list[tuple[str, str]], **env: str) -> dict:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    fake = bindir / "spark-submit"
    fake.write_text(FAKE_SUBMIT)
    fake.chmod(0o755)
    code = DAG_TEST.replace("DAGS_FOLDER", repr(str(DAGS))).replace("MODES", repr(modes))
    return run_json(
        code,
        airflow_env(home, RISK_SPARK_BIN_DIR=str(bindir), FAKE_OUT=str(tmp_path), **env),
        timeout=900,
    )


def _alert_lines(lake: Path) -> list[str]:
    path = lake / "ops" / "alerts.log"
    return path.read_text().splitlines() if path.exists() else []


LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ FAILED dag=(\S+) day=(\S+) task=(\S+) "
    r"try=(\d+): (.*)$"
)


def test_a_failed_task_sends_one_line_to_the_log_file_webhook_and_mail(migrated_home, tmp_path):
    lake = tmp_path / "lake"
    out = _dag_test(
        migrated_home, tmp_path, [("ok", "2026-05-03"), ("gate", "2026-05-10")], RISK_LAKE=str(lake)
    )
    assert out["errors"] == {}
    assert out["states"] == {"2026-05-03": "success", "2026-05-10": "failed"}
    lines = _alert_lines(lake)
    # the successful day wrote nothing; the failed one exactly one line, with its day and task
    assert len(lines) == 1, lines
    dag_id, day, task, tries, message = LINE.match(lines[0]).groups()
    assert (dag_id, day, task, tries) == (
        "lake_maintenance",
        "2026-05-10",
        "optimize_and_vacuum",
        "1",
    )
    assert message.startswith(
        "riskctl validate: interactions 2026-05-01: 3 blocking expectations failed [exit 3"
    )
    assert out["webhook"] == lines
    assert len(out["mails"]) == 1 and out["mails"][0]["to"] == ["oncall@example.org"]
    assert (
        "FAILED dag=lake_maintenance day=2026-05-10 task=optimize_and_vacuum"
        in out["mails"][0]["data"]
    )


def test_a_bad_setting_fails_a_task_instead_of_hiding_the_dag(migrated_home, tmp_path):
    lake = tmp_path / "lake"
    out = _dag_test(
        migrated_home,
        tmp_path,
        [("ok", "2026-05-03")],
        RISK_LAKE=str(lake),
        RISK_VACUUM_RETENTION_HOURS="24",
        RISK_RAW_WAIT_HOURS="six",
    )
    assert out["errors"] == {}  # every DAG still parses and is listed
    assert out["dags"] == ["lake_maintenance", "risk_backfill", "risk_daily", "risk_retrain"]
    assert out["states"] == {"2026-05-03": "failed"}  # although the job itself would succeed
    lines = _alert_lines(lake)
    assert len(lines) == 1
    message = LINE.match(lines[0]).group(5)
    assert message.startswith("bad setting: RISK_RAW_WAIT_HOURS='six' does not parse")
    assert "RISK_VACUUM_RETENTION_HOURS='24': hours, at least the safe 168" in message
    assert not (tmp_path / "args").exists()  # spark-submit never ran


# --- end to end: Airflow's risk_daily equals riskctl run ---------------------------------------

E2E_NEEDS = (
    "simulator",
    "jobs.ingest",
    "jobs.validate",
    "jobs.build_features",
    "jobs.train",
    "jobs.score",
    "jobs.run",
)


def _missing_modules() -> list[str]:
    missing = []
    for name in E2E_NEEDS:
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except ModuleNotFoundError:
            missing.append(name)
    return missing


def _riskctl(*args: str, env: dict[str, str], timeout: int = 7200) -> None:
    proc = subprocess.run(
        [PY, "-m", "jobs.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(REPO),
    )
    assert proc.returncode == 0, (
        f"riskctl {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    )


def _gold_rows(lake: Path, days: list[dt.date]) -> dict[str, list[tuple]]:
    """Gold tables (and the ingest audit) of the days, as sorted rows without wall-clock columns."""
    from core.tables import table
    from tools.compare import WALL_CLOCK, snapshot

    keep = {
        "account_scores_daily": "score_date",
        "account_clusters_daily": "score_date",
        "ingest_audit": "land_date",
    }
    snap = snapshot(str(lake), tables=list(keep))
    out = {}
    for name, column in keep.items():
        cols = [c for c in table(name).columns if c not in WALL_CLOCK]
        idx = cols.index(column)
        out[name] = [r for r in snap.get(name, []) if r[idx] in days]
    return out


@pytest.mark.slow
@pytest.mark.skipif(
    bool(_missing_modules()),
    reason=f"the jobs risk_daily runs are not all importable yet: {', '.join(_missing_modules())}",
)
def test_risk_daily_dags_test_equals_riskctl_run(tmp_path):
    """The last two days of a generated tiny lake through `airflow dags test risk_daily` give
    the gold rows `riskctl run` gives for the same days.

    `riskctl run` builds the lake up to the day before (lake A); a copy of it (lake B) then
    runs the last two days through Airflow while lake A runs them through `riskctl run`, so
    both sides start from the same state (the copied MLflow database still points at lake A's
    artifacts: B loads the same champion). The tiny lake's first model comes on its 8th day
    (enough labels); RISK_E2E_DAYS (default 10) must leave a champion for the last two days.
    """
    n_days = int(os.environ.get("RISK_E2E_DAYS", "10"))
    start = dt.date(2026, 4, 22)
    days = [start + dt.timedelta(days=i) for i in range(n_days)]
    warm, dag_days = days[:-2], days[-2:]
    env = dict(os.environ)
    env.pop("RISK_LAKE", None)
    env.pop("MLFLOW_TRACKING_URI", None)  # each lake has its own embedded MLflow

    lake_a, lake_b = tmp_path / "lake_a", tmp_path / "lake_b"
    _riskctl(
        "generate",
        "--lake",
        str(lake_a),
        "--start",
        str(start),
        "--days",
        str(n_days),
        "--scale",
        "tiny",
        "--quiet",
        env=env,
    )
    _riskctl("run", "--lake", str(lake_a), "--start", str(warm[0]), "--end", str(warm[-1]), env=env)
    shutil.copytree(lake_a, lake_b, symlinks=True)
    _riskctl(
        "run",
        "--lake",
        str(lake_a),
        "--start",
        str(dag_days[0]),
        "--end",
        str(dag_days[-1]),
        env=env,
    )

    home = tmp_path / "airflow_home"
    af_env = airflow_env(home, RISK_LAKE=str(lake_b), PATH=f"{Path(PY).parent}:{env['PATH']}")
    af_env.pop("MLFLOW_TRACKING_URI", None)
    airflow = str(Path(PY).parent / "airflow")
    subprocess.run(
        [airflow, "db", "migrate"], env=af_env, check=True, capture_output=True, timeout=600
    )
    for day in dag_days:
        proc = subprocess.run(
            [airflow, "dags", "test", "risk_daily", day.isoformat()],
            env=af_env,
            capture_output=True,
            text=True,
            timeout=7200,
        )
        (tmp_path / f"dags_test_{day}.log").write_text(proc.stdout + proc.stderr)
        assert proc.returncode == 0, (
            f"dags test {day} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
        )

    a, b = _gold_rows(lake_a, dag_days), _gold_rows(lake_b, dag_days)
    scores = a["account_scores_daily"]
    # Real content first: both days scored with spread-out scores, a cluster of three or more.
    # (Not "some account high": this lake's first model has 5 validation positives, too few for
    # the bands' PU correction, and its uncorrected bands may flag nobody; docs/MODEL.md.)
    assert {r[1] for r in scores} == set(dag_days), (
        "no champion on the last two days: raise RISK_E2E_DAYS"
    )
    assert len({r[2] for r in scores}) >= 10  # 13-17 distinct scores a day on the last failing run
    assert any(r[2] >= 3 for r in a["account_clusters_daily"])
    assert len(a["ingest_audit"]) == 3 * len(dag_days)
    assert a == b

    # Negative control: one altered score is caught by the same comparison.
    altered = dict(b)
    first = list(altered["account_scores_daily"][0])
    first[2] = round(first[2] + 0.01, 9)
    altered["account_scores_daily"] = [tuple(first), *altered["account_scores_daily"][1:]]
    assert a != altered
