"""Runtime settings: one frozen `Settings` built from the environment and the command line.

No other module reads `os.environ`: they call `settings()`. Every variable is declared once in
`VARIABLES` (name, field, default, meaning), which the README's table lists in full
(`tests/test_settings.py` checks both). The CLI's flags override the environment through
`configure(...)`; subprocess environments are built here too (`child_environment`).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LAKE = "./lake"


class ConfigError(Exception):
    """A configuration problem the operator can fix; printed as one line, never a traceback."""


def is_remote(uri: str) -> bool:
    """True for object-store URIs (s3a://, gs://, abfss://...): no local checks apply there."""
    return "://" in uri and not uri.startswith("file://")


def resolve_lake(lake: str | None) -> str:
    """The lake root from --lake, else RISK_LAKE, else ./lake; local paths become absolute."""
    root = lake or settings().lake or DEFAULT_LAKE
    if is_remote(root):
        return root.rstrip("/")
    return str(Path(root.removeprefix("file://")).expanduser().resolve())


def ensure_lake(root: str, create: bool = True, writable: bool = True) -> str:
    """Check a local lake root exists (creating it when asked) and, for jobs, is writable."""
    if is_remote(root):
        return root
    path = Path(root)
    if not path.exists():
        if not create:
            raise ConfigError(f"lake {root} does not exist")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create lake {root}: {exc.strerror or exc}") from None
    if not path.is_dir():
        raise ConfigError(f"lake {root} is not a directory")
    if writable and not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"lake {root} is not writable by this user")
    return root


def mlflow_tracking_uri(lake: str) -> str:
    """MLFLOW_TRACKING_URI when set (a shared server), else SQLite under the lake."""
    uri = settings().mlflow_tracking_uri
    if uri:
        return uri
    if is_remote(lake):
        raise ConfigError(
            "a lake on an object store needs MLFLOW_TRACKING_URI (the SQLite default is local)"
        )
    path = Path(lake) / "_mlflow"
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'mlflow.db'}"


def mlflow_artifact_root(lake: str) -> str:
    """Where the embedded MLflow keeps artifacts: beside its database, under the lake."""
    return str(Path(lake) / "_mlflow" / "artifacts")


@dataclass(frozen=True)
class SparkProfile:
    """Spark defaults for one kind of deployment; every value can be overridden by env/conf."""

    name: str
    master: str | None
    shuffle_partitions: int
    driver_memory: str
    # Partitions Delta uses to rebuild a table's snapshot from its log: Delta's default of 50
    # makes every first read of a table 50 tasks, which two cores pay in seconds
    # (docs/DESIGN.md). None keeps Delta's default.
    delta_snapshot_partitions: int | None = None


PROFILES = {
    # Two cores: a few shuffle partitions beat the default 200 by seconds per stage.
    "local": SparkProfile("local", "local[*]", 4, "6g", delta_snapshot_partitions=4),
    # On a cluster spark-submit supplies the master; partitions grow with the data.
    "cluster": SparkProfile("cluster", None, 64, "4g"),
}


def profile() -> SparkProfile:
    name = settings().profile
    if name not in PROFILES:
        raise ConfigError(f"RISK_PROFILE={name!r} is not one of {sorted(PROFILES)}")
    return PROFILES[name]


def python_executable() -> str:
    """The interpreter Spark workers must use: the one running us (the project's venv)."""
    return sys.executable


# --- the settings object ------------------------------------------------------------------------


def _int(text: str) -> int:
    return int(text)


