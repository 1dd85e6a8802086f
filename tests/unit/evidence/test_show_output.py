"""`omctl show` prints exactly what it printed before the rows moved into the models: each
kind's realistic records rendered as text and with their styles (tests/unit/evidence/show/).

The expected files were written by the renderers of omctl/cli/evidence.py as they stood before
the row-building moved into omctl/evidence/; regenerate only for an intended change of output:
``python -m tests.unit.evidence.test_show_output``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from omctl import console
from omctl.cli import evidence
from tests.unit import report_ledger as month
from tests.unit.evidence import records
from tests.unit.test_backup_check_render import BACKUP_CHECK

EXPECTED = Path(__file__).parent / "show"

BASELINE_FOUND = {
    **records.BASELINE,
    "services": {**records.BASELINE["services"], "failed": ["php8.2-fpm.service"]},
    "ports": [*records.BASELINE["ports"],
              {"proto": "tcp", "address": "0.0.0.0", "port": 80, "process": "nginx"},
              {"proto": "udp", "address": "0.0.0.0", "port": 68, "process": None}],
    "webstack": {"nginx": {"installed": True, "version": "1.22.1"},
                 "apache2": {"installed": False}, "php": {"installed": True, "version": None}},
    "discovered": {
        "sites": [{"id": "nginx:/etc/nginx/sites-enabled/shop:1", "server": "nginx",
                   "names": ["shop.example.org", "www.shop.example.org"], "ports": [80, 443],
                   "tls": True, "docroot": "/var/www/shop",
                   "php": [{"pool": "www", "target": "unix:/run/php/php8.2-fpm.sock"}]}],
        "wordpress": [{"path": "/var/www/shop", "version": "6.4.2", "layout": "upstream",
                       "config": "/var/www/shop/wp-config.php", "db_name": "shop",
                       "db_host": "localhost", "table_prefix": "wp_",
                       "content_dir": "/var/www/shop/wp-content",
                       "sites": ["nginx:/etc/nginx/sites-enabled/shop:1"]},
                      {"path": "/srv/old", "version": None, "layout": "debian", "config": None,
                       "db_name": None, "table_prefix": "wp_", "content_dir": "/srv/old/wp-content",
                       "sites": []}],
        "databases": {"mariadb": {"installed": True, "flavour": "MariaDB", "version": "10.11.6",
                                  "service": {"active": "active"}, "databases": ["shop"]},
                      "postgresql": {"installed": False}},
        "php_fpm": {"pools": [{"id": "www", "listen": "/run/php/php8.2-fpm.sock",
                               "pm": {"mode": "dynamic", "max_children": 5}}]},
        "warnings": ["/srv/old: WordPress served by no site"],
    },
}  # fmt: skip
BASELINE_EMPTY = {
    **records.BASELINE,
    "ports": [],
    "discovered": {"sites": [], "wordpress": [], "databases": {"mariadb": {"installed": False}},
                   "web_servers": {"nginx": {"installed": True}}, "php_fpm": {},
                   "warnings": []},
}  # fmt: skip
BACKUP_SITES = {
    **month.backup("web1", "2026-11-20", 120, 14),
    "sites": [{"id": "/var/www/shop", "layout": "upstream", "files": ["/var/www/shop"],
               "files_backed_up": True, "database": "wordpress"},
              {"id": "/var/www/blog", "layout": "upstream", "files": ["/var/www/blog"],
               "files_backed_up": False, "database": "blog"},
              {"id": "/var/www/static", "layout": "upstream", "files": [],
               "files_backed_up": False, "database": None}],
}  # fmt: skip
BACKUP_CHECK_FIRST = {
    "ok": False, "check": True,
    "problems": [{"code": "no_key", "message": "no SFTP key yet"}],
    "repository": {"url": "sftp:root@10.88.0.6:/srv/omctl-backup/web1",
                   "state": "would_initialise", "detail": "no repository yet"},
    "latest": None, "snapshots": {"count": 0, "runs": 0}, "locks": [],
    "would_back_up": {"files": {"paths": ["/etc", "/var/www"], "files": 120, "bytes": 2**24,
                                "excluded": 3},
                      "databases": {}},
    "setup_pending": ["create the SFTP key /etc/omctl-backup/id_ed25519"],
    "notices": ["the repository is created by the first real run"],
}  # fmt: skip
DRILL_CHECK = {
    "ok": False, "check": True,
    "problems": [{"code": "no_space", "message": "not enough room"}],
    "repository": {"url": "sftp:root@10.88.0.6:/srv/omctl-backup/web1", "state": "ok",
                   "id": "13dcfd2f", "detail": "opens"},
    "notices": ["an earlier drill left its scratch copy (/var/tmp/omctl-restore-drill)"],
    "sites": ["nginx:/etc/nginx/sites-enabled/wordpress:2"],
    "drill": {
        "run": "20261201T201300Z", "time": "2026-12-01T20:13:04Z", "age_seconds": 7200,
        "check_subset": "3/7", "other_dumps": ["mysql"],
        "files": {"snapshot": "f4237928", "paths": ["/etc"], "bytes": 1413013, "entries": 915,
                  "into": "/var/tmp/omctl-restore-drill"},
        "database": {"name": "wordpress", "snapshot": "f667b419", "dump_bytes": 66738,
                     "into": "omctl_restore_drill"},
        "disk": [{"for": ["files", "database"], "probe": "/var/tmp", "needed_bytes": 2**31,
                  "free_bytes": 2**30, "reclaimable_bytes": 0, "ok": False},
                 {"for": ["scratch"], "probe": "/", "needed_bytes": 2**20,
                  "free_bytes": 2**30, "ok": True}],
    },
}  # fmt: skip


def _hardening_check() -> dict[str, Any]:
    data = month.hardening(59, 59, "2026-11-09")
    data.pop("site")
    data.update(
        check_mode=True,
        changes=[],
        notes=["ssh: port 22 kept"],
        error="apt failed",
        lynis_after={
            "index": 59,
            "warnings": 1,
            "warning_tests": ["SSH-7408"],
            "same_as_before": True,
        },
        sites=[
            {
                "url": "http://127.0.0.1/",
                "same": False,
                "before": {"status": 200},
                "after": {"status": 502},
            },
            {
                "url": "https://shop.example.org/",
                "same": True,
                "before": {"status": 200},
                "after": {"status": 200},
            },
        ],
        services={"disabled": ["cups"], "left_enabled_outside_allow_list": ["exim4"]},
        firewall={"ssh_ports": [22], "tcp_ports": [80], "dropped_listeners": ["rpcbind"]},
    )
    return data


def _patching_rich() -> dict[str, Any]:
    data = month.patching(
        [
            ("openssl", "3.0.14-1~deb12u1", "3.0.15-1~deb12u1", True),
            ("linux-image-amd64", "6.1.112-1", "6.1.115-1", True),
        ],
        True,
    )
    data["plan"].append({"name": "tzdata", "from": None, "to": "2025b-0", "new": True})
    data["deferred"] = [{"name": "mariadb-server", "to": "1:10.11.9", "reason": "held"}]
    data["services"] = {
        "restarted": ["nginx"],
        "restarted_by_reboot": ["php8.2-fpm"],
        "deferred": ["mariadb"],
    }
    data["health"] = {
        "before": {"ok": None, "skipped": "no site"},
        "after": {"ok": False, "failed": ["nginx is not active", "site 502"]},
    }
    data["wordpress"] = {
        "sites": [
            {
                "path": "/var/www/shop",
                "before": {"core": "6.4.1"},
                "after": {"core": "6.4.2"},
                "checksums_ok": True,
            },
            {
                "path": "/var/www/blog",
                "before": {"core": "6.3"},
                "after": {"core": "6.3"},
                "checksums_ok": False,
            },
        ],
        "apt_managed": ["/usr/share/wordpress"],
    }
    return data


def _patching_pending() -> dict[str, Any]:
    data = month.patching([("linux-image-amd64", "6.1.112-1", "6.1.115-1", True)], False)
    data["reboot"].update(
        required=True, pending=True, policy="never", required_by=["linux-image-amd64"]
    )
    return data


def _access_review() -> dict[str, Any]:
    data = copy.deepcopy(month.ACCESS_REVIEW)
    found = data["findings"]
    found["cache_probe"] = [
        {"url": "/wp-includes/css/a.css", "cached": True},
        {"url": "/b.png", "cached": False},
        {"url": "/c.js", "cached": None, "error": "timed out"},
    ]
    return data


def _drill_sites() -> dict[str, Any]:
    data = copy.deepcopy(month.RESTORE_DRILL)
    data["sites"] = [
        {"id": "shop", "database": "shop", "served_by": "nginx", "ok": True, "checks": 3},
        {"id": "blog", "database": None, "served_by": None, "ok": None},
    ]
    return data


CASES: dict[str, tuple[str, Any]] = {
    "baseline": ("baseline", records.BASELINE),
    "baseline_found": ("baseline", BASELINE_FOUND),
    "baseline_empty": ("baseline", BASELINE_EMPTY),
    "baseline_bare": ("baseline", {"collected_at": "2026-11-28T13:43:54Z"}),
    "baseline_wordpress": ("baseline", {**records.BASELINE, "wordpress": records.WORDPRESS}),
    "healthcheck": ("healthcheck", records.HEALTHCHECK),
    "healthcheck_wordpress": ("healthcheck", {**records.HEALTHCHECK,
                                              "wordpress": records.WORDPRESS}),
    "patching": ("patching", _patching_rich()),
    "patching_pending": ("patching", _patching_pending()),
    "patching_check": ("patching", month.PATCHING_CHECK),
    "patching_failed": ("patching", month.PATCHING_FAILED),
    "patching_locked": ("patching", records.PATCHING_LOCKED),
    "hardening": ("hardening", month.hardening(59, 80, "2026-11-09")),
    "hardening_check": ("hardening", _hardening_check()),
    "backup": ("backup", BACKUP_SITES),
    "backup_failed": ("backup", month.backup_failed("web1", "2026-11-21")),
    "backup_check": ("backup_check", BACKUP_CHECK),
    "backup_check_first": ("backup_check", BACKUP_CHECK_FIRST),
    "restore_drill": ("restore_drill", _drill_sites()),
    "restore_drill_check": ("restore_drill_check", records.RESTORE_DRILL_CHECK),
    "restore_drill_check_room": ("restore_drill_check", DRILL_CHECK),
    "access_review": ("access_review", _access_review()),
    "incident": ("incident", month.INCIDENT),
    "incident_read_only": ("incident", {**month.INCIDENT, "actions": [], "recover": False,
                                        "check_mode": True,
                                        "timeline": [{"id": "20261201T1000", "task": "patching",
                                                      "status": "failed", "check": True,
                                                      "started_at": "2026-12-01T10:00:00Z",
                                                      "message": "apt locked"}]}),
    "content_sync": ("content_sync", month.content_sync("20261105T100000Z", "20261028", "v1")),
    "config_tuning": ("config_tuning", month.CONFIG_TUNING),
    "inventory": ("inventory", records.INVENTORY),
    "inventory_refused": ("inventory", records.INVENTORY_REFUSED),
    "drift_none": ("drift", records.DRIFT_NONE),
    "drift_found": ("drift", records.DRIFT_FOUND),
    "drift_unverified": ("drift", records.DRIFT_UNVERIFIED),
    "vulnerability_scan": ("vulnerability_scan", records.VULNERABILITY_SCAN),
    "vulnerability_scan_clean": ("vulnerability_scan", records.VULNERABILITY_SCAN_CLEAN),
    "wordpress_update": ("wordpress_update", records.WORDPRESS_UPDATE_UPDATED),
    "wordpress_update_rolled_back": ("wordpress_update", records.WORDPRESS_UPDATE_ROLLED_BACK),
    "wordpress_update_held": ("wordpress_update", records.WORDPRESS_UPDATE_HELD),
}  # fmt: skip


def shown(kind: str, data: Any, styled: bool) -> str:
    """What `omctl show` prints for one record, piped (text) or on a colour terminal (ANSI)."""
    out = Console(width=console.PIPE_WIDTH, soft_wrap=True, force_terminal=styled,
                  color_system="standard" if styled else None)  # fmt: skip
    saved, console.out = console.out, out
    try:
        with out.capture() as captured:
            evidence.render(kind, "web1", copy.deepcopy(data))
    finally:
        console.out = saved
    return captured.get()


@pytest.mark.parametrize("name", sorted(CASES))
def test_show_prints_what_it_printed(name: str) -> None:
    kind, data = CASES[name]
    assert shown(kind, data, styled=False) == (EXPECTED / f"{name}.txt").read_text()
    assert shown(kind, data, styled=True) == (EXPECTED / f"{name}.ansi").read_text()


def test_every_kind_with_a_renderer_has_a_case() -> None:
    assert {kind for kind, _ in CASES.values()} == set(evidence.RENDERERS)


if __name__ == "__main__":
    for case, (kind, record) in CASES.items():
        (EXPECTED / f"{case}.txt").write_text(shown(kind, record, styled=False))
        (EXPECTED / f"{case}.ansi").write_text(shown(kind, record, styled=True))
