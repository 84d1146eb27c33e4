#!/usr/bin/env bash
# One command for issue 4: installs what it needs, builds the gateway and gateway-bench in release,
# starts nchan and the gateway on loopback with the same pinning (server on core 0, client on
# core 1), runs each scenario against both in turns and prints every figure with gateway/nchan.
#
#   bench/compare.sh                 full comparison (a few minutes)
#   bench/compare.sh --nchan-only    measure nchan alone (when the gateway does not build or run)
#
# Environment (all optional): DURATION (s per publishing run, default 4), SUBS_SMALL (1000),
# SUBS_LARGE (10000), RATE_LATENCY (events/s of the fixed-rate latency run, default 100, i.e.
# 100,000 deliveries/s at 1,000 subscribers), IDLE_CONNS (15000), USERS (1000),
# BENCH_SCRATCH (SwiftPM scratch path, default .build-bench), BENCH_OUT (JSON lines file),
# SKIP_BUILD=1 (use the binaries already in the scratch path), RATE_PERSONAL (events/s of the
# fixed-rate personal run, default 2000), ONLY=chat (only the three chat scenarios of issue 14:
# personal max, personal at RATE_PERSONAL, fan-out SUBS_SMALL x RATE_LATENCY) and issue 12's
# rooms scenario (ROOMS rooms of MEMBERS members, default 1000 x 10, at RATE_ROOMS events/s, 200);
# ONLY=rooms (the rooms scenario and personal messages at the same deliveries/s, RATE_ROOMS x MEMBERS).
#
# The chat scenarios run against nchan, the gateway with history (shipped config) and a second
# gateway with `[history] enabled = false`; its figures appear as "<scenario>-history-off",
# compared with the same nchan run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
scratch=${BENCH_SCRATCH:-$root/.build-bench}
duration=${DURATION:-4}
subs_small=${SUBS_SMALL:-1000}
subs_large=${SUBS_LARGE:-10000}
rate_latency=${RATE_LATENCY:-100}
idle_conns=${IDLE_CONNS:-15000}
users=${USERS:-1000}
nchan_port=${NCHAN_PORT:-18080}
gateway_port=${GATEWAY_PORT:-18090}
gateway_off_port=${GATEWAY_OFF_PORT:-18091}
gateway_nohist_port=${GATEWAY_NOHIST_PORT:-18092}
rate_personal=${RATE_PERSONAL:-2000}
rooms=${ROOMS:-1000}
members=${MEMBERS:-10}
rate_rooms=${RATE_ROOMS:-200}
only=${ONLY:-all}
server_cpu=0
client_cpu=1
with_gateway=1
[[ ${1:-} == --nchan-only ]] && with_gateway=0

work=$(mktemp -d /tmp/gateway-compare.XXXXXX)
out=${BENCH_OUT:-$work/results.jsonl}
: > "$out"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

say() { printf '== %s\n' "$*" >&2; }

install_tools() { "$root/bench/install-deps.sh"; }

# swift_build PRODUCT LOG: one retry, because on a shared work tree another edit can land mid-build
# ("input file ... was modified during the build").
swift_build() {
    local attempt
    for attempt in 1 2; do
        (cd "$root" && swift build -c release --scratch-path "$scratch" --product "$1" >>"$2" 2>&1) && return 0
        grep -q "modified during the build" "$2" || return 1
    done
    return 1
}

build() {
    if [[ -n ${SKIP_BUILD:-} ]]; then
        bench="$scratch/release/gateway-bench"
        gateway="$scratch/release/gateway"
        [[ -x $gateway ]] || with_gateway=0
        return
    fi
    say "building gateway-bench (release)"
    swift_build gateway-bench "$work/build-bench.log" \
        || { tail -30 "$work/build-bench.log" >&2; echo "bench.build_failed: gateway-bench does not build" >&2; exit 1; }
    bench="$scratch/release/gateway-bench"
    if ((with_gateway)); then
        say "building gateway and the bundled plugins (release)"
        local product
        for product in gateway CategoryTargets MessageTypeFilter AttachmentValidator Thumbnailer ConsoleAudit; do
            if ! swift_build "$product" "$work/build-gateway.log"; then
                tail -20 "$work/build-gateway.log" >&2
                say "the gateway does not build: measuring nchan only"
                with_gateway=0
                return
            fi
        done
        gateway="$scratch/release/gateway"
    fi
}