def _spark_conf(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{item!r} is not key=value")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


def _day(text: str) -> str:
    return dt.date.fromisoformat(text).isoformat()


@dataclass(frozen=True)
class Variable:
    """One environment variable: the field it fills, how it is parsed, what it means."""

    name: str
    field: str
    meaning: str
    parse: Callable[[str], Any] = str
    check: Callable[[Any], bool] | None = None
    rule: str = ""  # what a valid value is, for the error message

    def read(self, text: str) -> Any:
        """The parsed value; ValueError naming the rule when it does not parse or check."""
        try:
            value = self.parse(text)
        except ValueError:
            rule = self.rule or "see the README"
            raise ValueError(f"{self.name}={text!r} does not parse ({rule})") from None
        if self.check is not None and not self.check(value):
            raise ValueError(f"{self.name}={text!r}: {self.rule}")
        return value


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "RISK_LAKE", "lake", "the lake root, a directory or an object-store prefix (`--lake` wins)"
    ),
    Variable(
        "MLFLOW_TRACKING_URI",
        "mlflow_tracking_uri",
        "a shared MLflow server; default "
        "SQLite under `<lake>/_mlflow` (required for an object-store lake)",
    ),
    Variable(
        "MLFLOW_DFS_TMP",
        "mlflow_dfs_tmp",
        "shared storage MLflow stages Spark models "
        "through on a cluster; default `<lake>/_mlflow/dfs_tmp`",
    ),
    Variable("RISK_PROFILE", "profile", "Spark defaults: `local` or `cluster`"),
    Variable("RISK_SPARK_MASTER", "spark_master", "Spark master URL (`run --master` wins)"),
    Variable(
        "RISK_SPARK_CONF",
        "spark_conf",
        "`key=value,key=value` Spark confs over the defaults",
        _spark_conf,
        rule="key=value pairs separated by commas",
    ),
    Variable("RISK_SPARK_LOG_LEVEL", "spark_log_level", "log level of Spark's JVM"),
    Variable("RISK_JAR_CACHE", "jar_cache", "where the Delta jars are cached", Path),
    Variable(
        "RISK_PSEUDONYM_KEY",
        "pseudonym_key",
        "key of the keyed hash that replaces client "
        "IPs and email domains; when unset one is generated once into the key file",
    ),
    Variable(
        "RISK_PSEUDONYM_KEY_FILE", "pseudonym_key_file", "where the generated key is kept", Path
    ),
    Variable("RISK_MODEL_NAME", "model_name", "the registered model's name"),
    Variable(
        "RISK_ENV",
        "environment",
        "environment name in the MLflow experiment (`account-risk-<env>`)",
    ),
    Variable(
        "RISK_XGB_WORKERS",
        "xgb_workers",
        "XGBoost training workers; 0 = the free task slots, at most 4",
        _int,
    ),
    Variable(
        "RISK_DRIFT_PSI_THRESHOLD",
        "drift_psi_threshold",
        "PSI above which a feature has drifted",
        float,
    ),
    Variable(
        "RISK_DRIFT_MIN_FEATURES",
        "drift_min_features",
        "drifted features that trigger a retrain",
        _int,
    ),
    Variable("RISK_REPORT_DIR", "report_dir", "where reports of an object-store lake go"),
    Variable(
        "RISK_MLFLOW_UI_URL",
        "mlflow_ui_url",
        "where the report links the MLflow UI; default the tracking server, else `mlflow ui`'s",
    ),
    Variable("RISK_SQL_HOST", "sql_host", "interface `riskctl sql-server` listens on"),
    Variable("RISK_SQL_SERVER_LOG_LEVEL", "sql_server_log_level", "log level of the SQL server"),
    Variable("RISK_BENCH_DIR", "bench_dir", "work directory of `make bench`"),
    Variable(
        "RISK_PYTHON",
        "python",
        "the interpreter Airflow's spark-submit runs jobs with; default the project's venv",
    ),
    Variable(
        "RISK_SPARK_BIN_DIR",
        "spark_bin_dir",
        "directory holding `spark-submit` for Airflow; default the venv's bin",
    ),
    Variable("RISK_SPARK_CONN_ID", "spark_conn_id", "Airflow connection of the Spark master"),
    Variable("RISK_LAKE_CONN_ID", "lake_conn_id", "Airflow connection of an object-store lake"),
    Variable(
        "RISK_SPARK_POOL",
        "spark_pool",
        "Airflow pool every Spark task runs in (one slot: two DAGs never run Spark at once)",
    ),
    Variable(
        "RISK_DAG_START",
        "dag_start",
        "first logical date of the daily DAG",
        _day,
        rule="a date, YYYY-MM-DD",
    ),
    Variable(
        "RISK_RAW_WAIT_HOURS",
        "raw_wait_hours",
        "hours the daily DAG waits for raw data",
        float,
        lambda h: 0 < h <= 24 * 7,
        "hours, more than 0 and at most a week",
    ),
    Variable(
        "RISK_VACUUM_RETENTION_HOURS",
        "vacuum_retention_hours",
        "VACUUM retention of the maintenance DAG",
        _int,
        lambda h: h >= 168,
        "hours, at least the safe 168",
    ),
    Variable("RISK_ALERT_LOG", "alert_log", "file the DAGs' failure notifier appends to"),
    Variable("RISK_ALERT_WEBHOOK", "alert_webhook", "URL the failure notifier posts to"),
    Variable(
        "RISK_ALERT_EMAIL", "alert_email", "comma-separated addresses the failure notifier mails"
    ),
    Variable(
        "RISK_ALERT_SMTP_CONN_ID",
        "alert_smtp_conn_id",
        "Airflow SMTP connection of the failure mails",
    ),
    Variable(
        "RISK_STATUS_FILE",
        "status_file",
        "file `riskctl` writes its exit code and message to (the DAGs set it per task)",
    ),
    Variable("JAVA_HOME", "java_home", "the Java 17+ Spark runs on; default `java` on PATH"),
)


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline takes from its environment, read once per call of `settings()`."""

    lake: str | None = None
    mlflow_tracking_uri: str | None = None
    mlflow_dfs_tmp: str | None = None
    profile: str = "local"
    spark_master: str | None = None
    spark_conf: tuple[tuple[str, str], ...] = ()
    spark_log_level: str = "ERROR"
    jar_cache: Path = REPO_ROOT / ".cache" / "jars"
    pseudonym_key: str | None = None
    pseudonym_key_file: Path = Path("~/.config/riskctl/pseudonym.key")
    model_name: str | None = None
    environment: str = "local"
    xgb_workers: int = 0
    drift_psi_threshold: float | None = None
    drift_min_features: int | None = None
    report_dir: str = "./reports"
    mlflow_ui_url: str | None = None
    sql_host: str | None = None
    sql_server_log_level: str = "warn"
    bench_dir: str | None = None
    python: str | None = None
    spark_bin_dir: str | None = None
    spark_conn_id: str = "spark_local"
    lake_conn_id: str | None = None
    spark_pool: str = "risk_spark"
    dag_start: str = "2026-04-22"
    raw_wait_hours: float = 6.0
    vacuum_retention_hours: int = 168
    alert_log: str | None = None
    alert_webhook: str | None = None
    alert_email: str | None = None
    alert_smtp_conn_id: str = "smtp_default"
    status_file: str | None = None
    java_home: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Settings from an environment; ConfigError naming the variable for a bad value."""
        values, problems = cls._read(environ)
        if problems:
            raise ConfigError("; ".join(problems[k] for k in sorted(problems)))
        return cls(**values)

    @classmethod
    def from_env_tolerant(cls, environ: Mapping[str, str]) -> tuple[Settings, dict[str, str]]:
        """Settings with defaults where a value is bad, and {variable: problem} for those.

        For the DAG files: a bad value must be reported by a task, not hide the DAG.
        """
        values, problems = cls._read(environ)
        return cls(**values), problems

    @classmethod
    def _read(cls, environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for var in VARIABLES:
            text = (environ.get(var.name) or "").strip()
            if not text:
                continue
            try:
                values[var.field] = var.read(text)
            except ValueError as exc:
                problems[var.name] = str(exc)
        return values, problems

    def spark_conf_dict(self) -> dict[str, str]:
        return dict(self.spark_conf)


_overrides: dict[str, Any] = {}


def settings() -> Settings:
    """The process's settings: the environment as it is now, under the CLI's overrides."""
    current = Settings.from_env(os.environ)
    return replace(current, **_overrides) if _overrides else current


def settings_and_problems() -> tuple[Settings, dict[str, str]]:
    """`settings()` that never raises: defaults for bad values, and what was wrong with them."""
    current, problems = Settings.from_env_tolerant(os.environ)
    return (replace(current, **_overrides) if _overrides else current), problems


def configure(**changes: Any) -> None:
    """Override settings for the rest of the process (the CLI's flags); None leaves a field."""
    names = {f.name for f in fields(Settings)}
    unknown = set(changes) - names
    if unknown:
        raise TypeError(f"unknown settings: {sorted(unknown)}")
    _overrides.update({k: v for k, v in changes.items() if v is not None})


@contextmanager
def overridden(**changes: Any) -> Iterator[Settings]:
    """Settings overridden for a block only (tests, a sub-step with its own Spark confs)."""
    saved = dict(_overrides)
    configure(**changes)
    try:
        yield settings()
    finally:
        _overrides.clear()
        _overrides.update(saved)


def child_environment(**extra: str) -> dict[str, str]:
    """The environment of a child process (spark-submit, a Spark worker): ours plus `extra`."""
    env = dict(os.environ)
    env.update(extra)
    return env


def environment_value(name: str, default: str = "") -> str:
    """A process variable that is not a setting of ours (PATH, PYTHONPATH, SPARK_SUBMIT_OPTS)."""
    return os.environ.get(name, default)


def export_default(name: str, value: str) -> None:
    """Set a variable a library reads from the environment (PySpark, GX), unless already set."""
    os.environ.setdefault(name, value)


def export(name: str, value: str) -> None:
    """Set a variable a library or child process reads from the environment."""
    os.environ[name] = value


def saved_environment(*names: str) -> dict[str, str | None]:
    """The named variables as they are now (None: unset), for `restore_environment`."""
    return {name: os.environ.get(name) for name in names}


def restore_environment(saved: Mapping[str, str | None]) -> None:
    """Put back variables a library call exported (MLflow's setters export their URIs)."""
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
