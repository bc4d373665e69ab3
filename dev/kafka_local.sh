#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) for development and tests.
#
# The jars come through Maven (dev/kafka/pom.xml); everything the broker writes lives in
# .local/kafka/ under the repo root (git-ignored). Run with --help for the subcommands.
# KAFKA_LOCAL_DIR (with KAFKA_PORT and KAFKA_CONTROLLER_PORT) runs a second, private broker
# with its state elsewhere: a test that kills its broker does not take down everyone else's.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_HOME="$ROOT/.local/kafka"
LIBS="$KAFKA_HOME/libs"  # the jars: one copy, shared by every broker this script runs
if [[ -n "${KAFKA_LOCAL_DIR:-}" ]]; then
  [[ "$KAFKA_LOCAL_DIR" == /* ]] || KAFKA_LOCAL_DIR="$ROOT/$KAFKA_LOCAL_DIR"
  KAFKA_HOME="${KAFKA_LOCAL_DIR%/}"
fi
# the state dir as messages name it: relative to the repo root when it is inside it
HOME_SHOWN="${KAFKA_HOME#"$ROOT"/}"
DATA="$KAFKA_HOME/data"
PROPS="$KAFKA_HOME/server.properties"
PIDFILE="$KAFKA_HOME/broker.pid"
LOGFILE="$KAFKA_HOME/broker.log"
BROKER_LOG4J="$KAFKA_HOME/log4j2-broker.properties"
TOOLS_LOG4J="$KAFKA_HOME/log4j2-tools.properties"
POM="$ROOT/dev/kafka/pom.xml"
LIBS_STAMP="$LIBS/.fetched"
IAM_DIR="$KAFKA_HOME/iam"
IAM_MODULE="$ROOT/dev/msk-iam"
IAM_JAR="$IAM_MODULE/target/msk-iam-broker-auth.jar"

KAFKA_HOST=127.0.0.1
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_IAM_PORT="${KAFKA_IAM_PORT:-9098}"  # MSK's port for IAM over TLS
KAFKA_IAM_HOST=localhost  # the name in the broker's certificate and in the clients' signatures
KAFKA_IAM_REGION="${KAFKA_IAM_REGION:-us-east-1}"
# The local cluster's ARN: AWS's documentation account id and a made-up cluster, not a real one.
KAFKA_IAM_CLUSTER_ARN="${KAFKA_IAM_CLUSTER_ARN:-arn:aws:kafka:$KAFKA_IAM_REGION:123456789012:cluster/local/00000000-0000-0000-0000-000000000000-1}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT"

# Short-lived admin/console JVMs: start fast rather than run fast.
TOOL_JVM_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto
               -Djava.awt.headless=true "-Dlog4j2.configurationFile=$TOOLS_LOG4J")

usage() {
  cat <<EOF
Usage: dev/kafka_local.sh <command> [options]

Local single-node Kafka broker (KRaft combined mode) under $HOME_SHOWN/.

Commands:
  start [--iam | --plaintext]
                   Fetch the jars (first time only), write server.properties, format the
                   storage (first time only), start the broker in the background and wait
                   until it answers (at most \$KAFKA_START_TIMEOUT s, default 60).
                   Does nothing if it is already running (in the same mode; without an
                   option, the mode it last ran in: plaintext the first time).
                   --iam: also a listener that speaks MSK IAM over TLS on localhost:\$KAFKA_IAM_PORT
                   (SASL_SSL, mechanisms AWS_MSK_IAM and OAUTHBEARER), which verifies every
                   client's SigV4 signature and authorizes every request by an IAM policy
                   (dev/msk-iam). Its CA, credentials and policy are in $HOME_SHOWN/iam/
                   (ca.pem, credentials.json, policy.json, client.env); both are re-read
                   when they change. --plaintext: without it again. See docs/msk_iam.md.
  stop             Stop the broker (SIGTERM, then SIGKILL after 30 s). Safe when not running.
  kill             Crash the broker (SIGKILL at once), for fault tests; start brings it back.
  status           Exit 0 if the broker is running and answering, 1 otherwise.
  create-topics [--partitions N] [--config FILE]
                   Create every topic_name listed under kafka_topics: in FILE
                   (default: config/topics.yaml) with N partitions (default \$KAFKA_PARTITIONS
                   or 2), replication factor 1; existing topics are left alone.
  reset [--iam | --plaintext]
                   Stop, wipe $HOME_SHOWN/data, re-format and start again (a fresh broker).
  -h, --help       This help.

Environment:
  KAFKA_PORT (9092)  KAFKA_CONTROLLER_PORT (9093)  KAFKA_START_TIMEOUT (60)
  KAFKA_IAM_PORT (9098)  KAFKA_IAM_REGION (us-east-1)  KAFKA_IAM_CLUSTER_ARN
  KAFKA_PARTITIONS (2)  KAFKA_HEAP_OPTS ("-Xmx512m -Xms256m")
  KAFKA_LOCAL_DIR (.local/kafka): the broker's state dir (data, config, pid, log, iam/); another
      dir with other ports runs a second broker beside the first, e.g. for tests that kill it:
      KAFKA_LOCAL_DIR=.local/kafka-faults KAFKA_PORT=29192 KAFKA_CONTROLLER_PORT=29193 \\
        dev/kafka_local.sh start
      (the jars stay in .local/kafka/libs)

Bootstrap servers: $BOOTSTRAP. Broker log: $HOME_SHOWN/broker.log.
Any other Kafka tool: java -cp '.local/kafka/libs/*' <class> ...
EOF
}

log() { echo "kafka_local: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# jars

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

ensure_libs() {
  if [[ -f "$LIBS_STAMP" && "$(cat "$LIBS_STAMP")" == "$(pom_hash)" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn (Maven) is needed to fetch the Kafka jars"
  log "fetching Kafka jars with Maven into .local/kafka/libs ..."
  local tmp="$LIBS.tmp"
  rm -rf "$tmp"
  mkdir -p "$KAFKA_HOME" "$(dirname "$LIBS")"
  if ! mvn -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
      -DoutputDirectory="$tmp" >"$KAFKA_HOME/mvn.log" 2>&1; then
    cat "$KAFKA_HOME/mvn.log" >&2
    rm -rf "$tmp"
    die "Maven could not fetch the Kafka jars (see above)"
  fi
  rm -f "$KAFKA_HOME/mvn.log"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  pom_hash >"$LIBS_STAMP"
}

# ---------------------------------------------------------------------------------------------
# config files

write_config() {
  mkdir -p "$KAFKA_HOME"
  cat >"$PROPS" <<EOF
# Written by dev/kafka_local.sh on every start; edits here are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA
num.partitions=2
default.replication.factor=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=2
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=2
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
  cat >"$BROKER_LOG4J" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.statechange.name = state.change.logger
logger.statechange.level = warn
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = warn
EOF
  write_tools_log4j
}

write_tools_log4j() {
  mkdir -p "$KAFKA_HOME"
  cat >"$TOOLS_LOG4J" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = STDERR
EOF
}

# A Kafka cluster id: 16 random bytes, base64url without padding (what `kafka-storage.sh
# random-uuid` prints), made in Python to save a JVM start.
new_cluster_id() {
  python3 -c '
import base64, uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    if not s.startswith("-") and s not in ("AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAQ"):
        print(s)
        break'
}

format_storage() {
  if [[ -f "$DATA/meta.properties" ]]; then
    return 0
  fi
  log "formatting storage in $HOME_SHOWN/data ..."
  mkdir -p "$DATA"
  java -cp "$LIBS/*" "${TOOL_JVM_OPTS[@]}" kafka.tools.StorageTool \
    format -t "$(new_cluster_id)" -c "$PROPS" >&2 \
    || die "storage format failed"
}


# ---------------------------------------------------------------------------------------------
# MSK IAM over TLS (start --iam)

iam_enabled() { grep -q '^# mode: iam' "$PROPS" 2>/dev/null; }

ensure_iam_jar() {
  if [[ -f "$IAM_JAR" && -z "$(find "$IAM_MODULE/pom.xml" "$IAM_MODULE/src/main" -type f -newer "$IAM_JAR" | head -n 1)" ]]; then
    return 0
  fi
  log "building the broker's MSK IAM module (dev/msk-iam) ..."
  mvn -B -q -Dstyle.color=never -f "$IAM_MODULE/pom.xml" package -DskipTests >"$KAFKA_HOME/mvn-iam.log" 2>&1 \
    || { cat "$KAFKA_HOME/mvn-iam.log" >&2; die "could not build dev/msk-iam"; }
  rm -f "$KAFKA_HOME/mvn-iam.log"
}

random_text() { python3 -c 'import secrets, sys; print(secrets.token_urlsafe(int(sys.argv[1])))' "$1"; }

# A CA and a broker certificate for localhost / 127.0.0.1 signed by it (keytool, once), the CA
# as PEM for the clients; default credentials and policy when there are none yet.
ensure_iam_material() {
  mkdir -p "$IAM_DIR"
  chmod 700 "$IAM_DIR"
  if [[ ! -f "$IAM_DIR/broker.p12" || ! -f "$IAM_DIR/ca.pem" ]]; then
    log "making a CA and the broker's TLS certificate in $HOME_SHOWN/iam ..."
    rm -f "$IAM_DIR"/ca.p12 "$IAM_DIR"/broker.p12 "$IAM_DIR"/*.pem "$IAM_DIR"/*.csr
    random_text 24 >"$IAM_DIR/keystore.password"
    chmod 600 "$IAM_DIR/keystore.password"
    local pw kt=(keytool -J-Xshare:auto -J-XX:TieredStopAtLevel=1)
    pw="$(cat "$IAM_DIR/keystore.password")"
    "${kt[@]}" -genkeypair -alias ca -keyalg RSA -keysize 2048 -validity 3650 -dname "CN=kafka_local test CA" \
      -ext bc:c -keystore "$IAM_DIR/ca.p12" -storetype PKCS12 -storepass "$pw" 2>/dev/null
    "${kt[@]}" -exportcert -alias ca -rfc -keystore "$IAM_DIR/ca.p12" -storepass "$pw" -file "$IAM_DIR/ca.pem" 2>/dev/null
    "${kt[@]}" -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 3650 -dname "CN=$KAFKA_IAM_HOST" \
      -keystore "$IAM_DIR/broker.p12" -storetype PKCS12 -storepass "$pw" 2>/dev/null
    "${kt[@]}" -certreq -alias broker -keystore "$IAM_DIR/broker.p12" -storepass "$pw" -file "$IAM_DIR/broker.csr" 2>/dev/null
    "${kt[@]}" -gencert -alias ca -keystore "$IAM_DIR/ca.p12" -storepass "$pw" -infile "$IAM_DIR/broker.csr" \
      -outfile "$IAM_DIR/broker.pem" -rfc -validity 3650 -ext "SAN=dns:$KAFKA_IAM_HOST,ip:127.0.0.1" \
      -ext KU=digitalSignature,keyEncipherment -ext EKU=serverAuth 2>/dev/null
    "${kt[@]}" -importcert -alias ca -noprompt -file "$IAM_DIR/ca.pem" -keystore "$IAM_DIR/broker.p12" -storepass "$pw" 2>/dev/null
    "${kt[@]}" -importcert -alias broker -file "$IAM_DIR/broker.pem" -keystore "$IAM_DIR/broker.p12" -storepass "$pw" 2>/dev/null
    rm -f "$IAM_DIR/broker.csr"
    [[ -s "$IAM_DIR/ca.pem" && -s "$IAM_DIR/broker.p12" ]] || die "keytool could not make the certificates"
  fi
  if [[ ! -f "$IAM_DIR/credentials.json" ]]; then
    # One made-up identity, its secret kept out of sight: source client.env to sign with it.
    local key secret
    key="LOCAL$(python3 -c 'import secrets; print(secrets.token_hex(8).upper())')"
    secret="$(random_text 30)"
    (umask 077
     printf '{"%s": {"secretAccessKey": "%s", "principal": "arn:aws:iam::123456789012:role/local-flink-job"}}\n' \
       "$key" "$secret" >"$IAM_DIR/credentials.json"
     printf 'export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport AWS_REGION=%s\nunset AWS_SESSION_TOKEN\n' \
       "$key" "$secret" "$KAFKA_IAM_REGION" >"$IAM_DIR/client.env")
  fi
  if [[ ! -f "$IAM_DIR/policy.json" ]]; then
    # The product's own least-privilege policy for config/topics.yaml, for this local cluster.
    local py="$ROOT/.venv/bin/python"
    [[ -x "$py" ]] || die "the default policy comes from deploy.py iam-policy: run 'make install' first"
    "$py" "$ROOT/dev/iam_local_policy.py" --cluster-arn "$KAFKA_IAM_CLUSTER_ARN" >"$IAM_DIR/policy.json" \
      || die "could not write the default policy"
  fi
}

write_iam_config() {
  local pw jaas_opts
  pw="$(cat "$IAM_DIR/keystore.password")"
  jaas_opts="credentials.file=\"$IAM_DIR/credentials.json\" region=\"$KAFKA_IAM_REGION\" hosts=\"$KAFKA_IAM_HOST,127.0.0.1\""
  sed -i \
    -e "s|^listeners=PLAINTEXT://\([^,]*\),|listeners=PLAINTEXT://\1,SASL_SSL://$KAFKA_IAM_HOST:$KAFKA_IAM_PORT,|" \
    -e "s|^advertised.listeners=\(.*\)$|advertised.listeners=\1,SASL_SSL://$KAFKA_IAM_HOST:$KAFKA_IAM_PORT|" \
    -e "s|^listener.security.protocol.map=\(.*\)$|listener.security.protocol.map=\1,SASL_SSL:SASL_SSL|" \
    "$PROPS"
  cat >>"$PROPS" <<EOF
# mode: iam (start --iam): MSK IAM over TLS on $KAFKA_IAM_HOST:$KAFKA_IAM_PORT; dev/msk-iam
listener.name.sasl_ssl.sasl.enabled.mechanisms=AWS_MSK_IAM,OAUTHBEARER
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$IAM_DIR/broker.p12
listener.name.sasl_ssl.ssl.keystore.password=$pw
listener.name.sasl_ssl.ssl.key.password=$pw
security.providers=mskiceberg.testing.mskiam.IamSecurityProviderCreator
listener.name.sasl_ssl.aws_msk_iam.sasl.jaas.config=mskiceberg.testing.mskiam.IamServerLoginModule required $jaas_opts;
listener.name.sasl_ssl.aws_msk_iam.sasl.server.callback.handler.class=mskiceberg.testing.mskiam.IamServerCallbackHandler
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required $jaas_opts;
listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class=mskiceberg.testing.mskiam.IamOAuthBearerValidator
# the broker itself logs in with no token: Kafka's default login handler refuses these options
listener.name.sasl_ssl.oauthbearer.sasl.login.callback.handler.class=mskiceberg.testing.mskiam.NoTokenLoginCallbackHandler
authorizer.class.name=mskiceberg.testing.mskiam.MskIamAuthorizer
msk.iam.policy.file=$IAM_DIR/policy.json
msk.iam.cluster.arn=$KAFKA_IAM_CLUSTER_ARN
msk.iam.unauthenticated.listeners=PLAINTEXT,CONTROLLER
EOF
  chmod 600 "$PROPS"
}

# ---------------------------------------------------------------------------------------------
# process

# Prints the broker pid if the pid file names a live kafka.Kafka process; removes a stale file.
broker_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka'; then
    echo "$pid"
    return 0
  fi
  rm -f "$PIDFILE"
  return 1
}

# A running broker keeps the port it was started with: talk to that one even if KAFKA_PORT
# now says otherwise (or is unset).
follow_running_port() {
  broker_pid >/dev/null || return 0
  local port
  port="$(sed -n 's|^listeners=PLAINTEXT://[^,]*:\([0-9]*\).*|\1|p' "$PROPS" 2>/dev/null || true)"
  if [[ -n "$port" && "$port" != "$KAFKA_PORT" ]]; then
    log "note: the running broker listens on port $port (not $KAFKA_PORT); using $port"
    KAFKA_PORT="$port"
    BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT"
  fi
}

# Speaks the Kafka protocol on the PLAINTEXT listener: ApiVersions, then Metadata, and succeeds
# when the broker answers and reports at least one live (unfenced) broker, i.e. it can take
# admin and client requests. No JVM involved, so it is cheap to call in a loop.
probe() {
  python3 - "$KAFKA_HOST" "$KAFKA_PORT" <<'EOF'
import socket, struct, sys

host, port = sys.argv[1], int(sys.argv[2])

def call(sock, api_key, version, corr, body=b""):
    client = b"kafka_local"
    req = struct.pack(">hhih", api_key, version, corr, len(client)) + client + body
    sock.sendall(struct.pack(">i", len(req)) + req)
    size = struct.unpack(">i", recv(sock, 4))[0]
    resp = recv(sock, size)
    if struct.unpack(">i", resp[:4])[0] != corr:
        raise RuntimeError("bad correlation id")
    return resp[4:]

def recv(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise RuntimeError("connection closed")
        buf += chunk
    return buf

try:
    with socket.create_connection((host, port), timeout=3) as s:
        s.settimeout(3)
        body = call(s, 18, 0, 1)                       # ApiVersions v0
        err, n = struct.unpack(">hi", body[:6])
        if err != 0:
            sys.exit(1)
        versions = {}
        for i in range(n):
            k, lo, hi = struct.unpack(">hhh", body[6 + 6 * i: 12 + 6 * i])
            versions[k] = (lo, hi)
        lo, hi = versions.get(3, (99, -1))             # Metadata
        if lo <= 4 <= hi:
            # v4: topics = [] (none), allow_auto_topic_creation = false
            body = call(s, 3, 4, 2, struct.pack(">ib", 0, 0))
            brokers = struct.unpack(">i", body[4:8])[0]  # after throttle_time_ms
            sys.exit(0 if brokers >= 1 else 1)
        sys.exit(0)
except Exception:
    sys.exit(1)
EOF
}

port_open() {
  (exec 3<>"/dev/tcp/$KAFKA_HOST/$1") 2>/dev/null
}

cmd_status() {
  local pid
  if pid="$(broker_pid)" && probe; then
    log "running (pid $pid) and answering on $BOOTSTRAP"
    return 0
  fi
  if [[ -n "${pid:-}" ]]; then
    log "process $pid is running but not answering on $BOOTSTRAP"
  else
    log "not running"
  fi
  return 1
}

cmd_start() {
  local pid iam=0
  iam_enabled && iam=1  # the mode sticks: a restart (after kill, for instance) keeps it
  while (($#)); do
    case "$1" in
      --iam) iam=1; shift ;;
      --plaintext) iam=0; shift ;;
      *) die "start: unknown option '$1' (see --help)" ;;
    esac
  done
  if pid="$(broker_pid)" && [[ "$iam" != "$(iam_enabled && echo 1 || echo 0)" ]]; then
    log "running in the other mode: restarting it $( ((iam)) && echo with || echo without) the IAM listener"
    cmd_stop
  fi
  if pid="$(broker_pid)"; then
    if probe; then
      log "already running (pid $pid) and answering on $BOOTSTRAP$(iam_enabled && echo ", IAM over TLS on $KAFKA_IAM_HOST:$KAFKA_IAM_PORT")"
      return 0
    fi
    log "process $pid is running but not answering yet; waiting for it"
  else
    local p
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
      port_open "$p" && die "port $p is already in use by another process (not a broker started by this script)"
    done
    ensure_libs
    write_config
    local classpath="$LIBS/*"
    if ((iam)); then
      port_open "$KAFKA_IAM_PORT" && die "port $KAFKA_IAM_PORT is already in use by another process"
      ensure_iam_jar
      ensure_iam_material
      write_iam_config
      classpath="$classpath:$IAM_JAR"
    fi
    format_storage
    [[ -f "$LOGFILE" ]] && mv -f "$LOGFILE" "$LOGFILE.1"
    log "starting broker on $BOOTSTRAP (log: $HOME_SHOWN/broker.log)"
    # New session so the broker outlives this script and the caller's Ctrl-C; the inner shell
    # records its own pid and then becomes the JVM, so the pid file names the JVM itself.
    # shellcheck disable=SC2016,SC2086
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PIDFILE" \
      java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
      "-Dlog4j2.configurationFile=$BROKER_LOG4J" \
      -cp "$classpath" kafka.Kafka "$PROPS" </dev/null >"$LOGFILE" 2>&1 9>&- &
    local _
    for _ in $(seq 50); do
      [[ -s "$PIDFILE" ]] && break
      sleep 0.1
    done
  fi

  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! pid="$(broker_pid)"; then
      log "broker exited during start-up; last lines of $HOME_SHOWN/broker.log:"
      tail -n 40 "$LOGFILE" >&2 || true
      return 1
    fi
    if probe && { ! iam_enabled || port_open "$KAFKA_IAM_PORT"; }; then
      log "broker running (pid $pid) and answering on $BOOTSTRAP$(iam_enabled && echo ", IAM over TLS on $KAFKA_IAM_HOST:$KAFKA_IAM_PORT") after ${SECONDS}s"
      return 0
    fi
    sleep 0.5
  done
  log "broker did not answer within ${KAFKA_START_TIMEOUT}s; last lines of $HOME_SHOWN/broker.log:"
  tail -n 40 "$LOGFILE" >&2 || true
  return 1
}

cmd_stop() {
  local pid
  if ! pid="$(broker_pid)"; then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  log "stopping broker (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local _
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after 30 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$PIDFILE"
  log "stopped"
}

cmd_reset() {
  cmd_stop
  log "wiping $HOME_SHOWN/data"
  rm -rf "$DATA"
  cmd_start "$@"  # formats the empty data dir again; the same mode unless told otherwise
}

cmd_create_topics() {
  local partitions="${KAFKA_PARTITIONS:-2}" config="$ROOT/config/topics.yaml"
  while (($#)); do
    case "$1" in
      --partitions) [[ $# -ge 2 ]] || die "--partitions needs a value"; partitions="$2"; shift 2 ;;
      --partitions=*) partitions="${1#*=}"; shift ;;
      --config) [[ $# -ge 2 ]] || die "--config needs a value"; config="$2"; shift 2 ;;
      --config=*) config="${1#*=}"; shift ;;
      *) die "create-topics: unknown option '$1' (see --help)" ;;
    esac
  done
  [[ "$partitions" =~ ^[1-9][0-9]*$ ]] || die "partitions must be a positive integer, got '$partitions'"
  [[ -f "$config" ]] || die "topics file not found: $config"

  local topics
  topics="$(python3 -c '
import sys, yaml
with open(sys.argv[1]) as f:
    doc = yaml.safe_load(f) or {}
entries = doc.get("kafka_topics") if isinstance(doc, dict) else None
if not isinstance(entries, dict) or not entries:
    sys.exit("no kafka_topics: mapping in " + sys.argv[1])
for key, spec in entries.items():
    name = spec.get("topic_name") if isinstance(spec, dict) else None
    if not name:
        sys.exit("kafka_topics.%s has no topic_name" % key)
    print(name)
' "$config")" || die "could not read topics from $config"

  cmd_status 2>/dev/null || die "broker is not running on $BOOTSTRAP (run: dev/kafka_local.sh start)"
  [[ -f "$TOOLS_LOG4J" ]] || write_tools_log4j

  local t
  while IFS= read -r t; do
    [[ -n "$t" ]] || continue
    log "topic $t (partitions=$partitions, replication=1)"
    java -cp "$LIBS/*" "${TOOL_JVM_OPTS[@]}" org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
      --topic "$t" --partitions "$partitions" --replication-factor 1 \
      || die "could not create topic $t"
  done <<<"$topics"
}

# start/stop/reset of one state dir run one at a time (e.g. two test sessions starting it).
# A crash, for fault tests: SIGKILL, no clean shutdown; `start` brings the same data back.
cmd_kill() {
  local pid
  if ! pid="$(broker_pid)"; then
    log "not running"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  local _
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$PIDFILE"
  log "killed broker (pid $pid)"
}

lock() {
  mkdir -p "$KAFKA_HOME"
  exec 9>"$KAFKA_HOME/.lock"
  flock -w 180 9 || die "another kafka_local.sh start/stop/reset is still running"
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    start | stop | kill | reset) lock ;;
  esac
  case "$cmd" in
    start | status | create-topics) follow_running_port ;;
  esac
  case "$cmd" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    kill) cmd_kill "$@" ;;
    status) cmd_status "$@" ;;
    create-topics) cmd_create_topics "$@" ;;
    reset) cmd_reset "$@" ;;
    -h | --help | help) usage ;;
    "") usage >&2; exit 2 ;;
    *) log "unknown command '$cmd'"; usage >&2; exit 2 ;;
  esac
}

main "$@"
