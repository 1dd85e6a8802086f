#!/usr/bin/env bash
# Runs `molecule test` for every scenario under molecule/, MOLECULE_JOBS at a time (default 2:
# the scenarios mostly wait on containers). Each scenario logs to .omctl/molecule/<name>.log;
# the log of a failed one is printed. Exits non-zero when any scenario failed.
# MOLECULE_SCENARIOS="a b" runs only those.
set -uo pipefail
cd "$(dirname "$0")/.."
export LOGS=.omctl/molecule
# What the log of a scenario says when the container runtime, not a role, failed.
export INSTANCE_FAILED='UNREACHABLE!|INSTANCE NEVER ACCEPTED COMMANDS'
mkdir -p "$LOGS"
rm -f "$LOGS"/*.failed "$LOGS"/*.unreachable.log
if [ -n "${MOLECULE_SCENARIOS:-}" ]; then
    read -ra found <<< "$MOLECULE_SCENARIOS"
else
    mapfile -t found < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' \
        | xargs -n1 basename | sort)
fi
# The slowest scenarios start first so that the two lanes end close together.
scenarios=()
for name in patching hardening content_sync config_tuning; do
    [[ " ${found[*]} " == *" $name "* ]] && scenarios+=("$name")
done
for name in "${found[@]}"; do
    [[ " ${scenarios[*]} " == *" $name "* ]] || scenarios+=("$name")
done
[ ${#scenarios[@]} -gt 0 ] || { echo "no Molecule scenarios found" >&2; exit 1; }

molecule_test() {
    # Plain text logs: they are read with grep and tail.
    NO_COLOR=1 PY_COLORS=0 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
        .venv/bin/molecule test -s "$1" > "$LOGS/$1.log" 2>&1
}

run_one() {
    local name=$1 start=$SECONDS
    if molecule_test "$name"; then
        echo "molecule $name: passed in $((SECONDS - start)) s"
        return
    fi
    # UNREACHABLE, or the shared prepare giving up on an instance that never accepted
    # commands, means `podman exec` into the instance failed (it happens rarely on a loaded
    # machine), not that a role or a check failed: run that scenario once more, in the open.
    if grep -qE "$INSTANCE_FAILED" "$LOGS/$name.log"; then
        mv "$LOGS/$name.log" "$LOGS/$name.unreachable.log"
        echo "molecule $name: instance unreachable, running it again:" \
            "$(grep -m1 -E "$INSTANCE_FAILED" "$LOGS/$name.unreachable.log" | cut -c1-2000)"
        if molecule_test "$name"; then
            echo "molecule $name: passed in $((SECONDS - start)) s (second attempt)"
            return
        fi
    fi
    echo "molecule $name: FAILED in $((SECONDS - start)) s"
    touch "$LOGS/$name.failed"
}
export -f molecule_test
export -f run_one

printf '%s\n' "${scenarios[@]}" | xargs -P "${MOLECULE_JOBS:-2}" -I{} bash -c 'run_one {}'

failed=0
for name in "${scenarios[@]}"; do
    if [ -e "$LOGS/$name.failed" ]; then
        failed=$((failed + 1))
        echo "==== $LOGS/$name.log (last 100 lines)" >&2
        tail -n 100 "$LOGS/$name.log" >&2
    fi
done
# The cause of each failure last, where a reader of only the end of the output sees it.
for name in "${scenarios[@]}"; do
    if [ -e "$LOGS/$name.failed" ]; then
        echo "==== molecule $name failed at:" >&2
        grep -E 'fatal: |UNREACHABLE!|FAILED!|ERROR ' "$LOGS/$name.log" | cut -c1-2000 | tail -n 8 >&2
    fi
done
echo "molecule: $((${#scenarios[@]} - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
