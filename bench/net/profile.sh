#!/usr/bin/env bash
# Where a network server's CPU goes, by component (issue 11's "profile that
# shows why"): runs one netbench case for one runtime, records the server
# with `perf record -e cpu-clock` (this VM has no hardware counters) for 3 s
# of the measured interval, and splits the samples into kernel, libc, the
# runtime's own code, and everything else (hyper, http, bytes and the
# server's handler: the same code on every runtime). Needs perf; loopback
# only; takes about 10 s.
#
#   bash bench/net/profile.sh hyper_pipelined_c256 ravel
#   bash bench/net/profile.sh echo_c512_64B tokio-mt
#
# Runtime symbols: ravel, ravel_io, crossbeam, parking_lot, smallvec for
# Ravel; tokio, hyper_util::rt for Tokio; mio for both. Output: one line
# per component with its share of the samples, then the top 12 symbols
# of the runtime component.
set -euo pipefail
cd "$(dirname "$0")/../.."
case_name=${1:?case, e.g. hyper_pipelined_c256}; runtime=${2:?runtime: ravel, tokio-mt, tokio-ct or mio}
command -v perf >/dev/null || { echo "perf is needed (Debian: linux-perf)"; exit 1; }
cargo build --release -q -p ravel-bench --bin netserver --bin netbench
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
target/release/netbench --only "$case_name" --runtime "$runtime" --rounds 1 --duration 6 --out "$out/rows.jsonl" > "$out/netbench.txt" &
bench=$!
# The warm-up takes 1 s: start recording inside the measured interval.
sleep 2.5
pid=$(pgrep -n -f "netserver $runtime ")
perf record -q -e cpu-clock -F 4999 -p "$pid" -o "$out/perf.data" -- sleep 3 2>/dev/null
wait "$bench"
grep "round 0" "$out/netbench.txt"
perf report -i "$out/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null | python3 -c '
import re, sys
runtime = re.compile(r"^(<)?(ravel|ravel_io|crossbeam_\w+|parking_lot\w*|smallvec|tokio|hyper_util::rt|mio)\b")
parts = {"kernel": 0.0, "libc": 0.0, "runtime": 0.0, "other user code": 0.0}
top = {}
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    share, dso, kind, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
    if kind == "k":
        parts["kernel"] += share
    elif dso.startswith("libc") or dso.startswith("[vdso"):
        parts["libc"] += share
    elif runtime.match(sym):
        parts["runtime"] += share
        top[sym] = top.get(sym, 0) + share
    else:
        parts["other user code"] += share
for k, v in parts.items():
    print(f"  {k:16} {v:6.2f} %")
print("  runtime, top symbols:")
for sym, v in sorted(top.items(), key=lambda kv: -kv[1])[:25]:
    print(f"    {v:5.2f} %  {sym[:110]}")
'
