"""`riskctl sql-server`: Spark's JDBC/Thrift server over the `risk.*` tables, read-only.

How it runs (all through the venv's pyspark `spark-submit`, Delta jars in `--jars`, no network):

1. A throwaway state directory holds this server's own Derby metastore, warehouse and logs:
   Derby admits one process, so the server never shares a metastore with jobs or `riskctl sql`;
   the lake paths are the shared truth (see jobs/sql_catalog.py).
2. `spark-submit jobs/sql_catalog.py --lake DIR` registers `risk.*` in that metastore (external
   Delta tables over the lake paths) and exits.
3. `spark-submit --class org.apache.spark.sql.hive.thriftserver.HiveThriftServer2` starts on the
   same metastore, listening on 127.0.0.1:<port> unless told otherwise, and runs until stopped.

Read-only, enforced in the server itself: Spark 4.0 has no read-only switch, so the server loads
a Spark session extension (infra/jvm/sqlguard/ReadOnlyGuard.java, compiled once with javac into
the jar cache) whose check rule refuses every plan that would write, before it runs: INSERT,
UPDATE, DELETE, MERGE, CREATE, DROP, ALTER, OPTIMIZE, VACUUM, CACHE, ADD JAR, TRANSFORM scripts,
reflect(); path-based writes (INSERT INTO delta.`/lake/...`) included, since it checks plans,
not names. SQL on raw files (`SELECT * FROM json.`/lake/raw/...``) is switched off
(spark.sql.runSQLOnFiles=false) and the guard refuses switching it back on (nor may a session
add a catalog plugin, spark.sql.catalog.*), so analysts see only
the registered tables, never the raw zone's personal data. A filesystem-permission scheme was
not chosen: it needs root and a second OS user, does not apply to object stores, and would still
let DROP TABLE and CREATE TABLE change the server's catalog.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from core.errors import PipelineError
from core.settings import (
    REPO_ROOT,
    ConfigError,
    child_environment,
    environment_value,
    settings,
)

log = logging.getLogger("risk.sql_server")

THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
GUARD_CLASS = "risk.sql.ReadOnlyGuard"
GUARD_SOURCE = REPO_ROOT / "infra" / "jvm" / "sqlguard" / "ReadOnlyGuard.java"
DEFAULT_HOST = "127.0.0.1"
START_TIMEOUT_S = 300  # a loaded 2-core machine can take minutes to start Spark twice
_JVM_LOG_LINE = re.compile(r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d (WARN|INFO)|WARNING: )")


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def spark_submit() -> str:
    path = spark_home() / "bin" / "spark-submit"
    if not path.is_file():
        raise ConfigError(f"spark-submit not found at {path}: reinstall pyspark (make setup)")
    return str(path)


def guard_jar() -> str:
    """The read-only guard's jar, compiled from its source on first use (needs a JDK's javac)."""
    import pyspark

    source = GUARD_SOURCE.read_bytes()
    digest = hashlib.sha256(source + pyspark.__version__.encode()).hexdigest()[:12]
    name = f"risk-sqlguard-{digest}.jar"
    for folder in (settings().jar_cache, Path(tempfile.gettempdir()) / "risk-jars"):
        if (folder / name).is_file():
            return str(folder / name)
    from core.spark import _java_path

    javac = shutil.which("javac", path=_java_path())
    if not javac:
        raise ConfigError(
            "javac not found: the SQL server's read-only guard is compiled once from "
            f"{GUARD_SOURCE.relative_to(REPO_ROOT)}; install a JDK 17+ (not only a JRE)"
        )
    with tempfile.TemporaryDirectory(prefix="risk-sqlguard-") as tmp:
        classes = Path(tmp) / "classes"
        done = subprocess.run(
            [
                javac,
                "-nowarn",
                "-d",
                str(classes),
                "-cp",
                str(spark_home() / "jars" / "*"),
                str(GUARD_SOURCE),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])
            raise ConfigError(f"compiling the read-only SQL guard failed: {tail}")
        staged = Path(tmp) / name
        with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
            for cls in sorted(classes.rglob("*.class")):
                jar.write(cls, cls.relative_to(classes).as_posix())
        for folder in (settings().jar_cache, Path(tempfile.gettempdir()) / "risk-jars"):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                tmp_target = folder / f".{name}.{os.getpid()}"
                shutil.copyfile(staged, tmp_target)
                os.replace(tmp_target, folder / name)  # atomic: concurrent builds are harmless
                return str(folder / name)
            except OSError:
                continue
    raise ConfigError(
        f"cannot write the SQL guard jar to {settings().jar_cache} nor the temp directory"
    )


def _conf_args(conf: dict[str, str]) -> list[str]:
    args: list[str] = []
    for key, value in conf.items():
        args += ["--conf", f"{key}={value}"]
    return args


def _common_conf(state: Path) -> dict[str, str]:
    """Project confs plus this server's own metastore, warehouse and quiet logs."""
    from core.spark import base_conf
    from jobs.sql import quiet_log_config

    conf = {
        k: v
        for k, v in base_conf("risk-sql-server").items()
        if k not in ("spark.jars", "spark.app.name")
    }
    log_conf = quiet_log_config(settings().sql_server_log_level)
    conf.update(
        {
            "spark.sql.catalogImplementation": "hive",
            "spark.sql.warehouse.dir": str(state / "warehouse"),
            "spark.hadoop.javax.jdo.option.ConnectionURL": (
                f"jdbc:derby:;databaseName={state / 'metastore_db'};create=true"
            ),
            "spark.hadoop.hive.exec.scratchdir": str(state / "scratch"),
            "spark.hadoop.hive.exec.local.scratchdir": str(state / "local-scratch"),
            "spark.hadoop.hive.downloaded.resources.dir": str(state / "resources"),
            # Delta keeps a table's schema in its own log and leaves the metastore's empty, so a
            # JDBC client's schema browser (Thrift GetColumns reads the metastore) would list no
            # column: this copies the schema, with its comments, into the metastore.
            "spark.databricks.delta.catalog.update.enabled": "true",
            "spark.driver.extraJavaOptions": f"-Duser.timezone=UTC -Dderby.system.home={state} "
            f"-Dlog4j2.configurationFile=file:{log_conf}",
        }
    )
    return conf


