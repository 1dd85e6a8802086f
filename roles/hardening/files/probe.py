"""Read-only probe of what the hardening role needs to know about a host, as one JSON object.

Run by the role as ``python3 -c <this file> <json arguments>``: one round trip instead of a
task per question, which keeps an idempotent run fast. It changes nothing on the host (the
candidate sshd configuration is tested in a private temporary folder that is removed), so it
runs in check mode too. ``{"mode": "site"}`` only requests the site.
"""

import contextlib
import fnmatch
import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ARGS = json.loads(sys.argv[1])
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


def listeners():
    found = []
    for proto, flag in (("tcp", "-Hltnp"), ("udp", "-Hlunp")):
        rc, out = run("ss", flag)
        if rc != 0:
            continue
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


def running_services():
    _rc, out = run(
        "systemctl", "list-units", "--type=service", "--state=running",
        "--no-legend", "--plain", "--no-pager",
    )  # fmt: skip
    return sorted(line.split()[0] for line in out.splitlines() if line.split())


def enabled_services():
    _rc, out = run(
        "systemctl", "list-unit-files", "--type=service", "--state=enabled",
        "--no-legend", "--plain", "--no-pager",
    )  # fmt: skip
    names = []
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0].endswith(".service"):
            names.append(fields[0][: -len(".service")])
    return sorted(names)


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


def main():
    if ARGS.get("mode") == "compilers":
        print(json.dumps(compilers(ARGS["compilers"])))
        return
    if ARGS.get("mode") == "sites":
        print(json.dumps(sites(ARGS["sites"])))
        return
    state_dir = ARGS["state_dir"]
    # Read by the controller as the login user: sudo clears SSH_CONNECTION.
    session = ARGS.get("session") or os.environ.get("SSH_CONNECTION", "").split()
    user = ARGS["user"] or pwd.getpwuid(os.getuid()).pw_name
    client = session[0] if len(session) == 4 else "127.0.0.1"
    local = session[2] if len(session) == 4 else "127.0.0.1"
    sshd = sshd_candidate(
        ARGS.get("sshd_candidate"),
        f"user={user},host={client},addr={client},laddr={local},lport={ARGS['ssh_port']}",
    )
    services = running_services()
    services_hash = hashlib.sha256("\n".join(services).encode()).hexdigest()
    includes = False
    try:
        with open("/etc/ssh/sshd_config", encoding="utf-8", errors="replace") as handle:
            includes = any(
                re.match(r"^\s*Include\s+/etc/ssh/sshd_config\.d/\*\.conf\s*$", line, re.I)
                for line in handle
            )
    except OSError:
        pass
    reuse = lynis_reuse(state_dir, float(ARGS["lynis_reuse_hours"]), services_hash)
    if reuse.get("valid"):
        reuse["lines"] = read_report(reuse["report"])
    result = {
        "uid": os.getuid(),
        "session": session,
        "container": container(),
        "host_keys": host_keys(),
        "sshd": sshd,
        "user": user_info(user, sshd_key_files(sshd["stdout"])),
        "listeners": listeners(),
        "ssh_socket_active": unit_active("ssh.socket"),
        "sshd_includes_dropins": includes,
        "firewall_conflicts": [u for u in ("ufw", "firewalld") if unit_active(u)],
        "nftables_conf": nftables_conf(ARGS["nft_file"], ARGS["marker"]),
        "nft": nft_state(ARGS["nft_table"], state_dir),
        "revert_pending": revert_pending(ARGS["revert_unit"]),
        "packages": dpkg_status(ARGS["packages"]),
        "services_hash": services_hash,
        "services_running": services,
        "services_enabled": enabled_services(),
        "lynis_reuse": reuse,
        "units": {name: unit_state(name) for name in ARGS.get("units", [])},
        "managed": managed_files(ARGS.get("managed_paths", [])),
        "sites": sites(ARGS.get("sites") or []),
        "files": [i for i in (file_info(p) for p in ARGS["permission_paths"]) if i],
        "wordpress_configs": wordpress_configs(ARGS["wordpress_paths"]),
        "compilers": compilers(ARGS["compilers"]),
        "login_defs": login_defs(ARGS["login_defs_keys"]),
        "state_dir": os.path.isdir(state_dir),
        "modules_dir": os.path.isdir("/etc/modprobe.d"),
        "coredump_dir": os.path.isdir("/etc/systemd/coredump.conf.d"),
    }
    print(json.dumps(result))


main()
