"""What the backup role and its restore drill take from discovery (``discover_found``).

Pure functions of the fact (and of the role's explicit settings), run on the controller:
which paths hold each discovered WordPress site, whether the host has MariaDB/MySQL at all,
and which sites the restore drill serves again from the restored copy.
"""

from __future__ import annotations

import posixpath
from typing import Any

from ansible.errors import AnsibleFilterError

ETC = "/etc"
NO_MARIADB = "no MariaDB/MySQL: database dumps not applicable"


def _norm(path: str) -> str:
    return posixpath.normpath(path) if path.startswith("/") else path


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def dedupe_paths(paths: list[str]) -> list[str]:
    """The paths in their order, without repeats and without a path inside another one."""
    norm = [_norm(p) for p in paths]
    return [
        path
        for index, path in enumerate(norm)
        if path not in norm[:index] and not any(o != path and _under(path, o) for o in norm)
    ]


def _found(found: Any) -> dict:
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise AnsibleFilterError("discover_found must be a dict (run the discover role first)")
    return found


def mariadb(found: Any) -> dict:
    """The discovered MariaDB/MySQL server, or {} when the host has none."""
    server = (_found(found).get("databases") or {}).get("mariadb") or {}
    return server if server.get("installed") else {}


def has_mariadb(found: Any) -> bool:
    return bool(mariadb(found))


def site_id(install: dict) -> str:
    """One name per WordPress site: its path, with Debian's config host when it has one."""
    path = install.get("path") or "?"
    host = install.get("host")
    return f"{path} ({host})" if install.get("layout") == "debian" and host else path


def site_files(install: dict) -> list[str]:
    """What holds one site: upstream its install folder (with wp-config.php and wp-content),
    Debian's package its content folder and configuration (the code is the package's)."""
    path = install.get("path")
    content = install.get("content_dir")
    config = install.get("config")
    files = [content, config] if install.get("layout") == "debian" else [path, content, config]
    return dedupe_paths([f for f in files if isinstance(f, str) and f.startswith("/")])


def backup_sites(found: Any) -> list[dict]:
    """Every discovered WordPress site with the paths and the local database that hold it."""
    server = mariadb(found)
    local = set(server.get("databases") or [])
    sites = []
    for install in _found(found).get("wordpress") or []:
        db_name = install.get("db_name")
        sites.append(
            {
                "id": site_id(install),
                "path": install.get("path"),
                "layout": install.get("layout"),
                "config": install.get("config"),
                "content_dir": install.get("content_dir"),
                "files": site_files(install),
                "database": db_name if server and db_name in local else None,
                "db_name": db_name,
                "table_prefix": install.get("table_prefix") or "wp_",
                "web_sites": list(install.get("sites") or []),
            }
        )
    return sites


def backup_paths(found: Any, explicit: list[str] | None = None) -> list[str]:
    """backup_paths when given, else every discovered site's files and /etc, de-duplicated."""
    if explicit is not None:
        if not isinstance(explicit, list):
            raise AnsibleFilterError("backup_paths must be a list of absolute paths or null")
        return list(explicit)
    # The sites first, then /etc: the order the role always used.
    paths = []
    for site in backup_sites(found):
        paths += site["files"]
    return dedupe_paths([*paths, ETC])


NO_SITE = "no WordPress site: front page not kept"


def backup_not_applicable(
    found: Any, databases_enabled: bool, explicit: list | None, frontpage_enabled: bool = False
) -> list:
    """What the backup skips on this host, said in its evidence."""
    notes = []
    if databases_enabled and not explicit and not has_mariadb(found):
        notes.append(NO_MARIADB)
    if frontpage_enabled and not _found(found).get("wordpress"):
        notes.append(NO_SITE)
    return notes


def site_evidence(found: Any, paths: list[str], databases_enabled: bool) -> list[dict]:
    """Each discovered site as the backup evidence names it: its files and whether the backed-up
    paths hold them, its database and whether it is dumped (every local one is, by default)."""
    held = [_norm(p) for p in paths or []]
    return [
        {
            "id": site["id"],
            "layout": site["layout"],
            "files": site["files"],
            "files_backed_up": bool(site["files"])
            and all(any(_under(f, p) for p in held) for f in site["files"]),
            "database": site["database"] if databases_enabled else None,
        }
        for site in backup_sites(found)
    ]


def _php_socket(found: dict, install: dict) -> str | None:
    """The unix socket of the PHP-FPM pool that serves the install's web sites, else any pool's."""
    by_id = {site.get("id"): site for site in found.get("sites") or []}
    targets = []
    for sid in install.get("web_sites") or install.get("sites") or []:
        targets += [php.get("target") or "" for php in (by_id.get(sid) or {}).get("php") or []]
    pools = (found.get("php_fpm") or {}).get("pools") or []
    targets += ["unix:" + (pool.get("listen") or "") for pool in pools]
    for target in targets:
        if target.startswith("unix:/"):
            return target[len("unix:") :]
    return None


