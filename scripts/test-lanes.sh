#!/usr/bin/env bash
# `make test` after lint: two independent lanes at once, because the 2-core CI machine spends
# much of the lab tests' time waiting on containers and SSH.
#   lane 1: integration tests (lab containers over SSH) in two pytest-xdist workers, a test
#           file per worker at a time (each worker starts its own session lab hosts)
#   lane 2: unit tests, then every Molecule scenario (scripts/molecule-all.sh, MOLECULE_JOBS
#           at a time)
# Each lane logs to .omctl/test-lanes/<lane>.log; the logs are printed whole when both end,
# the failing lane's last, and the exit code is non-zero when either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=.omctl/test-lanes
mkdir -p "$logs"

lane_integration() {
    .venv/bin/pytest tests/integration -n 2 --dist loadfile --durations=15 -p no:cacheprovider
}
lane_unit_molecule() {
    # Molecule runs even when a unit test failed: one CI run reports both.
    .venv/bin/pytest tests/unit -q -p no:cacheprovider
    local unit=$?
    PATH="$PWD/.venv/bin:$PATH" bash scripts/molecule-all.sh
    local molecule=$?
    echo "unit tests: exit $unit; molecule: exit $molecule"
    [ "$unit" -eq 0 ] && [ "$molecule" -eq 0 ]
}

start=$SECONDS
lane_integration > "$logs/integration.log" 2>&1 &
integration_pid=$!
lane_unit_molecule > "$logs/unit-molecule.log" 2>&1 &
unit_molecule_pid=$!
echo "test lanes started: integration (pid $integration_pid), unit+molecule (pid $unit_molecule_pid)"

wait "$unit_molecule_pid"; unit_molecule_rc=$?
echo "lane unit+molecule: exit $unit_molecule_rc after $((SECONDS - start)) s"
wait "$integration_pid"; integration_rc=$?
echo "lane integration: exit $integration_rc after $((SECONDS - start)) s"

# A failed lane's log last, so the end of the output names the cause.
order=(unit-molecule integration)
[ "$unit_molecule_rc" -ne 0 ] && [ "$integration_rc" -eq 0 ] && order=(integration unit-molecule)
for lane in "${order[@]}"; do
    echo "==== $logs/$lane.log"
    cat "$logs/$lane.log"
done
echo "lanes: integration exit $integration_rc, unit+molecule exit $unit_molecule_rc," \
    "$((SECONDS - start)) s"
[ "$integration_rc" -eq 0 ] && [ "$unit_molecule_rc" -eq 0 ]
