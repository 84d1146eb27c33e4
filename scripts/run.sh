#!/usr/bin/env bash
# Fresh machine → running gateway: installs what is missing, builds the gateway and every
# bundled plugin (release), and starts it on gateway.conf (embedded defaults: loopback:8080,
# development secret, bundled plugins, history in gateway-data/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release 2>&1 | tail -n 3
exec .build/release/gateway run --config gateway.conf "$@"
