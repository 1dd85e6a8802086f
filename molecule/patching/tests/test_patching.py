"""Patching on a lab host: what converge upgraded, what --check leaves alone, WordPress via wp-cli.

Prepare installed omctl-demo-tool 1.0 (its daemon running, its configuration file edited
locally, marked automatically installed) and omctl-demo-kernel 1.0, and added a local
repository with tool 1.1 (bookworm-security), tool 1.2 and kernel 1.1 (bookworm-updates).
Converge ran the role with its defaults: security updates only.
"""

from __future__ import annotations

import base64
import json

import pytest

TOOL, KERNEL = "omctl-demo-tool", "omctl-demo-kernel"
INSTALLED = "/var/tmp/omctl-demo-installed"
PLAYBOOK = "maintenance/patching.yml"

# A stand-in for wp-cli (never downloaded): it answers the commands the role runs from a state
# file in the site, and logs who ran what.
WP_STUB = r"""#!/usr/bin/python3
import json, os, pwd, sys
args = [a for a in sys.argv[1:] if not a.startswith("--") or a.startswith("--field")]
path = next(a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--path="))
with open("/var/tmp/wp-stub.log", "a") as log:
    log.write(pwd.getpwuid(os.getuid()).pw_name + " " + " ".join(sys.argv[1:]) + "\n")
state_file = os.path.join(path, ".wp-stub.json")
state = json.load(open(state_file))
def save():
    json.dump(state, open(state_file, "w"))
cmd = args[:2]
if cmd == ["core", "version"]:
    print(state["core"])
elif cmd == ["core", "check-update"]:
    print(state["core_update"] or "Success: WordPress is at the latest version.")
elif cmd[1:] == ["list"]:
    kind = cmd[0] + "s"
    print(json.dumps([{"name": n, "status": "active", "version": v[0], "update_version": v[1]}
                      for n, v in sorted(state[kind].items())]))
elif cmd == ["core", "update"]:
    state["core"], state["core_update"] = state["core_update"], ""
    save(); print("Success: WordPress updated successfully.")
elif cmd == ["core", "update-db"]:
    print("Success: WordPress database upgraded successfully from db version 1 to 2.")
elif cmd[1:] == ["update"]:
    kind = cmd[0] + "s"
    for name in args[2:]:
        state[kind][name] = [state[kind][name][1], ""]
    save(); print("Success: Updated %d of %d." % (len(args) - 2, len(args) - 2))
elif cmd == ["core", "verify-checksums"]:
    if state.get("tampered"):
        print("Warning: File doesn't verify against checksum: wp-login.php", file=sys.stderr)
        print("Error: WordPress installation doesn't verify against checksums.", file=sys.stderr)
        sys.exit(1)
    print("Success: WordPress installation verifies against checksums.")
else:
    print("Error: unexpected command " + " ".join(args), file=sys.stderr)
    sys.exit(2)
"""


# Each host call is a separate ansible run here: the state is read in one go.
STATE = r"""
exec 2>/dev/null
tool=$(dpkg-query -W -f='${Version}' omctl-demo-tool)
kernel=$(dpkg-query -W -f='${Version}' omctl-demo-kernel)
pid=$(systemctl show --property=MainPID --value omctl-demo)
python3 - "$tool" "$kernel" "$pid" <<'PY'
import json, os, subprocess, sys
def out(*argv):
    return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
def read(path):
    try:
        return open(path).read()
    except OSError:
        return None
print(json.dumps({
    "tool": sys.argv[1], "kernel": sys.argv[2],
    "tool_says": out("omctl-demo-tool"),
    "reboot_flag": os.path.exists("/var/run/reboot-required"),
    "daemon_exe": os.readlink(f"/proc/{sys.argv[3]}/exe") if sys.argv[3] != "0" else None,
    "active": {u: out("systemctl", "is-active", u)
               for u in ("ssh", "nginx", "mariadb", "php8.2-fpm", "omctl-demo")},
    "page": out("curl", "-fsS", "http://localhost/"),
    "conf": read("/etc/omctl-demo/omctl-demo.conf"),
    "conf_dist": read("/etc/omctl-demo/omctl-demo.conf.dpkg-dist"),
    "auto": out("apt-mark", "showauto").split(),
    "fingerprint": out("sha256sum", "/var/lib/dpkg/status", "/var/lib/apt/extended_states",
                       "/etc/omctl-demo/omctl-demo.conf"),
}))
PY
"""


def state(host) -> dict:
    return json.loads(host.check_output(STATE))


def fingerprint(current: dict) -> dict:
    """What --check must leave alone: dpkg and apt state, versions, the daemon, the flag."""
    keys = ("fingerprint", "tool", "kernel", "daemon_exe", "reboot_flag", "conf")
    return {key: current[key] for key in keys}


