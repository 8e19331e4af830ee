#!/usr/bin/env bash
# Syscalls per request of each network server (issue 11's "where the time
# goes"): starts `netserver <runtime> <workload>` on CPU 0, drives it with
# wrk on CPU 1 for 5 s, and counts the server's syscalls over 5 s with
# `perf stat` tracepoints, divided by the requests wrk completed in the
# same 5 s (the two windows start together; expect ±2 %). Needs perf and
# tracepoint access (root, or perf_event_paranoid ≤ 1); loopback only.
#
#   bash bench/net/syscalls.sh minimal 256        # plain keep-alive, -c 256
#   bash bench/net/syscalls.sh hyper 256 16       # 16-deep pipelined
#   RUNTIMES="ravel tokio-mt" bash bench/net/syscalls.sh minimal 64
set -euo pipefail
cd "$(dirname "$0")/../.."
workload=${1:?workload: hyper or minimal}; conns=${2:?connections}; depth=${3:-}
command -v perf >/dev/null || { echo "perf is needed (Debian: linux-perf)"; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed: bash bench/net/run.sh installs it"; exit 1; }
cargo build --release -q -p ravel-bench --bin netserver
runtimes=${RUNTIMES:-ravel tokio-mt tokio-ct mio}
[ "$workload" = hyper ] && runtimes=${RUNTIMES:-ravel tokio-mt tokio-ct}
events=raw_syscalls:sys_enter,syscalls:sys_enter_read,syscalls:sys_enter_recvfrom,syscalls:sys_enter_write,syscalls:sys_enter_sendto,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for rt in $runtimes; do
    coproc SERVER { exec taskset -c 0 target/release/netserver "$rt" "$workload" 127.0.0.1:0; }
    read -r line <&"${SERVER[0]}"
    addr=${line#ready }
    pid=$SERVER_PID
    perf stat -x, -e "$events" -p "$pid" -o "$out/$rt" -- sleep 5 &
    stat=$!
    if [ -n "$depth" ]; then
        text=$(taskset -c 1 wrk -t1 -c"$conns" -d5s -s bench/net/pipeline.lua "http://$addr/" -- "$depth")
    else
        text=$(taskset -c 1 wrk -t1 -c"$conns" -d5s "http://$addr/")
    fi
    wait "$stat"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    requests=$(echo "$text" | awk '/requests in/ {print $1}')
    echo "$rt ($workload, -c $conns${depth:+, pipelined $depth}): $requests requests"
    awk -F, -v r="$requests" '$1 ~ /^[0-9]+$/ && $1 > 0 { printf "  %-32s %10d  %.3f per request\n", $3, $1, $1 / r }' "$out/$rt"
done
