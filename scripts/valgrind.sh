#!/usr/bin/env bash
# Leak checks: runs the test binaries of `ravel` and `ravel-io` (and the root
# package's runtime tests) under valgrind's memcheck and fails when any byte
# is definitely or indirectly lost. Too slow for CI (see docs/leak-checks.md);
# run it by hand: `scripts/valgrind.sh` (optionally: `scripts/valgrind.sh
# ravel` to check one package).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind not found: installing it from Debian's packages" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update
    $SUDO apt-get install -y valgrind
fi
command -v jq >/dev/null 2>&1 || { echo "jq is needed to read cargo's JSON" >&2; exit 2; }

PACKAGES=("${@:-ravel ravel-io ravel-tests}")
# shellcheck disable=SC2206
PACKAGES=(${PACKAGES[*]})

# Test binaries that cannot run under valgrind, each with its reason.
# (name of the test target) -> reason
declare -A SKIP=(
    # Child processes and signals: the test re-executes itself and sends
    # SIGINT on a deadline; under valgrind's slowdown the child misses it.
    [sigint]="spawns itself as a child and signals it on a deadline"
    [signal_ctrl_c]="spawns itself as a child and signals it on a deadline"
    # Runs `curl` as a child process and hyper over many connections.
    [hyper_http]="runs curl as a child process"
    # Runs CPython clients as child processes.
    [python_client]="runs CPython clients as child processes"
    # Exhausts the file-descriptor limit on purpose: valgrind reserves
    # descriptors of its own and changes where the limit falls.
    [server_emfile]="exhausts the fd limit on purpose; valgrind keeps fds of its own"
    # Stress tests: thousands of racing rounds, hours under valgrind; the
    # same code paths run in the other binaries.
    [stress_cancel_many]="stress loop, hours under valgrind; same paths covered elsewhere"
    [stress_cancel_race]="stress loop, hours under valgrind; same paths covered elsewhere"
    [stress_spawn]="stress loop, hours under valgrind; same paths covered elsewhere"
    [stress_wake]="stress loop, hours under valgrind; same paths covered elsewhere"
    [structured_stress]="stress loop, hours under valgrind; same paths covered elsewhere"
    [sync_stress]="stress loop, hours under valgrind; same paths covered elsewhere"
    [threads_stress]="stress loop, hours under valgrind; same paths covered elsewhere"
    [tcp_split_stress]="stress loop, hours under valgrind; same paths covered elsewhere"
    [server_many_connections]="thousands of connections, hours under valgrind"
    [tcp_many_connections]="thousands of connections, hours under valgrind"
)

# Single tests skipped in binaries that otherwise run: each orders events
# by real deadlines a few milliseconds apart (sleeps racing timeouts), an
# order memcheck's 20-50x slowdown does not keep. They pass outside it.
declare -A SKIP_TESTS=(
    [tcp_cancel]="a_cancelled_read_consumes_nothing"
    [stream_cancel]="n22_cancelled_drain_loses_no_data"
    [wait_for]="d01_timeout_cancels_and_waits_for_the_task d06_other_error_during_cancellation d13_shield_short_and_no_timeout"
    [server_handler_errors]="failing_and_panicking_handlers_are_reported_and_their_connections_closed"
    [timeout_reschedule]="c16_extend"
    [as_completed]="as_completed_already_done_first h01_completion_order"
    [timeout_nested]="c07_nested_same_deadline"
    [task_group_basic]="i16_children_spawn_children"
    [timers_after_ready]="result_queued_before_the_deadline_passed_wins_over_the_expiry sleep_due_in_the_same_iteration_as_a_later_deadline_times_out"
)

LOG_DIR=${VALGRIND_LOG_DIR:-target/valgrind}
mkdir -p "$LOG_DIR"
start=$(date +%s)
failed=()
checked=0

for pkg in "${PACKAGES[@]}"; do
    echo "== building the test binaries of $pkg" >&2
    features=()
    [ "$pkg" = "ravel-io" ] && features=(--all-features)
    # Each line: "<target name> <kind> <executable>"
    while read -r name kind exe; do
        if [ -n "${SKIP[$name]:-}" ]; then
            echo "-- skip $pkg/$name: ${SKIP[$name]}" >&2
            continue
        fi
        skips=()
        for t in ${SKIP_TESTS[$name]:-}; do
            echo "-- skip $pkg/$name::$t: orders events by ms deadlines" >&2
            skips+=(--skip "$t")
        done
        log="$LOG_DIR/$pkg-$kind-$name.log"
        echo "-- valgrind $pkg/$name ($kind) > $log" >&2
        t0=$(date +%s)
        # Debug builds; one test thread so the reports are readable; the
        # suppression-free run must show 0 definitely/indirectly lost.
        if RAVEL_UNDER_VALGRIND=1 valgrind --leak-check=full \
            --errors-for-leak-kinds=definite,indirect \
            --show-leak-kinds=definite,indirect \
            --error-exitcode=1 --trace-children=no \
            --log-file="$log" \
            "$exe" --test-threads=1 -q --exact "${skips[@]}" >"$log.out" 2>&1; then
            echo "   ok ($(($(date +%s) - t0)) s)" >&2
        else
            echo "   FAILED ($(($(date +%s) - t0)) s): see $log and $log.out" >&2
            failed+=("$pkg/$name")
        fi
        grep -E "definitely lost|indirectly lost|ERROR SUMMARY" "$log" | sed 's/^/   /' >&2 || true
        checked=$((checked + 1))
    done < <(cargo test -p "$pkg" "${features[@]}" --no-run --message-format=json 2>/dev/null |
        jq -r 'select(.reason == "compiler-artifact" and .executable != null and .profile.test == true)
               | "\(.target.name) \(.target.kind[0]) \(.executable)"')
done

echo "== $checked binaries checked in $(($(date +%s) - start)) s" >&2
if [ ${#failed[@]} -ne 0 ]; then
    echo "== leaks or errors in: ${failed[*]}" >&2
    exit 1
fi
echo "== no leaks: 0 bytes definitely or indirectly lost" >&2
