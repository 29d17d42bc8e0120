#!/usr/bin/env bash
# The read-only SQL server (`riskctl sql-server`) in the background, for demos and desks:
#   infra/sql_server.sh start | stop | status
# Environment: RISK_LAKE (default ./lake), RISK_SQL_PORT (default 10000),
# RISK_SQL_RUN_DIR (pid and log files, default .cache/sql-server). docs/SQL.md has the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=${RISK_SQL_RUN_DIR:-.cache/sql-server}
PORT=${RISK_SQL_PORT:-10000}
LAKE=${RISK_LAKE:-./lake}
PID_FILE="$RUN_DIR/sql-server-$PORT.pid"
LOG_FILE="$RUN_DIR/sql-server-$PORT.log"

running() { [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then echo "sql-server already running (pid $(cat "$PID_FILE"), port $PORT)"; exit 0; fi
    mkdir -p "$RUN_DIR"
    # its own session: a terminal's Ctrl-C does not reach it; `stop` sends SIGTERM
    setsid .venv/bin/riskctl sql-server --lake "$LAKE" --port "$PORT" >"$LOG_FILE" 2>&1 &
    echo $! >"$PID_FILE"
    for _ in $(seq 1 600); do
      if grep -q "sql-server ready" "$LOG_FILE"; then
        grep "sql-server ready" "$LOG_FILE"; echo "log: $LOG_FILE"; exit 0
      fi
      if ! running; then echo "sql-server failed to start:"; tail -5 "$LOG_FILE"; exit 1; fi
      sleep 1
    done
    echo "sql-server not ready after 600 s; still starting? log: $LOG_FILE"; exit 1
    ;;
  stop)
    if ! running; then echo "sql-server not running (port $PORT)"; rm -f "$PID_FILE"; exit 0; fi
    pid=$(cat "$PID_FILE")
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then echo "sql-server (pid $pid) did not stop in 60 s"; exit 1; fi
    rm -f "$PID_FILE"; echo "sql-server stopped"
    ;;
  status)
    if running; then echo "sql-server running (pid $(cat "$PID_FILE"), port $PORT, log $LOG_FILE)"
    else echo "sql-server not running (port $PORT)"; exit 3; fi
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
