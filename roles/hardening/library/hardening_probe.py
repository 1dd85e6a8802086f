#!/usr/bin/python
"""Read-only probe of what the hardening role needs to know about a host, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
module: hardening_probe
short_description: Read what the hardening role needs to know about a host, changing nothing
description:
  - One round trip instead of a task per question, which keeps an idempotent run fast.
  - With O(mode=full) it reads the session, root, the host keys, C(sshd -T) of the candidate
    drop-in (tested in a private temporary folder that is removed), the login user and its
    authorized keys, the listeners, the firewall state, the packages and units, the running and
    enabled services, whether the last Lynis audit still describes the host, the managed files'
    checksums, the front pages, the permissions, the WordPress configurations, the compilers and
    C(/etc/login.defs).
  - With O(mode=sites) it only requests the sites, with O(mode=compilers) it only resolves the
    compilers.
  - Changes nothing, in check mode or not.
options:
  mode:
    description: What to read.
    type: str
    choices: [full, sites, compilers]
    default: full
  user:
    description: The login user (empty for the user the module runs as).
    type: str
    default: ""
  session:
    description:
      - C(SSH_CONNECTION) of the login user, split ("client-address client-port server-address
        server-port"); sudo clears it. Empty to read the module's own environment.
    type: list
    elements: str
    default: []
  sshd_candidate:
    description: The sshd drop-in to test, included before C(/etc/ssh/sshd_config); null tests the
      configuration as it is.
    type: str
  ssh_port:
    description: The SSH port the candidate is tested for (C(lport) of C(sshd -T -C)).
    type: int
    default: 22
  state_dir:
    description: The role's state folder (Lynis reports, the loaded ruleset's fingerprint).
    type: path
    default: /var/lib/omctl-hardening
  nft_file:
    description: The ruleset file.
    type: path
    default: /etc/nftables.conf
  nft_table:
    description: The role's nftables table (family inet).
    type: str
    default: omctl_hardening
  marker:
    description: The text that marks a ruleset file as written by the role.
    type: str
    default: omctl hardening firewall
  revert_unit:
    description: The transient unit of the armed automatic revert.
    type: str
    default: omctl-hardening-revert
  packages:
    description: Packages whose installed state is read.
    type: list
    elements: str
    default: []
  units:
    description: Units whose enabled and active state is read.
    type: list
    elements: str
    default: []
  lynis_reuse_hours:
    description: How old the last recorded audit may be to be reused; 0 never reuses it.
    type: float
    default: 0
  permission_paths:
    description: Paths whose mode and owner are read.
    type: list
    elements: path
    default: []
  wordpress_paths:
    description:
      - Folders searched (4 levels deep) for WordPress configurations holding C(DB_PASSWORD).
    type: list
    elements: path
    default: []
  compilers:
    description: Compiler names resolved to real files in C(/usr/bin:/usr/local/bin:/bin).
    type: list
    elements: str
    default: []
  login_defs_keys:
    description: Keys read from C(/etc/login.defs).
    type: list
    elements: str
    default: []
  managed_paths:
    description: The files the role writes, whose sha1, mode and owner are read.
    type: list
    elements: path
    default: []
  sites:
    description:
      - Front pages to request, each C(url) with optional C(headers), C(validate_certs) (default
        true) and C(follow_redirects) (default true). The body stays on the host.
    type: list
    elements: dict
    default: []
author: omctl
"""

EXAMPLES = r"""
- name: Request the front pages
  hardening_probe:
    mode: sites
    sites: [{url: "http://127.0.0.1/", follow_redirects: false}]
  register: found
"""

