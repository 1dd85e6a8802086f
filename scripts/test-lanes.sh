#!/usr/bin/env bash
# `make test` after lint: two independent lanes at once, because the 2-core CI machine spends
# most of Molecule's time waiting on containers while the unit and integration tests run.
#   lane 1: unit tests, then integration tests (lab containers over SSH)
#   lane 2: every Molecule scenario (scripts/molecule-all.sh, MOLECULE_JOBS at a time)
# Each lane logs to .omctl/test-lanes/<lane>.log; the logs are printed whole when both end,
# the failing lane's last, and the exit code is non-zero when either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=.omctl/test-lanes
mkdir -p "$logs"

lane_tests() {
    .venv/bin/pytest tests/unit -q -p no:cacheprovider \
        && .venv/bin/pytest tests/integration --durations=15 -p no:cacheprovider
}
lane_molecule() {
    PATH="$PWD/.venv/bin:$PATH" bash scripts/molecule-all.sh
}

start=$SECONDS
lane_tests > "$logs/tests.log" 2>&1 &
tests_pid=$!
lane_molecule > "$logs/molecule.log" 2>&1 &
molecule_pid=$!
echo "test lanes started: unit+integration (pid $tests_pid), molecule (pid $molecule_pid)"

wait "$tests_pid"; tests_rc=$?
echo "lane unit+integration: exit $tests_rc after $((SECONDS - start)) s"
wait "$molecule_pid"; molecule_rc=$?
echo "lane molecule: exit $molecule_rc after $((SECONDS - start)) s"

# A failed lane's log last, so the end of the output names the cause.
order=(tests molecule)
[ "$tests_rc" -ne 0 ] && [ "$molecule_rc" -eq 0 ] && order=(molecule tests)
for lane in "${order[@]}"; do
    echo "==== $logs/$lane.log"
    cat "$logs/$lane.log"
done
echo "lanes: unit+integration exit $tests_rc, molecule exit $molecule_rc, $((SECONDS - start)) s"
[ "$tests_rc" -eq 0 ] && [ "$molecule_rc" -eq 0 ]
