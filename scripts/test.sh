#!/usr/bin/env bash
# Builds everything (gateway, bundled plugins as .so, tests) and runs every test. The tests
# load the real plugin .so files and start real gateways, WebSocket clients and redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
swift build --build-tests 2>&1 | tail -n 5
swift test --skip-build "$@"
