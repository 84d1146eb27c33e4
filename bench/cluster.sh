#!/usr/bin/env bash
# Several gateway nodes on one Redis next to one node alone, same machine, same load client.
#
#   bench/cluster.sh            # builds in release unless SKIP_BUILD=1
#
# Starts redis-server (no persistence) and three `gateway run` nodes with [engine] kind = "redis"
# (event_loops = 1 each), plus one node with the memory engine; then runs
#   gateway-bench fanout  (single node)  and  gateway-bench cluster  (subscribers spread over the
#   three nodes, publishing on the first; Redis commands per event from INFO commandstats)
# at a fixed rate (latency) and at --rate 0 (throughput). Prints one JSON line per run.
# No CPU pinning: five processes share the machine's cores (2 here), so the cluster figures
# measure the cost of the extra hops on a shared machine, not what three machines would do.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
SUBS=${SUBS:-1000}
RATE=${RATE:-100}
DURATION=${DURATION:-4}
BASE_PORT=${BASE_PORT:-46410}
REDIS_PORT=${REDIS_PORT:-46481}
scratch=${BENCH_SCRATCH:-$root/.build}
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    (cd "$root" && swift build -c release --product gateway && swift build -c release --product gateway-bench) >&2
fi
gateway=$scratch/release/gateway
bench=$scratch/release/gateway-bench
work=$(mktemp -d /tmp/gateway-cluster-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >/dev/null &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

start_node() {   # name port engine
    mkdir -p "$work/$1"
    cat > "$work/$1/gateway.conf" <<CONF
[server]
listen = "127.0.0.1:$2"
event_loops = 1
[engine]
kind = "$3"
[history]
path = "history.sqlite"
[redis]
url = "redis://127.0.0.1:$REDIS_PORT/0"
CONF
    (cd "$work/$1" && exec "$gateway" run --config "$work/$1/gateway.conf" --log-level error) >/dev/null &
    pids+=($!)
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null && return; sleep 0.1; done
    echo "node $1 did not start" >&2; exit 1
}
single=$BASE_PORT
start_node single "$single" memory
ports=()
for index in 1 2 3; do
    start_node "node$index" $((BASE_PORT + index)) redis
    ports+=($((BASE_PORT + index)))
done
list=$(IFS=,; echo "${ports[*]}")

for rate in "$RATE" 0; do
    "$bench" fanout --subscribers "$SUBS" --rate "$rate" --duration "$DURATION" --port "$single" | head -1
    "$bench" cluster --subscribers "$SUBS" --rate "$rate" --duration "$DURATION" --ports "$list" --redis-port "$REDIS_PORT" | head -1
done