def _web_server(found: dict) -> str | None:
    servers = found.get("web_servers") or {}
    for name in ("nginx", "apache"):
        if (servers.get(name) or {}).get("installed"):
            return name
    return None


def drill_sites(found: Any, overrides: dict | None = None) -> list[dict]:
    """The sites the restore drill restores and serves, one plan each.

    ``overrides`` holds the drill's explicit settings (``database``, ``docroot``,
    ``wp_content_dir``, ``wp_config``, ``php_fpm_socket``; null: from discovery). Any of
    them set pins the drill to one site, today's: the explicit values over the first
    discovered site. Each plan says which web server would serve the scratch copy, or why
    the site step is not applicable.
    """
    found = _found(found)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    prefix = overrides.pop("table_prefix", None)
    sites = backup_sites(found)
    server = _web_server(found)
    plans = []
    for site in sites:
        install = next((i for i in found.get("wordpress") or [] if site_id(i) == site["id"]), {})
        plans.append(
            {
                "id": site["id"],
                "layout": site["layout"],
                "path": site["path"],
                "docroot": site["path"],
                "wp_content_dir": site["content_dir"],
                "wp_config": site["config"],
                "database": site["database"],
                "table_prefix": site["table_prefix"],
                "php_fpm_socket": _php_socket(found, {**install, "web_sites": site["web_sites"]}),
            }
        )
    if overrides:
        base = plans[0] if plans else {"id": None, "layout": "debian", "path": None,
                                      "table_prefix": "wp_", "database": None}  # fmt: skip
        pinned = {**base}
        for key in ("database", "docroot", "wp_content_dir", "wp_config", "php_fpm_socket"):
            if key in overrides:
                pinned[key] = overrides[key]
        pinned["id"] = pinned.get("id") or pinned.get("docroot") or pinned.get("database")
        if "docroot" in overrides and not plans:
            pinned["path"] = overrides["docroot"]
        plans = [pinned]
    # The table prefix alone does not pin a site: it applies to every one.
    for plan in plans:
        plan["table_prefix"] = prefix or plan.get("table_prefix") or "wp_"
    for plan in plans:
        plan["layout"] = plan.get("layout") or "debian"
        plan["web_server"] = server
        if not server:
            plan["site_not_applicable"] = (
                f"{plan['id']}: no web server: serving the restored site not applicable"
            )
        elif not plan.get("database"):
            plan["site_not_applicable"] = (
                f"{plan['id']}: no database restored: serving the restored site not applicable"
            )
        elif not plan.get("php_fpm_socket"):
            plan["site_not_applicable"] = (
                f"{plan['id']}: no PHP-FPM pool: serving the restored site not applicable"
            )
        else:
            plan["site_not_applicable"] = None
    return plans


def drill_not_applicable(found: Any, plans: list[dict], database_enabled: bool) -> list[str]:
    """What the drill skips on this host, said in its evidence."""
    notes = []
    if database_enabled and not any(p.get("database") for p in plans) and not has_mariadb(found):
        notes.append("no MariaDB/MySQL: database restore not applicable")
    if not plans:
        notes.append("no WordPress site: serving a restored site not applicable")
    for plan in plans:
        if database_enabled and not plan.get("database"):
            notes.append(f"{plan['id']}: no local database: its database restore not applicable")
        if plan.get("site_not_applicable"):
            notes.append(plan["site_not_applicable"])
    return notes


def drill_results(plans: list[dict], checks: list[dict]) -> list[dict]:
    """Each drilled site as the evidence names it: its path, database, which web server served
    the restored copy and the result of its checks (``ok`` null when none ran)."""
    results = []
    for plan in plans:
        own = [c for c in checks if c.get("site") == plan["id"]]
        served = any(c.get("name") == "site" and c.get("ok") for c in own)
        results.append(
            {
                "id": plan["id"],
                "path": plan.get("path"),
                "layout": plan.get("layout"),
                "database": plan.get("database"),
                "served_by": plan.get("web_server") if served else None,
                "ok": all(c.get("ok") for c in own) if own else None,
                "checks": len(own),
                "not_applicable": plan.get("site_not_applicable"),
            }
        )
    return results


class FilterModule:
    def filters(self) -> dict:
        return {
            "omctl_backup_paths": backup_paths,
            "omctl_backup_sites": backup_sites,
            "omctl_backup_has_mariadb": has_mariadb,
            "omctl_backup_not_applicable": backup_not_applicable,
            "omctl_backup_site_evidence": site_evidence,
            "omctl_backup_drill_sites": drill_sites,
            "omctl_backup_drill_not_applicable": drill_not_applicable,
            "omctl_backup_drill_results": drill_results,
        }
