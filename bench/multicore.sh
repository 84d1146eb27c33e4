#!/usr/bin/env bash
# event_loops = 0 (one loop per core) against event_loops = 1, on whatever cores the machine has,
# at a FIXED rate: the question is what a personal event costs in server CPU when publisher and
# recipient may sit on different loops (a cross-loop hop, an eventfd wake-up), not how fast it
# goes. On a 2-core machine the load client must share the cores with the server, so a
# saturation run would measure the client too; at a fixed rate both servers do the same work and
# server µs/event compares them. Neither process is pinned.
#
#   SKIP_BUILD=1 bench/multicore.sh
#
# Environment: BENCH_SCRATCH (.build-bench), USERS (1000), RATE (2000 events/s), DURATION (4),
# ROUNDS (3: the two servers measured alternately), PORT_ONE (28190), PORT_ALL (28191),
# BENCH_OUT (JSON lines file).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=${BENCH_SCRATCH:-$root/.build-bench}
users=${USERS:-1000}
rate=${RATE:-2000}
duration=${DURATION:-4}
rounds=${ROUNDS:-3}
port_one=${PORT_ONE:-28190}
port_all=${PORT_ALL:-28191}
work=$(mktemp -d /tmp/gateway-multicore.XXXXXX)
out=${BENCH_OUT:-$work/results.jsonl}
"$root/bench/install-deps.sh"
if [[ -z ${SKIP_BUILD:-} ]]; then
    (cd "$root" && swift build -c release --scratch-path "$scratch" >"$work/build.log" 2>&1) \
        || { tail -20 "$work/build.log" >&2; exit 1; }
fi
gateway=$scratch/release/gateway
bench=$scratch/release/gateway-bench
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

start() { # NAME LOOPS PORT -> prints the pid
    mkdir -p "$work/$1"
    sed -e "s/^\(\s*event_loops\s*=\).*/\1 $2/" "$root/gateway.conf" > "$work/$1/gateway.conf"
    (cd "$work/$1" && exec "$gateway" run --config "$work/$1/gateway.conf" --listen "127.0.0.1:$3" \
        --log-level warning >"$work/$1/gateway.out" 2>&1) &
    local pid=$!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$3") 2>/dev/null && break; sleep 0.2; done
    echo "$pid"
}
one=$(start one 1 "$port_one"); pids+=("$one")
all=$(start all 0 "$port_all"); pids+=("$all")
echo "machine: $(nproc) cores; load: $(uptime | sed 's/.*load average/load average/')" >&2
for round in $(seq "$rounds"); do
    for target in "one $port_one $one" "all $port_all $all"; do
        read -r name port pid <<<"$target"
        line=$("$bench" personal --users "$users" --rate "$rate" --duration "$duration" --publish-connections 32 \
            --port "$port" --server-pid "$pid" | head -1)
        jq -c --arg loops "$name" --argjson round "$round" '. + {event_loops: (if $loops == "one" then 1 else 0 end), round: $round}' \
            <<<"$line" >>"$out"
        jq -r --arg loops "$name" --arg round "$round" '"round \($round) event_loops=\(if $loops == "one" then 1 else 0 end): \(.deliveries_per_s) events/s, server \(.server_cpu_pct) % CPU, \(.server_us_per_delivery) µs/event, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, lost \(.lost)"' <<<"$line" >&2
    done
done
echo "results: $out" >&2
