#!/usr/bin/env bash
# A real Spark standalone cluster on this machine: one master and two workers, started through
# the pyspark install's own `spark-class`. Jobs reach it with
#   riskctl run --master spark://127.0.0.1:7077 ...   (or RISK_SPARK_MASTER, or the Airflow
#   connection's host). On a real cluster, run the same classes on each host (docs in
#   infra/CLUSTER.md).
#
#   infra/spark-cluster.sh start|stop|status
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${RISK_VENV:-$repo/.venv}
export SPARK_HOME=${SPARK_HOME:-$("$venv/bin/python" -c 'import pyspark, os; print(os.path.dirname(pyspark.__file__))')}
state=${RISK_CLUSTER_DIR:-$repo/.cache/cluster}
host=${RISK_CLUSTER_HOST:-127.0.0.1}
port=${RISK_CLUSTER_PORT:-7077}
workers=${RISK_CLUSTER_WORKERS:-2}
cores=${RISK_WORKER_CORES:-1}
memory=${RISK_WORKER_MEMORY:-4g}
export SPARK_LOCAL_IP=$host
export PYSPARK_PYTHON=$venv/bin/python
mkdir -p "$state"

start_one() {  # name, class, args...
  local name=$1; shift
  if [ -f "$state/$name.pid" ] && kill -0 "$(cat "$state/$name.pid")" 2>/dev/null; then
    echo "$name already running (pid $(cat "$state/$name.pid"))"; return
  fi
  nohup "$SPARK_HOME/bin/spark-class" "$@" >"$state/$name.log" 2>&1 &
  echo $! >"$state/$name.pid"
  echo "$name started (pid $!, log $state/$name.log)"
}

wait_port() {  # port, seconds
  for _ in $(seq 1 "$2"); do
    (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null && return 0
    sleep 1
  done
  echo "port $1 did not open; see logs in $state" >&2; return 1
}

case "${1:-status}" in
  start)
    start_one master org.apache.spark.deploy.master.Master --host "$host" --port "$port" \
      --webui-port 8080
    wait_port "$port" 60
    for i in $(seq 1 "$workers"); do
      start_one "worker$i" org.apache.spark.deploy.worker.Worker "spark://$host:$port" \
        --host "$host" --cores "$cores" --memory "$memory" --webui-port $((8080 + i)) \
        --work-dir "$state/work$i"
    done
    # Workers register within seconds; the master's UI JSON lists them.
    for _ in $(seq 1 60); do
      n=$(curl -s "http://$host:8080/json/" | "$venv/bin/python" -c \
        'import json,sys; print(sum(w["state"]=="ALIVE" for w in json.load(sys.stdin)["workers"]))' 2>/dev/null || echo 0)
      [ "$n" -ge "$workers" ] && break
      sleep 1
    done
    echo "cluster up: spark://$host:$port with $n worker(s); UI http://$host:8080"
    ;;
  stop)
    for f in "$state"/*.pid; do
      [ -f "$f" ] || continue
      pid=$(cat "$f")
      kill "$pid" 2>/dev/null && echo "stopped $(basename "$f" .pid) (pid $pid)" || true
      rm -f "$f"
    done
    ;;
  status)
    for f in "$state"/*.pid; do
      [ -f "$f" ] || { echo "not running"; break; }
      pid=$(cat "$f")
      if kill -0 "$pid" 2>/dev/null; then echo "$(basename "$f" .pid) running (pid $pid)"; \
      else echo "$(basename "$f" .pid) dead"; fi
    done
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
