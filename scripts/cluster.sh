#!/usr/bin/env bash
# A real (small) cluster on loopback, from the installed pyspark and dask: a Spark standalone master
# and one worker, a Dask scheduler and one worker.
#
#   eval "$(scripts/cluster.sh start)"     # prints the environment to export (SPARK_MASTER_URL, ...)
#   scripts/cluster.sh start --conf k=v    # extra/overriding daemon settings (spark-defaults.conf)
#   scripts/cluster.sh status              # what is running (exit 1 if something is down)
#   scripts/cluster.sh stop                # stops all four daemons (logs stay in the state dir)
#
# Knobs (environment): LAKEHOUSE_CLUSTER_DIR (state: pids, logs, worker dirs; default
# ${XDG_RUNTIME_DIR:-/tmp}/lakehouse-cluster-$USER), SPARK_MASTER_PORT (7077),
# SPARK_MASTER_WEBUI_PORT (8080), SPARK_WORKER_WEBUI_PORT (8081), SPARK_WORKER_CORES (2),
# SPARK_WORKER_MEMORY (4g), DASK_SCHEDULER_PORT (8786), DASK_WORKER_THREADS (2),
# DASK_WORKER_MEMORY (2GiB), LAKEHOUSE_PYTHON (python of the venv; also the executors' python).
#
# pip's pyspark ships bin/spark-class and sbin/spark-daemon.sh but not start-master.sh /
# start-worker.sh; this script calls spark-daemon.sh with the same classes and arguments those do.
#
# RPC security: the master and worker get the RPC settings of conf/env/cluster.yaml
# (spark.authenticate*, spark.network.crypto.*), read through Hydra, in a spark-defaults.conf of
# mode 0600 in the state dir. With spark.authenticate on, the shared secret is
# $SPARK_AUTHENTICATE_SECRET if set, else a random one created once in the state dir (mode 0600);
# `start` prints an export line that reads it from that file (the secret itself is never printed).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${LAKEHOUSE_PYTHON:-$HERE/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
PYBIN="$(dirname "$PY")"
HOST=127.0.0.1
STATE="${LAKEHOUSE_CLUSTER_DIR:-${XDG_RUNTIME_DIR:-/tmp}/lakehouse-cluster-${USER:-$(id -un)}}"
M_PORT="${SPARK_MASTER_PORT:-7077}"
M_UI="${SPARK_MASTER_WEBUI_PORT:-8080}"
W_UI="${SPARK_WORKER_WEBUI_PORT:-8081}"
W_CORES="${SPARK_WORKER_CORES:-2}"
W_MEM="${SPARK_WORKER_MEMORY:-4g}"
D_PORT="${DASK_SCHEDULER_PORT:-8786}"
D_THREADS="${DASK_WORKER_THREADS:-2}"
D_MEM="${DASK_WORKER_MEMORY:-2GiB}"
MASTER_CLASS=org.apache.spark.deploy.master.Master
WORKER_CLASS=org.apache.spark.deploy.worker.Worker

spark_env() {
  SPARK_HOME="$("$PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
  export SPARK_HOME
  export SPARK_LOG_DIR="$STATE/spark-logs" SPARK_PID_DIR="$STATE" SPARK_WORKER_DIR="$STATE/spark-work"
  export SPARK_IDENT_STRING=lakehouse SPARK_LOCAL_IP="$HOST" SPARK_MASTER_HOST="$HOST"
  export SPARK_CONF_DIR="$STATE/spark-conf"
  # Executors run Python with the same interpreter as the driver (the venv).
  export PYSPARK_PYTHON="$PY" PYSPARK_DRIVER_PYTHON="$PY"
  mkdir -p "$SPARK_LOG_DIR" "$SPARK_WORKER_DIR" "$SPARK_CONF_DIR"
}

