#!/usr/bin/env bash
# Installs what the benchmarks need, when missing (Debian packages):
#   nginx-light, libnginx-mod-nchan  the server compare.sh measures the gateway against
#   jq                               compare.sh reads gateway-bench's JSON lines with it
#   util-linux                       taskset pins the server and the client to their cores
#   curl                             health checks and publishes in the scripts
#   valgrind                         profile.sh counts instructions with callgrind
# compare.sh, profile.sh and hostile.sh call it; run it alone to prepare a machine.
set -euo pipefail
missing=()
[[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ]] || missing+=(nginx-light libnginx-mod-nchan)
command -v jq >/dev/null || missing+=(jq)
command -v taskset >/dev/null || missing+=(util-linux)
command -v curl >/dev/null || missing+=(curl)
command -v valgrind >/dev/null || missing+=(valgrind)
if ((${#missing[@]})); then
    echo "== installing ${missing[*]}" >&2
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
