"""Decisions of the hardening role's preflight, taken on the controller from read-only probes.

Kept in Python so that each rule is explicit and testable: who sshd would let in with the
candidate settings, what the firewall would admit, what Lynis reported.
"""

from __future__ import annotations

import fnmatch
import hashlib
import ipaddress
from typing import Any

from ansible.errors import AnsibleFilterError

# sshd -T prints these once per value (or space separated on one line).
_MULTI = {
    "allowusers",
    "allowgroups",
    "denyusers",
    "denygroups",
    "port",
    "listenaddress",
    "authorizedkeysfile",
}


def sshd_settings(stdout: str) -> dict[str, Any]:
    """``sshd -T`` output as {option: value}; multi-valued options as lists."""
    settings: dict[str, Any] = {}
    for line in stdout.splitlines():
        key, _, value = line.strip().partition(" ")
        if not key:
            continue
        key = key.lower()
        if key in _MULTI:
            settings.setdefault(key, [])
            settings[key].extend(value.split())
        elif key == "authenticationmethods":  # lists of methods, separated by spaces
            settings.setdefault(key, value.split())
        else:
            settings.setdefault(key, value.strip())  # sshd's rule: the first value counts
    return settings


def _addr_matches(addr: str, pattern: str) -> bool:
    """sshd's host part of user@host: a CIDR, an address or a shell pattern."""
    if not addr:
        return False
    try:
        return ipaddress.ip_address(addr) in ipaddress.ip_network(pattern, strict=False)
    except ValueError:
        return fnmatch.fnmatchcase(addr, pattern)


def _user_matches(user: str, addr: str, pattern: str) -> bool:
    name, at, host = pattern.partition("@")
    if not fnmatch.fnmatchcase(user, name):
        return False
    return not at or _addr_matches(addr, host)


def ssh_refusals(settings: dict, user: dict, client_addr: str = "") -> list[str]:
    """Why the connecting user could not log in with the candidate sshd settings."""
    reasons: list[str] = []
    name = user.get("name", "")
    if not user.get("exists"):
        return [f"the connecting user {name!r} does not exist on the host"]
    groups = user.get("groups") or []
    where = f" from {client_addr}" if client_addr else ""
    allow_users = settings.get("allowusers") or []
    if allow_users and not any(_user_matches(name, client_addr, p) for p in allow_users):
        reasons.append(
            f"AllowUsers {' '.join(allow_users)} would not let the connecting user {name}{where} in"
        )
    deny_users = settings.get("denyusers") or []
    if any(_user_matches(name, client_addr, p) for p in deny_users):
        reasons.append(f"DenyUsers {' '.join(deny_users)} would refuse the connecting user {name}")
    allow_groups = settings.get("allowgroups") or []
    if allow_groups and not any(fnmatch.fnmatchcase(g, p) for g in groups for p in allow_groups):
        reasons.append(
            f"AllowGroups {' '.join(allow_groups)} would not let the connecting user {name} in "
            f"(member of {', '.join(groups) or 'no group'})"
        )
    deny_groups = settings.get("denygroups") or []
    if any(fnmatch.fnmatchcase(g, p) for g in groups for p in deny_groups):
        reasons.append(
            f"DenyGroups {' '.join(deny_groups)} would refuse the connecting user {name}"
        )
    root_login = str(settings.get("permitrootlogin", "")).lower()
    if user.get("uid") == 0 and root_login in ("no", "forced-commands-only"):
        reasons.append(
            f"PermitRootLogin {root_login} would refuse root, the user this run connects as"
        )
    keys_allowed = str(settings.get("pubkeyauthentication", "yes")).lower() == "yes"
    passwords = str(settings.get("passwordauthentication", "no")).lower() == "yes"
    if not keys_allowed and not passwords:
        reasons.append("neither public key nor password authentication would remain enabled")
    methods = settings.get("authenticationmethods") or ["any"]
    if "any" not in methods and not any(
        all(step.split(":")[0] == "publickey" for step in m.split(",")) for m in methods
    ):
        reasons.append(
            f"AuthenticationMethods {' '.join(methods)} would demand more than a key, "
            "and the connecting user has nothing else"
        )
    if not passwords and not user.get("authorized_keys"):
        files = ", ".join(user.get("key_files") or []) or "no authorized_keys file"
        reasons.append(
            f"the connecting user {name} has no authorized key ({files}) and password "
            "login would be disabled"
        )
    return reasons