write_daemon_conf() {  # RPC security settings of the cluster env -> $SPARK_CONF_DIR/spark-defaults.conf
  local secret_file="$STATE/spark-auth.secret" settings
  settings="$(cd "$HERE" && LAKEHOUSE_ROOT=/unused SPARK_MASTER_URL=spark://unused "$PY" - <<'EOF'
from lakehouse.config import compose
cfg = compose(["env=cluster"])
conf = dict(cfg.spark.get("conf") or {})
for k, v in conf.items():
    if k.startswith(("spark.authenticate", "spark.network.crypto.")) and k != "spark.authenticate.secret":
        print(f"{k} {str(v).lower() if isinstance(v, bool) else v}")
print(f"#secret_env {cfg.spark.get('auth_secret_env') or 'SPARK_AUTHENTICATE_SECRET'}")
EOF
)"
  while [ $# -gt 0 ]; do  # --conf k=v: appended, so it wins over the cluster env's value
    case "$1" in
      --conf) settings+=$'\n'"${2%%=*} ${2#*=}"; shift 2 ;;
      *) echo "cluster.sh: unknown argument '$1' (expected --conf key=value)" >&2; exit 2 ;;
    esac
  done
  SECRET_ENV="$(sed -n 's/^#secret_env //p' <<<"$settings")"
  AUTH=false
  if [ "$(awk '$1 == "spark.authenticate" {v = $2} END {print v}' <<<"$settings")" = true ]; then AUTH=true; fi
  ( umask 077
    grep -v '^#' <<<"$settings" > "$SPARK_CONF_DIR/spark-defaults.conf" || true
    # The master's REST submission server cannot authenticate; jobs connect through spark:// anyway.
    echo "spark.master.rest.enabled false" >> "$SPARK_CONF_DIR/spark-defaults.conf"
    # Fail on a busy port instead of silently moving to the next one (the printed URL would be wrong).
    echo "spark.port.maxRetries 0" >> "$SPARK_CONF_DIR/spark-defaults.conf"
    if [ "$AUTH" = true ]; then
      if [ -n "${!SECRET_ENV:-}" ]; then printf '%s' "${!SECRET_ENV}" > "$secret_file"
      elif [ ! -s "$secret_file" ]; then head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$secret_file"; fi
      echo "spark.authenticate.secret $(cat "$secret_file")" >> "$SPARK_CONF_DIR/spark-defaults.conf"
    fi )
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

wait_for() {  # wait_for <seconds> <pid file that must stay alive> <log> <description> <command...>
  local secs=$1 pidf=$2 log=$3 what=$4; shift 4
  for _ in $(seq 1 $((secs * 2))); do
    "$@" && return 0
    if ! alive_pid "$pidf"; then
      echo "cluster.sh: $(basename "$pidf" .pid) exited while waiting for $what; end of $log:" >&2
      tail -n 15 "$log" >&2 || true
      return 1
    fi
    sleep 0.5
  done
  echo "cluster.sh: timed out after ${secs}s waiting for $what (logs: $STATE)" >&2
  return 1
}

alive_pid() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

spark_workers_alive() {  # number of ALIVE workers the master reports
  "$PY" - "$M_UI" <<'EOF' 2>/dev/null
import json, sys, urllib.request
data = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/json/", timeout=2))
print(sum(1 for w in data.get("workers", []) if w.get("state") == "ALIVE"))
EOF
}

dask_workers() {
  "$PY" - "tcp://$HOST:$D_PORT" <<'EOF' 2>/dev/null
import sys
from distributed import Client
with Client(sys.argv[1], timeout=5) as c:
    print(len(c.scheduler_info()["workers"]))
EOF
}

spark_up() { [ "$(spark_workers_alive || echo 0)" -ge 1 ]; }
dask_up() { [ "$(dask_workers || echo 0)" -ge 1 ]; }

check_free() {  # check_free <pid file of our daemon> <port>...: a port in use by someone else is an error
  local pidf=$1; shift
  alive_pid "$pidf" && return 0
  for port in "$@"; do
    if port_open "$port"; then
      echo "cluster.sh: port $port on $HOST is already in use; choose other ports (see the knobs at the top)" >&2
      exit 1
    fi
  done
}

