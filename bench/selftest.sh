#!/usr/bin/env bash
# Checks gateway-bench against a real nchan on loopback: every scenario's accounting (nothing
# lost, expected = published x subscribers), multi-source connects, and the error codes.
#   bench/selftest.sh [PATH-TO-gateway-bench]    (the gateway is taken from the same folder;
#                                                 SELFTEST_NCHAN_ONLY=1 when it is not built)
# Prints one line per check and ends with "N passed, N failed"; exits 1 if any check failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench=${1:-$root/.build-bench/release/gateway-bench}
port=${SELFTEST_PORT:-18180}
work=$(mktemp -d /tmp/gateway-bench-selftest.XXXXXX)
passed=0
failed=0

if [[ ! -x $bench ]]; then
    echo "bench.selftest_no_binary: $bench not found; build it with swift build -c release --product gateway-bench" >&2
    exit 1
fi
"$root/bench/nchan.sh" "$work/nchan" "$port" 0 >"$work/nchan.out" 2>&1 &
nchan_pid=$!
trap 'kill $nchan_pid 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
# nginx opens its port before it writes the pid file and forks the worker: wait for both.
for _ in $(seq 50); do
    master=$(cat "$work/nchan/nginx.pid" 2>/dev/null) && worker=$(pgrep -P "$master" | head -1) && [[ -n $worker ]] && break
    sleep 0.1
done
if [[ -z ${worker:-} ]]; then cat "$work/nchan.out" >&2; echo "bench.nchan_start_failed" >&2; exit 1; fi

# check NAME JSON JQ-EXPRESSION: passes when the expression is true for the JSON line.
check() {
    if [[ -n $2 ]] && jq -e "$3" <<<"$2" >/dev/null 2>&1; then
        echo "PASS $1"
        passed=$((passed + 1))
    else
        echo "FAIL $1: $3 on ${2:-<no output>}"
        failed=$((failed + 1))
    fi
}

bench_json() { timeout 120 "$bench" "$@" 2>/dev/null | head -1; }

line=$(bench_json fanout --server nchan --port "$port" --server-pid "$worker" --subscribers 200 --rate 50 --duration 2)
check "fanout delivers every event to every subscriber" "$line" \
    '.connected == 200 and .published >= 90 and .expected == .published * 200 and .received == .expected and .lost == 0 and .unmarked_frames == 0'
check "fanout reports latency and both CPUs" "$line" \
    '.p50_ms > 0 and .p99_ms >= .p50_ms and .max_ms >= .p999_ms and .client_cpu_s > 0 and .server_cpu_s >= 0 and .deliveries_per_s > 0 and .client_us_per_delivery > 0 and .server_us_per_delivery > 0'

line=$(bench_json fanout --server nchan --port "$port" --subscribers 100 --rate 0 --window 2 --duration 1)
check "saturating fanout (--rate 0) stays within its window and loses nothing" "$line" \
    '.published > 0 and .lost == 0 and .received == .expected and .server_cpu_s == null'

line=$(bench_json fanout --server nchan --port "$port" --subscribers 2000 --connections-per-source 500 --rate 20 --duration 1)
check "2000 subscribers over 4 source addresses" "$line" '.connected == 2000 and .connect_failed == 0 and .lost == 0'

line=$(bench_json personal --server nchan --port "$port" --server-pid "$worker" --users 100 --rate 200 --duration 2)
check "personal: one delivery per event, to its user" "$line" \
    '.connected == 100 and .published >= 300 and .expected == .published and .received == .expected and .lost == 0'

line=$(bench_json idle --server nchan --port "$port" --server-pid "$worker" --connections 500 --hold 1)
check "idle holds every connection and reads the server RSS" "$line" \
    '.connected == 500 and .still_open == 500 and .server_rss_after_kb >= .server_rss_before_kb and .dropped_connections == 0'

line=$(bench_json reload --server nchan --port "$port" --reload-pid "$master" --subscribers 50 --rate 20 --duration 2.5 --reload-interval 1)
echo "   nchan reload: $(jq -c "{lost, expected, dropped_connections}" <<<"$line")"
check "reload sends SIGHUP and accounts for what it cost" "$line" \
    '.sighups_sent == 2 and .published >= 40 and .sighups_failed == 0 and .expected == .received + .lost - .extra and .reload_pid > 0'

line=$(bench_json fanout --server gateway --port "$port" --subscribers 5 --duration 1)
check "a refused upgrade reports bench.upgrade_rejected" "$line" '.error.code == "bench.upgrade_rejected"'

closed_port=$((port + 1))
line=$(bench_json fanout --server nchan --port "$closed_port" --subscribers 5 --duration 1)
check "a closed port reports bench.connect_failed" "$line" '.error.code == "bench.connect_failed"'

line=$(bench_json fanout --host localhost --subscribers 1 --duration 1)
check "a host name instead of an address reports bench.invalid_option" "$line" '.error.code == "bench.invalid_option"'

line=$(bench_json idle --server nchan --port "$port" --server-pid 999999 --connections 1)
check "an unreadable --server-pid reports bench.server_pid_unreadable" "$line" '.error.code == "bench.server_pid_unreadable"'

# Against the gateway too, when it is built: tokens minted by the bench must be accepted, and a
# wrong secret must be refused before the upgrade.
gateway=${GATEWAY_BIN:-$(dirname "$bench")/gateway}
if [[ -x $gateway ]]; then
    gateway_port=$((port + 2))
    mkdir -p "$work/gateway"
    printf '[server]\nevent_loops = 1\n' > "$work/gateway/gateway.conf"
    (cd "$work/gateway" && exec "$gateway" run --config "$work/gateway/gateway.conf" \
        --listen "127.0.0.1:$gateway_port" --log-level error >"$work/gateway/out.log" 2>&1) &
    gateway_pid=$!
    trap 'kill $nchan_pid $gateway_pid 2>/dev/null; wait 2>/dev/null' EXIT
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$gateway_port") 2>/dev/null && break; sleep 0.1; done

    line=$(bench_json fanout --server gateway --port "$gateway_port" --server-pid "$gateway_pid" --subscribers 200 --rate 50 --duration 2)
    check "gateway fanout: minted tokens accepted, every event delivered" "$line" \
        '.connected == 200 and .published >= 90 and .expected == .published * 200 and .received == .expected and .lost == 0 and .unmarked_frames == 0'

    line=$(bench_json personal --server gateway --port "$gateway_port" --users 100 --rate 200 --duration 2)
    check "gateway personal: each event reaches its one user" "$line" \
        '.connected == 100 and .published >= 300 and .expected == .published and .received == .expected and .lost == 0'

    line=$(bench_json fanout --server gateway --port "$gateway_port" --secret wrong-secret --subscribers 3 --duration 1)
    check "gateway: a wrong --secret is refused with HTTP 401 (bench.upgrade_rejected)" "$line" \
        '.error.code == "bench.upgrade_rejected" and (.error.message | test("HTTP 401"))'
elif [[ -z ${SELFTEST_NCHAN_ONLY:-} ]]; then
    echo "FAIL gateway checks: $gateway is not built (build it, or set SELFTEST_NCHAN_ONLY=1)"
    failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
((failed == 0))
