#!/usr/bin/python
"""Plan and apply package upgrades with python3-apt: security-only or all, never removing."""

from __future__ import annotations

DOCUMENTATION = r"""
module: patching_apt
short_description: Plan and apply Debian package upgrades, security-only or all
description:
  - Reads the apt cache with python3-apt and plans the upgrades of installed packages.
  - With O(scope=security), a package is upgraded only to a version that comes from a security
    suite (an origin whose archive, codename or label matches O(security_patterns)); when the
    policy candidate is not a security version but a newer security version exists, that one is
    chosen (like unattended-upgrades).
  - An upgrade that would remove a package or break dependencies is deferred, never applied.
  - Held packages and O(exclude) matches are deferred.
  - Applies the plan with C(apt-get install --only-upgrade --no-remove NAME=VERSION...),
    non-interactively, keeping locally changed configuration files (C(--force-confold)), then
    restores the automatic-install marks apt-get clears on packages named on its command line.
  - In check mode, returns the plan and changes nothing.
options:
  scope:
    description: C(security) for security updates only, C(all) for every upgrade.
    type: str
    choices: [security, all]
    default: security
  security_patterns:
    description:
      - Regular expressions; an origin whose archive, codename or label matches
        is a security origin.
    type: list
    elements: str
    default: ['-security$', '^Debian-Security$']
  exclude:
    description: Shell-style patterns of package names never upgraded (deferred instead).
    type: list
    elements: str
    default: []
  apply:
    description: Apply the plan (ignored in check mode, which only plans).
    type: bool
    default: true
  lock_timeout:
    description: Seconds apt-get waits for the dpkg lock (C(DPkg::Lock::Timeout)).
    type: int
    default: 60
  dpkg_options:
    description: dpkg options passed by apt-get, without the leading dashes.
    type: list
    elements: str
    default: [force-confdef, force-confold]
author: omctl maintainers
requirements: [python3-apt]
"""

RETURN = r"""
plan:
  description: Upgrades and new dependencies, in name order.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "openssl", "from": "3.0.11-1~deb12u1", "to": "3.0.11-1~deb12u2",
            "security": true, "origin": "Debian-Security bookworm-security", "new": false,
            "requested": true}]
deferred:
  description: Upgradable packages left out, with the reason.
  returned: always
  type: list
  elements: dict
applied:
  description: Packages whose installed version changed, with the versions before and after.
  returned: always
  type: list
  elements: dict
not_applied:
  description: Planned packages that did not reach the planned version.
  returned: always
  type: list
  elements: dict
apt_output:
  description: The last lines apt-get printed.
  returned: when applied
  type: list
  elements: str
"""

import fnmatch
import re
from typing import Any

from ansible.module_utils.basic import AnsibleModule

try:
    import apt
    import apt_pkg
except ImportError:  # reported by main()
    apt = None
    apt_pkg = None

APT_ENV = {
    "DEBIAN_FRONTEND": "noninteractive",
    # The role runs needrestart itself, in list mode, after the upgrade.
    "NEEDRESTART_SUSPEND": "1",
    "APT_LISTCHANGES_FRONTEND": "none",
    "UCF_FORCE_CONFFOLD": "1",
    "LC_ALL": "C",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
}


def origin_text(version: Any) -> str:
    """'label archive' of the first real origin of a version (not the dpkg status 'now')."""
    for origin in version.origins:
        if origin.archive and origin.archive != "now":
            return f"{origin.label or origin.origin} {origin.archive}".strip()
    return ""


def is_security(version: Any, patterns: list[re.Pattern[str]]) -> bool:
    for origin in version.origins:
        if origin.archive == "now":
            continue
        fields = (origin.archive or "", origin.codename or "", origin.label or "")
        if any(p.search(f) for p in patterns for f in fields if f):
            return True
    return False


class _VersionKey:
    def __init__(self, version: str):
        self.version = version

    def __lt__(self, other: _VersionKey) -> bool:
        return apt_pkg.version_compare(self.version, other.version) < 0


