"""Plain-text formatting of evidence values, shared by `omctl show` and `omctl report`."""

from __future__ import annotations

from typing import Any


def size(value: Any) -> str:
    """Bytes as B, KiB, MiB or GiB; '?' when unknown."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "?"
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= factor:
            return f"{value / factor:.1f} {unit}"
    return f"{int(value)} B"


def seconds(value: Any) -> str:
    return f"{float(value):.1f} s" if isinstance(value, int | float) else "?"


def age(value: Any) -> str:
    """Seconds as a human age: minutes, hours or days."""
    if not isinstance(value, int | float):
        return "?"
    if value < 3600:
        return f"{value / 60:.0f} min"
    if value < 2 * 86400:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} days"


def lynis(audit: Any) -> str:
    """One Lynis audit of the hardening evidence (lynis_before / lynis_after)."""
    if not isinstance(audit, dict):
        return "not audited"
    text = f"index {audit.get('index')}, {audit.get('warnings')} warnings"
    tests = audit.get("warning_tests") or []
    if tests:
        text += f" ({', '.join(str(t) for t in tests)})"
    if audit.get("same_as_before"):
        text += ", unchanged (nothing changed in this run)"
    elif audit.get("fresh") is False:
        text += f", reused from the audit of {audit.get('audited_at')}"
    return text
