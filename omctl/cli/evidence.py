"""Readable views of the evidence roles publish; JSON stays the full record (--json)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich.markup import escape
from rich.table import Table

from omctl import console


def _gib(value: Any) -> str:
    return f"{int(value) / 2**30:.1f} GiB" if isinstance(value, int | float) else "?"


def baseline(host: str, data: dict[str, Any]) -> None:
    table = Table(title=f"baseline of {host} at {data.get('collected_at', '?')}",
                  title_justify="left", show_header=False, box=None)  # fmt: skip
    table.add_column(style="bold")
    table.add_column()
    os_info = data.get("os") or {}
    if os_info:
        table.add_row(
            "system",
            f"{os_info.get('distribution')} {os_info.get('distribution_version')} "
            f"({os_info.get('distribution_release')}), kernel {os_info.get('kernel')}, "
            f"{os_info.get('virtualization_type') or 'bare metal'}",
        )
    packages = data.get("packages") or {}
    if packages:
        table.add_row(
            "packages",
            f"{packages.get('installed_count')} installed, {packages.get('upgradable_count')} "
            f"upgradable ({packages.get('security_count')} security)",
        )
    services = data.get("services") or {}
    if services:
        failed = ", ".join(services.get("failed") or []) or "none failed"
        table.add_row("services", f"{services.get('enabled_count')} enabled; {failed}")
    ports = data.get("ports") or []
    if ports:
        listening = sorted({f"{p.get('port')}/{p.get('proto')} {p.get('process') or ''}".strip()
                            for p in ports})  # fmt: skip
        table.add_row("listening", ", ".join(listening))
    for disk in data.get("disks") or []:
        table.add_row(
            f"disk {disk.get('mount')}",
            f"{disk.get('used_percent')}% of {_gib(disk.get('size_bytes'))} used, "
            f"inodes {disk.get('inodes_used_percent')}%",
        )
    for name, info in sorted((data.get("webstack") or {}).items()):
        if isinstance(info, dict) and info.get("installed"):
            table.add_row(name, str(info.get("version") or "installed"))
    console.out.print(table)


def healthcheck(host: str, data: dict[str, Any]) -> None:
    verdict = "[green]healthy[/]" if data.get("ok") else "[bold red]unhealthy[/]"
    table = Table(title=f"healthcheck of {host}: {verdict}", title_justify="left", box=None)
    table.add_column("check")
    table.add_column("result")
    for check in data.get("checks") or []:
        mark = "[green]ok[/]" if check.get("ok") else "[bold red]FAILED[/]"
        table.add_row(escape(str(check.get("name"))), f"{mark} {escape(str(check.get('detail')))}")
    console.out.print(table)


def generic(kind: str) -> Callable[[str, Any], None]:
    def render(host: str, data: Any) -> None:
        console.out.print(f"[bold]{kind}[/] of {host}:")
        console.out.print(escape(json.dumps(data, indent=2, sort_keys=True, default=str)))

    return render


RENDERERS: dict[str, Callable[[str, Any], None]] = {
    "baseline": baseline,
    "healthcheck": healthcheck,
}


def render(kind: str, host: str, data: Any) -> None:
    renderer = RENDERERS.get(kind) if isinstance(data, dict) else None
    (renderer or generic(kind))(host, data)
