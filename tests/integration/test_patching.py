"""Patching three lab hosts over SSH: a rolling run that stops at the first unhealthy host, the
reboot policy, a health gate that fails after patching, and a held apt lock.

The hosts get the demo packages of tests/aptrepo.py (1.0 installed; 1.1 as a security update,
1.2 and a package that asks for a reboot as other updates) from a repository copied into them;
apt reads only that repository. Everything is removed again at the end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import aptrepo
from tests.integration.conftest import Lab, write_scope

CLIENT = "patched"
HOSTS = ("web1", "web2", "web3")
LOCK_TIMEOUT = 10
LOCK_UNIT = "omctl-test-aptlock"
GROUP_VARS = f"""\
# Refresh only the test repository: the image's Debian mirror is never contacted.
patching_update_cache_sourcelist: {aptrepo.SOURCES_FILE}
patching_health_services: [omctl-demo]
patching_lock_timeout: {LOCK_TIMEOUT}
healthcheck_http_content_marker: omctl lab site
# A broken site is broken at once: no retries.
healthcheck_http_retries: 0
"""


def ssh(lab: Lab, name: str, command: str, data: bytes | None = None) -> str:
    """Run a command as root on a lab host; fail the test when it fails."""
    done = subprocess.run(
        [
            "ssh", "-i", str(lab.key), "-p", str(lab.host(name)["ssh_port"]),
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "root@127.0.0.1", command,
        ],
        input=data, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (name, command, done.stderr.decode(errors="replace"))
    return done.stdout.decode().strip()


def version(lab: Lab, name: str, package: str) -> str:
    return ssh(lab, name, f"dpkg-query --show --showformat='${{Version}}' {package}")


def boot_mark(lab: Lab, name: str) -> str:
    """The start time of PID 1: a container restart changes it (the kernel boot id does not)."""
    return ssh(lab, name, "cut -d' ' -f22 /proc/1/stat")


def reset(lab: Lab, *names: str) -> None:
    for name in names:
        ssh(lab, name, aptrepo.reset_script())


def vars_file(lab: Lab, name: str) -> Path:
    return lab.ws / "inventories" / CLIENT / "host_vars" / f"{name}.yml"


def patch(lab: Lab, *args: str) -> dict:
    result = lab.omctl("run", CLIENT, "patching", "--json", *args)
    assert result.stdout, result.stderr
    run = result.json()
    assert run["exit_code"] == result.code
    return run


@pytest.fixture(scope="module")
def patched(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    up = lab.omctl("lab", "up", "--hosts", "3", "--json", timeout=1800)
    assert up.code == 0, up.stderr
    lab.hosts = up.json()
    # The lab's own inventory and SSH settings, as client "patched" (onboarding is tested
    # elsewhere; its baseline runs would only add time here).
    source, client = lab.ws / "inventories" / "lab", lab.ws / "inventories" / CLIENT
    (client / "group_vars" / "all").mkdir(parents=True)
    shutil.copyfile(source / "hosts.yml", client / "hosts.yml")
    shutil.copyfile(source / "group_vars" / "all" / "lab.yml", client / "group_vars/all/ssh.yml")
    (client / "group_vars" / "all" / "patching.yml").write_text(GROUP_VARS)
    write_scope(lab, CLIENT, "  patching: {every: on_request}\n")
    assert lab.omctl("scope", "check", CLIENT).code == 0
    built = aptrepo.build(tmp_path_factory.mktemp("aptrepo") / "demo")
    tarball = aptrepo.tarball(built)
    # The role installs needrestart where it is missing: removed again at the end.
    had_needrestart = {
        name: ssh(lab, name, "command -v needrestart || true") != "" for name in HOSTS
    }
    for name in HOSTS:
        ssh(lab, name, "tar -C / -xf -", data=tarball)
        ssh(lab, name, aptrepo.install_script(built.sources_line()))
    try:
        yield lab
    finally:
        for name in HOSTS:
            ssh(lab, name, f"systemctl stop {LOCK_UNIT} 2>/dev/null; {aptrepo.remove_script()}")
            if not had_needrestart[name]:
                ssh(lab, name, "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q needrestart")


def test_rollout_stops_at_the_unhealthy_host(patched: Lab) -> None:
    ssh(patched, "web2", "systemctl stop nginx")
    try:
        run = patch(patched)
    finally:
        ssh(patched, "web2", "systemctl start nginx")
    assert run["exit_code"] == 1 and run["status"] == "failed"
    assert run["targets"] == list(HOSTS)
    hosts = run["hosts"]
    # web1, first batch: patched (the security update only) and healthy after.
    web1 = hosts["web1"]["evidence"]["patching"]
    assert hosts["web1"]["status"] == "changed" and hosts["web1"]["failed"] == 0
    assert web1["status"] == "patched"
    assert web1["applied"] == [{"name": aptrepo.TOOL, "from": "1.0", "to": "1.1"}]
    assert web1["services"]["restarted"] == [aptrepo.SERVICE]
    assert web1["health"]["after"]["ok"] is True
    # No wp-cli in the lab image: WordPress is the Debian package, left to apt.
    assert web1["wordpress"] == {
        "wp_cli": None,
        "note": "wp-cli (wp) is not installed: WordPress is patched only where apt manages it",
        "sites": [],
        "apt_managed": ["/usr/share/wordpress"],
    }
    assert web1["not_applicable"] == [
        "only Debian's wordpress package (updated by apt): "
        "WordPress updates by wp-cli not applicable"
    ]
    # web2, second batch: refused before anything changed.
    web2 = hosts["web2"]["evidence"]["patching"]
    assert hosts["web2"]["status"] == "failed"
    assert web2["status"] == "failed" and web2["applied"] == []
    assert web2["message"].startswith(
        "unhealthy before patching, so not patched: service nginx is inactive"
    )
    assert web2["health"]["before"]["ok"] is False
    assert "web2 failed" in run["message"] and "unhealthy before patching" in run["message"]
    # web3: the rollout stopped before its batch.
    assert "web3" not in hosts
    assert [version(patched, n, aptrepo.TOOL) for n in HOSTS] == ["1.1", "1.0", "1.0"]
    # The ledger says the same.
    shown = patched.omctl("show", run["id"], "--json").json()
    assert {n: (h["status"], h["evidence"]) for n, h in shown["hosts"].items()} == {
        n: (h["status"], h["evidence"]) for n, h in hosts.items()
    }
    text = patched.omctl("show", run["id"])
    assert "patching of web1: patched" in text.stdout
    assert "patching of web2: failed" in text.stdout
    assert patched.omctl("ledger", "verify").code == 0


def test_gate_failing_after_patching_fails_the_host_and_stops(patched: Lab) -> None:
    reset(patched, "web1", "web3")
    check = {"name": "demo tool answers 1.0", "command": "omctl-demo-tool | grep -qx 1.0"}
    gate_vars = patched.ws / "inventories" / CLIENT / "group_vars" / "all" / "gate.yml"
    gate_vars.write_text(f"patching_health_commands: [{json.dumps(check)}]\n")
    try:
        run = patch(patched, "--limit", "web1,web3")
    finally:
        gate_vars.unlink()
    assert run["exit_code"] == 1
    web1 = run["hosts"]["web1"]["evidence"]["patching"]
    assert web1["applied"] == [{"name": aptrepo.TOOL, "from": "1.0", "to": "1.1"}]
    assert web1["health"]["before"]["ok"] is True
    assert web1["health"]["after"] == {
        "ok": False,
        "failed": ["check demo tool answers 1.0 exited 1"],
        "checks": web1["health"]["after"]["checks"],
    }
    assert (
        web1["message"] == "health gate failed after patching: check demo tool answers 1.0 exited 1"
    )
    assert "web3" not in run["hosts"]
    assert version(patched, "web3", aptrepo.TOOL) == "1.0"


def test_if_required_reboots_the_flagged_host_and_records_it(patched: Lab) -> None:
    reset(patched, "web2")
    vars_file(patched, "web2").parent.mkdir(exist_ok=True)
    vars_file(patched, "web2").write_text("patching_scope: all\npatching_reboot: if_required\n")
    before = boot_mark(patched, "web2")
    try:
        run = patch(patched, "--limit", "web2")
    finally:
        vars_file(patched, "web2").unlink()
    assert run["exit_code"] == 0, run["message"]
    record = run["hosts"]["web2"]["evidence"]["patching"]
    assert [(a["name"], a["to"]) for a in record["applied"]] == [
        (aptrepo.KERNEL, "1.1"),
        (aptrepo.TOOL, "1.2"),
    ]
    reboot = record["reboot"]
    assert reboot["required"] is True and reboot["required_by"] == [aptrepo.KERNEL]
    assert reboot["done"] is True and reboot["pending"] is False
    assert reboot["boot_before"] != reboot["boot_after"]
    # The daemon was left to the reboot instead of being restarted just before it.
    assert record["services"]["restarted"] == []
    assert record["services"]["restarted_by_reboot"] == [aptrepo.SERVICE]
    assert record["health"]["after"]["ok"] is True
    # The container really restarted, and came back healthy without the flag.
    assert boot_mark(patched, "web2") != before
    assert boot_mark(patched, "web2") == reboot["boot_after"].rsplit("/", 1)[1]
    ssh(patched, "web2", "test ! -e /var/run/reboot-required && systemctl is-active nginx")
    restarts = subprocess.run(
        ["podman", "inspect", "--format", "{{.RestartCount}}", patched.host("web2")["name"]],
        capture_output=True, text=True, check=True, env=patched.env,
    ).stdout.strip()  # fmt: skip
    assert int(restarts) >= 1


def test_never_records_the_pending_reboot(patched: Lab) -> None:
    reset(patched, "web3")
    vars_file(patched, "web3").parent.mkdir(exist_ok=True)
    vars_file(patched, "web3").write_text("patching_scope: all\npatching_reboot: never\n")
    before = boot_mark(patched, "web3")
    try:
        run = patch(patched, "--limit", "web3")
    finally:
        vars_file(patched, "web3").unlink()
    assert run["exit_code"] == 0, run["message"]
    record = run["hosts"]["web3"]["evidence"]["patching"]
    assert version(patched, "web3", aptrepo.KERNEL) == "1.1"
    reboot = record["reboot"]
    assert reboot["policy"] == "never" and reboot["required"] is True
    assert reboot["pending"] is True and reboot["done"] is False and reboot["boot_after"] is None
    # Not rebooted, so the service that needed it was restarted now (with scope all, a real
    # Debian update the image lacks may make needrestart restart others too, e.g. PHP-FPM).
    assert aptrepo.SERVICE in record["services"]["restarted"]
    assert record["services"]["restarted_by_reboot"] == [] and record["services"]["deferred"] == []
    assert boot_mark(patched, "web3") == before
    ssh(patched, "web3", "test -e /var/run/reboot-required")
    text = patched.omctl("show", run["id"])
    assert "reboot pending" in text.stdout


def hold_apt_lock(lab: Lab, name: str, until_waited_on: bool = False) -> int:
    """Hold dpkg's frontend lock the way apt does (an fcntl lock); the holder's PID.

    With ``until_waited_on`` the holder lets go 3 s after another process first opens the lock
    file (inotify): the patching preflight's first look, however long the run took to get
    there. Otherwise it holds until its unit is stopped.
    """
    script = f"""