RETURN = r"""
sites:
  description: Per wanted site, in order (O(mode=full) and O(mode=sites)); C(status) -1 and
    C(error) when it did not answer.
  returned: mode is full or sites
  type: list
  elements: dict
  sample: [{status: 200, sha256: "9f86d0...", bytes: 5120}]
compilers:
  description: The compilers found, by real path, with C(mode), C(owner), C(group) and
    C(override) (a dpkg-statoverride exists).
  returned: mode is full or compilers
  type: list
  elements: dict
uid:
  description: The uid the module runs as.
  returned: mode is full
  type: int
session:
  description: The session addresses used ("client-address client-port server-address server-port").
  returned: mode is full
  type: list
  elements: str
container:
  description: The container type (C(systemd-detect-virt --container)), empty on a machine.
  returned: mode is full
  type: str
host_keys:
  description: The public host keys ("type base64"), ed25519 first.
  returned: mode is full
  type: list
  elements: str
sshd:
  description: C(rc), C(stdout) and C(stderr) of C(sshd -T) of the candidate; the candidate's
    path reads CANDIDATE in C(stderr).
  returned: mode is full
  type: dict
user:
  description: The login user (C(name), C(exists), C(uid), C(home), C(groups), C(authorized_keys)
    counted in the C(key_files) sshd reads).
  returned: mode is full
  type: dict
listeners:
  description: Listening sockets (C(proto), C(addr), C(port), C(iface), C(process), C(loopback)).
  returned: mode is full
  type: list
  elements: dict
ssh_socket_active:
  description: Whether sshd is socket-activated (ssh.socket active).
  returned: mode is full
  type: bool
sshd_includes_dropins:
  description: Whether C(/etc/ssh/sshd_config) includes C(/etc/ssh/sshd_config.d/*.conf).
  returned: mode is full
  type: bool
firewall_conflicts:
  description: Other firewall managers active (ufw, firewalld).
  returned: mode is full
  type: list
  elements: str
nftables_conf:
  description: Whether the ruleset file C(exists), is Debian's C(stock) one or C(ours).
  returned: mode is full
  type: dict
nft:
  description: sha256 of the C(live) table ("absent" when not loaded, null without nft) and the
    C(recorded) one of the last load.
  returned: mode is full
  type: dict
revert_pending:
  description: Whether an automatic revert is still armed.
  returned: mode is full
  type: bool
packages:
  description: Installed state per asked package.
  returned: mode is full
  type: dict
services_hash:
  description: sha256 of the running services' names, one a line.
  returned: mode is full
  type: str
services_running:
  description: The running service units.
  returned: mode is full
  type: list
  elements: str
services_enabled:
  description: The enabled services, without the C(.service) suffix; null when systemd could not
    list them (three tries).
  returned: mode is full
  type: list
  elements: str
lynis_reuse:
  description: Whether the last recorded audit still describes the host (C(valid), C(reason),
    and when valid C(report), C(audited_at) and its C(lines)).
  returned: mode is full
  type: dict
units:
  description: C(enabled) and C(active) per asked unit.
  returned: mode is full
  type: dict
managed:
  description: Per managed path C(exists) and C(sha1) ("" when absent), with C(mode), C(owner)
    and C(group) when it exists.
  returned: mode is full
  type: dict
files:
  description: Mode and owner of the permission paths that exist.
  returned: mode is full
  type: list
  elements: dict
wordpress_configs:
  description: Mode and owner of the WordPress configurations found.
  returned: mode is full
  type: list
  elements: dict
login_defs:
  description: The asked keys of C(/etc/login.defs) that are set.
  returned: mode is full
  type: dict
state_dir:
  description: Whether the state folder exists.
  returned: mode is full
  type: bool
modules_dir:
  description: Whether C(/etc/modprobe.d) exists.
  returned: mode is full
  type: bool
coredump_dir:
  description: Whether C(/etc/systemd/coredump.conf.d) exists.
  returned: mode is full
  type: bool
"""

import contextlib
import fnmatch
import grp
import hashlib
import os
import pwd
import re
import shutil
import ssl
import stat
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from ansible.module_utils.basic import AnsibleModule

ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}