# --- what converge did ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def converged(host) -> dict:
    return state(host)


def test_converge_applied_the_security_update_only(converged):
    # 1.1 is the security version; 1.2 (the candidate, from bookworm-updates) is not.
    assert (converged["tool"], converged["kernel"]) == ("1.1", "1.0")
    assert converged["tool_says"] == "1.1"
    assert converged["reboot_flag"] is False


def test_the_daemon_runs_the_new_binary(converged):
    # The upgrade replaced the binary under the daemon; needrestart listed it, the role
    # restarted it.
    assert converged["active"]["omctl-demo"] == "active"
    assert converged["daemon_exe"] == "/usr/lib/omctl-demo/omctl-demo-daemon"  # not "(deleted)"


def test_services_up_and_site_answers(converged):
    assert set(converged["active"].values()) == {"active"}, converged["active"]
    assert "omctl lab site" in converged["page"]


def test_local_configuration_was_kept(converged):
    assert "local_change = kept" in converged["conf"] and "shipped_with = 1.0" in converged["conf"]
    # The package's new version sits beside it for the administrator.
    assert "shipped_with = 1.1" in converged["conf_dist"]


def test_automatic_install_mark_is_kept(converged):
    assert TOOL in converged["auto"]


# --- --check, and WordPress through wp-cli -----------------------------------------------------


@pytest.fixture
def back_to_1_0(host):
    """The 1.0 packages again (the 1.1 and 1.2 upgrades stay available), no reboot flag
    (reinstalling the demo kernel package flags a reboot, like an upgrade)."""
    host.run_expect([0], (
        "DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold --force-confdef "
        f"{INSTALLED}/*.deb && apt-mark auto omctl-demo-tool && systemctl restart omctl-demo && "
        "rm -f /var/run/reboot-required /var/run/reboot-required.pkgs"
    ))  # fmt: skip
    yield
    host.run("rm -f /var/run/reboot-required /var/run/reboot-required.pkgs")


GOOD, TAMPERED = "/var/www/good", "/var/www/tampered"


@pytest.fixture
def wp_sites(host):
    """Two upstream sites owned by www-data (found by discovery), each with a core, a plugin
    and a theme update and a leftover .maintenance file. wp-cli is WP_STUB."""
    stub = base64.b64encode(WP_STUB.encode()).decode()
    state = {
        "core": "6.4.2", "core_update": "6.4.3",
        "plugins": {"akismet": ["5.0", "5.1"], "hello": ["1.7", ""]},
        "themes": {"twentytwentyfour": ["1.0", "1.1"]},
    }  # fmt: skip
    encoded = base64.b64encode(json.dumps(state).encode()).decode()
    script = f"echo {stub} | base64 -d > /usr/local/bin/wp && chmod 755 /usr/local/bin/wp"
    for site in (GOOD, TAMPERED):
        script += (
            # wp-includes/version.php: what discovery finds an install by.
            f" && mkdir -p {site}/wp-includes && echo '<?php' > {site}/wp-config.php && "
            f"echo \"<?php \\$wp_version = '6.4.2';\" > {site}/wp-includes/version.php && "
            f"touch {site}/.maintenance && echo {encoded} | base64 -d > {site}/.wp-stub.json && "
            f"chown -R www-data: {site}"
        )
    host.run_expect([0], script + " && rm -f /var/tmp/wp-stub.log")
    yield
    host.run(f"rm -rf /usr/local/bin/wp {GOOD} {TAMPERED} /var/tmp/wp-stub.log")


WP_FILES = f"""python3 -c '
import json, os
sites = ("{GOOD}", "{TAMPERED}")
print(json.dumps({{site: {{
    "core": json.load(open(site + "/.wp-stub.json"))["core"],
    "maintenance": os.path.exists(site + "/.maintenance")}} for site in sites}}))'
"""


def wp_files(host) -> dict:
    return json.loads(host.check_output(WP_FILES))