import ctypes, fcntl, os, time
PATH = b"/var/lib/dpkg/lock-frontend"
IN_OPEN = 0x20
lock = open(PATH, "w")
fcntl.lockf(lock, fcntl.LOCK_EX)
if {until_waited_on}:
    libc = ctypes.CDLL(None, use_errno=True)
    watch = libc.inotify_init()
    if watch < 0 or libc.inotify_add_watch(watch, PATH, IN_OPEN) < 0:
        raise OSError(ctypes.get_errno(), "inotify")
    os.read(watch, 4096)  # blocks until someone else opens the lock file
    time.sleep(3)
else:
    time.sleep(3600)
"""
    ssh(lab, name, "cat > /root/omctl-aptlock.py", data=script.encode())
    ssh(lab, name, f"systemd-run --unit={LOCK_UNIT} --quiet python3 /root/omctl-aptlock.py")
    pid = int(ssh(lab, name, f"systemctl show --property=MainPID --value {LOCK_UNIT}"))
    deadline = time.monotonic() + 10
    while f" {pid} " not in ssh(lab, name, "cat /proc/locks"):
        assert time.monotonic() < deadline, "the lock holder never took the lock"
        time.sleep(0.2)
    return pid


def test_held_apt_lock_waits_its_bound_then_fails_clearly(patched: Lab) -> None:
    reset(patched, "web1")
    pid = hold_apt_lock(patched, "web1")
    try:
        run = patch(patched, "--limit", "web1")
    finally:
        ssh(patched, "web1", f"systemctl stop {LOCK_UNIT}")
    assert run["exit_code"] == 1
    record = run["hosts"]["web1"]["evidence"]["patching"]
    assert record["message"].startswith(
        f"apt is locked by PID {pid} (python3 /root/omctl-aptlock.py) "
    )
    assert f"for more than {LOCK_TIMEOUT} s (/var/lib/dpkg/lock-frontend)" in record["message"]
    lock = record["preflight"]["lock"]
    assert lock["free"] is False and lock["timeout_s"] == LOCK_TIMEOUT
    assert lock["waited_s"] >= LOCK_TIMEOUT  # it waited its bound before giving up
    assert record["applied"] == [] and record["plan"] == []
    assert version(patched, "web1", aptrepo.TOOL) == "1.0"


def test_lock_released_within_the_bound_lets_patching_go_on(patched: Lab) -> None:
    reset(patched, "web1")
    # Held when the run reaches its preflight, released a few seconds later: within the bound.
    vars_file(patched, "web1").parent.mkdir(exist_ok=True)
    vars_file(patched, "web1").write_text("patching_lock_timeout: 120\n")
    pid = hold_apt_lock(patched, "web1", until_waited_on=True)
    try:
        run = patch(patched, "--limit", "web1")
    finally:
        vars_file(patched, "web1").unlink()
        ssh(patched, "web1", f"systemctl stop {LOCK_UNIT} 2>/dev/null || true")
    assert run["exit_code"] == 0, run["message"]
    record = run["hosts"]["web1"]["evidence"]["patching"]
    lock = record["preflight"]["lock"]
    assert lock["free"] is True and [h["pid"] for h in lock["holders"]] == [pid]
    assert 0 < lock["waited_s"] < 120
    assert version(patched, "web1", aptrepo.TOOL) == "1.1"
