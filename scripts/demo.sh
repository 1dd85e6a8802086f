#!/usr/bin/env bash
# `make demo`: two lab web servers, onboarded as client "demo" whose contract covers the
# healthcheck on web1 only; an in-scope run, a refused run, then the ledger's history.
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

step "contract: healthcheck daily on web1; nothing else"
today=$(date -u +%F)
cat > inventories/demo/scope.yml <<SCOPE
# Demo contract: maintenance covers the daily healthcheck of web1 only.
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

step "the ledger: every run, refused ones included"
"${omctl[@]}" history demo
"${omctl[@]}" ledger verify
echo >&2
echo "Lab hosts keep running; stop them with: .venv/bin/omctl lab down" >&2
