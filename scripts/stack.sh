#!/usr/bin/env bash
# Start/stop the real infrastructure for dev and CI: a single-node KRaft Kafka broker
# (jars from Maven Central) and FerretDB (MongoDB wire protocol, SQLite backend).
# Production uses the official apache/kafka and mongo images (docker-compose.yml).
#
#   scripts/stack.sh up|down|status|reset
#
# reset (stack stopped): deletes the Kafka log directory (every topic and offset) and the
# FerretDB data (every database); the Kafka jars and the FerretDB binary stay.
#
# State lives under $UPR_STACK_DIR (default .stack/), logs under .stack/logs/.
# Kafka accepts only authenticated clients (SASL) and applies ACLs; the admin account is in
# the broker's config, the components' accounts and ACLs are made by `upr topics create`
# (README "Kafka principals and ACLs"). This is a dev stack: fixed dev-mode passwords.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STACK=${UPR_STACK_DIR:-$ROOT/.stack}
KAFKA_PORT=${UPR_KAFKA_PORT:-9092}
CONTROLLER_PORT=${UPR_KAFKA_CONTROLLER_PORT:-9093}
MONGO_PORT=${UPR_MONGO_PORT:-27017}
LIBS=$STACK/kafka/libs
LOGS=$STACK/logs
RUN=$STACK/run
FERRET_BIN=$STACK/bin/ferretdb
WAIT_SECONDS=${UPR_STACK_WAIT:-90}
VENV=${UPR_VENV:-$ROOT/.venv}

mkdir -p "$LOGS" "$RUN"

die() { echo "stack: $*" >&2; exit 1; }

# shellcheck source=scripts/lib/processes.sh
source "$ROOT/scripts/lib/processes.sh"

require_port_free() { # port what
  if port_open "$1"; then
    die "port $1 ($2) is already taken by another process; stop it or set UPR_*_PORT"
  fi
}

wait_for() { # name port logfile
  local name=$1 port=$2 log=$3 i
  for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
    if port_open "$port"; then return 0; fi
    if ! pid_alive "$name"; then
      echo "stack: $name died during start-up; last lines of $log:" >&2
      tail -n 30 "$log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  die "$name did not answer on port $port within ${WAIT_SECONDS}s (see $log)"
}

start_kafka() {
  if pid_alive kafka; then
    # Provisioned again all the same: services no longer create topics, and this run may use
    # another UPR_TOPIC_PREFIX (the e2e tests do) that needs its own topics and ACLs.
    provision_kafka
    echo "kafka already running (pid $(cat "$RUN/kafka.pid"))"; return
  fi
  [[ -d $LIBS ]] || die "Kafka jars missing in $LIBS: run 'make setup'"
  require_port_free "$KAFKA_PORT" kafka
  require_port_free "$CONTROLLER_PORT" "kafka controller"
  local props=$STACK/kafka/server.properties admin_password
  # The dev password of the admin account, from the one place that defines it.
  admin_password=$(PYTHONPATH=$ROOT "$VENV/bin/python" -c \
    'from contracts.kafka_access import ADMIN, dev_password; print(dev_password(ADMIN))') \
    || die "cannot read the Kafka admin password from contracts/kafka_access.py (run 'make setup')"
  rm -f "$props"  # written anew, readable by its owner only: it holds the admin password
  (umask 077; sed -e "s#@STATE@#$STACK/kafka#g" -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" \
      -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" -e "s#@ADMIN_PASSWORD@#$admin_password#g" \
      "$ROOT/infra/kafka/server.properties.in" > "$props")
  if [[ ! -f $STACK/kafka/kafka-logs/meta.properties ]]; then
    local id
    id=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    java -cp "$LIBS/*" kafka.tools.StorageTool format -t "$id" -c "$props" > "$LOGS/kafka-format.log" 2>&1 \
      || { cat "$LOGS/kafka-format.log" >&2; die "kafka storage format failed"; }
  fi
  nohup java -Xms256m -Xmx${UPR_KAFKA_HEAP:-768m} -XX:+UseG1GC -Djava.awt.headless=true \
    -cp "$LIBS/*" -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.properties" \
    -Dkafka.logs.dir="$LOGS" kafka.Kafka "$props" > "$LOGS/kafka.out" 2>&1 &
  echo $! > "$RUN/kafka.pid"
  wait_for kafka "$KAFKA_PORT" "$LOGS/kafka.out"
  provision_kafka
  echo "kafka up on 127.0.0.1:$KAFKA_PORT (pid $(cat "$RUN/kafka.pid"))"
}

# Topics, each component's SCRAM login and its ACLs, with the dev passwords. Idempotent, and
# the same on a fresh state dir as on one formatted before Kafka had logins (nothing to migrate).
provision_kafka() {
  local i
  for ((i = 0; i < 5; i++)); do
    if env -u UPR_KAFKA_USERNAME -u UPR_KAFKA_PASSWORD -u UPR_KAFKA_SASL_MECHANISM UPR_ENV=dev \
        UPR_KAFKA_BOOTSTRAP="127.0.0.1:$KAFKA_PORT" PYTHONPATH="$ROOT" \
        "$VENV/bin/python" -m upr topics create > "$LOGS/kafka-provision.log" 2>&1; then
      return 0
    fi
    sleep 1
  done
  cat "$LOGS/kafka-provision.log" >&2
  die "could not create the Kafka topics, logins and ACLs (see $LOGS/kafka-provision.log)"
}

start_mongo() {
  if pid_alive ferretdb; then echo "ferretdb already running (pid $(cat "$RUN/ferretdb.pid"))"; return; fi
  [[ -x $FERRET_BIN ]] || die "FerretDB binary missing at $FERRET_BIN: run 'make setup'"
  require_port_free "$MONGO_PORT" "mongodb-wire"
  mkdir -p "$STACK/ferretdb"
  nohup "$FERRET_BIN" -listen "127.0.0.1:$MONGO_PORT" -dir "$STACK/ferretdb" > "$LOGS/ferretdb.log" 2>&1 &
  echo $! > "$RUN/ferretdb.pid"
  wait_for ferretdb "$MONGO_PORT" "$LOGS/ferretdb.log"
  echo "mongodb-wire (FerretDB) up on 127.0.0.1:$MONGO_PORT (pid $(cat "$RUN/ferretdb.pid"))"
}

stop_one() { stop_process "$1" 30; }

status() {
  local rc=0
  if pid_alive kafka && port_open "$KAFKA_PORT"; then echo "kafka: up (127.0.0.1:$KAFKA_PORT)"; else echo "kafka: down"; rc=1; fi
  if pid_alive ferretdb && port_open "$MONGO_PORT"; then echo "mongodb-wire: up (127.0.0.1:$MONGO_PORT)"; else echo "mongodb-wire: down"; rc=1; fi
  return $rc
}

reset() {
  if pid_alive kafka || pid_alive ferretdb; then die "the stack is running: stop it first (make down)"; fi
  # Only state: Kafka's log directory and properties, FerretDB's data directory.
  rm -rf "$STACK/kafka/kafka-logs" "$STACK/kafka/server.properties" "$STACK/ferretdb"
  echo "stack emptied: topics and databases deleted under $STACK (installs kept)"
}

case "${1:-}" in
  up) start_mongo; start_kafka ;;
  reset) reset ;;
  down) stop_one kafka; stop_one ferretdb ;;
  restart-kafka) stop_one kafka; start_kafka ;;
  restart-mongo) stop_one ferretdb; start_mongo ;;
  status) status ;;
  *) echo "usage: $0 up|down|status|reset|restart-kafka|restart-mongo" >&2; exit 2 ;;
esac
