#!/usr/bin/env bash
# The full server soak (issue 14): 10 minutes of load and faults on the
# echo and HTTP examples' serving code, loopback only; stops by itself.
# Extra arguments go to the soak (e.g. --duration 120 --clients 32).
# Prints a summary and appends one JSON line to target/soak-results.jsonl;
# exits non-zero if an end condition failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p ravel-bench --bin soak
target_dir="${CARGO_TARGET_DIR:-target}"
exec timeout 900 "$target_dir/release/soak" "$@"