def run(*argv, timeout=60):
    """(rc, stdout) of a command; a missing tool is rc 127."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=ENV, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return 127, ""
    return done.returncode, done.stdout


def file_info(path):
    try:
        st = os.lstat(path)
    except OSError:
        return None
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return {
        "path": path,
        "mode": f"{stat.S_IMODE(st.st_mode):04o}",
        "owner": owner,
        "group": group,
        "is_dir": stat.S_ISDIR(st.st_mode),
    }


def user_info(name, key_files):
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return {"name": name, "exists": False, "groups": [], "authorized_keys": 0, "key_files": []}
    groups = set()
    for gid in os.getgrouplist(name, entry.pw_gid):
        with contextlib.suppress(KeyError):
            groups.add(grp.getgrgid(gid).gr_name)
    keys = 0
    files = []
    for pattern in key_files or [".ssh/authorized_keys", ".ssh/authorized_keys2"]:
        if pattern == "none":
            continue
        path = pattern.replace("%%", "\0").replace("%h", entry.pw_dir).replace("%u", name)
        path = path.replace("%U", str(entry.pw_uid)).replace("\0", "%")
        if not path.startswith("/"):
            path = os.path.join(entry.pw_dir, path)
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                count = sum(
                    1 for line in handle if line.strip() and not line.lstrip().startswith("#")
                )
        except OSError:
            continue
        files.append(path)
        keys += count
    return {
        "name": name,
        "exists": True,
        "uid": entry.pw_uid,
        "home": entry.pw_dir,
        "groups": sorted(groups),
        "authorized_keys": keys,
        "key_files": files,
    }


_SS_PROCESS = re.compile(r'\("([^"]+)",pid=')


def parse_ss(out, proto):
    """The listeners of ``ss -Hl{t,u}np`` output."""
    found = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        local = fields[3]
        addr, _, port = local.rpartition(":")
        if not port.isdigit():
            continue
        addr = addr.strip("[]")
        if "%" in addr:  # 0.0.0.0%lo
            addr, _, iface = addr.partition("%")
        else:
            iface = ""
        match = _SS_PROCESS.search(line)
        found.append(
            {
                "proto": proto,
                "addr": addr,
                "port": int(port),
                "iface": iface,
                "process": match.group(1) if match else "",
                "loopback": addr.startswith("127.") or addr == "::1" or iface == "lo",
            }
        )
    return found


def listeners():
    found = []
    for proto, flag in (("tcp", "-Hltnp"), ("udp", "-Hlunp")):
        rc, out = run("ss", flag)
        if rc == 0:
            found.extend(parse_ss(out, proto))
    return found


def unit_active(name):
    return run("systemctl", "is-active", "--quiet", name)[0] == 0


def dpkg_status(packages):
    _rc, out = run("dpkg-query", "-W", "-f", "${Package}\t${db:Status-Abbrev}\n", *packages)
    status = {name: False for name in packages}
    for line in out.splitlines():
        name, _, abbrev = line.partition("\t")
        if name in status:
            status[name] = abbrev.startswith("ii")
    return status


def conffile_md5(package, path):
    _rc, out = run("dpkg-query", "-W", "-f", "${Conffiles}\n", package)
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == path:
            return fields[1]
    return None


def md5_of(path):
    try:
        with open(path, "rb") as handle:
            return hashlib.md5(handle.read()).hexdigest()
    except OSError:
        return None


def nft_state(table, state_dir):
    loaded = None
    if shutil.which("nft", path=ENV["PATH"]):
        rc, out = run("nft", "-s", "list", "table", "inet", table)
        loaded = hashlib.sha256(out.encode()).hexdigest() if rc == 0 else "absent"
    try:
        with open(os.path.join(state_dir, "nft.sha256"), encoding="utf-8") as handle:
            recorded = handle.read().strip()
    except OSError:
        recorded = None
    return {"live": loaded, "recorded": recorded}


def nftables_conf(path, marker):
    info = {"exists": os.path.exists(path), "stock": False, "ours": False}
    if info["exists"]:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                head = handle.read(4096)
        except OSError:
            head = ""
        info["ours"] = marker in head
        stock = conffile_md5("nftables", path)
        info["stock"] = stock is not None and stock == md5_of(path)
    return info


def systemctl_list(*argv, attempts=3):
    """The first column of a ``systemctl list-*`` listing, or None when systemd did not answer
    (its D-Bus calls time out on a busy host): an empty answer would read as "no service"."""
    for _ in range(attempts):
        rc, out = run("systemctl", *argv, "--no-legend", "--plain", "--no-pager")
        if rc == 0:
            return [line.split()[0] for line in out.splitlines() if line.split()]
    return None


def running_services():
    return sorted(systemctl_list("list-units", "--type=service", "--state=running") or [])


def enabled_services():
    """The enabled services without ``.service``; None when systemd could not list them."""
    units = systemctl_list("list-unit-files", "--type=service", "--state=enabled")
    if units is None:
        return None
    return sorted(u[: -len(".service")] for u in units if u.endswith(".service"))


def newer_than(roots, moment, skip):
    """The first file under roots changed (content or metadata) after moment."""
    for root in roots:
        if not os.path.exists(root):
            continue
        if os.path.isfile(root):
            st = os.lstat(root)
            if max(st.st_mtime, st.st_ctime) > moment:
                return root
            continue
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = os.path.join(folder, name)
                if any(path.startswith(s) for s in skip):
                    continue
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if max(st.st_mtime, st.st_ctime) > moment:
                    return path
    return None


def lynis_reuse(state_dir, hours, services_hash):
    """Whether the last recorded audit still describes this host."""
    report = os.path.join(state_dir, "lynis-after.dat")
    if hours <= 0:
        return {"valid": False, "reason": "reuse disabled"}
    try:
        st = os.stat(report)
    except OSError:
        return {"valid": False, "reason": "no earlier audit"}
    age = time.time() - st.st_mtime
    if age > hours * 3600:
        return {"valid": False, "reason": f"the earlier audit is {int(age // 3600)} h old"}
    try:
        with open(report + ".services", encoding="utf-8") as handle:
            recorded = handle.read().strip()
    except OSError:
        recorded = ""
    if recorded != services_hash:
        return {"valid": False, "reason": "the running services changed"}
    changed = newer_than(
        ["/etc", "/var/lib/dpkg/status", "/root/.ssh", "/usr/local/sbin", "/usr/local/bin"],
        st.st_mtime,
        skip=["/etc/mtab", "/etc/.pwd.lock"],
    )
    if changed:
        return {"valid": False, "reason": f"{changed} changed since the earlier audit"}
    return {
        "valid": True,
        "report": report,
        "audited_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime)),
        "reason": "nothing under /etc, no package and no running service changed since",
    }


def wordpress_configs(roots):
    found = []
    for root in roots:
        if not os.path.isdir(root):
            continue
        base_depth = root.rstrip("/").count("/")
        for folder, dirs, files in os.walk(root):
            if folder.count("/") - base_depth >= 4:
                dirs[:] = []
            for name in files:
                if name != "wp-config.php" and not fnmatch.fnmatch(name, "config-*.php"):
                    continue
                path = os.path.join(folder, name)
                try:
                    with open(path, encoding="utf-8", errors="replace") as handle:
                        if "DB_PASSWORD" not in handle.read(65536):
                            continue
                except OSError:
                    continue
                info = file_info(path)
                if info:
                    found.append(info)
    return found


def compilers(names):
    found = {}
    overrides = set()
    _rc, out = run("dpkg-statoverride", "--list")
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 4:
            overrides.add(fields[3])
    for name in names:
        path = shutil.which(name, path="/usr/bin:/usr/local/bin:/bin")
        if not path:
            continue
        real = os.path.realpath(path)
        info = file_info(real)
        if info and real not in found:
            info["override"] = real in overrides
            found[real] = info
    return sorted(found.values(), key=lambda item: item["path"])


def login_defs(keys):
    values = {}
    try:
        with open("/etc/login.defs", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) >= 2 and fields[0] in keys:
                    values[fields[0]] = fields[1]
    except OSError:
        pass
    return values


def revert_pending(unit):
    _rc, out = run("systemctl", "is-active", unit + ".timer")
    return out.strip() in ("active", "activating")


def managed_files(paths):
    """sha1, mode and owner of the files the role writes (sha1 "" when absent)."""
    found = {}
    for path in paths:
        info = file_info(path)
        if info is None or info["is_dir"]:
            found[path] = {"exists": False, "sha1": ""}
            continue
        with open(path, "rb") as handle:
            info["sha1"] = hashlib.sha1(handle.read()).hexdigest()
        info["exists"] = True
        found[path] = info
    return found


def sshd_candidate(text, connection):
    """``sshd -T`` of the candidate drop-in included before sshd_config (first value wins)."""
    folder = tempfile.mkdtemp(prefix="omctl-hardening.")
    try:
        wrapper = os.path.join(folder, "sshd-test.conf")
        with open(wrapper, "w", encoding="utf-8") as handle:
            if text is not None:
                candidate = os.path.join(folder, "00-omctl-hardening.conf")
                with open(candidate, "w", encoding="utf-8") as cand:
                    cand.write(text)
                handle.write(f"Include {candidate}\n")
            handle.write("Include /etc/ssh/sshd_config\n")
        try:
            done = subprocess.run(
                ["/usr/sbin/sshd", "-T", "-f", wrapper, "-C", connection],
                capture_output=True, text=True, timeout=60, env=ENV, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"rc": 127, "stdout": "", "stderr": str(exc)}
        stderr = done.stderr.replace(os.path.join(folder, "00-omctl-hardening.conf"), "CANDIDATE")
        return {"rc": done.returncode, "stdout": done.stdout, "stderr": stderr.strip()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def includes_dropins(path):
    """Whether sshd_config includes the drop-in folder the role writes to."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return any(
                re.match(r"^\s*Include\s+/etc/ssh/sshd_config\.d/\*\.conf\s*$", line, re.I)
                for line in handle
            )
    except OSError:
        return False


