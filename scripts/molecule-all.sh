#!/usr/bin/env bash
# Runs `molecule test` for every scenario under molecule/, MOLECULE_JOBS at a time (default 2:
# the scenarios mostly wait on containers). Each scenario logs to .omctl/molecule/<name>.log;
# the log of a failed one is printed. Exits non-zero when any scenario failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export LOGS=.omctl/molecule
mkdir -p "$LOGS"
rm -f "$LOGS"/*.failed
mapfile -t scenarios < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' \
    | xargs -n1 basename | sort)
[ ${#scenarios[@]} -gt 0 ] || { echo "no Molecule scenarios found" >&2; exit 1; }

run_one() {
    local name=$1 start=$SECONDS
    if .venv/bin/molecule test -s "$name" > "$LOGS/$name.log" 2>&1; then
        echo "molecule $name: passed in $((SECONDS - start)) s"
    else
        echo "molecule $name: FAILED in $((SECONDS - start)) s"
        touch "$LOGS/$name.failed"
    fi
}
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
echo "molecule: $((${#scenarios[@]} - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
