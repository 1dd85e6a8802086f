"""Diagnosing a lab host with nginx stopped and a full disk, then recovering it through omctl.

"Full" is relative: the lab containers share the machine's disk, which is never really filled.
The threshold is set a few points under the disk's current use instead, and a junk file in the
apt cache gives `apt-get clean` something real to free.

A problem found does not fail the run: `omctl run` exits 0 (the diagnosis worked) and the
incident says `critical`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import Lab, write_scope

CLIENT = "diagnosed"
HOST = "web1"
JUNK = "/var/cache/apt/archives/omctl-itest-junk.deb"
JUNK_MB = 64


def ssh(lab: Lab, command: str) -> str:
    done = lab.ssh(HOST, command)
    assert done.returncode == 0, (command, done.stderr)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def diagnosed(lab: Lab) -> Iterator[Lab]:
    result = lab.onboard(CLIENT, HOST)
    assert result.code == 0, result.stderr
    write_scope(lab, CLIENT, "  diagnose: {every: on_request}\n")
    try:
        yield lab
    finally:
        # Other modules share this host: leave it as it was.
        lab.ssh(HOST, f"rm -f {JUNK}; systemctl reset-failed nginx; systemctl start nginx")


def incident_of(lab: Lab, *args: str) -> tuple[dict, dict]:
    result = lab.omctl("run", CLIENT, "diagnose", "--json", *args)
    assert result.code == 0, result.stderr
    run = result.json()
    shown = lab.omctl("show", run["id"], "--json")
    assert shown.code == 0, shown.stderr
    return run, shown.json()["hosts"][HOST]["evidence"]["incident"]


def by_check(incident: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for finding in incident["findings"]:
        found.setdefault(finding["check"], []).append(finding)
    return found


def test_diagnosis_finds_both_then_recovery_fixes_both(diagnosed: Lab) -> None:
    ssh(diagnosed, f"systemctl stop nginx && fallocate -l {JUNK_MB}M {JUNK}")
    used = int(ssh(diagnosed, "df --output=pcent / | tail -n 1").strip().rstrip("%"))
    threshold = f"diagnose_disk_threshold_percent={max(0, used - 5)}"

    run, incident = incident_of(diagnosed, "-e", threshold)
    assert run["status"] == "successful"
    assert incident["severity"] == "critical"
    found = by_check(incident)
    (units,) = found["units"]
    assert units["severity"] == "critical"
    assert "nginx.service (enabled but inactive)" in units["message"]
    assert any(f["details"]["mount"] == "/" and f["severity"] == "critical" for f in found["disk"])
    # Compared with the baseline recorded at onboarding: port 80 is no longer listened on.
    (ports,) = found["ports"]
    assert 80 in [p["port"] for p in ports["details"]["missing"]], ports
    assert "baseline" in [r["task"] for r in incident["timeline"]]
    # Read-only: nothing was done.
    assert incident["actions"] == []
    assert ssh(diagnosed, "systemctl is-active nginx || true") == "inactive"
    assert ssh(diagnosed, f"test -e {JUNK} && echo there") == "there"

    run, incident = incident_of(diagnosed, "-e", threshold, "-e", "diagnose_recover=true")
    assert run["status"] == "successful"
    restart, clean = incident["actions"]
    assert (restart["action"], restart["target"], restart["result"]) == (
        "restart",
        "nginx.service",
        "restarted, now active",
    )
    assert "in diagnose_restartable_units" in restart["reason"]
    assert clean["action"] == "apt-get clean" and clean["target"] == "/var/cache/apt"
    assert clean["freed_bytes"] >= (JUNK_MB - 1) * 2**20
    assert f"above {max(0, used - 5)}% full" in clean["reason"]
    # Behaviour, not the record alone: the site answers again and the file is gone.
    assert ssh(diagnosed, "systemctl is-active nginx") == "active"
    assert ssh(diagnosed, "curl -s -o /dev/null -w '%{http_code}' http://localhost/") == "200"
    assert ssh(diagnosed, f"test -e {JUNK} || echo gone") == "gone"
    text = diagnosed.omctl("show", run["id"])
    assert "incident on web1" in text.stdout and "recovery actions" in text.stdout