def _register_tables(lake: str, state: Path, jars: list[str]) -> str:
    """Fill the server's metastore with risk.* (a separate, short Spark application)."""
    for sub in ("warehouse", "scratch", "local-scratch", "resources", "operation_logs"):
        (state / sub).mkdir(exist_ok=True)
    conf = _common_conf(state)
    conf.update({"spark.master": "local[1]", "spark.driver.memory": "1g"})
    env = child_environment(
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), environment_value("PYTHONPATH")])),
    )
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    cmd = [
        spark_submit(),
        *_conf_args(conf),
        "--jars",
        ",".join(jars),
        str(REPO_ROOT / "jobs" / "sql_catalog.py"),
        "--lake",
        lake,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=state)
    if done.returncode != 0:
        log.debug("catalog registration stderr:\n%s", done.stderr)
        lines = [
            ln
            for ln in done.stderr.strip().splitlines()
            if ln.strip() and not _JVM_LOG_LINE.match(ln)
        ]
        tail = lines[-1] if lines else f"exit code {done.returncode}"
        raise PipelineError(f"registering the risk tables for the SQL server failed: {tail}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def server_command(state: Path, jars: list[str], host: str, port: int) -> list[str]:
    conf = _common_conf(state)
    conf.update(
        {
            "spark.sql.extensions": f"io.delta.sql.DeltaSparkSessionExtension,{GUARD_CLASS}",
            # No SQL over raw files: analysts reach only the registered tables (the guard refuses
            # setting this back).
            "spark.sql.runSQLOnFiles": "false",
            # The Thrift server turns on java.time dates, which Delta's answer-from-statistics path
            # (max(score_date) without a scan) does not handle: ClassCastException LocalDate.
            "spark.databricks.delta.optimizeMetadataQuery.enabled": "false",
        }
    )
    hive = {
        "hive.server2.thrift.port": str(port),
        "hive.server2.thrift.bind.host": host,
        "hive.server2.logging.operation.log.location": str(state / "operation_logs"),
    }
    # Also on the driver's own class path: the Thrift server opens sessions and runs statements
    # on pooled threads whose context class loader may not see --jars, and a client then fails
    # with ClassNotFoundException: DeltaCatalog (or NoClassDefFoundError inside Delta).
    conf["spark.driver.extraClassPath"] = os.pathsep.join(jars)
    cmd = [
        spark_submit(),
        "--class",
        THRIFT_SERVER_CLASS,
        "--name",
        "risk-sql-server",
        "--jars",
        ",".join(jars),
        *_conf_args(conf),
    ]
    for key, value in hive.items():
        cmd += ["--hiveconf", f"{key}={value}"]
    return cmd


def _port_open(host: str, port: int) -> bool:
    target = "127.0.0.1" if host in ("0.0.0.0", "") else host
    try:
        with socket.create_connection((target, port), timeout=0.5):
            return True
    except OSError:
        return False


def serve(lake: str, port: int = 10000, host: str | None = None) -> int:
    """Run the read-only SQL server in the foreground until stopped; return its exit code."""
    from core.spark import check_java, delta_jars

    host = host or settings().sql_host or DEFAULT_HOST
    check_java()
    if _port_open(host, port):
        raise PipelineError(
            f"port {port} on {host} is already in use: stop what listens there "
            "or choose another with --port"
        )
    jars = [*delta_jars(), guard_jar()]
    state = Path(tempfile.mkdtemp(prefix="risk-sql-server-"))
    child: subprocess.Popen | None = None
    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.terminate()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        start = time.monotonic()
        registered = _register_tables(lake, state, jars)
        log.info("sql-server catalog %s secs=%.1f", registered, time.monotonic() - start)
        if stopping:
            return 0
        env = child_environment(SPARK_LOCAL_IP=environment_value("SPARK_LOCAL_IP", "127.0.0.1"))
        child = subprocess.Popen(server_command(state, jars, host, port), cwd=state, env=env)
        ready = False
        while child.poll() is None:
            if not ready and _port_open(host, port):
                ready = True
                log.info(
                    "sql-server ready url=jdbc:hive2://%s:%d/%s read_only=true secs=%.1f",
                    "localhost" if host == DEFAULT_HOST else host,
                    port,
                    "risk",
                    time.monotonic() - start,
                )
            elif not ready and time.monotonic() - start > START_TIMEOUT_S:
                child.terminate()
                raise PipelineError(
                    f"the SQL server did not listen on {host}:{port} within "
                    f"{START_TIMEOUT_S}s; see its log above"
                )
            time.sleep(0.5)
        code = child.returncode
        if stopping:
            log.info("sql-server stopped")
            return 0
        if not ready:
            raise PipelineError(
                f"the SQL server exited with code {code} before listening on "
                f"{host}:{port}; see its log above"
            )
        return code
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(state, ignore_errors=True)
