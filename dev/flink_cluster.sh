#!/usr/bin/env bash
# A real, self-managed Flink standalone cluster on this machine: one JobManager and N
# TaskManagers, each its own JVM, started with the jobmanager.sh / taskmanager.sh of the
# Flink distribution that the apache-flink package ships (.venv/.../pyflink). Nothing of
# Hadoop is on the cluster's class path. Everything it writes lives in one folder
# (.local/flink-cluster by default). Run with --help for the subcommands; docs/cluster.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${FLINK_CLUSTER_PYTHON:-$ROOT/.venv/bin/python}"
CLUSTER_DIR="$(realpath -m "${FLINK_CLUSTER_DIR:-$ROOT/.local/flink-cluster}")"
REST_PORT="${FLINK_CLUSTER_REST_PORT:-18081}"
RPC_PORT="${FLINK_CLUSTER_RPC_PORT:-16123}"
TASKMANAGERS="${FLINK_CLUSTER_TASKMANAGERS:-2}"
SLOTS="${FLINK_CLUSTER_SLOTS:-1}"
START_TIMEOUT="${FLINK_CLUSTER_START_TIMEOUT:-120}"
CHECKPOINT_INTERVAL="${FLINK_CLUSTER_CHECKPOINT_INTERVAL:-10 s}"
# Where checkpoints and savepoints live: a folder of the cluster (default) or s3://bucket/prefix,
# as on the managed service; S3 brings Flink's S3 file system plugin (fetched through Maven).
STATE_DIR="${FLINK_CLUSTER_STATE_DIR:-}"
S3_ENDPOINT="${FLINK_CLUSTER_S3_ENDPOINT:-}"  # e.g. a moto server; empty: AWS's own endpoints
S3_PLUGIN_VERSION=2.2.0  # flink-s3-fs-hadoop 2.2.1 is not on Maven Central; 2.2.0 loads in 2.2.1
S3_PLUGIN_CACHE="$ROOT/.local/flink-plugins"

CONF_DIR="$CLUSTER_DIR/conf"
LOG_DIR="$CLUSTER_DIR/log"
PID_DIR="$CLUSTER_DIR/pid"
IDENT=cluster
JM_PIDFILE="$PID_DIR/flink-$IDENT-standalonesession.pid"
TM_PIDFILE="$PID_DIR/flink-$IDENT-taskexecutor.pid"
REST_URL="http://localhost:$REST_PORT"

usage() {
  cat <<EOF
Usage: dev/flink_cluster.sh <command> [args]

A Flink standalone cluster from the distribution inside the apache-flink package:
a JobManager and \$FLINK_CLUSTER_TASKMANAGERS TaskManagers, each a separate JVM.

Commands:
  start              Write the cluster's own configuration (first start only, or when it is
                     not running), start the JobManager and TaskManagers that are not
                     running, and wait until every TaskManager has registered (at most
                     \$FLINK_CLUSTER_START_TIMEOUT s). Does nothing when all are up.
  stop               Stop every TaskManager, then the JobManager (SIGTERM, SIGKILL after
                     10 s), and make sure none of their JVMs is left. Jobs still running end
                     with the cluster: 'flink stop JOB_ID' first keeps a savepoint. Safe
                     when nothing runs.
  status             The JVMs, the REST URL, registered TaskManagers, slots and jobs.
                     Exit 0 when the JobManager answers, 3 when the cluster is down.
  add-taskmanager    Start one more TaskManager (resource id tm-N) and wait until it has
                     registered.
  kill-taskmanager [PID]
                     SIGKILL one TaskManager JVM (the oldest running one, or PID); prints
                     its pid and resource id (tm-N). A failure drill: the cluster does not
                     replace it by itself.
  flink ARGS...      Run the distribution's bin/flink CLI against this cluster (same
                     configuration, no Hadoop), e.g. flink run -py ... / flink list.
  conf-dir           Print the cluster's FLINK_CONF_DIR.
  -h, --help         This help.

