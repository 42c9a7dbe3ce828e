# Shared by scripts/stack.sh and scripts/services.sh: background processes kept as pid
# files in $RUN. Source it after setting RUN.

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [[ -f $RUN/$1.pid ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# stop_process NAME GRACE_SECONDS: SIGTERM, wait up to GRACE_SECONDS, then SIGKILL.
stop_process() {
  local name=$1 grace=$2 f=$RUN/$1.pid pid i
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 2; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    echo "$name stopped"
  fi
  rm -f "$f"
}
