#!/usr/bin/env bash
# Starts nchan (nginx + libnginx-mod-nchan) in the foreground on a loopback port, as a plain
# process of this shell (no system service), with one worker so --server-pid is one process.
#   bench/nchan.sh WORKDIR PORT [CPU]   -> runs until killed; WORKDIR/nginx.pid holds the master pid
set -euo pipefail
workdir=${1:?usage: nchan.sh WORKDIR PORT [CPU]}
port=${2:?usage: nchan.sh WORKDIR PORT [CPU]}
cpu=${3:-0}
module=/usr/lib/nginx/modules/ngx_nchan_module.so
if [[ ! -f $module ]]; then
    echo "bench.nchan_missing: $module not found; install nginx-light and libnginx-mod-nchan" >&2
    exit 3
fi
mkdir -p "$workdir/tmp"
cat > "$workdir/nginx.conf" <<CONF
load_module $module;
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $workdir/nginx.pid;
error_log $workdir/error.log warn;
events {
    worker_connections 20000;
    use epoll;
    multi_accept on;
}
http {
    access_log off;
    client_body_temp_path $workdir/tmp;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location = /pub {
            nchan_publisher;
            nchan_channel_id \$arg_id;
            nchan_message_buffer_length 16;
            nchan_message_timeout 30s;
        }
        location = /sub {
            nchan_subscriber websocket;
            nchan_channel_id \$arg_id;
            nchan_subscriber_first_message newest;
        }
    }
}
CONF
exec taskset -c "$cpu" nginx -p "$workdir" -c "$workdir/nginx.conf" -e "$workdir/error.log"