def test_check_mode_shows_the_plan_and_changes_nothing(
    host, run_playbook, hostname, back_to_1_0, wp_sites
):
    before = fingerprint(state(host))
    assert before["tool"] == "1.0"
    # The steps that change things (the sequence's check step ran the whole role in --check).
    steps = "patching_apt,patching_services,patching_wordpress,patching_reboot"
    run = run_playbook(PLAYBOOK, cmdline=f"--check --tags {steps}")
    assert run.status == "successful", run.stdout
    assert fingerprint(state(host)) == before
    untouched = {"core": "6.4.2", "maintenance": True}
    assert wp_files(host) == {GOOD: untouched, TAMPERED: untouched}
    record = run.evidence["patching"][hostname]
    assert record["check"] is True and record["status"] == "planned"
    assert record["plan"] == [{
        "name": TOOL, "from": "1.0", "to": "1.1", "security": True,
        "origin": "omctl-test bookworm-security", "new": False, "requested": True,
    }]  # fmt: skip
    assert record["deferred"] == [
        {"name": KERNEL, "from": "1.0", "to": "1.1", "reason": "not a security update"}
    ]
    assert record["applied"] == [] and record["lists_refreshed"] is False
    assert record["services"]["checker"] == "needrestart"
    assert record["reboot"]["required"] is False and record["reboot"]["done"] is False
    sites = record["wordpress"]["sites"]
    assert [s["path"] for s in sites] == [GOOD, TAMPERED]
    assert sites[0]["updates"] == {
        "core": "6.4.3",
        "plugins": ["akismet"],
        "themes": ["twentytwentyfour"],
    }
    assert sites[0]["before"] == sites[0]["after"]


def test_wordpress_updates_through_wp_cli_and_a_site_that_does_not_verify_fails(
    host, run_playbook, hostname, wp_sites
):
    host.run_expect([0], (
        f"python3 -c \"import json; p = '{TAMPERED}/.wp-stub.json'; s = json.load(open(p)); "
        "s['tampered'] = True; json.dump(s, open(p, 'w'))\""
    ))  # fmt: skip
    run = run_playbook(PLAYBOOK, cmdline="--tags patching_wordpress")
    assert run.status == "failed"
    record = run.evidence["patching"][hostname]
    assert record["wordpress"]["wp_cli"] == "/usr/local/bin/wp"
    good, tampered = record["wordpress"]["sites"]
    assert good["path"] == GOOD and good["owner"] == "www-data"
    assert good["before"] == {
        "core": "6.4.2",
        "plugins": {"akismet": "5.0", "hello": "1.7"},
        "themes": {"twentytwentyfour": "1.0"},
    }
    assert good["after"] == {
        "core": "6.4.3",
        "plugins": {"akismet": "5.1", "hello": "1.7"},
        "themes": {"twentytwentyfour": "1.1"},
    }
    assert good["checksums_ok"] is True and good["maintenance_file_removed"] is True
    assert tampered["checksums_ok"] is False and "doesn't verify" in tampered["checksums"]
    assert wp_files(host) == {
        GOOD: {"core": "6.4.3", "maintenance": False},
        TAMPERED: {"core": "6.4.3", "maintenance": False},
    }
    # The tampered site fails the host, naming it alone.
    assert record["status"] == "failed"
    assert (
        record["message"] == f"WordPress core checksums do not verify after the update: {TAMPERED}"
    )
    assert run.failure_messages(hostname)[-1] == record["message"]
    log = host.check_output("cat /var/tmp/wp-stub.log").splitlines()
    # Run as the site's owner, never as root; the database follows the core.
    assert log and all(line.startswith("www-data ") for line in log)
    commands = [
        " ".join(a for a in line.split()[1:] if not a.startswith("--"))
        for line in log
        if f"--path={GOOD} " in line
    ]
    assert commands.index("core update") < commands.index("core update-db")
    assert "plugin update akismet" in commands and "theme update twentytwentyfour" in commands
    assert commands.index("core update-db") < commands.index("core verify-checksums")


# --- preflight ---------------------------------------------------------------------------------


def test_an_interrupted_dpkg_run_is_finished_first(host, run_playbook, hostname, back_to_1_0):
    # Unpacked but never configured, as when dpkg is killed half-way; dpkg itself says so.
    audit = host.check_output(
        "dpkg --unpack /srv/omctl-test-repo/pool/bookworm-security/omctl-demo-tool_1.1_*.deb "
        ">/dev/null && dpkg --audit"
    )
    assert "omctl-demo-tool" in audit
    run = run_playbook(PLAYBOOK, cmdline="--tags patching_preflight")
    assert run.status == "successful", run.stdout
    preflight = run.evidence["patching"][hostname]["preflight"]
    assert preflight["dpkg_interrupted"] is True and preflight["dpkg_repaired"] is True
    assert any("omctl-demo-tool" in line for line in preflight["dpkg_audit"])
    assert preflight["lock"]["free"] is True and all(d["ok"] for d in preflight["disk"])
    # Finished with the upgrade's dpkg options: the locally changed conffile did not stop it.
    after = host.check_output(
        "dpkg --audit; dpkg-query -W -f='${db:Status-Abbrev}${Version}' omctl-demo-tool"
    )
    assert after == "ii 1.1"
