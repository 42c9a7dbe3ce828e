#!/usr/bin/env bash
# Start/stop the three services and the UI as background processes (pid files, logs).
#
#   scripts/services.sh up|down|status [service...]
#
# Services: ingest (8002), tracker (8001), notifier (8003), ui (8501), public (8502), and the
# notifier's Telegram bot (no port) when UPR_TELEGRAM_BOT_TOKEN is set. Configuration is
# taken from the environment (UPR_*; see README "Configuration").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# A local run is a dev run (placeholder secrets and demo users allowed) unless told otherwise.
export UPR_ENV=${UPR_ENV:-dev}
STACK=${UPR_STACK_DIR:-$ROOT/.stack}
# A separate run directory lets a test run its own set of services beside a developer's.
RUN=${UPR_RUN_DIR:-$STACK/run}
LOGS=${UPR_RUN_DIR:-$STACK}/logs
VENV=${UPR_VENV:-$ROOT/.venv}
HOST=${UPR_BIND_HOST:-127.0.0.1}
mkdir -p "$RUN" "$LOGS"
cd "$ROOT"

ALL=(tracker ingest notifier ui public)
# The bot polls Telegram for /start and /stop: only with a token (without one the channel is off).
[[ -z ${UPR_TELEGRAM_BOT_TOKEN:-} ]] || ALL+=(telegram)

port_of() {
  case $1 in
    tracker) echo "${UPR_TRACKER_PORT:-8001}" ;;
    ingest) echo "${UPR_INGEST_PORT:-8002}" ;;
    notifier) echo "${UPR_NOTIFIER_PORT:-8003}" ;;
    ui) echo "${UPR_UI_PORT:-8501}" ;;
    public) echo "${UPR_PUBLIC_PORT:-8502}" ;;
    telegram) echo "" ;;
  esac
}

health_path() { [[ $1 == ui || $1 == public ]] && echo /_stcore/health || echo /health; }

# shellcheck source=scripts/lib/processes.sh
source "$ROOT/scripts/lib/processes.sh"

start() {
  local name=$1 port password_var
  port=$(port_of "$name")
  # Each logs in to Kafka as its own principal (README "Kafka principals and ACLs"): its
  # password from UPR_KAFKA_<NAME>_PASSWORD, else (dev mode) the fixed local one.
  password_var="UPR_KAFKA_${name^^}_PASSWORD"
  export UPR_KAFKA_USERNAME=$name UPR_KAFKA_PASSWORD=${!password_var:-}
  if pid_alive "$name"; then echo "$name already running (pid $(cat "$RUN/$name.pid"))"; return; fi
  if [[ -n $port ]] && port_open "$port"; then echo "services: port $port ($name) is taken by another process" >&2; exit 1; fi
  case $name in
    ui)
      nohup "$VENV/bin/streamlit" run ui/app.py --server.port "$port" --server.address "$HOST" \
        --server.headless true --browser.gatherUsageStats false > "$LOGS/ui.log" 2>&1 & ;;
    public)  # the public progress page, no login (reads the tracker's read API only)
      nohup "$VENV/bin/streamlit" run ui/public/site.py --server.port "$port" --server.address "$HOST" \
        --server.headless true --browser.gatherUsageStats false > "$LOGS/public.log" 2>&1 & ;;
    telegram)  # the notifier's bot: links chats (/start <token>) and unlinks them (/stop)
      export UPR_KAFKA_USERNAME=notifier
      nohup "$VENV/bin/python" -m services.notifier.telegram_bot > "$LOGS/telegram.log" 2>&1 & ;;
    *)
      nohup "$VENV/bin/faststream" run "services.$name.app:app" --host "$HOST" --port "$port" \
        > "$LOGS/$name.log" 2>&1 & ;;
  esac
  echo $! > "$RUN/$name.pid"
}

wait_healthy() {
  local name=$1 port path i
  if [[ $name == telegram ]]; then  # no HTTP port: alive after a few seconds (getMe answered)
    sleep 3
    if pid_alive telegram; then echo "telegram bot up (see $LOGS/telegram.log)"; return 0; fi
    echo "services: the Telegram bot died; last lines of $LOGS/telegram.log:" >&2
    tail -n 30 "$LOGS/telegram.log" >&2 || true
    exit 1
  fi
  port=$(port_of "$name"); path=$(health_path "$name")
  for ((i = 0; i < 240; i++)); do
    if "$VENV/bin/python" - "$port" "$path" <<'EOF' 2>/dev/null; then echo "$name up on http://$HOST:$port"; return 0; fi
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=2) as r:
    sys.exit(0 if r.status < 300 else 1)
EOF
    if ! pid_alive "$name"; then
      echo "services: $name died during start-up; last lines of $LOGS/$name.log:" >&2
      tail -n 30 "$LOGS/$name.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "services: $name not healthy after 120s (see $LOGS/$name.log)" >&2
  exit 1
}

stop() { stop_process "$1" 20; }

cmd=${1:-}; shift || true
names=("$@"); [[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
case $cmd in
  up)
    "$VENV/bin/upr" topics create > /dev/null
    for n in "${names[@]}"; do start "$n"; done
    for n in "${names[@]}"; do wait_healthy "$n"; done ;;
  down)
    [[ $# -gt 0 ]] || stop telegram  # also when the token was unset since it started
    for ((i = ${#names[@]} - 1; i >= 0; i--)); do stop "${names[$i]}"; done ;;
  status)
    rc=0
    for n in "${names[@]}"; do
      if pid_alive "$n"; then echo "$n: up (pid $(cat "$RUN/$n.pid"), port $(port_of "$n"))"; else echo "$n: down"; rc=1; fi
    done
    exit $rc ;;
  *) echo "usage: $0 up|down|status [tracker ingest notifier ui public telegram]" >&2; exit 2 ;;
esac
