#!/usr/bin/env bash
# Runs Ravel's whole test suite: unit, integration, conformance and doc
# tests, then the loom models of the task state machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
# ravel-io's optional integrations (hyper, tokio's I/O traits) and their tests.
cargo test -p ravel-io --all-features
# The loom models swap the atomics for loom's (see runtime/src/shim.rs); they
# build into their own target directory so the normal build is not redone.
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS:-3} \
    cargo test -p ravel --lib --release --target-dir target/loom -- loom