def newest(versions: list[Any]) -> Any:
    return max(versions, key=lambda v: _VersionKey(v.version))


def choose_version(pkg: Any, scope: str, patterns: list[re.Pattern[str]]) -> Any:
    """The version to upgrade to, or None when the scope leaves the package out."""
    installed, candidate = pkg.installed, pkg.candidate
    if scope == "all" or is_security(candidate, patterns):
        return candidate
    # The policy's candidate is not a security update (say, a point release on top of it):
    # take the newest security version between the installed one and the candidate.
    newer = [
        v
        for v in pkg.versions
        if apt_pkg.version_compare(v.version, installed.version) > 0
        and apt_pkg.version_compare(v.version, candidate.version) <= 0
        and v.policy_priority >= 0
        and is_security(v, patterns)
    ]
    return newest(newer) if newer else None


def is_held(pkg: Any) -> bool:
    return pkg._pkg.selected_state == apt_pkg.SELSTATE_HOLD


def mark(cache: Any, accepted: list[tuple[Any, Any]]) -> None:
    """Mark the accepted (package, version) upgrades on a cleared cache."""
    for pkg, version in accepted:
        pkg.candidate = version
        pkg.mark_upgrade()


def plan_upgrades(
    cache: Any, scope: str, patterns: list[re.Pattern[str]], exclude: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Return (plan, deferred, requested package names) and leave the plan marked in ``cache``."""
    deferred: list[dict[str, Any]] = []
    wanted: list[tuple[Any, Any]] = []
    upgradable = sorted((p for p in cache if p.is_upgradable), key=lambda p: p.fullname)
    for pkg in upgradable:
        entry = {"name": pkg.name, "from": pkg.installed.version, "to": pkg.candidate.version}
        if is_held(pkg):
            deferred.append({**entry, "reason": "held"})
            continue
        if any(fnmatch.fnmatchcase(pkg.name, pattern) for pattern in exclude):
            deferred.append({**entry, "reason": "excluded"})
            continue
        version = choose_version(pkg, scope, patterns)
        if version is None:
            deferred.append({**entry, "reason": "not a security update"})
            continue
        wanted.append((pkg, version))

    accepted: list[tuple[Any, Any]] = []
    for pkg, version in wanted:
        with cache.actiongroup():
            pkg.candidate = version
            pkg.mark_upgrade()
        if cache.broken_count or cache.delete_count:
            reason = "would remove packages" if cache.delete_count else "would break dependencies"
            deferred.append(
                {
                    "name": pkg.name,
                    "from": pkg.installed.version,
                    "to": version.version,
                    "reason": reason,
                }
            )
            cache.clear()
            mark(cache, accepted)
        else:
            accepted.append((pkg, version))

    requested = {pkg.name for pkg, _ in accepted}
    plan = []
    for pkg in sorted(cache.get_changes(), key=lambda p: p.fullname):
        if not (pkg.marked_upgrade or pkg.marked_install):
            continue  # nothing else can be marked: deletes were refused above
        target = pkg.candidate
        plan.append(
            {
                "name": pkg.name,
                "from": pkg.installed.version if pkg.is_installed else None,
                "to": target.version,
                "security": is_security(target, patterns),
                "origin": origin_text(target),
                "new": not pkg.is_installed,
                "requested": pkg.name in requested,
            }
        )
    return plan, sorted(deferred, key=lambda d: d["name"]), sorted(requested)


def installed_versions(names: list[str]) -> tuple[dict[str, str], set[str]]:
    """Installed versions and the automatically installed names, from a fresh cache."""
    cache = apt.Cache()
    versions: dict[str, str] = {}
    auto: set[str] = set()
    for name in names:
        if name in cache and cache[name].is_installed:
            pkg = cache[name]
            versions[name] = pkg.installed.version
            if pkg.is_auto_installed:
                auto.add(name)
    return versions, auto


def tail(text: str, lines: int = 15) -> list[str]:
    kept = [line for line in text.splitlines() if line.strip() and "Reading database" not in line]
    return kept[-lines:]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "scope": {"type": "str", "choices": ["security", "all"], "default": "security"},
            "security_patterns": {
                "type": "list",
                "elements": "str",
                "default": ["-security$", "^Debian-Security$"],
            },
            "exclude": {"type": "list", "elements": "str", "default": []},
            "apply": {"type": "bool", "default": True},
            "lock_timeout": {"type": "int", "default": 60},
            "dpkg_options": {
                "type": "list",
                "elements": "str",
                "default": ["force-confdef", "force-confold"],
            },
        },
        supports_check_mode=True,
    )
    if apt is None:
        module.fail_json(
            msg="python3-apt is not installed on the host (apt-get install python3-apt)"
        )
    params = module.params
    try:
        patterns = [re.compile(p) for p in params["security_patterns"]]
    except re.error as exc:
        module.fail_json(msg=f"security_patterns: {exc}")

    apt_pkg.init()
    try:
        # apt's own binary cache (/var/cache/apt/pkgcache.bin), used as apt-get -s uses it:
        # rebuilt only when the lists changed.
        cache = apt.Cache()
    except (SystemError, apt_pkg.Error) as exc:
        module.fail_json(msg=f"cannot read the apt cache: {exc}")
    if cache.broken_count:
        module.fail_json(
            msg=f"the installed packages have {cache.broken_count} broken dependencies: "
            "fix them (apt-get -f install) before patching"
        )
    plan, deferred, requested = plan_upgrades(cache, params["scope"], patterns, params["exclude"])
    result: dict[str, Any] = {
        "changed": bool(plan),
        "plan": plan,
        "deferred": deferred,
        "applied": [],
        "not_applied": [],
    }
    if module.check_mode or not params["apply"] or not plan:
        module.exit_json(**result)

    versions = {p["name"]: p["to"] for p in plan}
    before = {p["name"]: p["from"] for p in plan}
    auto_before = {
        pkg.name for pkg in cache.get_changes() if pkg.is_installed and pkg.is_auto_installed
    }
    del cache
    argv = ["apt-get", "install", "--yes", "--quiet", "--only-upgrade", "--no-remove"]
    argv += ["-o", f"DPkg::Lock::Timeout={params['lock_timeout']}"]
    for option in params["dpkg_options"]:
        argv += ["-o", f"Dpkg::Options::=--{option.lstrip('-')}"]
    argv += [f"{name}={versions[name]}" for name in requested]
    rc, out, err = module.run_command(argv, environ_update=APT_ENV)
    result["apt_output"] = tail(out + "\n" + err)

    now, auto_now = installed_versions(sorted(versions))
    lost_auto = sorted(auto_before - auto_now)
    if lost_auto:
        # apt-get marks every package named on its command line as manually installed.
        module.run_command(["apt-mark", "auto", *lost_auto], environ_update=APT_ENV, check_rc=False)
    result["applied"] = [
        {"name": name, "from": before[name], "to": now[name]}
        for name in sorted(versions)
        if name in now and now[name] != before[name]
    ]
    result["not_applied"] = [
        {"name": name, "planned": versions[name], "installed": now.get(name)}
        for name in sorted(versions)
        if now.get(name) != versions[name]
    ]
    result["changed"] = bool(result["applied"])
    if rc != 0:
        errors = [line for line in (out + "\n" + err).splitlines() if line.startswith("E: ")]
        reason = errors[0][3:] if errors else (result["apt_output"] or ["no output"])[-1]
        module.fail_json(msg=f"apt-get install failed (exit {rc}): {reason}", **result)
    if result["not_applied"]:
        first = result["not_applied"][0]
        module.fail_json(
            msg=f"{first['name']} is at {first['installed']} after the upgrade, not the planned "
            f"{first['planned']}",
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
