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


def _on(value: Any) -> bool:
    """A switch as Ansible passes it: a bool, or a string such as "true" or "False"."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _managed(path: str, src: str, mode: str = "0644") -> dict[str, str]:
    return {"path": path, "src": src, "mode": mode}


def plan(on: dict, settings: dict) -> dict[str, Any]:
    """The files and packages of a run, before anything is read from the host.

    ``on``: the concerns this run selects (switch and tags). ``settings``: the role's paths
    (``sshd_dropin``, ``nft_file``, ``fail2ban_jail``, ``sysctl_file``), its switches
    (``enabled``: {concern: bool}, ``fail2ban_wordpress``, ``accounts_core_dumps``) and package
    lists (``auto_updates_packages``, ``accounts_packages``). Returns ``managed_files`` (every
    file the role writes for the selected concerns: path, template, mode), ``packages`` (those
    of the switched-on concerns, whose state the probe reads) and ``packages_selected`` (those
    of the selected concerns, installed in one transaction).
    """
    on = {concern: _on(value) for concern, value in (on or {}).items()}
    enabled = {concern: _on(value) for concern, value in (settings.get("enabled") or {}).items()}
    accounts_packages = list(settings.get("accounts_packages") or [])

    def packages(chosen: dict[str, bool]) -> list[str]:
        return (
            (["nftables"] if chosen.get("firewall") else [])
            + (["fail2ban", "python3-systemd"] if chosen.get("fail2ban") else [])
            + (
                list(settings.get("auto_updates_packages") or [])
                if chosen.get("auto_updates")
                else []
            )
            + (accounts_packages if chosen.get("accounts") else [])
        )

    files: list[dict[str, str]] = []
    if on.get("ssh"):
        files.append(
            _managed(
                settings["sshd_dropin"], "etc/ssh/sshd_config.d/00-omctl-hardening.conf.j2", "0600"
            )
        )
    if on.get("firewall"):
        files.append(_managed(settings["nft_file"], "etc/nftables.conf.j2"))
    if on.get("fail2ban"):
        files.append(_managed(settings["fail2ban_jail"], "etc/fail2ban/jail.local.j2"))
        if _on(settings.get("fail2ban_wordpress")):
            files.append(
                _managed(
                    "/etc/fail2ban/filter.d/omctl-wordpress.conf",
                    "etc/fail2ban/filter.d/omctl-wordpress.conf.j2",
                )
            )
    if on.get("sysctl"):
        files.append(_managed(settings["sysctl_file"], "etc/sysctl.d/90-omctl-hardening.conf.j2"))
        files.append(
            _managed(
                "/etc/modprobe.d/90-omctl-hardening.conf",
                "etc/modprobe.d/90-omctl-hardening.conf.j2",
            )
        )
    if on.get("auto_updates"):
        for name in ("20auto-upgrades", "52omctl-unattended-upgrades"):
            files.append(_managed(f"/etc/apt/apt.conf.d/{name}", f"etc/apt/apt.conf.d/{name}.j2"))
    if on.get("accounts"):
        if "libpam-pwquality" in accounts_packages:
            files.append(
                _managed(
                    "/etc/security/pwquality.conf.d/90-omctl-hardening.conf",
                    "etc/security/pwquality.conf.d/90-omctl-hardening.conf.j2",
                )
            )
        if not _on(settings.get("accounts_core_dumps")):
            for path in (
                "/etc/security/limits.d/90-omctl-hardening.conf",
                "/etc/systemd/coredump.conf.d/90-omctl-hardening.conf",
            ):
                files.append(_managed(path, path.lstrip("/") + ".j2"))
        files.append(
            _managed(
                "/etc/profile.d/90-omctl-hardening.sh", "etc/profile.d/90-omctl-hardening.sh.j2"
            )
        )
        files.append(_managed("/etc/issue", "etc/issue.j2"))
        files.append(_managed("/etc/issue.net", "etc/issue.j2"))
    return {
        "managed_files": files,
        "packages": packages(enabled),
        "packages_selected": packages(on),
    }


def refusals(probe: dict, context: dict) -> list[str]:
    """Every reason the preflight refuses the run before any change (the sites' apart).

    ``probe``: what hardening_probe read. ``context``: ``selected`` (the concerns),
    ``sshd`` (the candidate's settings), ``client_addr``, ``port_change``, ``revert_unit``,
    ``revert_after``, ``verify_timeout``, ``ssh_sources`` and ``firewall`` (firewall_plan).
    """
    on = {concern: _on(value) for concern, value in (context.get("selected") or {}).items()}
    client = context.get("client_addr") or ""
    reasons: list[str] = []
    if probe.get("revert_pending"):
        reasons.append(
            f"an automatic revert of an earlier run is still armed ({context['revert_unit']}"
            ".timer): wait until it has fired"
        )
    if on.get("ssh"):
        reasons += ssh_refusals(context.get("sshd") or {}, probe.get("user") or {}, client)
        if not probe.get("sshd_includes_dropins"):
            reasons.append(
                "/etc/ssh/sshd_config does not include /etc/ssh/sshd_config.d/*.conf, so the "
                "drop-in would not apply"
            )
        if _on(context.get("port_change")) and probe.get("ssh_socket_active"):
            reasons.append(
                "sshd is socket-activated (ssh.socket): changing its port needs ssh.socket "
                "changed too"
            )
    if on.get("firewall"):
        reasons += [
            f"{unit} is active and manages the firewall: disable it or set "
            "hardening_firewall_enabled: false"
            for unit in probe.get("firewall_conflicts") or []
        ]
        conf = probe.get("nftables_conf") or {}
        if conf.get("exists") and not conf.get("stock") and not conf.get("ours"):
            reasons.append(
                "/etc/nftables.conf holds rules omctl did not write: move them to "
                "/etc/nftables.d/*.nft (it is included) or set hardening_firewall_enabled: false"
            )
        sources = list(context.get("ssh_sources") or [])
        if client and not addr_in(client, sources):
            reasons.append(
                f"the firewall would drop SSH from {client}, the address this run connects "
                f"from: hardening_firewall_ssh_sources {', '.join(map(str, sources))} does not "
                "contain it"
            )
        dropped = (context.get("firewall") or {}).get("web_dropped") or []
        if dropped:
            reasons.append(
                f"the firewall would drop web ports listening now: {', '.join(dropped)}; add "
                "them to hardening_firewall_web_ports or hardening_firewall_allowed_tcp_ports"
            )
    revert_after, verify_timeout = context["revert_after"], context["verify_timeout"]
    if int(revert_after) < int(verify_timeout) + 30:
        reasons.append(
            f"hardening_revert_after ({revert_after} s) must exceed hardening_verify_timeout "
            f"({verify_timeout} s) by at least 30 s"
        )
    return reasons


# What a run changed, in the order the evidence lists it: the label, the registered result
# (check mode shows some changes with another task than the real run makes them) and, for a
# loop, the item key named after the label. {placeholders} come from the context.
_CHANGES: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("packages: installed {packages}", "__hardening_packages_install", None, None),
    ("lynis: installed lynis", "__hardening_lynis_install", None, None),
    ("ssh: {sshd_dropin}{port}", "__hardening_ssh_file", "__hardening_ssh_shown", None),
    ("firewall: {nft_file}", "__hardening_fw_file", "__hardening_fw_shown", None),
    ("firewall: loaded table inet {nft_table}", "__hardening_fw_load", None, None),
    ("firewall: nftables.service enabled at boot", "__hardening_fw_boot", None, None),
    ("fail2ban: /etc/fail2ban/filter.d/omctl-wordpress.conf", "__hardening_f2b_filter", None, None),
    ("fail2ban: {fail2ban_jail}", "__hardening_f2b_jail", None, None),
    ("fail2ban: service enabled and started", "__hardening_f2b_service", None, None),
    ("sysctl: {sysctl_file}", "__hardening_sysctl_written", None, None),
    ("sysctl: created /etc/modprobe.d", "__hardening_modprobe_dir", None, None),
    ("sysctl: /etc/modprobe.d/90-omctl-hardening.conf", "__hardening_modprobe_written", None, None),
    ("auto_updates: /etc/apt/apt.conf.d/20auto-upgrades", "__hardening_apt_periodic", None, None),
    (
        "auto_updates: /etc/apt/apt.conf.d/52omctl-unattended-upgrades",
        "__hardening_unattended",
        None,
        None,
    ),
    ("accounts: /etc/login.defs", "__hardening_login_defs_set", None, "key"),
    (
        "accounts: /etc/security/pwquality.conf.d/90-omctl-hardening.conf",
        "__hardening_pwquality",
        None,
        None,
    ),
    (
        "accounts: /etc/security/limits.d/90-omctl-hardening.conf",
        "__hardening_limits",
        None,
        None,
    ),
    (
        "accounts: /etc/systemd/coredump.conf.d/90-omctl-hardening.conf",
        "__hardening_coredump",
        None,
        None,
    ),
    ("accounts: /etc/profile.d/90-omctl-hardening.sh", "__hardening_profile", None, None),
    ("accounts: banner", "__hardening_banner", None, None),
    ("accounts: permissions of", "__hardening_permissions", None, "path"),
    (
        "accounts: WordPress configuration readable by owner and web server group only:",
        "__hardening_wordpress_configs",
        None,
        "path",
    ),
    (
        "accounts: compilers restricted to root:",
        "__hardening_compilers_restricted",
        None,
        "path",
    ),
    ("services: stopped and disabled", "__hardening_services_disabled", None, None),
)


def change_sources(check_mode: Any) -> list[str]:
    """The registered results changes() reads, in its order (for ``query('vars', ...)``)."""
    check = _on(check_mode)
    return [(shown if check and shown else real) for _label, real, shown, _key in _CHANGES]


def changes(results: list, context: dict) -> list[str]:
    """What this run changed (or would change, in check mode), for the evidence.

    ``results``: the registered results change_sources() names, in order ({} for a task that
    did not run). ``context``: ``packages`` (those missing before the run), ``sshd_dropin``,
    ``nft_file``, ``nft_table``, ``fail2ban_jail``, ``sysctl_file``, and ``port_change``,
    ``current_port`` and ``ssh_port`` for the port of the ssh entry.
    """
    if len(results or []) != len(_CHANGES):
        raise AnsibleFilterError(
            f"hardening_changes needs {len(_CHANGES)} results, got {len(results or [])}"
        )
    port = (
        f" (port {context.get('current_port')} -> {context.get('ssh_port')})"
        if _on(context.get("port_change"))
        else ""
    )
    words = {
        "packages": ", ".join(context.get("packages") or []),
        "sshd_dropin": context.get("sshd_dropin", ""),
        "nft_file": context.get("nft_file", ""),
        "nft_table": context.get("nft_table", ""),
        "fail2ban_jail": context.get("fail2ban_jail", ""),
        "sysctl_file": context.get("sysctl_file", ""),
        "port": port,
    }
    entries = []
    for (label, _real, _shown, key), result in zip(_CHANGES, results, strict=True):
        entries.append(
            [label.format(**words), result, key] if key else [label.format(**words), result]
        )
    return change_labels(entries)


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
            "hardening_plan": plan,
            "hardening_refusals": refusals,
            "hardening_change_sources": change_sources,
            "hardening_changes": changes,
            "hardening_services_plan": services_plan,
            "hardening_differing": differing,
            "hardening_permissions_to_fix": permissions_to_fix,
            "hardening_site_refusals": site_refusals,
            "hardening_site_comparison": site_comparison,
            "hardening_site_broken": site_broken,
        }
