"""Runtime configuration: where the lake is, where MLflow is, which Spark profile to use.

Everything comes from arguments or the environment, never from the repo, so the same code runs
on a laptop (local profile) and on a cluster (cluster profile, lake on an object store).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
JAR_CACHE = Path(os.environ.get("RISK_JAR_CACHE", REPO_ROOT / ".cache" / "jars"))
DEFAULT_LAKE = "./lake"


class ConfigError(Exception):
    """A configuration problem the operator can fix; printed as one line, never a traceback."""


def is_remote(uri: str) -> bool:
    """True for object-store URIs (s3a://, gs://, abfss://...): no local checks apply there."""
    return "://" in uri and not uri.startswith("file://")


def resolve_lake(lake: str | None) -> str:
    """The lake root from --lake, else RISK_LAKE, else ./lake; local paths become absolute."""
    root = lake or os.environ.get("RISK_LAKE") or DEFAULT_LAKE
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
    uri = os.environ.get("MLFLOW_TRACKING_URI")
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
    # Partitions Delta uses to rebuild a table's snapshot from its log. Delta's default of 50
    # turns every first read of a table in a process into 50 tasks: on two cores an ingest ran
    # ~40 such jobs at 0.5-3.5 s each (issue 9's event log). None keeps Delta's default.
    delta_snapshot_partitions: int | None = None


PROFILES = {
    # Two cores: a few shuffle partitions beat the default 200 by seconds per stage.
    "local": SparkProfile("local", "local[*]", 4, "6g", delta_snapshot_partitions=4),
    # On a cluster spark-submit supplies the master; partitions grow with the data.
    "cluster": SparkProfile("cluster", None, 64, "4g"),
}


def profile() -> SparkProfile:
    name = os.environ.get("RISK_PROFILE", "local")
    if name not in PROFILES:
        raise ConfigError(f"RISK_PROFILE={name!r} is not one of {sorted(PROFILES)}")
    return PROFILES[name]


def python_executable() -> str:
    """The interpreter Spark workers must use: the one running us (the project's venv)."""
    return sys.executable
