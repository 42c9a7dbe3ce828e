#!/usr/bin/env bash
# Build the embedded FerretDB used on dev/CI machines, with the project's patch applied.
#
#   infra/ferretdb/build.sh OUT_BINARY [--stock]
#
# The patch (ferretdb-v1.24.2.patch, see docs/storage.md) makes FerretDB's SQLite backend use
# its indexes: _id lookups and equality/$in on the leading fields of secondary indexes go
# through SQLite indexes instead of scanning the table, and a bulk update of 100+ documents no
# longer wedges the server. --stock builds upstream unchanged (for bench/storage_bench.py).
set -euo pipefail
OUT=$1
MODE=${2:-patched}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${UPR_STACK_DIR:-$ROOT/.stack}/src
VERSION=v1.24.2
cd "$HERE"
mkdir -p "$WORK" "$(dirname "$OUT")"
if [[ $MODE == --stock ]]; then
  CGO_ENABLED=0 go build -tags ferretdb_no_postgresql -o "$OUT" .
  exit 0
fi
go mod download github.com/FerretDB/FerretDB
upstream=$(go list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)
src=$WORK/ferretdb-$VERSION
rm -rf "$src"
cp -r "$upstream" "$src"
chmod -R u+w "$src"
(cd "$src" && git apply -p1 "$HERE/ferretdb-$VERSION.patch")
cp go.mod "$WORK/go.mod"
cp go.sum "$WORK/go.sum"
go mod edit -modfile="$WORK/go.mod" -replace "github.com/FerretDB/FerretDB=$src"
CGO_ENABLED=0 go build -modfile="$WORK/go.mod" -tags ferretdb_no_postgresql -o "$OUT" .
