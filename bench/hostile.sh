#!/usr/bin/env bash
# Issue 9's hostile scenario: builds the gateway and gateway-bench in release, starts the gateway
# from the shipped gateway.conf with a connection limit, and runs `gateway-bench hostile`: 1,000
# honest subscribers at 100 events/s, first alone, then while attackers pipeline without reading,
# hold half-open requests and park idle connections past the limit. Prints both JSON lines and
# appends them to bench/results/<date>-hostile.jsonl.
#
# Cores (bench/README.md says why): the gateway on core 0 with one event loop, the honest
# subscribers on core 1, the attackers in a process of their own on core 1 at SCHED_IDLE: they
# get what the subscribers leave of that core, as attackers on machines of their own would
# take nothing from honest clients, so the attacked run measures what the gateway lets the attack
# do to them, not the bench competing with itself.
#
# Environment (all optional): SUBSCRIBERS (1000), RATE (100), DURATION (20 s per run),
# MAX_CONNECTIONS (2500, the gateway's limit), IDLE (3000 idle attacker sockets: past the limit),
# PIPELINERS (20), HALF_OPEN (200), PORT (21090), BENCH_SCRATCH (.build-bench), SKIP_BUILD=1,
# SERVER_CPUS (0), EVENT_LOOPS (1), CLIENT_CPUS (1), ATTACK_WRAPPER ("taskset -c 1 chrt --idle 0").
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
scratch=${BENCH_SCRATCH:-$root/.build-bench}
subscribers=${SUBSCRIBERS:-1000}
rate=${RATE:-100}
duration=${DURATION:-20}
max_connections=${MAX_CONNECTIONS:-2500}
idle=${IDLE:-3000}
pipeliners=${PIPELINERS:-20}
half_open=${HALF_OPEN:-200}
port=${PORT:-21090}
server_cpus=${SERVER_CPUS:-0}
event_loops=${EVENT_LOOPS:-1}
client_cpus=${CLIENT_CPUS:-1}
attack_wrapper=${ATTACK_WRAPPER:-taskset -c 1 chrt --idle 0}
work=$(mktemp -d /tmp/gateway-hostile.XXXXXX)
out=$root/bench/results/$(date -u +%Y-%m-%dT%H%MZ)-hostile.jsonl
gateway_pid=
cleanup() { [[ -n $gateway_pid ]] && kill "$gateway_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
say() { printf '== %s\n' "$*" >&2; }

if [[ -z ${SKIP_BUILD:-} ]]; then
    for product in gateway-bench gateway CategoryTargets MessageTypeFilter AttachmentValidator Thumbnailer ConsoleAudit; do
        say "building $product (release)"
        (cd "$root" && swift build -c release --scratch-path "$scratch" --product "$product" >>"$work/build.log" 2>&1) \
            || { tail -30 "$work/build.log" >&2; echo "bench.build_failed: $product" >&2; exit 1; }
    done
fi
bench=$scratch/release/gateway-bench
gateway=$scratch/release/gateway

# The shipped config (plugins on, history on) with one event loop and the connection limit.
mkdir -p "$work/gw"
sed -e "s/^\(\s*event_loops\s*=\).*/\1 $event_loops/" -e "s/^\(\s*max_connections\s*=\).*/\1 $max_connections/" \
    "$root/gateway.conf" > "$work/gw/gateway.conf"
(cd "$work/gw" && exec taskset -c "$server_cpus" "$gateway" run --config "$work/gw/gateway.conf" --listen "127.0.0.1:$port" \
    --log-level error >"$work/gw/gateway.out" 2>&1) &
gateway_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { cat "$work/gw/gateway.out" >&2; echo "bench.gateway_start_failed" >&2; exit 1; }

say "hostile: $subscribers subscribers at $rate events/s for $duration s, alone then under attack"
say "cores: gateway $server_cpus ($event_loops loops), subscribers $client_cpus, attackers under '$attack_wrapper'"
taskset -c "$client_cpus" "$bench" hostile --attack-wrapper "$attack_wrapper" --port "$port" --server-pid "$gateway_pid" --subscribers "$subscribers" --rate "$rate" \
    --duration "$duration" --idle "$idle" --pipeliners "$pipeliners" --half-open "$half_open" | tee "$work/report.txt"
grep '^{' "$work/report.txt" >> "$out"
say "JSON lines appended to $out"