def cidrs(values: list, family: str | None = None) -> list[str]:
    """Normalised networks, optionally of one family ('4' or '6'); invalid ones are errors."""
    networks = []
    for value in values or []:
        try:
            network = ipaddress.ip_network(str(value), strict=False)
        except ValueError as exc:
            raise AnsibleFilterError(f"not a network address: {value!r} ({exc})") from None
        if family is None or str(network.version) == str(family):
            networks.append(str(network))
    return networks


def addr_in(addr: str, networks: list) -> bool:
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


def firewall_plan(
    listeners: list,
    ssh_ports: list,
    web_ports: list,
    web_processes: list,
    tcp_ports: list,
    udp_ports: list,
) -> dict[str, Any]:
    """What the ruleset admits, and what listens now that it would drop."""
    web = [item for item in listeners if item.get("process") in web_processes]
    admitted_tcp = sorted(
        ({int(p) for p in (web_ports if web else [])} | {int(p) for p in tcp_ports})
        - {int(p) for p in ssh_ports}
    )
    everything_tcp = set(admitted_tcp) | {int(p) for p in ssh_ports}
    public = [item for item in listeners if not item.get("loopback")]
    web_dropped = sorted(
        {
            f"{item['port']}/{item['proto']} ({item['process']})"
            for item in public
            if item.get("process") in web_processes
            and (item["proto"] != "tcp" or item["port"] not in everything_tcp)
        }
    )
    others_dropped = sorted(
        {
            f"{item['port']}/{item['proto']} ({item.get('process') or 'unknown'})"
            for item in public
            if item.get("process") not in web_processes
            and item.get("process") not in ("sshd",)
            and item["port"] not in (everything_tcp if item["proto"] == "tcp" else set(udp_ports))
            and not (item["proto"] == "udp" and item["port"] in (68, 546))
        }
    )
    return {
        "web_server": sorted({item["process"] for item in web}),
        "ssh_ports": sorted({int(p) for p in ssh_ports}),
        "tcp_ports": admitted_tcp,
        "web_dropped": web_dropped,
        "others_dropped": others_dropped,
    }


def lynis_report(stdout: str) -> dict[str, Any]:
    """Index and warnings from the lines of a lynis-report.dat."""
    index = None
    warnings: list[str] = []
    for line in stdout.splitlines():
        if line.startswith("hardening_index="):
            value = line.partition("=")[2].strip()
            index = int(value) if value.isdigit() else None
        elif line.startswith("warning[]="):
            warnings.append(line.partition("=")[2].split("|")[0])
    return {"index": index, "warnings": len(warnings), "warning_tests": warnings}


def changed_items(result: dict, key: str = "item") -> list:
    """The loop items of a registered loop result that changed."""
    return [r.get(key) for r in (result or {}).get("results", []) if r.get("changed")]


def differing(current: dict, wanted: dict) -> list[dict]:
    """[{key, value}] of the wanted settings whose current value is another."""
    return [
        {"key": key, "value": str(value)}
        for key, value in wanted.items()
        if str((current or {}).get(key, "")) != str(value)
    ]


def permissions_to_fix(found: list, wanted: list) -> list[dict]:
    """The wanted {path, mode, owner, group} of existing files that differ."""
    by_path = {item["path"]: item for item in found or []}
    fixes = []
    for item in wanted or []:
        now = by_path.get(item["path"])
        if now is None:
            continue
        if any(
            str(item.get(key)) != str(now.get(key))
            for key in ("mode", "owner", "group")
            if item.get(key) is not None
        ):
            fixes.append(item)
    return fixes


def services_plan(
    enabled: list, allowed: list, unneeded: list, protected: list, disable_unlisted: bool
) -> dict[str, list[str]]:
    """Which enabled services to disable, and which stay although not allowed."""

    def listed(name: str, patterns: list) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in patterns or [])

    keep = list(allowed or []) + list(protected or [])
    disable = []
    unlisted = []
    for name in enabled or []:
        if listed(name, keep):
            continue
        if listed(name, unneeded) or disable_unlisted:
            disable.append(name)
        else:
            unlisted.append(name)
    return {"disable": sorted(disable), "unlisted": sorted(unlisted)}