def sshd_key_files(stdout):
    for line in stdout.splitlines():
        key, _, value = line.partition(" ")
        if key.lower() == "authorizedkeysfile":
            return value.split()
    return []


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is the answer: its target may be a name that only resolves off the host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def site(url, headers, validate_certs, follow_redirects=True):
    """Status, sha256 and size of the page (the body itself stays on the host)."""
    request = urllib.request.Request(url, headers=headers or {})
    context = None if validate_certs else ssl._create_unverified_context()
    handlers = [urllib.request.HTTPSHandler(context=context)]
    if not follow_redirects:
        handlers.append(_NoRedirect())
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=20) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        body = exc.read() or b""
        status = exc.code
    except (OSError, ValueError) as exc:
        return {"status": -1, "sha256": "", "bytes": 0, "error": str(exc)}
    return {"status": status, "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}


def sites(wanted):
    """Each wanted site ({url, headers, validate_certs, follow_redirects}) as site() sees it."""
    return [
        site(
            w["url"],
            w.get("headers"),
            w.get("validate_certs", True),
            w.get("follow_redirects", True),
        )
        for w in wanted
    ]


def host_keys():
    keys = []
    for kind in ("ed25519", "ecdsa", "rsa"):
        try:
            with open(f"/etc/ssh/ssh_host_{kind}_key.pub", encoding="utf-8") as handle:
                fields = handle.read().split()
        except OSError:
            continue
        if len(fields) >= 2:
            keys.append(f"{fields[0]} {fields[1]}")
    return keys


def container():
    rc, out = run("systemd-detect-virt", "--container")
    return out.strip() if rc == 0 and out.strip() not in ("", "none") else ""


def unit_state(name):
    return {
        "enabled": run("systemctl", "is-enabled", "--quiet", name)[0] == 0,
        "active": unit_active(name),
    }


def read_report(path):
    lines = []
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [
                line.rstrip("\n")
                for line in handle
                if line.startswith(("hardening_index=", "warning[]="))
            ]
    except OSError:
        pass
    return "\n".join(lines)


def probe(args: dict) -> dict:
    """Everything the role reads before it changes anything (O(mode=full))."""
    state_dir = args["state_dir"]
    # Read by the controller as the login user: sudo clears SSH_CONNECTION.
    session = args.get("session") or os.environ.get("SSH_CONNECTION", "").split()
    user = args["user"] or pwd.getpwuid(os.getuid()).pw_name
    client = session[0] if len(session) == 4 else "127.0.0.1"
    local = session[2] if len(session) == 4 else "127.0.0.1"
    sshd = sshd_candidate(
        args.get("sshd_candidate"),
        f"user={user},host={client},addr={client},laddr={local},lport={args['ssh_port']}",
    )
    services = running_services()
    services_hash = hashlib.sha256("\n".join(services).encode()).hexdigest()
    reuse = lynis_reuse(state_dir, float(args["lynis_reuse_hours"]), services_hash)
    if reuse.get("valid"):
        reuse["lines"] = read_report(reuse["report"])
    return {
        "uid": os.getuid(),
        "session": session,
        "container": container(),
        "host_keys": host_keys(),
        "sshd": sshd,
        "user": user_info(user, sshd_key_files(sshd["stdout"])),
        "listeners": listeners(),
        "ssh_socket_active": unit_active("ssh.socket"),
        "sshd_includes_dropins": includes_dropins("/etc/ssh/sshd_config"),
        "firewall_conflicts": [u for u in ("ufw", "firewalld") if unit_active(u)],
        "nftables_conf": nftables_conf(args["nft_file"], args["marker"]),
        "nft": nft_state(args["nft_table"], state_dir),
        "revert_pending": revert_pending(args["revert_unit"]),
        "packages": dpkg_status(args["packages"]),
        "services_hash": services_hash,
        "services_running": services,
        "services_enabled": enabled_services(),
        "lynis_reuse": reuse,
        "units": {name: unit_state(name) for name in args.get("units") or []},
        "managed": managed_files(args.get("managed_paths") or []),
        "sites": sites(args.get("sites") or []),
        "files": [i for i in (file_info(p) for p in args["permission_paths"]) if i],
        "wordpress_configs": wordpress_configs(args["wordpress_paths"]),
        "compilers": compilers(args["compilers"]),
        "login_defs": login_defs(args["login_defs_keys"]),
        "state_dir": os.path.isdir(state_dir),
        "modules_dir": os.path.isdir("/etc/modprobe.d"),
        "coredump_dir": os.path.isdir("/etc/systemd/coredump.conf.d"),
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "mode": {"type": "str", "choices": ["full", "sites", "compilers"], "default": "full"},
            "user": {"type": "str", "default": ""},
            "session": {"type": "list", "elements": "str", "default": []},
            "sshd_candidate": {"type": "str"},
            "ssh_port": {"type": "int", "default": 22},
            "state_dir": {"type": "path", "default": "/var/lib/omctl-hardening"},
            "nft_file": {"type": "path", "default": "/etc/nftables.conf"},
            "nft_table": {"type": "str", "default": "omctl_hardening"},
            "marker": {"type": "str", "default": "omctl hardening firewall"},
            "revert_unit": {"type": "str", "default": "omctl-hardening-revert"},
            "packages": {"type": "list", "elements": "str", "default": []},
            "units": {"type": "list", "elements": "str", "default": []},
            "lynis_reuse_hours": {"type": "float", "default": 0},
            "permission_paths": {"type": "list", "elements": "path", "default": []},
            "wordpress_paths": {"type": "list", "elements": "path", "default": []},
            "compilers": {"type": "list", "elements": "str", "default": []},
            "login_defs_keys": {"type": "list", "elements": "str", "default": []},
            "managed_paths": {"type": "list", "elements": "path", "default": []},
            "sites": {"type": "list", "elements": "dict", "default": []},
        },
        supports_check_mode=True,
    )
    args = module.params
    if args["mode"] == "compilers":
        module.exit_json(changed=False, compilers=compilers(args["compilers"]))
    if args["mode"] == "sites":
        module.exit_json(changed=False, sites=sites(args["sites"]))
    module.exit_json(changed=False, **probe(args))


if __name__ == "__main__":
    main()
