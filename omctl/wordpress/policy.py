"""Which version a WordPress plugin or theme may be updated to, from the provider's package
folder of zips (``<slug>.<version>.zip``, as wordpress.org names its downloads).

A package is a candidate when it is newer than the installed version (PHP's
``version_compare`` ordering, omctl/vulns/phpversion.py), within the item's policy (``patch``:
only the third part and later may change; ``minor``: the second too; ``major``: any), and
released (the zip's modification time) at least ``delay_days`` before ``now``. The newest
candidate wins. A held item takes nothing; its candidate is named as waiting for the client.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from omctl.errors import BadInput
from omctl.vulns import phpversion

Level = Literal["patch", "minor", "major"]
LEVELS: tuple[Level, ...] = ("patch", "minor", "major")
_version_key = functools.cmp_to_key(phpversion.compare)
PACKAGE_NAME = re.compile(
    r"^(?P<slug>[a-z0-9][a-z0-9_-]*?)\.(?P<version>[0-9][0-9A-Za-z.+-]*)\.zip$"
)


@dataclass(frozen=True)
class Package:
    slug: str
    version: str
    path: Path
    released: datetime


@dataclass(frozen=True)
class Rule:
    """An item's update policy: how far it may move, whether it is held, how long to wait."""

    policy: Level = "minor"
    hold: bool = False
    delay_days: int = 0


@dataclass(frozen=True)
class Decision:
    """What to do with one item: update to ``to`` from ``package``, or why not (``reason``)."""

    type: str
    slug: str
    installed: str
    to: str | None = None
    package: Path | None = None
    held: bool = False
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "slug": self.slug, "from": self.installed, "to": self.to,
                "package": str(self.package) if self.package else None, "held": self.held,
                "reason": self.reason}  # fmt: skip


def packages_in(folder: Path) -> list[Package]:
    """The zips of the package folder; other files are ignored."""
    if not folder.is_dir():
        raise BadInput(f"the WordPress package folder {folder} is not a folder on the controller")
    found = []
    for path in sorted(folder.iterdir()):
        named = PACKAGE_NAME.match(path.name)
        if named and path.is_file():
            released = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            found.append(Package(named["slug"], named["version"], path, released))
    return found


def _parts(version: str) -> list[str]:
    return re.split(r"[.+-]", phpversion.canonical(version))


def level(installed: str, candidate: str) -> Level:
    """How big the step is: the first part differs (major), the second (minor), else patch."""
    old, new = _parts(installed), _parts(candidate)
    if old[:1] != new[:1]:
        return "major"
    return "minor" if old[1:2] != new[1:2] else "patch"


def rule_for(slug: str, default: Mapping[str, Any], overrides: Mapping[str, Any]) -> Rule:
    """The item's rule: the default policy with the slug's own keys over it."""
    merged = {**default, **(overrides.get(slug) or {})}
    policy = merged.get("policy", "minor")
    if policy not in LEVELS:
        raise BadInput(f"WordPress update policy of {slug}: {policy!r} is not one of {LEVELS}")
    return Rule(policy, bool(merged.get("hold", False)), int(merged.get("delay_days", 0)))


def decide(
    item_type: str, slug: str, installed: str, packages: Iterable[Package], rule: Rule,
    now: datetime,
) -> Decision | None:  # fmt: skip
    """The item's decision; None when the folder has nothing newer for it at all."""
    newer = [p for p in packages if p.slug == slug and phpversion.compare(p.version, installed) > 0]
    if not newer:
        return None
    allowed = [
        p for p in newer if LEVELS.index(level(installed, p.version)) <= LEVELS.index(rule.policy)
    ]
    ripe = [p for p in allowed if p.released + timedelta(days=rule.delay_days) <= now]
    base = Decision(item_type, slug, installed)
    if not allowed:
        newest = max(newer, key=_order)
        return _with(base, reason=f"{newest.version} is a {level(installed, newest.version)} "
                                  f"update; the policy allows {rule.policy}")  # fmt: skip
    if not ripe:
        first = min(allowed, key=lambda p: p.released)
        due = first.released + timedelta(days=rule.delay_days)
        return _with(base, reason=f"{first.version} waits until {due:%Y-%m-%d} "
                                  f"({rule.delay_days} days after its release)")  # fmt: skip
    chosen = max(ripe, key=_order)
    if rule.hold:
        return _with(base, to=chosen.version, held=True,
                     reason="held: waiting for the client's decision")  # fmt: skip
    return _with(base, to=chosen.version, package=chosen.path)


def _order(package: Package) -> Any:
    return _version_key(package.version)


def _with(base: Decision, **changes: Any) -> Decision:
    return Decision(**{**base.__dict__, **changes})


def plan(
    sites: Iterable[Mapping[str, Any]], folder: Path, default: Mapping[str, Any],
    overrides: Mapping[str, Any], now: datetime,
) -> list[dict[str, Any]]:  # fmt: skip
    """Per site and item (plugins and themes) with something newer in the folder: its decision."""
    packages = packages_in(folder)
    decisions = []
    for site in sites:
        for item in site.get("items") or []:
            if item.get("type") not in ("plugin", "theme") or item.get("must_use"):
                continue
            if not item.get("version"):
                continue
            rule = rule_for(item["slug"], default, overrides)
            found = decide(item["type"], item["slug"], item["version"], packages, rule, now)
            if found is not None:
                decisions.append({"site": site.get("path"), **found.as_dict()})
    return decisions
