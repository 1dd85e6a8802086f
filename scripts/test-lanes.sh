#!/usr/bin/env bash
# `make test`: two independent lanes at once, because the 2-core CI machine spends much of the
# lab tests' time waiting on containers and SSH, and the checks that need no lab image can run
# while it is built.
#   lane 1: the lab image (built once, cached by recipe hash), then the integration tests (lab
#           containers over SSH) in two pytest-xdist workers, a test file per worker at a time
#           (each worker starts its own session lab hosts)
#   lane 2: lint and the unit tests (no image needed), then, once lane 1 has the image, every
#           Molecule scenario (scripts/molecule-all.sh, MOLECULE_JOBS at a time), then the
#           integration files in LANE2_INTEGRATION, which lane 1 leaves out: lane 2 ends
#           earlier otherwise, so these even the lanes out
# Each lane logs to .omctl/test-lanes/<lane>.log; the logs are printed whole when both end,
# the failing lane's last, and the exit code is non-zero when either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=.omctl/test-lanes
mkdir -p "$logs"
image_rc=$logs/image.rc  # lane 1 writes the image build's exit code here for lane 2
rm -f "$image_rc"
# Byte-compiled once up front: with PYTHONDONTWRITEBYTECODE set (as on CI's machines) Python
# never writes the caches itself, and each of the suite's omctl processes compiled the whole
# package again (0.05-0.1 s of CPU each, hundreds of times; ansible-playbook likewise the
# roles' plugins).
.venv/bin/python -m compileall -q omctl roles tests bench

LANE2_INTEGRATION=(tests/integration/test_execution_node.py tests/integration/test_wordpress_update.py)
present=()
for file in "${LANE2_INTEGRATION[@]}"; do [ -f "$file" ] && present+=("$file"); done
ignored=()
for file in "${present[@]}"; do ignored+=("--ignore=$file"); done

lane_image_integration() {
    .venv/bin/omctl lab image
    local rc=$?
    echo "$rc" > "$image_rc"
    [ "$rc" -eq 0 ] || { echo "lab image: exit $rc, no integration tests"; return "$rc"; }
    .venv/bin/pytest tests/integration -n 2 --dist loadfile --durations=15 -p no:cacheprovider \
        "${ignored[@]}"
}

lane_checks_molecule() {
    # Every step runs even when an earlier one failed: one CI run reports them all.
    local lint=0 unit molecule=0 integration=0
    make --no-print-directory lint || lint=$?
    .venv/bin/pytest tests/unit -q -n 2 -p no:cacheprovider
    unit=$?
    while [ ! -s "$image_rc" ]; do sleep 5; done
    if [ "$(cat "$image_rc")" -eq 0 ]; then
        PATH="$PWD/.venv/bin:$PATH" bash scripts/molecule-all.sh
        molecule=$?
        if [ ${#present[@]} -gt 0 ]; then
            .venv/bin/pytest "${present[@]}" --durations=5 -p no:cacheprovider
            integration=$?
        fi
    else
        echo "no lab image: Molecule and lane 2's integration files not run"
        molecule=1
    fi
    echo "lint: exit $lint; unit tests: exit $unit; molecule: exit $molecule;" \
        "integration (lane 2): exit $integration"
    [ "$lint" -eq 0 ] && [ "$unit" -eq 0 ] && [ "$molecule" -eq 0 ] && [ "$integration" -eq 0 ]
}

start=$SECONDS
lane_image_integration > "$logs/integration.log" 2>&1 &
integration_pid=$!
lane_checks_molecule > "$logs/unit-molecule.log" 2>&1 &
unit_molecule_pid=$!
echo "test lanes started: image+integration (pid $integration_pid)," \
    "lint+unit+molecule (pid $unit_molecule_pid)"

wait "$unit_molecule_pid"; unit_molecule_rc=$?
echo "lane lint+unit+molecule: exit $unit_molecule_rc after $((SECONDS - start)) s"
wait "$integration_pid"; integration_rc=$?
echo "lane image+integration: exit $integration_rc after $((SECONDS - start)) s"

# A failed lane's log last, so the end of the output names the cause.
order=(unit-molecule integration)
[ "$unit_molecule_rc" -ne 0 ] && [ "$integration_rc" -eq 0 ] && order=(integration unit-molecule)
for lane in "${order[@]}"; do
    echo "==== $logs/$lane.log"
    cat "$logs/$lane.log"
done
echo "lanes: image+integration exit $integration_rc, lint+unit+molecule exit $unit_molecule_rc," \
    "$((SECONDS - start)) s"
[ "$integration_rc" -eq 0 ] && [ "$unit_molecule_rc" -eq 0 ]
