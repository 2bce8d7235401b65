#!/usr/bin/env bash
# Plaza over HTTP, measured with real load generators on loopback against `plaza serve`:
# quote throughput (wrk), quote latency at a fixed rate (oha), commit throughput under
# budget contention (wrk), upload-to-live time, and restart-to-ready time.
#
# Needs wrk (Debian: apt-get install wrk) and oha (cargo install oha). Not part of CI.
# Usage: tests/bench-http/run.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN=${1:-10}
HERE=tests/bench-http
cargo build --release -p plaza >/dev/null
BIN=target/release/plaza
DIR=$(mktemp -d)
PORT=18080
URL=http://127.0.0.1:$PORT
OPERATOR=bench-operator
export CART=host/demo/cart.json

start() {
  RUST_LOG=warn $BIN serve --listen 127.0.0.1:$PORT --data-dir "$DIR" --operator-key $OPERATOR "$@" &
  PID=$!
  until curl -sf $URL/readyz >/dev/null; do
    kill -0 "$PID" 2>/dev/null || { echo "plaza serve exited" >&2; exit 1; }
    sleep 0.005
  done
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; }
trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
now_ms() { date +%s%3N; }
api() { curl -sf -H "Authorization: Bearer $1" "${@:2}"; }

start --demo
export KEY=$(cat "$DIR/demo.key")

echo "== quote throughput: wrk -t2 -c32 -d${SECONDS_PER_RUN}s"
wrk -t2 -c32 -d${SECONDS_PER_RUN}s --latency -s $HERE/quote.lua $URL/v1/plans/teahouse-autumn/quote

RATE=${RATE:-5000}
echo "== quote latency at $RATE/s: oha"
if command -v oha >/dev/null; then
  oha --no-tui -z ${SECONDS_PER_RUN}s -q $RATE -c 32 -m POST \
    -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" -D $CART \
    $URL/v1/plans/teahouse-autumn/quote
else
  echo "oha is not installed (cargo install oha): skipped"
fi

echo "== commit throughput, every commit reserving from one budget (fsync per commit)"
api "$KEY" -X POST $URL/v1/plans -d '{"id":"flash","steps":[{"id":"flash-manjian","plugin":{"name":"threshold-discount","version":"1.0.0"},"config":{"mode":"tiers","tiers":[{"threshold":10000,"discount":1000}]},"budget":{"max_orders":100000000}}]}' >/dev/null
api "$KEY" -X POST $URL/v1/plans/flash/activate -d '{"version":1}' >/dev/null
wrk -t2 -c32 -d${SECONDS_PER_RUN}s --latency -s $HERE/commit.lua $URL
api "$KEY" $URL/v1/plans/flash/budgets; echo

echo "== upload-to-live: upload (compile), save, activate, first quote"
T=$(api $OPERATOR -X POST $URL/v1/tenants -d '{"id":"fresh","name":"fresh","kind":"merchant"}' >/dev/null;
    api $OPERATOR -X POST $URL/v1/tenants/fresh/keys -d '{"role":"admin"}' | sed 's/.*"key":"\([^"]*\)".*/\1/')
# Empty the artifact cache: every upload below compiles with Cranelift.
rm -f "$DIR"/artifacts/*
for name in percent-off livestreamer-price agency-waterfall; do
  t0=$(now_ms)
  api "$T" -X POST --data-binary @target/plaza-plugins/components/$name.wasm $URL/v1/plugins >/dev/null
  t1=$(now_ms)
  echo "$name: upload (validate + compile + store) $((t1 - t0)) ms"
done
t0=$(now_ms)
api "$T" -X POST --data-binary @target/plaza-plugins/components/free-shipping.wasm $URL/v1/plugins >/dev/null
api "$T" -X POST $URL/v1/plans -d '{"id":"ship","steps":[{"id":"free","plugin":{"name":"free-shipping","version":"1.0.0"},"config":{"threshold":10000}}]}' >/dev/null
api "$T" -X POST $URL/v1/plans/ship/activate -d '{"version":1}' >/dev/null
api "$T" -X POST $URL/v1/plans/ship/quote -d @$CART >/dev/null
t1=$(now_ms)
echo "free-shipping: upload + save + activate + first quote $((t1 - t0)) ms"

echo "== restart-to-ready with every registered plugin version (count in readyz)"
for tenant in t1 t2; do
  api $OPERATOR -X POST $URL/v1/tenants -d "{\"id\":\"$tenant\",\"name\":\"$tenant\",\"kind\":\"agency\"}" >/dev/null
  K=$(api $OPERATOR -X POST $URL/v1/tenants/$tenant/keys -d '{"role":"admin"}' | sed 's/.*"key":"\([^"]*\)".*/\1/')
  for f in target/plaza-plugins/components/*.wasm; do
    api "$K" -X POST --data-binary @"$f" $URL/v1/plugins >/dev/null 2>&1 || true
  done
done
stop
for i in 1 2 3; do
  t0=$(now_ms); start; t1=$(now_ms)
  echo "restart $i: $((t1 - t0)) ms to ready: $(curl -s $URL/readyz)"
  stop
done
