"""The one SparkSession builder of the project.

Delta's extension and catalog are configured, the Delta jars come from the local cache that
`make setup` filled (never `spark.jars.packages`, so a session starts with no network), the
session time zone is UTC, and the defaults suit two cores. On a cluster `spark-submit` supplies
master and resources; anything set there (or in RISK_SPARK_CONF) wins over these defaults.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from core.settings import (
    ConfigError,
    environment_value,
    export_default,
    profile,
    python_executable,
    settings,
)

# Jars Spark needs beside pyspark's own; infra/jvm/pom.xml fetches exactly these.
REQUIRED_JARS = ("delta-spark_2.13-4.0.0.jar", "delta-storage-4.0.0.jar")
MIN_JAVA = 17


def delta_jars() -> list[str]:
    """Absolute paths of the cached Delta jars; a clear error when setup has not run."""
    jar_cache = settings().jar_cache
    missing = [j for j in REQUIRED_JARS if not (jar_cache / j).is_file()]
    if missing:
        raise ConfigError(
            f"Delta jars missing from {jar_cache}: {', '.join(missing)}; run `make setup`"
        )
    return [str(jar_cache / j) for j in REQUIRED_JARS]


def check_java() -> int:
    """Java must exist and be 17 or newer (Spark 4); returns the major version."""
    java = shutil.which("java", path=_java_path())
    if not java:
        raise ConfigError("Java not found: install Java 17 or newer, or set JAVA_HOME")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    try:
        quoted = out.split('"')[1]
        major = int(quoted.split(".")[0] if not quoted.startswith("1.") else quoted.split(".")[1])
    except (IndexError, ValueError):
        raise ConfigError(f"cannot read the Java version from: {out.strip()[:200]}") from None
    if major < MIN_JAVA:
        raise ConfigError(f"Java {major} found at {java}; Spark 4 needs Java {MIN_JAVA}+")
    return major


def _java_path() -> str:
    home = settings().java_home
    path = environment_value("PATH")
    return f"{home}/bin:{path}" if home else path


def base_conf(app_name: str = "risk") -> dict[str, str]:
    """Every setting the project relies on, as plain strings (also fed to spark-submit)."""
    prof = profile()
    jars = ",".join(delta_jars())
    conf = {
        "spark.app.name": app_name,
        "spark.jars": jars,
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(prof.shuffle_partitions),
        "spark.sql.adaptive.enabled": "true",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": prof.driver_memory,
        # Gold tables must stay readable by deltalake/DuckDB: no deletion vectors by default.
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
        # Arrow makes mapInArrow/pandas conversions cheap; the JSON parser uses it.
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.pyspark.python": python_executable(),
        "spark.pyspark.driver.python": python_executable(),
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC -Dderby.system.home=/tmp/risk-derby",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
    }
    if prof.delta_snapshot_partitions:
        conf["spark.databricks.delta.snapshotPartitions"] = str(prof.delta_snapshot_partitions)
    current = settings()
    master = current.spark_master or prof.master
    if master:
        conf["spark.master"] = master
    # RISK_SPARK_CONF="k=v,k2=v2" overrides anything above without touching code.
    conf.update(current.spark_conf_dict())
    return conf


_session = None


def get_spark(app_name: str = "risk"):  # -> pyspark.sql.SparkSession
    """Return the process's one SparkSession, building it on first use.

    `getOrCreate` keeps confs given by spark-submit: ours are only applied where unset, so a
    cluster submission's master and resources win.
    """
    global _session
    if _session is not None and not _session.sparkContext._jsc.sc().isStopped():
        return _session
    check_java()
    export_default("PYSPARK_PYTHON", python_executable())
    if profile().name == "local":
        # A local driver talks only to itself: bind to loopback (works with no network at all).
        export_default("SPARK_LOCAL_IP", "127.0.0.1")
    Path("/tmp/risk-derby").mkdir(exist_ok=True)
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    existing = SparkConf()  # holds what spark-submit passed, if anything
    builder = SparkSession.builder
    for key, value in base_conf(app_name).items():
        if key == "spark.jars" and existing.contains("spark.jars"):
            given = existing.get("spark.jars") or ""
            value = ",".join(sorted(set(given.split(",") + value.split(","))))
        elif existing.contains(key):
            continue
        builder = builder.config(key, value)
    _session = builder.getOrCreate()
    _session.sparkContext.setLogLevel(settings().spark_log_level)
    return _session


def stop_spark() -> None:
    global _session
    if _session is not None:
        _session.stop()
        _session = None


@contextlib.contextmanager
def session_conf(spark, conf: dict[str, str]) -> Iterator[None]:
    """Set SQL confs for the block and put back what was there (unset if nothing was)."""
    before = {k: spark.conf.get(k, None) for k in conf}
    for key, value in conf.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)
