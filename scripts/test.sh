#!/usr/bin/env bash
# make test: stack up, lint, the whole pytest suite, stack down (also on failure).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# A local run is a dev run (placeholder secrets and demo users allowed) unless told otherwise.
export UPR_ENV=${UPR_ENV:-dev}
cd "$ROOT"
VENV=$ROOT/.venv

cleanup() {
  scripts/services.sh down >/dev/null 2>&1 || true
  scripts/stack.sh down || true
}
trap cleanup EXIT

scripts/stack.sh up || exit 1
"$VENV/bin/upr" topics create >/dev/null || exit 1

echo "== lint"
"$VENV/bin/ruff" check . || exit 1
"$VENV/bin/mypy" || exit 1
"$VENV/bin/lint-imports" --no-cache || exit 1

echo "== tests"
# The slowest tests are listed so the suite's time (kept well under 30 min) can be watched.
"$VENV/bin/pytest" -p no:cacheprovider -ra --durations=25 "$@"
rc=$?
if [[ $rc -eq 5 ]]; then echo "pytest ran no test: failing" >&2; exit 1; fi
exit $rc
