"""Parsers that turn the output of the baseline's read-only probes into evidence.

They run on the controller, so the managed host needs nothing but python3.
Every parser is tolerant: a line it does not understand is skipped, never fatal.
"""

from __future__ import annotations

import re

# Debian and Ubuntu name their security suites "<codename>-security"; older
# Debian releases only show the "Debian-Security" origin label.
_SECURITY_ORIGIN = re.compile(r"-security\b|^Debian-Security:", re.IGNORECASE)
# Inst <name> [<current>] (<candidate> <origin>[, <origin>...] [<arch>])
_APT_INST = re.compile(
    r"^Inst (?P<name>\S+) \[(?P<current>[^\]]+)\] "
    r"\((?P<candidate>\S+) (?P<origins>.*?)(?: \[(?P<arch>[^\]]+)\])?\)",
)
_SS_PROCESS = re.compile(r'\("([^"]+)",pid=')
_WP_VERSION = re.compile(r"^(?P<file>.+?):\s*\$wp_version\s*=\s*['\"](?P<version>[^'\"]+)['\"]")
_WP_SUFFIX = "/wp-includes/version.php"


def _int_or_none(value: str) -> int | None:
    value = value.strip().rstrip("%")
    return int(value) if value.isdigit() else None


def dpkg_packages(stdout: str) -> dict[str, str]:
    """Map installed package names to versions from `dpkg-query -W`.

    Expected format per line: ``<status abbrev>\\t<package>\\t<version>``; only
    packages whose desired/current status says installed (``?i``) are kept.
    """
    packages: dict[str, str] = {}
    for line in stdout.splitlines():
        fields = line.split("\t")
        if len(fields) != 3:
            continue
        status, name, version = fields
        if len(status) >= 2 and status[1] == "i":
            packages[name] = version
    return dict(sorted(packages.items()))


def apt_upgrades(stdout: str) -> list[dict]:
    """List the upgrades an `apt-get -s dist-upgrade` simulation would apply."""
    upgrades = []
    for line in stdout.splitlines():
        match = _APT_INST.match(line)
        if not match:
            # New dependencies ("Inst x (1.0 ...)") are not upgrades of anything.
            continue
        origins = [o.strip() for o in match["origins"].split(",") if o.strip()]
        upgrades.append(
            {
                "name": match["name"],
                "current": match["current"],
                "candidate": match["candidate"],
                "origins": origins,
                "security": any(_SECURITY_ORIGIN.search(o) for o in origins),
            },
        )
    return sorted(upgrades, key=lambda u: u["name"])


def ss_listeners(stdout: str) -> list[dict]:
    """Parse `ss -Hltnup` into proto/address/port/process entries."""
    listeners = {}
    for line in stdout.splitlines():
        fields = line.split(None, 6)
        if len(fields) < 5:
            continue
        address, _, port = fields[4].rpartition(":")
        # "[::]" and "127.0.0.53%lo": keep the bare address only.
        address = address.strip("[]").split("%", 1)[0] or "*"
        names = _SS_PROCESS.findall(fields[6]) if len(fields) > 6 else []
        entry = {
            "proto": fields[0],
            "address": address,
            "port": int(port) if port.isdigit() else port,
            # Several workers of one daemon share a socket: name it once.
            "process": ",".join(sorted(set(names))) or None,
        }
        listeners[(entry["proto"], entry["address"], str(entry["port"]))] = entry
    return sorted(
        listeners.values(),
        key=lambda e: (e["port"] if isinstance(e["port"], int) else -1, e["proto"], e["address"]),
    )


def df_usage(stdout: str) -> list[dict]:
    """Parse `df -B1 --output=<11 fields>`, fields as in the role's ``__baseline_df_fields``."""
    mounts = []
    for line in stdout.splitlines()[1:]:
        fields = line.split(None, 10)
        if len(fields) != 11:
            continue
        source, fstype, size, used, avail, pcent, itotal, iused, iavail, ipcent, target = fields
        mounts.append(
            {
                "mount": target,
                "device": source,
                "fstype": fstype,
                "size_bytes": _int_or_none(size),
                "used_bytes": _int_or_none(used),
                "available_bytes": _int_or_none(avail),
                "used_percent": _int_or_none(pcent),
                "inodes_total": _int_or_none(itotal),
                "inodes_used": _int_or_none(iused),
                "inodes_available": _int_or_none(iavail),
                # Filesystems without a fixed inode table (btrfs, vfat) report "-".
                "inodes_used_percent": _int_or_none(ipcent),
            },
        )
    return sorted(mounts, key=lambda m: m["mount"])


def _probe_version(result: dict, regex: str) -> str | None:
    if result.get("skipped") or result.get("rc") != 0:
        return None
    text = "\n".join([result.get("stdout", ""), result.get("stderr", "")])
    match = re.search(regex, text, re.MULTILINE)
    return match.group(1) if match else None


def webstack_versions(
    probes: list[dict], fpm_probes: list[dict], wordpress_stdout: str, fpm_regex: str
) -> dict:
    """Assemble nginx/php/mariadb/wordpress versions from the probe results.

    ``probes`` are loop results whose item is a probe ``{name, argv, regex}``;
    ``fpm_probes`` are loop results whose item is a php-fpm binary path;
    ``wordpress_stdout`` is ``find ... -exec grep -H '$wp_version'`` output.
    """
    stack: dict[str, dict] = {}
    for result in probes:
        probe = result.get("item") or {}
        name = probe.get("name")
        if not name:
            continue
        entry = stack.setdefault(name, {"installed": False, "version": None})
        if entry["installed"]:
            continue
        version = _probe_version(result, probe.get("regex", ""))
        if version:
            entry.update(installed=True, version=version, source=" ".join(probe.get("argv", [])))

    fpm = []
    for result in fpm_probes:
        version = _probe_version(result, fpm_regex)
        if version:
            fpm.append(
                {"binary": str(result.get("item", "")).rsplit("/", 1)[-1], "version": version}
            )
    if fpm:
        php = stack.setdefault("php", {"installed": False, "version": None})
        php["fpm"] = fpm
        if not php["installed"]:
            # No CLI: the FPM that serves the site is the PHP version that matters.
            php.update(installed=True, version=fpm[0]["version"], source=f"{fpm[0]['binary']} -v")

    sites = []
    for line in wordpress_stdout.splitlines():
        match = _WP_VERSION.match(line)
        if match and match["file"].endswith(_WP_SUFFIX):
            sites.append({"path": match["file"][: -len(_WP_SUFFIX)], "version": match["version"]})
    sites.sort(key=lambda s: s["path"])
    stack["wordpress"] = {
        "installed": bool(sites),
        "version": sites[0]["version"] if sites else None,
        "sites": sites,
    }
    return stack


class FilterModule:
    """Baseline parsers, prefixed with the role name to stay unique in a play."""

    def filters(self):
        return {
            "baseline_dpkg_packages": dpkg_packages,
            "baseline_apt_upgrades": apt_upgrades,
            "baseline_ss_listeners": ss_listeners,
            "baseline_df_usage": df_usage,
            "baseline_webstack_versions": webstack_versions,
        }