Environment (defaults):
  FLINK_CLUSTER_DIR (.local/flink-cluster)  FLINK_CLUSTER_REST_PORT (18081)
  FLINK_CLUSTER_RPC_PORT (16123)  FLINK_CLUSTER_TASKMANAGERS (2)  FLINK_CLUSTER_SLOTS (1)
  FLINK_CLUSTER_CHECKPOINT_INTERVAL (10 s)  FLINK_CLUSTER_START_TIMEOUT (120)
  FLINK_CLUSTER_PYTHON (.venv/bin/python: the driver's Python and the distribution it uses)
  FLINK_CLUSTER_STATE_DIR (the cluster's checkpoints/ and savepoints/; s3://bucket/prefix puts
    them in S3 through Flink's S3 plugin, credentials from the AWS_* environment)
  FLINK_CLUSTER_S3_ENDPOINT (an S3-compatible endpoint, e.g. a local moto server)

Layout: conf/ (config.yaml + log4j files), log/, pid/, checkpoints/, savepoints/.
Web UI and REST API: $REST_URL
EOF
}

log() { echo "flink_cluster: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The cluster must not see Hadoop: nothing from the caller's environment reaches the JVMs'
# class path (config.sh adds HADOOP_CLASSPATH / HADOOP_CONF_DIR / ... to every JVM).
unset HADOOP_CLASSPATH HADOOP_CONF_DIR HADOOP_HOME YARN_CONF_DIR HBASE_CONF_DIR HBASE_HOME

flink_home() {
  [[ -x "$PY" ]] || die "no Python at $PY: run 'make install' first (or set FLINK_CLUSTER_PYTHON)"
  "$PY" -c 'import os, pyflink; print(os.path.dirname(os.path.abspath(pyflink.__file__)))'
}

# Environment for the distribution's scripts: our configuration, logs and pid files.
export_flink_env() {
  FLINK_HOME="$(flink_home)"
  export FLINK_CONF_DIR="$CONF_DIR" FLINK_LOG_DIR="$LOG_DIR" FLINK_PID_DIR="$PID_DIR"
  export FLINK_IDENT_STRING="$IDENT"
  [[ -x "$FLINK_HOME/bin/jobmanager.sh" ]] || die "no Flink distribution at $FLINK_HOME/bin"
  if [[ -d "$CLUSTER_DIR/plugins" ]]; then export FLINK_PLUGINS_DIR="$CLUSTER_DIR/plugins"; fi
}

running() {  # the process exists and is not a zombie
  kill -0 "$1" 2>/dev/null && [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

alive_pids() {  # the pids of a pid file whose process still runs, one per line
  local file=$1 p
  [[ -f "$file" ]] || return 0
  while IFS= read -r p || [[ -n "$p" ]]; do
    [[ "$p" =~ ^[0-9]+$ ]] && running "$p" && echo "$p"
  done <"$file"
  return 0
}

count() { alive_pids "$1" | grep -c . || true; }

rest_get() { curl -fsS --max-time 5 "$REST_URL$1" 2>/dev/null; }

registered_taskmanagers() {  # how many TaskManagers the JobManager knows (-1: no answer)
  local body
  body="$(rest_get /overview)" || { echo -1; return; }
  "$PY" -c 'import json, sys; print(json.loads(sys.argv[1])["taskmanagers"])' "$body"
}

# The cluster's plugins folder: the distribution's plugins, plus Flink's S3 file system when the
# state lives in S3 (Flink loads each plugin folder in a class loader of its own).
prepare_plugins() {
  local dir="$CLUSTER_DIR/plugins" plugin
  rm -rf "$dir"
  mkdir -p "$dir"
  for plugin in "$FLINK_HOME"/plugins/*/; do
    ln -s "${plugin%/}" "$dir/$(basename "$plugin")"
  done
  if [[ "$STATE_DIR" == s3://* ]]; then
    local jar="$S3_PLUGIN_CACHE/flink-s3-fs-hadoop-$S3_PLUGIN_VERSION.jar"
    if [[ ! -f "$jar" ]]; then
      log "fetching flink-s3-fs-hadoop $S3_PLUGIN_VERSION through Maven ..."
      mkdir -p "$S3_PLUGIN_CACHE"
      mvn -B -q dependency:copy -Dartifact="org.apache.flink:flink-s3-fs-hadoop:$S3_PLUGIN_VERSION" \
        -DoutputDirectory="$S3_PLUGIN_CACHE" >"$S3_PLUGIN_CACHE/mvn.log" 2>&1 \
        || { cat "$S3_PLUGIN_CACHE/mvn.log" >&2; die "could not fetch flink-s3-fs-hadoop"; }
    fi
    mkdir -p "$dir/s3-fs-hadoop"
    ln -s "$jar" "$dir/s3-fs-hadoop/"
  fi
  export FLINK_PLUGINS_DIR="$dir"
}

write_conf() {
  # The distribution's config.yaml, flattened, with this cluster's settings on top.
  mkdir -p "$CONF_DIR" "$LOG_DIR" "$PID_DIR" "$CLUSTER_DIR/checkpoints" "$CLUSTER_DIR/savepoints"
  cp "$FLINK_HOME"/conf/log4j*.properties "$FLINK_HOME"/conf/logback*.xml "$CONF_DIR/"
  prepare_plugins
  ROOT="$ROOT" CLUSTER_DIR="$CLUSTER_DIR" STATE_DIR="$STATE_DIR" S3_ENDPOINT="$S3_ENDPOINT" REST_PORT="$REST_PORT" RPC_PORT="$RPC_PORT" SLOTS="$SLOTS" PY="$PY" \
    CHECKPOINT_INTERVAL="$CHECKPOINT_INTERVAL" LOG_DIR="$LOG_DIR" PID_DIR="$PID_DIR" \
    "$PY" - "$FLINK_HOME/conf/config.yaml" "$CONF_DIR/config.yaml" <<'PYEOF'
import os
import sys
from pathlib import Path

import yaml

def flat(node, prefix=""):
    out = {}
    for key, value in node.items():
        name = f"{prefix}{key}"
        out.update(flat(value, name + ".") if isinstance(value, dict) else {name: value})
    return out

env = os.environ
cluster = Path(env["CLUSTER_DIR"])
state = env["STATE_DIR"].rstrip("/")
conf = flat(yaml.safe_load(open(sys.argv[1])) or {})
conf.update({
    # Addresses and ports: everything on localhost, fixed REST and RPC ports.
    "jobmanager.rpc.address": "localhost",
    "jobmanager.rpc.port": int(env["RPC_PORT"]),
    "jobmanager.bind-host": "localhost",
    "taskmanager.host": "localhost",
    "taskmanager.bind-host": "localhost",
    "rest.address": "localhost",
    "rest.bind-address": "localhost",
    "rest.port": int(env["REST_PORT"]),
    # Sized for a 2-core / 24 GiB machine shared with Kafka and the tests.
    "jobmanager.memory.process.size": "1024m",
    "taskmanager.memory.process.size": "1536m",
    "taskmanager.memory.managed.fraction": 0.1,  # the hashmap state backend keeps state on the heap
    "taskmanager.numberOfTaskSlots": int(env["SLOTS"]),
    "parallelism.default": 2,
    # Checkpoints: exactly once, kept when a job is cancelled or fails for good.
    "execution.checkpointing.interval": env["CHECKPOINT_INTERVAL"],
    "execution.checkpointing.mode": "EXACTLY_ONCE",
    "execution.checkpointing.dir": f"{state}/checkpoints" if state else (cluster / "checkpoints").as_uri(),
    "execution.checkpointing.savepoint-dir": f"{state}/savepoints" if state else (cluster / "savepoints").as_uri(),
    "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
    # A TaskManager that stops answering is declared lost after 20 s (default 50 s).
    "heartbeat.interval": "5 s",
    "heartbeat.timeout": "20 s",
    # bin/flink run -py: the driver runs with the project's Python (it has PyFlink).
    "python.client.executable": env["PY"],
    "python.executable": env["PY"],  # a Python worker, should a job start one: the same Python
    "env.log.dir": env["LOG_DIR"],
    "env.pid.dir": env["PID_DIR"],
})
# Failover: restart from the last checkpoint with exponential backoff (1 s doubling to 30 s, no
# limit), tolerate failed checkpoints; the job's local runs use the same (common/run/flink_env.py).
sys.path.insert(0, env["ROOT"])
from common.run.flink_env import failover_options  # noqa: E402
conf.update(failover_options(local=False))
if env["S3_ENDPOINT"]:
    conf.update({"s3.endpoint": env["S3_ENDPOINT"], "s3.path.style.access": True})
with open(sys.argv[2], "w") as out:
    out.write("# Written by dev/flink_cluster.sh from the apache-flink package's conf/config.yaml.\n")
    yaml.safe_dump(conf, out, sort_keys=True, default_flow_style=False, width=1000)
PYEOF
}

wait_for_taskmanagers() {  # until the JobManager knows $1 TaskManagers
  local want=$1 deadline=$((SECONDS + START_TIMEOUT)) got
  while :; do
    got="$(registered_taskmanagers)"
    [[ "$got" -ge "$want" ]] && return 0
    if ((SECONDS > deadline)); then
      log "only $got of $want TaskManager(s) registered after ${START_TIMEOUT}s; logs in $LOG_DIR"
      return 1
    fi
    [[ "$(count "$JM_PIDFILE")" -ge 1 ]] || die "the JobManager exited; see $LOG_DIR/*standalonesession*"
    sleep 1
  done
}

start_taskmanager() {  # starts one TaskManager with the next resource id (tm-1, tm-2, ...); prints the id
  local seq=0
  [[ -f "$PID_DIR/taskmanager.seq" ]] && seq="$(cat "$PID_DIR/taskmanager.seq")"
  seq=$((seq + 1))
  echo "$seq" >"$PID_DIR/taskmanager.seq"
  "$FLINK_HOME/bin/taskmanager.sh" start -Dtaskmanager.resource-id="tm-$seq" >/dev/null
  echo "$(tail -n 1 "$TM_PIDFILE") tm-$seq" >>"$PID_DIR/taskmanager.ids"
  echo "tm-$seq"
}

resource_id() {  # the resource id of the TaskManager with pid $1
  awk -v pid="$1" '$1 == pid {print $2}' "$PID_DIR/taskmanager.ids" 2>/dev/null | tail -n 1
}

wait_for_taskmanager_id() {  # until the JobManager lists the TaskManager with resource id $1
  local id=$1 deadline=$((SECONDS + START_TIMEOUT))
  until [[ "$(rest_get /taskmanagers)" == *"\"id\":\"$id\""* ]]; do
    if ((SECONDS > deadline)); then
      log "TaskManager $id did not register within ${START_TIMEOUT}s; logs in $LOG_DIR"
      return 1
    fi
    sleep 1
  done
}

cmd_start() {
  export_flink_env
  local jm tm
  jm="$(count "$JM_PIDFILE")"
  tm="$(count "$TM_PIDFILE")"
  if [[ "$jm" -ge 1 && "$tm" -ge "$TASKMANAGERS" && "$(registered_taskmanagers)" -ge "$TASKMANAGERS" ]]; then
    log "already running: JobManager and $tm TaskManager(s), $REST_URL"
    return 0
  fi
  if [[ "$jm" -eq 0 ]]; then
    ((tm == 0)) || die "TaskManagers run without a JobManager: run 'stop' first"
    rm -f "$JM_PIDFILE" "$TM_PIDFILE" "$PID_DIR/taskmanager.seq" "$PID_DIR/taskmanager.ids"
    write_conf
    log "starting the JobManager (REST $REST_URL) from $FLINK_HOME"
    "$FLINK_HOME/bin/jobmanager.sh" start >/dev/null
  fi
  local started=() id
  while [[ "$(count "$TM_PIDFILE")" -lt "$TASKMANAGERS" ]]; do
    started+=("$(start_taskmanager)")
  done
  for id in "${started[@]}"; do
    wait_for_taskmanager_id "$id" || exit 1
  done
  wait_for_taskmanagers "$TASKMANAGERS"
  log "running: JobManager and $(count "$TM_PIDFILE") TaskManager(s) x $SLOTS slot(s), $REST_URL"
}

stop_all() {  # stop-all of one daemon kind, then make sure none of its JVMs is left
  local kind=$1 script=$2 pidfile=$3 pids p
  pids="$(alive_pids "$pidfile")"
  [[ -n "$pids" ]] || { rm -f "$pidfile"; return 0; }
  "$FLINK_HOME/bin/$script" stop-all >/dev/null || true
  for p in $pids; do
    if kill -0 "$p" 2>/dev/null; then
      log "$kind $p still alive after stop: SIGKILL"
      kill -9 "$p" 2>/dev/null || true
    fi
  done
  rm -f "$pidfile"
}

cmd_stop() {
  if [[ ! -d "$PID_DIR" ]]; then
    log "not running (no $PID_DIR)"
    return 0
  fi
  export_flink_env
  local jm tm
  jm="$(count "$JM_PIDFILE")"
  tm="$(count "$TM_PIDFILE")"
  if [[ "$jm" -eq 0 && "$tm" -eq 0 ]]; then
    rm -f "$JM_PIDFILE" "$TM_PIDFILE"
    log "not running"
    return 0
  fi
  stop_all TaskManager taskmanager.sh "$TM_PIDFILE"
  stop_all JobManager jobmanager.sh "$JM_PIDFILE"
  log "stopped $jm JobManager(s) and $tm TaskManager(s)"
}

cmd_status() {
  local jm tms
  jm="$(alive_pids "$JM_PIDFILE" | tr '\n' ' ')"
  tms="$(alive_pids "$TM_PIDFILE" | tr '\n' ' ')"
  echo "cluster dir:   $CLUSTER_DIR"
  echo "JobManager:    ${jm:-not running}"
  echo "TaskManagers:  ${tms:-none}"
  local body tms_json
  if body="$(rest_get /overview)"; then
    tms_json="$(rest_get /taskmanagers || echo '{"taskmanagers": []}')"
    echo "REST:          $REST_URL"
    "$PY" - "$body" "$tms_json" <<'PYEOF'
import json, sys
o = json.loads(sys.argv[1])
ids = ", ".join(sorted(t["id"] for t in json.loads(sys.argv[2])["taskmanagers"])) or "none"
print(f"registered:    {o['taskmanagers']} TaskManager(s) ({ids}), {o['slots-total']} slot(s), "
      f"{o['slots-available']} free")
print(f"jobs:          running {o['jobs-running']}, finished {o['jobs-finished']}, "
      f"cancelled {o['jobs-cancelled']}, failed {o['jobs-failed']}")
PYEOF
    return 0
  fi
  echo "REST:          no answer at $REST_URL"
  return 3
}

cmd_add_taskmanager() {
  export_flink_env
  [[ "$(count "$JM_PIDFILE")" -ge 1 ]] || die "the cluster is not running: 'start' first"
  local id
  id="$(start_taskmanager)"
  log "started TaskManager $id (pid $(tail -n 1 "$TM_PIDFILE"))"
  wait_for_taskmanager_id "$id"
  log "TaskManager $id registered"
}

cmd_kill_taskmanager() {
  local pid="${1:-}" pids
  pids="$(alive_pids "$TM_PIDFILE")"
  if [[ -z "$pid" ]]; then
    pid="${pids%%$'\n'*}"
    [[ -n "$pid" ]] || die "no TaskManager is running"
  elif ! grep -qx "$pid" <<<"$pids"; then
    die "$pid is not a running TaskManager of this cluster"
  fi
  kill -9 "$pid"
  local deadline=$((SECONDS + 10))
  while running "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  running "$pid" && die "TaskManager $pid is still alive 10 s after SIGKILL"
  # Drop it from the pid file, so that stop and status count only live TaskManagers.
  grep -vx "$pid" "$TM_PIDFILE" >"$TM_PIDFILE.tmp" || true
  mv "$TM_PIDFILE.tmp" "$TM_PIDFILE"
  log "killed TaskManager $pid, $(resource_id "$pid") (SIGKILL)"
  echo "$pid $(resource_id "$pid")"
}

cmd_flink() {
  export_flink_env
  [[ -f "$CONF_DIR/config.yaml" ]] || die "no configuration yet: 'start' first"
  exec "$FLINK_HOME/bin/flink" "$@"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  add-taskmanager) cmd_add_taskmanager ;;
  kill-taskmanager) shift; cmd_kill_taskmanager "$@" ;;
  flink) shift; cmd_flink "$@" ;;
  conf-dir) echo "$CONF_DIR" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