def change_labels(entries: list) -> list[str]:
    """Labels of the registered results that changed: [label, result] or [label, result, key]
    (loop results: the label is followed by the changed items, or their ``key``)."""
    labels = []
    for entry in entries or []:
        label, result = entry[0], entry[1]
        key = entry[2] if len(entry) > 2 else None
        if not isinstance(result, dict) or not result.get("changed"):
            continue
        if "results" in result:
            items = []
            for item_result in result["results"]:
                if not item_result.get("changed"):
                    continue
                item = item_result.get("item")
                items.append(str(item.get(key) if key and isinstance(item, dict) else item))
            labels.append(f"{label} {', '.join(items)}".strip())
        else:
            labels.append(label)
    return labels


def files_to_write(managed: list, contents: list, found: dict) -> list[str]:
    """Paths of the managed files whose content, mode, owner or group is not the wanted one."""
    paths = []
    for item, content in zip(managed or [], contents or [], strict=False):
        now = (found or {}).get(item["path"]) or {}
        wanted = hashlib.sha1(str(content).encode("utf-8")).hexdigest()
        if (
            not now.get("exists")
            or now.get("sha1") != wanted
            or now.get("mode") != item.get("mode", now.get("mode"))
            or now.get("owner") != item.get("owner", "root")
            or now.get("group") != item.get("group", "root")
        ):
            paths.append(item["path"])
    return paths


def mark_reverted(changes: list, reverted: bool) -> list[str]:
    """After a revert, the sshd and firewall changes of the run are undone: say so."""
    if not reverted:
        return list(changes or [])
    return [
        f"{c} (undone by the automatic revert)" if c.startswith(("ssh:", "firewall:")) else c
        for c in changes or []
    ]


def selected(tag: str, run_tags: list, skip_tags: list) -> bool:
    """Whether --tags/--skip-tags select the concern tagged ``tag`` (and ``hardening``)."""
    run = set(run_tags or ["all"])
    skip = set(skip_tags or [])
    if tag in skip or "hardening" in skip:
        return False
    return bool(run & {"all", "hardening", tag})


def _answered(result: dict[str, Any]) -> str:
    error = f" {result['error']}" if result.get("error") else ""
    return f"{result.get('status')}{error}"


def site_refusals(before: list[dict[str, Any]], sites: list[dict[str, Any]]) -> list[str]:
    """Preflight: each site (a request of ``omctl_site_requests`` or the operator's URL) that
    does not answer as it must now; without a working site before, the role cannot prove it
    left it working."""
    return [
        f"the site does not answer {site['expected']} now ({site['label']} answered "
        f"{_answered(result)}): without a working site before, the role cannot prove it left "
        "it working; fix the site or set hardening_site_check_enabled: false"
        for site, result in zip(sites, before, strict=True)
        if result.get("status") not in site["status"]
    ]


def site_comparison(
    after: list[dict[str, Any]], before: list[dict[str, Any]], sites: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each site before and after the changes: the same if it answers the same status and the
    same content as before."""
    return [
        {
            "name": site["name"],
            "url": site["label"],
            "before": was,
            "after": now,
            "same": now.get("status") == was.get("status")
            and now.get("status") in site["status"]
            and now.get("sha256") == was.get("sha256"),
        }
        for site, was, now in zip(sites, before, after, strict=True)
    ]


def site_broken(comparison: list[dict[str, Any]]) -> list[str]:
    """What changed, per site that no longer answers as before."""
    return [
        f"{c['url']} answered {c['before'].get('status')} with {c['before'].get('bytes')} bytes "
        f"before and {_answered(c['after'])} with {c['after'].get('bytes')} bytes"
        + (" (different content)" if c["after"].get("status") == c["before"].get("status") else "")
        + " after"
        for c in comparison
        if not c["same"]
    ]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "hardening_sshd_settings": sshd_settings,
            "hardening_ssh_refusals": ssh_refusals,
            "hardening_cidrs": cidrs,
            "hardening_addr_in": addr_in,
            "hardening_firewall_plan": firewall_plan,
            "hardening_lynis_report": lynis_report,
            "hardening_changed_items": changed_items,
            "hardening_selected": selected,
            "hardening_mark_reverted": mark_reverted,
            "hardening_files_to_write": files_to_write,
            "hardening_change_labels": change_labels,
            "hardening_services_plan": services_plan,
            "hardening_differing": differing,
            "hardening_permissions_to_fix": permissions_to_fix,
            "hardening_site_refusals": site_refusals,
            "hardening_site_comparison": site_comparison,
            "hardening_site_broken": site_broken,
        }
