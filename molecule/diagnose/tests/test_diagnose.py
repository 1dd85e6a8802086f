"""The diagnosis names a killed service and leaves it down; the recovery brings back only what is
allow-listed, cleans the apt cache of a full disk, and --check predicts without doing."""

from __future__ import annotations

import pytest

PLAYBOOK = "maintenance/diagnose.yml"
BROKEN = "omctl-test-broken"
JUNK = "/var/cache/apt/archives/omctl-test-junk.deb"


def state(host) -> tuple[str, str, str]:
    """nginx's state, the state of the unit outside the allow list, and whether the junk exists
    (one round trip: testinfra's ansible backend is slow)."""
    out = host.run(
        f"systemctl is-active nginx; systemctl is-active {BROKEN}; test -e {JUNK} && echo junk"
        " || echo none"
    ).stdout.split()
    return out[0], out[1], out[2]


def findings(run, hostname) -> dict[str, dict]:
    return {f["check"]: f for f in run.evidence["incident"][hostname]["findings"]}


@pytest.fixture(scope="module")
def broken_host(host):
    """nginx killed (a failed unit), a failed unit that is not in the allow list, an OOM kill
    in the journal and junk in the apt cache. Module scope: the tests below run in order, the
    first one changes nothing and the last one recovers."""
    host.run_expect(
        [0],
        f"printf '[Service]\\nExecStart=/bin/false\\n' > /etc/systemd/system/{BROKEN}.service"
        f" && systemctl daemon-reload && (systemctl start {BROKEN} || true)"
        " && systemctl kill --signal=SIGKILL nginx"
        # As the kernel words it; journald gets it through syslog here (no /dev/kmsg in a
        # container).
        " && logger -p user.err -t kernel 'Out of memory: Killed process 4242 (omctl-victim)'"
        f" && fallocate -l 20M {JUNK}"
        # Both units end up failed; wait for systemd to say so (slower on a loaded machine):
        # nginx's ExecStop runs first: it stays "deactivating" for a while.
        " && timeout 60 sh -c 'until systemctl is-failed -q nginx"
        f" && systemctl is-failed -q {BROKEN}; do sleep 0.5; done'",
    )
    assert state(host)[:2] == ("failed", "failed")
    yield host
    host.run(f"rm -f {JUNK} /etc/systemd/system/{BROKEN}.service; systemctl daemon-reload;"
             f" systemctl reset-failed; systemctl start nginx")  # fmt: skip
    assert host.service("nginx").is_running


def history(hostname: str) -> dict:
    """What omctl passes for a playbook that needs the host's history (synthetic here)."""
    return {
        hostname: {
            "baseline_run": "r1",
            "baseline_at": "2026-11-01T10:00:00Z",
            "baseline": {
                "ports": [
                    {"proto": "tcp", "address": "0.0.0.0", "port": 80, "process": "nginx"},
                    {"proto": "tcp", "address": "0.0.0.0", "port": 8080, "process": "varnishd"},
                ],
                "packages": {"installed": {"nginx": "0.0-old", "omctl-gone": "1.0"}},
            },
            "runs": [{"id": "r1", "task": "baseline", "status": "successful", "failed": 0}],
        }
    }


FULL = {"diagnose_recover": True, "diagnose_disk_threshold_percent": 0}


def test_check_mode_names_what_is_wrong_and_only_predicts(broken_host, run_playbook, hostname):
    # The default run is read-only anyway (converge and idempotence show it changes nothing);
    # --check with recovery asked for must still change nothing and say what it would do.
    run = run_playbook(
        PLAYBOOK,
        extravars={**FULL, "omctl_host_history": history(hostname)},
        cmdline="--check",
    )
    assert run.status == "successful", run.stdout
    assert state(broken_host) == ("failed", "failed", "junk")
    incident = run.evidence["incident"][hostname]
    assert incident["severity"] == "critical" and incident["check_mode"] is True
    restart, clean = incident["actions"]
    assert restart["result"] == "would restart (check mode)"
    freed = int(
        clean["result"].removeprefix("would free up to ").removesuffix(" bytes (check mode)")
    )
    assert freed >= 20 * 2**20
    found = findings(run, hostname)
    down = {u["unit"]: u for u in found["units"]["details"]}
    assert set(down) == {"nginx.service", f"{BROKEN}.service"}
    assert down["nginx.service"]["restartable"] and not down[f"{BROKEN}.service"]["restartable"]
    # The unit's last journal lines say why it is down.
    assert any("SIGKILL" in line for line in down["nginx.service"]["journal"])
    disks = [f["message"] for f in incident["findings"] if f["check"] == "disk"]
    assert any(m.startswith("/ is ") and m.endswith("% full (threshold 0%)") for m in disks)
    assert found["memory"]["severity"] == "warning"
    assert "killed: omctl-victim" in found["memory"]["message"]
    errors = found["errors"]["details"]["top"]
    assert any(e["source"] == "kernel" and "omctl-victim" in e["message"] for e in errors)
    # Compared with the baseline omctl passed: nginx's port 80 is gone too.
    assert found["ports"]["severity"] == "warning"
    missing = found["ports"]["details"]["missing"]
    assert [(p["port"], p["process"]) for p in missing] == [(80, "nginx"), (8080, "varnishd")]
    assert 22 in [p["port"] for p in found["ports"]["details"]["new"]]  # sshd, not in this baseline
    packages = found["packages"]["details"]
    assert {"name": "omctl-gone", "version": "1.0"} in packages["removed"]
    (nginx,) = [c for c in packages["changed"] if c["name"] == "nginx"]
    assert nginx["from"] == "0.0-old" and nginx["to"].startswith("1.")
    assert [r["id"] for r in incident["timeline"]] == ["r1"]


def test_recovery_restarts_only_allow_listed_units_and_cleans_a_full_disk_cache(
    broken_host, run_playbook, hostname
):
    run = run_playbook(PLAYBOOK, extravars=FULL)
    assert run.status == "successful", run.stdout
    incident = run.evidence["incident"][hostname]
    restart, clean = incident["actions"]
    assert restart == {
        "action": "restart",
        "target": "nginx.service",
        "reason": "nginx.service was failed and is in diagnose_restartable_units",
        "result": "restarted, now active",
        "state_after": "active",
    }
    assert clean["action"] == "apt-get clean" and clean["freed_bytes"] >= 19 * 2**20
    # The unit outside the allow list is reported and left alone.
    assert state(broken_host) == ("active", "failed", "none")
    assert "Recovery: restart nginx.service: restarted, now active" in incident["summary"]
    # Without omctl there is no ledger history: said, not guessed.
    assert "no ledger history was given" in findings(run, hostname)["timeline"]["message"]