start() {
  mkdir -p "$STATE"; chmod 700 "$STATE"
  check_free "$STATE/spark-lakehouse-$MASTER_CLASS-1.pid" "$M_PORT" "$M_UI"
  check_free "$STATE/spark-lakehouse-$WORKER_CLASS-1.pid" "$W_UI"
  check_free "$STATE/dask-scheduler.pid" "$D_PORT"
  spark_env
  write_daemon_conf "$@"
  local daemon="$SPARK_HOME/sbin/spark-daemon.sh"
  if ! alive_pid "$STATE/spark-lakehouse-$MASTER_CLASS-1.pid"; then
    "$daemon" start "$MASTER_CLASS" 1 --host "$HOST" --port "$M_PORT" --webui-port "$M_UI" >&2
  fi
  local m_pid="$STATE/spark-lakehouse-$MASTER_CLASS-1.pid" w_pid="$STATE/spark-lakehouse-$WORKER_CLASS-1.pid"
  local m_log="$SPARK_LOG_DIR/spark-lakehouse-$MASTER_CLASS-1-$HOSTNAME.out"
  local w_log="$SPARK_LOG_DIR/spark-lakehouse-$WORKER_CLASS-1-$HOSTNAME.out"
  wait_for 90 "$m_pid" "$m_log" "the Spark master on port $M_PORT" port_open "$M_PORT"
  if ! alive_pid "$STATE/spark-lakehouse-$WORKER_CLASS-1.pid"; then
    "$daemon" start "$WORKER_CLASS" 1 --host "$HOST" --webui-port "$W_UI" --cores "$W_CORES" \
      --memory "$W_MEM" --work-dir "$SPARK_WORKER_DIR" "spark://$HOST:$M_PORT" >&2
  fi
  mkdir -p "$STATE/dask-logs" "$STATE/dask-work"
  if ! alive_pid "$STATE/dask-scheduler.pid"; then
    nohup "$PYBIN/dask" scheduler --host "$HOST" --port "$D_PORT" --no-dashboard \
      >"$STATE/dask-logs/scheduler.log" 2>&1 </dev/null &
    echo $! > "$STATE/dask-scheduler.pid"
  fi
  wait_for 60 "$STATE/dask-scheduler.pid" "$STATE/dask-logs/scheduler.log" "the Dask scheduler on port $D_PORT" \
    port_open "$D_PORT"
  if ! alive_pid "$STATE/dask-worker.pid"; then
    nohup "$PYBIN/dask" worker "tcp://$HOST:$D_PORT" --host "$HOST" --nworkers 1 --nthreads "$D_THREADS" \
      --memory-limit "$D_MEM" --no-dashboard --local-directory "$STATE/dask-work" \
      >"$STATE/dask-logs/worker.log" 2>&1 </dev/null &
    echo $! > "$STATE/dask-worker.pid"
  fi
  wait_for 120 "$w_pid" "$w_log" "a Spark worker to register with the master" spark_up
  wait_for 120 "$STATE/dask-worker.pid" "$STATE/dask-logs/worker.log" "a Dask worker to register with the scheduler" \
    dask_up
  echo "export SPARK_MASTER_URL=spark://$HOST:$M_PORT"
  echo "export DASK_SCHEDULER_ADDRESS=tcp://$HOST:$D_PORT"
  if [ "$AUTH" = true ]; then echo "export $SECRET_ENV=\"\$(cat '$STATE/spark-auth.secret')\""; fi
  echo "export PYSPARK_PYTHON=$PY"
  echo "export SPARK_LOCAL_IP=$HOST"
  echo "# Spark master UI http://$HOST:$M_UI, state and logs in $STATE"
}

stop_pidfile() {  # stop_pidfile <file>: TERM the process it names, then KILL after 10 s
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

stop() {
  [ -d "$STATE" ] || return 0
  spark_env
  # Worker first (it stops its executors), then the master: spark-daemon.sh kills by pid file.
  "$SPARK_HOME/sbin/spark-daemon.sh" stop "$WORKER_CLASS" 1 >&2 || true
  "$SPARK_HOME/sbin/spark-daemon.sh" stop "$MASTER_CLASS" 1 >&2 || true
  stop_pidfile "$STATE/dask-worker.pid"
  stop_pidfile "$STATE/dask-scheduler.pid"
  # spark-daemon.sh waits a few seconds and then sends KILL itself; make sure nothing is left.
  stop_pidfile "$STATE/spark-lakehouse-$WORKER_CLASS-1.pid"
  stop_pidfile "$STATE/spark-lakehouse-$MASTER_CLASS-1.pid"
  rm -rf "$STATE/spark-work" "$STATE/dask-work"
}

status() {
  local ok=0 n
  for name in "spark master:spark-lakehouse-$MASTER_CLASS-1.pid" "spark worker:spark-lakehouse-$WORKER_CLASS-1.pid" \
              "dask scheduler:dask-scheduler.pid" "dask worker:dask-worker.pid"; do
    if alive_pid "$STATE/${name#*:}"; then echo "${name%%:*}: running (pid $(cat "$STATE/${name#*:}"))"
    else echo "${name%%:*}: stopped"; ok=1; fi
  done
  n="$(spark_workers_alive || echo 0)"; echo "spark://$HOST:$M_PORT: $n worker(s) alive"
  n="$(dask_workers || echo 0)"; echo "tcp://$HOST:$D_PORT: $n dask worker(s)"
  return $ok
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: scripts/cluster.sh start|stop|status" >&2; exit 2 ;;
esac
