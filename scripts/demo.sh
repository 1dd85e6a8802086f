#!/usr/bin/env bash
# `make demo`: two lab web servers, onboarded as client "demo" whose contract covers the
# healthcheck on web1 and diagnosis on request; an in-scope run, a refused run, a diagnosis,
# then the ledger's history, the coverage of the contract and the month's client report.
set -euo pipefail
cd "$(dirname "$0")/.."
omctl=(.venv/bin/omctl)
step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "lab: two Debian web servers (nginx, PHP-FPM, MariaDB, WordPress) in podman"
"${omctl[@]}" lab up --hosts 2

# A fresh demo client every time; the ledger keeps the runs of earlier demos.
rm -rf inventories/demo
key=.omctl/lab/id_ed25519
ports=$("${omctl[@]}" lab status --json | .venv/bin/python -c '
import json, sys
for host in json.load(sys.stdin):
    print(host["hostname"], host["ssh_port"])')

while read -r host port; do
  step "onboard $host: SSH and Python checked, inventory written, baseline recorded"
  "${omctl[@]}" onboard demo "$host" --address 127.0.0.1 --port "$port" --key "$key"
done <<< "$ports"

step "contract: healthcheck daily on web1, diagnosis on request; nothing else"
today=$(date -u +%F)
cat > inventories/demo/scope.yml <<SCOPE
# Demo contract: maintenance covers the daily healthcheck of web1 and diagnosis on request.
client: demo
contract: DEMO-001
valid_from: $today
valid_until: $(date -u -d "$today + 1 year" +%F)
timezone: UTC
operation: {}
maintenance:
  healthcheck:
    every: daily
    hosts: [web1]
  diagnose:
    every: on_request
SCOPE
"${omctl[@]}" scope check demo
"${omctl[@]}" scope show demo

step "in scope: healthcheck on web1"
"${omctl[@]}" run demo healthcheck --limit web1

step "out of scope: healthcheck on web2 (the contract does not cover it) is refused, exit 3"
set +e
"${omctl[@]}" run demo healthcheck --limit web2
code=$?
set -e
if [ "$code" -ne 3 ]; then
  echo "expected a refusal (exit 3), got exit $code" >&2
  exit 1
fi

step "diagnose web1 (read-only): units, errors, disk, memory, ports and packages against the baseline"
"${omctl[@]}" run demo diagnose --limit web1
"${omctl[@]}" show "$("${omctl[@]}" history demo --json | .venv/bin/python -c '
import json, sys
print(json.load(sys.stdin)[-1]["id"])')"

step "the ledger: every run, refused ones included"
"${omctl[@]}" history demo
"${omctl[@]}" ledger verify

step "coverage of the contract this month (exit 5 would mean something is overdue)"
"${omctl[@]}" status demo

report=.omctl/demo-report-$(date -u +%Y-%m).html
step "the client's report of this month: $report"
"${omctl[@]}" report demo --period "$(date -u +%Y-%m)" --format html --output "$report"
"${omctl[@]}" report demo --period "$(date -u +%Y-%m)" --format md | head -n 40
echo >&2
echo "Lab hosts keep running; stop them with: .venv/bin/omctl lab down" >&2