wait_for_port() { # port, seconds
    local deadline=$((SECONDS + $2))
    until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

start_nchan() {
    "$root/bench/nchan.sh" "$work/nchan" "$nchan_port" "$server_cpu" >"$work/nchan.out" 2>&1 &
    pids+=($!)
    wait_for_port "$nchan_port" 10 || { cat "$work/nchan.out" >&2; echo "bench.nchan_start_failed" >&2; exit 1; }
    # nginx opens its port before it writes the pid file and forks the worker: wait for both.
    local _
    for _ in $(seq 50); do
        nchan_master=$(cat "$work/nchan/nginx.pid" 2>/dev/null) && nchan_worker=$(pgrep -P "$nchan_master" | head -1) \
            && [[ -n $nchan_worker ]] && return
        sleep 0.1
    done
    cat "$work/nchan.out" >&2
    echo "bench.nchan_start_failed: no nginx worker" >&2
    exit 1
}

# The plugins-on config is the shipped gateway.conf (or a minimal one if there is none); the
# plugins-off config is the same file with every [[plugins]] entry disabled, so the chain is
# the only difference. Both get one event loop: the server has one core, like nchan's one worker.
write_gateway_configs() {
    mkdir -p "$work/gw-on" "$work/gw-off" "$work/gw-nohist"
    if [[ -f $root/gateway.conf ]]; then
        cp "$root/gateway.conf" "$work/gw-on/gateway.conf"
    else
        # No shipped config yet: the bundled plugins that act on a plain event. The category rule
        # is for another category, so "bench" events pass it (the plugin still runs per event);
        # message-type-filter runs per recipient with its defaults.
        cat > "$work/gw-on/gateway.conf" <<'CONF'
[server]
event_loops = 1

[[plugins]]
name = "attachment-validator"
library = "libAttachmentValidator.so"

[[plugins]]
name = "category-targets"
library = "libCategoryTargets.so"
config = { categories = { chat = ["group:chat"] } }

[[plugins]]
name = "message-type-filter"
library = "libMessageTypeFilter.so"
CONF
    fi
    local conf=$work/gw-on/gateway.conf
    if grep -q '^\s*event_loops\s*=' "$conf"; then
        sed -i 's/^\(\s*event_loops\s*=\).*/\1 1/' "$conf"
    elif grep -q '^\s*\[server\]' "$conf"; then
        sed -i '0,/^\s*\[server\]/s//[server]\nevent_loops = 1/' "$conf"
    else
        printf '[server]\nevent_loops = 1\n%s\n' "$(cat "$conf")" > "$conf"
    fi
    # The rooms scenario holds ROOMS x MEMBERS connections (10,000 by default); the default
    # max_connections, (open-file limit - 64) / 2, is 9,968 on a machine with 20,000 files.
    local max_connections=$(( rooms * members + 2000 ))
    if grep -q '^\s*max_connections\s*=' "$conf"; then
        sed -i "s/^\(\s*max_connections\s*=\).*/\1 $max_connections/" "$conf"
    else
        sed -i "0,/^\s*\[server\]/s//[server]\nmax_connections = $max_connections/" "$conf"
    fi
    # POSIX classes only: Debian's default awk (mawk) has no \s.
    awk 'BEGIN{inplugin=0} /^[ \t]*\[\[plugins\]\]/{inplugin=1; print; print "enabled = false"; next}
         /^[ \t]*\[/{inplugin=0} inplugin && /^[ \t]*enabled[ \t]*=/{next} {print}' "$conf" > "$work/gw-off/gateway.conf"
    # History off: the same file with [history] enabled = false (the key added if missing).
    awk 'BEGIN{inhist=0} /^[ \t]*\[history\]/{inhist=1; print; print "enabled = false"; next}
         /^[ \t]*\[/{inhist=0} inhist && /^[ \t]*enabled[ \t]*=/{next} {print}' "$conf" > "$work/gw-nohist/gateway.conf"
    grep -q '^\[history\]' "$work/gw-nohist/gateway.conf" || printf '\n[history]\nenabled = false\n' >> "$work/gw-nohist/gateway.conf"
}

start_gateway() { # dir, port -> sets gateway_pid
    (cd "$work/$1" && exec taskset -c "$server_cpu" "$gateway" run --config "$work/$1/gateway.conf" \
        --listen "127.0.0.1:$2" --log-level warning >"$work/$1/gateway.out" 2>&1) &
    gateway_pid=$!
    pids+=("$gateway_pid")
    if ! wait_for_port "$2" 20; then
        tail -20 "$work/$1/gateway.out" >&2
        say "the gateway ($1) does not start"
        return 1
    fi
    # The subshell execs, so $! is the gateway itself.
}

# run LABEL SERVER PORT PID ARGS...: one bench run; its JSON line goes to $out with a label.
run() {
    local label=$1 kind=$2 port=$3 pid=$4
    shift 4
    say "$label: $kind $*"
    local line
    line=$(taskset -c "$client_cpu" "$bench" "$@" --server "$kind" --port "$port" --server-pid "$pid" | head -1) || true
    if [[ $line != \{* ]]; then line='{"error":{"code":"bench.no_output","message":"the bench printed nothing"}}'; fi
    jq -c --arg run "$label" --arg kind "$kind" '. + {run: $run, target: $kind}' <<<"$line" >>"$out"
    jq -r 'if .error then "   error: \(.error.code): \(.error.message)" else "   " + ([to_entries[] | select(.key|test("deliveries_per_s|p50_ms|p99_ms|lost|server_bytes_per_conn|dropped_connections|_cpu_pct|us_per_delivery")) | "\(.key)=\(.value)"] | join(" ")) end' <<<"$line" >&2
}

# both LABEL ARGS...: the same run against nchan, then the gateway (plugins on).
both() {
    local label=$1
    shift
    run "$label" nchan "$nchan_port" "$nchan_worker" "$@"
    if ((with_gateway)); then run "$label" gateway "$gateway_port" "$gateway_pid" "$@"; fi
}

# chat LABEL ARGS...: nchan, the gateway with history, then the gateway without history; the
# last is filed as LABEL-history-off next to a copy of the same nchan line, for the ratio.
chat() {
    local label=$1
    shift
    both "$label" "$@"
    if ((with_gateway)) && [[ -n ${gateway_nohist_pid:-} ]]; then
        run "$label-history-off" gateway "$gateway_nohist_port" "$gateway_nohist_pid" "$@"
        jq -c --arg src "$label" --arg run "$label-history-off" 'select(.run == $src and .target == "nchan") | .run = $run' \
            "$out" > "$work/nchan-copy.jsonl"
        cat "$work/nchan-copy.jsonl" >> "$out"
    fi
}

install_tools
build
start_nchan
if ((with_gateway)); then
    write_gateway_configs
    if start_gateway gw-on "$gateway_port"; then gateway_on_pid=$gateway_pid; else say "measuring nchan only"; with_gateway=0; fi
fi
if ((with_gateway)); then
    if start_gateway gw-nohist "$gateway_nohist_port"; then gateway_nohist_pid=$gateway_pid; else say "history-off gateway not measured"; fi
    gateway_pid=$gateway_on_pid
fi

# Issue 14: where chat lives. One HTTP publish per event, each to one of USERS users (as fast
# as a window of outstanding events allows, then at a fixed rate), and fixed-rate fan-out.
if [[ $only == rooms ]]; then
    # Issue 12's figure alone: rooms next to personal messages at the same delivery rate.
    both "personal-${users}-rate$((rate_rooms * members))" personal --users "$users" --rate "$((rate_rooms * members))" \
        --duration "$duration" --publish-connections 32
else
chat "personal-${users}-max" personal --users "$users" --rate 0 --duration "$duration" --publish-connections 32
chat "personal-${users}-rate${rate_personal}" personal --users "$users" --rate "$rate_personal" --duration "$duration" \
    --publish-connections 32
chat "fanout-${subs_small}-rate${rate_latency}" fanout --subscribers "$subs_small" --rate "$rate_latency" --duration "$duration"
fi
# Issue 12: rooms next to the personal figures. ROOMS rooms of MEMBERS members (every member its
# own connection), one event per room, round-robin, at RATE_ROOMS events/s. On nchan a room is a
# channel (no membership check, unread count or unread frame): a lower bound, not a peer.
both "rooms-${rooms}x${members}-rate${rate_rooms}" rooms --rooms "$rooms" --members "$members" --rate "$rate_rooms" \
    --duration "$duration"
if [[ $only == chat || $only == rooms ]]; then with_rest=0; else with_rest=1; fi

if ((with_rest)); then
both "fanout-${subs_small}-max" fanout --subscribers "$subs_small" --rate 0 --duration "$duration"
# The latency target (p99 <= 2 ms at 100,000 deliveries/s) with small fan-outs: with 1,000
# subscribers per event the client alone needs a few ms to read one event's 1,000 frames.
both "fanout-100-rate1000" fanout --subscribers 100 --rate 1000 --duration "$duration"
both "fanout-${subs_large}-max" fanout --subscribers "$subs_large" --rate 0 --duration "$duration"
both "idle-${idle_conns}" idle --connections "$idle_conns"
if ((with_gateway)); then
    # Scenario 5: reload under load. nchan's reload (SIGHUP to the nginx master) replaces the
    # worker, so it is not run against nchan: it would only show nginx dropping its subscribers.
    run "reload-${subs_small}" gateway "$gateway_port" "$gateway_pid" reload --subscribers "$subs_small" \
        --rate "$rate_latency" --duration "$((duration * 2))" --reload-interval 2
    # Scenario 4: chain cost, the same fan-out with the plugins off.
    if start_gateway gw-off "$gateway_off_port" || { say "chain cost not measured"; false; }; then
        run "chain-on" gateway "$gateway_port" "$gateway_on_pid" fanout --subscribers "$subs_small" --rate 0 --duration "$duration"
        run "chain-off" gateway "$gateway_off_port" "$gateway_pid" fanout --subscribers "$subs_small" --rate 0 --duration "$duration"
    fi
fi
fi  # with_rest

echo
echo "Chat Gateway vs nchan — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
jq -rs '
  def num: if . == null then "-" elif type == "number" then (. * 100 | round / 100 | tostring) else tostring end;
  (map(select(.target == "nchan")) | map({(.run): .}) | add // {}) as $n |
  (map(select(.target == "gateway")) | map({(.run): .}) | add // {}) as $g |
  ["figure", "gateway", "nchan", "gateway/nchan"],
  ( ([.[].run] | unique)[] as $run |
    ["deliveries_per_s", "p50_ms", "p99_ms", "p999_ms", "max_ms", "lost", "server_bytes_per_conn", "dropped_connections", "client_cpu_pct", "server_cpu_pct", "client_us_per_delivery", "server_us_per_delivery"][] as $key |
    ($g[$run][$key]) as $gv | ($n[$run][$key]) as $nv |
    select($gv != null or $nv != null) |
    ["\($run) \($key)", ($gv | num), ($nv | num),
     (if ($gv | type) == "number" and ($nv | type) == "number" and $nv != 0 then ($gv / $nv * 100 | round / 100 | tostring) else "-" end)] ),
  ( [.[] | select(.error)] [] | ["\(.run) \(.target)", "error", .error.code, .error.message] )
  | @tsv' "$out" | column -t -s $'\t'
chain_on=$(jq -s 'map(select(.run=="chain-on"))[0].deliveries_per_s // empty' "$out")
chain_off=$(jq -s 'map(select(.run=="chain-off"))[0].deliveries_per_s // empty' "$out")
if [[ -n $chain_on && -n $chain_off ]]; then
    echo "chain cost: plugins on $chain_on deliveries/s, off $chain_off ($(jq -n "($chain_off - $chain_on) / $chain_off * 100 | round")% slower with the chain)"
fi
((with_gateway)) || echo "gateway: not measured (it did not build or start; see the messages above)"
echo "raw results: $out"
