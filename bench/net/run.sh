#!/usr/bin/env bash
# The network benchmarks (issue 11): Ravel vs Tokio vs raw mio, server on
# CPU 0, load generator on CPU 1. Installs wrk from Debian's packages if it
# is missing (the test suite never needs it). Loopback only; every run is
# bounded by --duration; the whole default run takes ~15 minutes.
#
#   bash bench/net/run.sh                 # all cases, 3 rounds, 5 s each
#   bash bench/net/run.sh --only echo     # a subset
#   bash bench/net/run.sh --rounds 5 --duration 10
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null; then
    echo "wrk is not installed: installing it (apt-get install wrk)"
    if [ "$(id -u)" = 0 ]; then apt-get install -y wrk; else sudo apt-get install -y wrk; fi
fi
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed"; exit 1; }
cargo build --release -p ravel-bench --bin netserver --bin netbench
exec nice -n -10 target/release/netbench --out target/net-results.jsonl "$@"
