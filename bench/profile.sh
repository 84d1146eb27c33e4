#!/usr/bin/env bash
# Instruction counts per personal message (one HTTP publish -> one WebSocket delivery), from
# valgrind's callgrind: unlike wall-clock figures they do not depend on what else the machine runs.
#
#   bench/profile.sh [on|off]     history on (default) or off ([history] enabled = false)
#
# Runs the release gateway (shipped gateway.conf, event_loops = 1) under callgrind, connects
# USERS users with gateway-bench, zeroes the counters, publishes EVENTS events at RATE/s (each to
# one user), dumps the counters and prints: instructions per event for the whole process, and
# the inclusive share of the functions that matter (HTTP, JSON, history, WebSocket, pipeline).
#
# Environment: BENCH_SCRATCH (default .build), USERS (10), RATE (50), SECONDS_PUBLISHING (10),
# PORT (46790), CONNECT_CONCURRENCY (16: upgrades in flight; under valgrind more time out), OUT (folder for the callgrind files; default a temporary folder).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=${BENCH_SCRATCH:-$root/.build}
history=${1:-on}
users=${USERS:-10}
rate=${RATE:-50}
seconds=${SECONDS_PUBLISHING:-10}
port=${PORT:-46790}
work=${OUT:-$(mktemp -d /tmp/gateway-profile.XXXXXX)}
mkdir -p "$work"
gateway=$scratch/release/gateway
bench=$scratch/release/gateway-bench
[[ -x $gateway && -x $bench ]] || { echo "build first: swift build -c release" >&2; exit 1; }
"$root/bench/install-deps.sh"

# valgrind 3.19 cannot read the DWARF 5 that Swift's clang writes: profile copies without debug
# info (the symbol table stays, so functions keep their names).
mkdir -p "$work/bin"
for file in "$scratch/release/gateway" "$scratch"/release/lib*.so; do
    objcopy --strip-debug "$file" "$work/bin/$(basename "$file")"
done
gateway=$work/bin/gateway
# valgrind 3.19 rewrites the signal mask given to rt_sigsuspend in place; libdispatch's
# dispatch_main (the async main of Swift 6) passes one in read-only memory, so valgrind itself
# dies with SIGSEGV at startup. A preloaded sigsuspend hands the kernel a copy on the stack.
cat > "$work/sigsuspend_copy.c" <<'SHIM'
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, (size_t)(_NSIG / 8));
}
SHIM
cc -O2 -shared -fPIC -o "$work/libsigsuspend_copy.so" "$work/sigsuspend_copy.c"
conf=$work/gateway.conf
sed -e 's/^\(\s*event_loops\s*=\).*/\1 1/' -e "s|^# plugin_directory = .*|plugin_directory = \"$work/bin\"|" \
    "$root/gateway.conf" > "$conf"
if [[ $history == off ]]; then sed -i '/^\[history\]/,/^\[/ s/^enabled = .*/enabled = false/' "$conf"; fi

gateway_pid=
cleanup() { [[ -n $gateway_pid ]] && kill "$gateway_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
(cd "$work" && LD_PRELOAD="$work/libsigsuspend_copy.so" exec valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    "$gateway" run --config "$conf" --listen "127.0.0.1:$port" --log-level warning >"$work/gateway.out" 2>&1) &
gateway_pid=$!
for _ in $(seq 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$gateway_pid" 2>/dev/null || { tail -5 "$work/gateway.out" >&2; exit 1; }
    sleep 0.2
done

# A first short run warms the gateway up (valgrind translates each code path the first time it
# runs, slowly), then the measured run: the bench connects the users, waits --settle seconds and
# publishes; the counters are zeroed while it settles, so the dump holds the publishing only
# (plus the idle loop, a few thousand instructions per second).
"$bench" personal --users "$users" --rate 20 --duration 3 --settle 1 --drain-timeout 20 \
    --publish-connections 1 --connect-concurrency "${CONNECT_CONCURRENCY:-16}" --port "$port" > "$work/warmup.json" || true
"$bench" personal --users "$users" --rate "$rate" --duration "$seconds" --settle 8 --drain-timeout 20 \
    --publish-connections 1 --connect-concurrency "${CONNECT_CONCURRENCY:-16}" --port "$port" > "$work/bench.json" &
bench_pid=$!
# Zero once every user is connected (/healthz counts them): at USERS=1000 under valgrind on a
# busy machine connecting takes a minute, longer than any fixed wait.
for _ in $(seq 1200); do
    connected=$(exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3 \
        && sed -n 's/.*"connections": *\([0-9]*\).*/\1/p' <&3 | head -1)
    [[ ${connected:-0} -ge $users ]] && break
    sleep 0.5
done
callgrind_control --zero "$gateway_pid" >/dev/null
wait "$bench_pid"
callgrind_control --dump "$gateway_pid" >/dev/null
connect_s=$(head -1 "$work/bench.json" | sed -n 's/.*"connect_s":\([0-9.]*\).*/\1/p')
[[ ${connected:-0} -ge $users ]] || echo "warning: only ${connected:-0} of $users users seen connected; connecting (${connect_s} s) is in the profile" >&2
events=$(head -1 "$work/bench.json" | sed -n 's/.*"published":\([0-9]*\).*/\1/p')
lost=$(head -1 "$work/bench.json" | sed -n 's/.*"lost":\([0-9]*\).*/\1/p')
dump=$(ls -t "$work"/callgrind.out* | grep -v '\.out$' | head -1 || true)
[[ -n $dump ]] || dump=$(ls -t "$work"/callgrind.out* | head -1)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
echo "history=$history events=$events lost=$lost instructions=$total per_event=$((total / events))"
echo "callgrind file: $dump"
# Inclusive instructions per event of the steps of the personal path (bench/RESULTS.md).
callgrind_annotate --inclusive=yes --threshold=100 "$dump" 2>/dev/null > "$work/inclusive.txt"
pick() { # LABEL PATTERN
    local ir
    ir=$(grep -E "$2" "$work/inclusive.txt" | head -1 | awk '{gsub(",", "", $1); print $1}')
    printf '%-48s %10s\n' "$1" $(( ${ir:-0} / events ))
}
pick "HTTP request in (llhttp parse -> handler)" 'c_nio_llhttp_execute '
pick "  publish route (auth, parse, pipeline)" 'PublishRoute.*handle_9eventLoop.*APIRequestV_'
pick "    JSON parse (jansson)" 'GatewayJSON0B0C5parseyACSWAA9JSONErrorVYKFZ '
pick "    pipeline (normalize ... engine)" 'EventPipelineC13publishInline_4from|EventPipelineC7publish_4from'
pick "      normalize" 'EventNormalizerO9normalize'
pick "      JSON encode (once per event)" 'GatewayJSON8JSONViewV7encodedSays5UInt8VGyF |GatewayJSON0B0C7encodedSays5UInt8VGyF '
pick "  HTTP response (head, body, end)" 'HTTPRequestHandlerC7respond'
pick "WebSocket delivery (LoopShard drain)" 'LoopShardC5drain'
pick "history writer thread" 'HistoryWriterC3run'
pick "  SQLite (sqlite3_step)" 'sqlite3_step '
pick "  SQLite (sqlite3_exec)" 'sqlite3_exec '
pick "swift_release (all callers)" '\?\?\?:swift_release \['
pick "malloc (all callers)" 'malloc.c:malloc '
echo "full inclusive listing: $work/inclusive.txt"
