#!/usr/bin/env bash
# `make airflow`: Airflow 3 standalone on this machine with the project's DAGs, the Spark
# connection and the lake configured, then prints where to log in and with what.
#
# Everything lives under AIRFLOW_HOME (default <repo>/.airflow, git-ignored): airflow.cfg, the
# SQLite metadata database, task logs and the generated admin password. Override with the
# environment: AIRFLOW_HOME, AIRFLOW_PORT (8080), RISK_LAKE (<repo>/lake),
# AIRFLOW_CONN_SPARK_LOCAL (local[2]; point it at a cluster to run the same DAGs there).
#
# `bash infra/airflow.sh env` only prints these settings as exports, for the airflow CLI in
# another shell: eval "$(bash infra/airflow.sh env)"; airflow backfill create ...
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
# airflow, spark-submit (pyspark 4.0.1, matching the Delta jars) and riskctl of the project.
export PATH="$VENV/bin:$PATH"

export AIRFLOW_HOME="${AIRFLOW_HOME:-$REPO/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
PORT="${AIRFLOW_PORT:-8080}"
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://localhost:$PORT"

# The Spark connection as JSON (the URI form `spark://local[*]` does not parse).
DEFAULT_CONN='{"conn_type": "spark", "host": "local[2]"}'
export AIRFLOW_CONN_SPARK_LOCAL="${AIRFLOW_CONN_SPARK_LOCAL:-$DEFAULT_CONN}"
export RISK_LAKE="${RISK_LAKE:-$REPO/lake}"
export RISK_JAR_CACHE="${RISK_JAR_CACHE:-$REPO/.cache/jars}"

if [[ "${1:-}" == "env" ]]; then
    for name in PATH AIRFLOW_HOME AIRFLOW__CORE__DAGS_FOLDER AIRFLOW__CORE__LOAD_EXAMPLES \
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN AIRFLOW__API__PORT AIRFLOW__API__BASE_URL \
        AIRFLOW_CONN_SPARK_LOCAL RISK_LAKE RISK_JAR_CACHE; do
        printf 'export %s=%q\n' "$name" "${!name}"
    done
    exit 0
fi

mkdir -p "$AIRFLOW_HOME"

echo "airflow: migrating the metadata database in $AIRFLOW_HOME/airflow.db"
if ! airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1; then
    tail -n 30 "$AIRFLOW_HOME/db-migrate.log"
    echo "airflow db migrate failed (full log: $AIRFLOW_HOME/db-migrate.log)" >&2
    exit 1
fi

# One slot: the DAGs' Spark jobs queue instead of running two Spark applications at once on
# this machine (dags/common.py SPARK_POOL).
airflow pools set risk_spark 1 "Spark jobs of the risk DAGs, one at a time on this machine" \
    >/dev/null

# Airflow runs in the foreground (Ctrl-C reaches it: a background job of a script would ignore
# SIGINT); a helper waits until it answers and prints where to log in and with what.
PASSWORDS="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
announce() {
    local airflow_pid=$1
    for _ in $(seq 1 300); do
        kill -0 "$airflow_pid" 2>/dev/null || return 0
        if [[ -s "$PASSWORDS" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
            break
        fi
        sleep 1
    done
    local password
    password="$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["admin"])' \
        "$PASSWORDS" 2>/dev/null || echo "(not generated yet: see $PASSWORDS)")"
    cat <<EOF

==========================================================================================
 Airflow is up:   http://localhost:$PORT
 Log in as:       admin / $password
 Password file:   $PASSWORDS
 DAGs:            $REPO/dags  (risk_daily, risk_retrain, lake_maintenance; all start paused)
 Lake:            $RISK_LAKE
 Spark:           connection spark_local = $AIRFLOW_CONN_SPARK_LOCAL
 Runbook:         docs/AIRFLOW.md (run a day, backfill a week, re-run a failed task)
 CLI in another shell:  eval "\$(bash infra/airflow.sh env)"
 Stop:            Ctrl-C
==========================================================================================

EOF
}
announce $$ &
exec airflow standalone
