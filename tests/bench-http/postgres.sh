#!/usr/bin/env bash
# Plaza on PostgreSQL over HTTP, against sled on the same machine: commit throughput with
# every commit reserving from one budget (contended) and without a budget (uncontended), on
# one host and on three hosts over one database, and quote latency. A throwaway cluster
# (Debian's postgresql package) in a temporary directory; wrk (apt-get install wrk).
# Not part of CI. Usage: tests/bench-http/postgres.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN=${1:-10}
HERE=tests/bench-http
cargo build --release -p plaza >/dev/null
BIN=$PWD/target/release/plaza
OPERATOR=bench-operator
export CART=$PWD/host/demo/cart.json
WORK=$(mktemp -d)
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PG_PORT=15432
AS=""
[ "$(id -u)" = 0 ] && { chown postgres "$WORK"; AS="runuser -u postgres --"; }
$AS "$PG_BIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 >/dev/null
$AS "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w \
  -o "-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1" start >/dev/null
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  $AS "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
api() { curl -sf -H "Authorization: Bearer $1" "${@:2}"; }

# start NAME PORT [serve flags…]: a host with its own data directory (artifact cache).
start() {
  local name=$1 port=$2; shift 2
  mkdir -p "$WORK/$name"
  RUST_LOG=warn $BIN serve --listen 127.0.0.1:$port --data-dir "$WORK/$name" \
    --operator-key $OPERATOR "$@" &
  PIDS+=($!)
  until curl -sf http://127.0.0.1:$port/readyz >/dev/null; do sleep 0.01; done
}

plans() {
  local url=$1
  api "$KEY" -X POST $url/v1/plans -d '{"id":"flash","steps":[{"id":"flash-manjian","plugin":{"name":"threshold-discount","version":"1.0.0"},"config":{"mode":"tiers","tiers":[{"threshold":10000,"discount":1000}]},"budget":{"max_orders":100000000}}]}' >/dev/null
  api "$KEY" -X POST $url/v1/plans/flash/activate -d '{"version":1}' >/dev/null
  api "$KEY" -X POST $url/v1/plans -d '{"id":"open","steps":[{"id":"manjian","plugin":{"name":"threshold-discount","version":"1.0.0"},"config":{"mode":"tiers","tiers":[{"threshold":10000,"discount":1000}]}}]}' >/dev/null
  api "$KEY" -X POST $url/v1/plans/open/activate -d '{"version":1}' >/dev/null
}

# commits PLAN URL…: wrk on every URL at once (32 connections shared out); the sum.
commits() {
  local plan=$1; shift
  local n=$# c=$((32 / $#)) total=0 i=0 loads=()
  for url in "$@"; do
    PLAN=$plan wrk -t1 -c$c -d${SECONDS_PER_RUN}s --latency -s $HERE/commit.lua $url \
      > "$WORK/wrk-$i.txt" 2>&1 &
    loads+=($!)
    i=$((i + 1))
  done
  wait "${loads[@]}"
  for f in "$WORK"/wrk-*.txt; do
    local rps=$(awk '/Requests\/sec/ {print $2}' "$f")
    local p99=$(awk '$1 == "99%" {print $2}' "$f")
    echo "   $(basename "$f"): $rps/s, p99 $p99"
    total=$(echo "$total + $rps" | bc)
    rm "$f"
  done
  echo "   $plan on $n host(s): $total commits/s"
}

echo "== sled, one host"
start sled 18090 --demo
KEY=$(cat "$WORK/sled/demo.key"); export KEY
plans http://127.0.0.1:18090
commits flash http://127.0.0.1:18090
commits open http://127.0.0.1:18090
echo "   quote latency:"
wrk -t2 -c32 -d${SECONDS_PER_RUN}s --latency -s $HERE/quote.lua \
  http://127.0.0.1:18090/v1/plans/teahouse-autumn/quote | grep -E "Requests/sec|99%"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; PIDS=()

STORE=postgres://postgres@127.0.0.1:$PG_PORT/postgres
echo "== PostgreSQL, one host"
start a 18091 --store $STORE --demo
KEY=$(cat "$WORK/a/demo.key"); export KEY
plans http://127.0.0.1:18091
commits flash http://127.0.0.1:18091
commits open http://127.0.0.1:18091
echo "   quote latency:"
wrk -t2 -c32 -d${SECONDS_PER_RUN}s --latency -s $HERE/quote.lua \
  http://127.0.0.1:18091/v1/plans/teahouse-autumn/quote | grep -E "Requests/sec|99%"

echo "== PostgreSQL, three hosts"
start b 18092 --store $STORE
start c 18093 --store $STORE
commits flash http://127.0.0.1:18091 http://127.0.0.1:18092 http://127.0.0.1:18093
commits open http://127.0.0.1:18091 http://127.0.0.1:18092 http://127.0.0.1:18093
echo "   budget counter after the runs (every host):"
for port in 18091 18092 18093; do api "$KEY" http://127.0.0.1:$port/v1/plans/flash/budgets; echo; done
