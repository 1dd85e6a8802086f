"""``baseline``: the host's state as found (roles/baseline, with roles/discover's findings)."""

from __future__ import annotations

from typing import Any, ClassVar

from omctl.evidence.base import Evidence, Part
from omctl.evidence.rows import Mark, Row, listed, row
from omctl.evidence.wordpress import WordPressSite
from omctl.evidence.wordpress import rows as wordpress_rows


class Disk(Part):
    mount: str | None = None
    size_bytes: int | None = None
    used_percent: int | float | None = None
    inodes_used_percent: int | float | None = None


class Port(Part):
    proto: str | None = None
    port: int | None = None
    process: str | None = None


class Os(Part):
    distribution: str | None = None
    distribution_version: str | None = None
    distribution_release: str | None = None
    kernel: str | None = None
    virtualization_type: str | None = None


class Packages(Part):
    installed_count: int | None = None
    upgradable_count: int | None = None
    security_count: int | None = None


class Services(Part):
    enabled_count: int | None = None
    failed: list[str] | None = None


class Software(Part):
    """A piece of the web stack (baseline_webstack_versions) or a web server discover found."""

    installed: bool | None = None
    version: str | None = None


class PhpHandler(Part):
    pool: str | None = None
    target: str | None = None


class Site(Part):
    """A site a web server serves (roles/discover)."""

    id: str | None = None
    server: str | None = None
    names: list[str] | None = None
    ports: list[Any] | None = None
    tls: bool | None = None
    docroot: str | None = None
    php: list[PhpHandler] | None = None

    @property
    def label(self) -> str:
        return f"{self.server} {' '.join(self.names or [])}"

    def text(self) -> str:
        names = " ".join(str(n) for n in self.names or []) or "(no name)"
        ports = ",".join(str(p) for p in self.ports or [])
        tls = " tls" if self.tls else ""
        php = ", ".join(str(h.pool or h.target) for h in self.php or [])
        served = f"{self.server} {names} :{ports}{tls} -> {self.docroot or '(no root)'}"
        return served + (f", php {php}" if php else "")


class WordPress(Part):
    path: str | None = None
    version: str | None = None
    layout: str | None = None
    config: str | None = None
    db_name: str | None = None
    db_host: str | None = None
    table_prefix: str | None = None
    content_dir: str | None = None
    sites: list[str] | None = None

    def text(self, sites: dict[str | None, str]) -> str:
        config = self.config or "no wp-config.php"
        served = ", ".join(sites.get(s, s) for s in self.sites or []) or "served by no site"
        database = f"db {self.db_name}@{self.db_host}" if self.db_name else "no db"
        return (
            f"{self.path} {self.version or '?'} ({self.layout}, {config}): {database}, "
            f"prefix {self.table_prefix}, content {self.content_dir}; {served}"
        )


class Unit(Part):
    active: str | None = None


class DatabaseServer(Part):
    installed: bool | None = None
    flavour: str | None = None
    version: str | None = None
    service: Unit | None = None
    # None when they could not be listed (then ``databases_error`` says why).
    databases: list[Any] | None = None
    databases_error: Any = None

    def text(self, name: str) -> str:
        state = (self.service or Unit()).active or "unit unknown"
        listed = self.databases
        names = (
            ", ".join(str(d) for d in listed) or "no databases"
            if isinstance(listed, list)
            else f"databases not listed: {self.databases_error or 'not asked'}"
        )
        return f"{self.flavour or name} {self.version or '?'} ({state}): {names}"


class Pm(Part):
    mode: str | None = None
    max_children: int | None = None


class Pool(Part):
    id: str | None = None
    listen: str | None = None
    pm: Pm | None = None


class PhpFpm(Part):
    pools: list[Pool] | None = None


class Discovered(Part):
    """What roles/discover found: the state at handover the other roles start from."""

    sites: list[Site] | None = None
    wordpress: list[WordPress] | None = None
    databases: dict[str, DatabaseServer] | None = None
    web_servers: dict[str, Software] | None = None
    php_fpm: PhpFpm | None = None
    warnings: list[Any] | None = None

    def rows(self) -> list[Row]:
        sites = self.sites or []
        labels = {s.id: s.label for s in sites}
        rows = listed("sites", [s.text() for s in sites])
        if not sites:
            servers = self.web_servers or {}
            installed = [n for n, w in servers.items() if w.installed]
            rows.append(row("sites", f"none ({', '.join(installed)} serves none)" if installed
                            else "none: no web server"))  # fmt: skip
        rows += listed("wordpress", [wp.text(labels) for wp in self.wordpress or []],
                       empty="none found")  # fmt: skip
        databases = {n: d for n, d in (self.databases or {}).items() if d.installed}
        rows += listed("databases", [db.text(n) for n, db in sorted(databases.items())],
                       empty="none: no database server")  # fmt: skip
        pools = (self.php_fpm or PhpFpm()).pools or []
        rows.append(row("php-fpm pools", ", ".join(
            f"{p.id} {p.listen} ({(p.pm or Pm()).mode}, max {(p.pm or Pm()).max_children})"
            for p in pools) or "none"))  # fmt: skip
        rows += listed(Mark("warnings", "warning"), [str(w) for w in self.warnings or []])
        return rows


class Baseline(Evidence):
    KIND: ClassVar[str] = "baseline"

    collected_at: str
    os: Os | None = None
    packages: Packages | None = None
    services: Services | None = None
    ports: list[Port] | None = None
    ports_error: Any = None
    disks: list[Disk] | None = None
    webstack: dict[str, Software] | None = None
    discovered: Discovered | None = None
    # What each WordPress has installed (roles/wordpress_facts); absent in older records.
    wordpress: list[WordPressSite] | None = None

    def show_rows(self) -> list[Row]:
        rows = []
        os = self.os
        if os is not None and os.given:
            rows.append(row("system", f"{os.distribution} {os.distribution_version} "
                            f"({os.distribution_release}), kernel {os.kernel}, "
                            f"{os.virtualization_type or 'bare metal'}"))  # fmt: skip
        packages = self.packages
        if packages is not None and packages.given:
            rows.append(row("packages", f"{packages.installed_count} installed, "
                            f"{packages.upgradable_count} upgradable "
                            f"({packages.security_count} security)"))  # fmt: skip
        services = self.services
        if services is not None and services.given:
            failed = ", ".join(services.failed or []) or "none failed"
            rows.append(row("services", f"{services.enabled_count} enabled; {failed}"))
        if self.ports:
            listening = sorted({f"{p.port}/{p.proto} {p.process or ''}".strip()
                                for p in self.ports})  # fmt: skip
            rows.append(row("listening", ", ".join(listening)))
        for disk in self.disks or []:
            used = f"{disk.used_percent}% of {_gib(disk.size_bytes)} used"
            rows.append(row(f"disk {disk.mount}", f"{used}, inodes {disk.inodes_used_percent}%"))
        for name, info in sorted((self.webstack or {}).items()):
            if info.installed:
                rows.append(row(name, str(info.version or "installed")))
        if self.discovered is not None:
            rows += self.discovered.rows()
        rows += wordpress_rows(self.wordpress)
        return rows


def _gib(value: int | float | None) -> str:
    return f"{int(value) / 2**30:.1f} GiB" if isinstance(value, int | float) else "?"
