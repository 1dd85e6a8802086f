"""Realistic records of every evidence kind, as the roles publish them: the report's month
(tests/unit/report_ledger.py, copied from the roles' READMEs and modules), the backup check
renders (tests/unit/test_backup_check_render.py) and real runs of the lab (baseline,
healthcheck, incident, a patching run that found apt locked)."""

from __future__ import annotations

from typing import Any

from tests.unit import report_ledger as month
from tests.unit.test_backup_check_render import BACKUP_CHECK

HEALTHCHECK = {
    "ok": False,
    "checks": [
        {"name": "service ssh", "ok": True, "detail": "service ssh is active"},
        {"name": "service nginx", "ok": False, "detail": "service nginx is inactive"},
        {"name": "disk /", "ok": True, "detail": "disk / is 24% full (max 90%)"},
    ],
    "not_applicable": ["no database server: database checks not applicable"],
}
# What roles/wordpress_facts publishes for a site: as the lab's debian host answers, with an
# update known for the plugin, and a second site that did not load.
WORDPRESS = [
    {"path": "/usr/share/wordpress", "host": "default", "user": "www-data",
     "url": "http://localhost", "siteurl": "http://localhost", "multisite": False, "error": None,
     "items": [
         {"type": "core", "slug": "wordpress", "name": "WordPress", "version": "6.1.9",
          "active": True, "update": None},
         {"type": "plugin", "slug": "akismet", "name": "Akismet Anti-Spam", "version": "5.0.2",
          "active": False, "file": "akismet/akismet.php", "must_use": False,
          "network_active": False, "update": None},
         {"type": "plugin", "slug": "omctl-lab-plugin", "name": "omctl lab plugin",
          "version": "1.0", "active": True, "file": "omctl-lab-plugin/omctl-lab-plugin.php",
          "must_use": False, "network_active": False, "update": {"version": "1.1"}},
         {"type": "plugin", "slug": "cache-guard", "name": "Cache guard", "version": "2.3",
          "active": True, "file": "cache-guard.php", "must_use": True, "network_active": False,
          "update": None},
         {"type": "theme", "slug": "omctl-lab-theme", "name": "omctl lab theme",
          "version": "1.0", "active": True, "parent": None, "update": None},
         {"type": "theme", "slug": "twentytwentythree", "name": "Twenty Twenty-Three",
          "version": "1.0", "active": False, "parent": None, "update": None},
     ]},
    {"path": "/var/www/blog", "host": None, "user": "www-data", "url": None, "siteurl": None,
     "multisite": None, "items": [],
     "error": "WordPress stopped while loading: Error establishing a database connection"},
]  # fmt: skip
BASELINE = {
    "collected_at": "2026-11-28T13:43:54Z",
    "os": {"hostname": "web1", "distribution": "Debian", "distribution_version": "12.15",
           "distribution_release": "bookworm", "kernel": "6.1.0-31-amd64",
           "virtualization_type": "kvm"},
    "packages": {"manager": "apt", "supported": True, "installed_count": 258,
                 "upgradable_count": 1, "security_count": 1, "simulation_error": None},
    "services": {"manager": "systemd", "supported": True, "enabled_count": 9,
                 "enabled": ["nginx.service"], "failed_count": 0, "failed": []},
    "ports": [{"proto": "tcp", "address": "0.0.0.0", "port": 22, "process": "sshd"}],
    "ports_error": None,
    "disks": [{"mount": "/", "device": "/dev/vda1", "fstype": "ext4", "size_bytes": 270553174016,
               "used_bytes": 26093088768, "used_percent": 24, "inodes_used_percent": 4}],
    "webstack": {"nginx": {"installed": True, "version": "1.22.1", "source": "nginx -v"}},
    "discovered": {"sites": [], "wordpress": [], "databases": {}, "php_fpm": {"pools": []}},
}  # fmt: skip
PATCHING_LOCKED = {
    "applied": [], "batch": ["web1"], "check": False, "deferred": [],
    "failed_task": "Stop when the host cannot be patched now",
    "finished_at": "2026-12-02T02:40:35Z", "health": {}, "lists_refreshed": False,
    "message": "apt is locked by PID 299 for more than 10 s; patching did not start",
    "plan": [], "preflight": {"lock": {"free": False, "timeout_s": 10, "waited_s": 10.0}},
    "reboot": {}, "scope": "security", "services": {},
    "started_at": "2026-12-02T02:40:24Z", "status": "failed", "wordpress": {},
}  # fmt: skip
RESTORE_DRILL_CHECK = {
    "ok": True, "check": True, "error": None, "problems": [], "notices": [],
    "checked_at": "2026-12-01T20:17:00Z",
    "repository": {"url": "sftp:root@10.88.0.6:/srv/omctl-backup/web1", "state": "ok"},
    "latest": None, "locks": [], "snapshots": {"count": 4, "runs": 1},
    "drill": {"run": "20261201T201300Z", "scratch_dir": "/var/tmp/omctl-drill"},
    "sites": ["nginx:/etc/nginx/sites-enabled/wordpress:2"], "not_applicable": [],
}  # fmt: skip
INVENTORY = {"file": "inventories/acme/hosts.yml", "ansible_port": 2222, "previous": 22,
             "updated": True}  # fmt: skip
INVENTORY_REFUSED = {"file": "inventories/acme/hosts.yml", "ansible_port": 2222,
                     "updated": False,
                     "reason": "inventories/acme/hosts.yml:4: web1 is not a host here"}  # fmt: skip
# What omctl writes for a drift check (omctl/runs.py add_drift_evidence).
DRIFT_NONE = {"task": "hardening", "state": "no drift", "changes": 0, "changed_tasks": []}
SSHD_DROP_IN = "hardening : Install the sshd drop-in (tested with sshd -t)"
DRIFT_FOUND = {"task": "hardening", "state": "drift", "changes": 1,
               "changed_tasks": [SSHD_DROP_IN]}  # fmt: skip
DRIFT_UNVERIFIED = {"task": "config_tuning", "state": "not verified", "changes": 0,
                    "changed_tasks": [], "reason": "unreachable"}  # fmt: skip
# What omctl writes for a vulnerability scan (omctl/vulns/scan.py match), from the test feeds.
WORDFENCE_FEED = {
    "kind": "wordpress",
    "path": "/srv/feeds/wordfence-production.json",
    "sha256": "589f899aa62deb376282b29f0bba31e91797db3ee37e651362df33a1e7dce794",
    "entries": 6,
    "date": "2026-11-21 10:00:00",
    "modified": "2026-11-30T04:00:12Z",
    "notice": "Copyright 2012-2026 Defiant Inc.",
}
DEBIAN_TRACKER = {
    "kind": "debian",
    "path": "/srv/feeds/debian-tracker.json",
    "sha256": "79642f4adda950161ca6a35431783e2ad5429ea912c141031437401bf438e865",
    "entries": 8,
    "date": "2026-11-30T04:00:31Z",
    "modified": "2026-11-30T04:00:31Z",
}
WORDFENCE_LINK = "https://www.wordfence.com/threat-intel/vulnerabilities/id/"
VULNERABILITY_SCAN = {
    "scanned_at": "2026-12-01T03:00:00Z", "release": "bookworm",
    "feeds": [WORDFENCE_FEED, DEBIAN_TRACKER],
    "findings": [
        {"source": "wordpress", "type": "plugin", "slug": "woocommerce", "installed": "8.2.1",
         "fixed_in": "8.2.3", "score": 8.8, "severity": "high", "id": "CVE-2026-90001",
         "title": "WooCommerce <= 8.2.2 and 8.3.0 - 8.3.1 - Authenticated (Shop Manager+) "
                  "SQL Injection",
         "site": "/var/www/shop", "alert": True, "active": True,
         "reference": WORDFENCE_LINK + "5f0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b?source=api-prod"},
        {"source": "debian", "type": "package", "package": "openssl",
         "installed": "3.0.15-1~deb12u1", "fixed_in": "3.0.16-1~deb12u1", "score": None,
         "severity": "high", "id": "CVE-2026-91001",
         "title": "An invented buffer over-read in X.509 name checks", "alert": True,
         "reference": "https://security-tracker.debian.org/tracker/CVE-2026-91001",
         "binaries": ["libssl3", "openssl"]},
        {"source": "debian", "type": "package", "package": "openssl",
         "installed": "3.0.15-1~deb12u1", "fixed_in": None, "score": None, "severity": "low",
         "id": "CVE-2026-91002", "title": "An invented timing side channel in RSA decryption",
         "alert": False, "reference": "https://security-tracker.debian.org/tracker/CVE-2026-91002",
         "binaries": ["libssl3", "openssl"]},
        {"source": "wordpress", "type": "theme", "slug": "astra", "installed": "4.6.0",
         "fixed_in": None, "score": None, "severity": "unknown",
         "id": "8c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
         "title": "Astra <= 4.6.4 - Missing Authorization", "site": "/var/www/shop",
         "alert": False, "active": False,
         "reference": WORDFENCE_LINK + "8c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f?source=api-prod"},
    ],
    "counts": {"high": 2, "low": 1, "unknown": 1}, "alert_score": 7.0, "alerts": 2,
    "checked": {"wordpress items": 4, "packages": 312},
}  # fmt: skip
VULNERABILITY_SCAN_CLEAN = {
    "scanned_at": "2026-12-01T03:00:00Z", "release": "bookworm", "feeds": [DEBIAN_TRACKER],
    "findings": [], "counts": {}, "alert_score": 7.0, "alerts": 0, "checked": {"packages": 258},
    "notes": ["no WordPress vulnerability feed (wordpress_vulnerability_feed): WordPress not "
              "checked"],
}  # fmt: skip

# kind -> realistic records of it
# wordpress_update: records of real lab runs (tests/integration/test_wordpress_update.py),
# paths shortened.
WORDPRESS_UPDATE_UPDATED: dict[str, Any] = {
    "check_mode": False,
    "held": [],
    "items": [
        {
            "after": [
                {
                    "changed_percent": 0.006,
                    "marker_found": True,
                    "ok": True,
                    "path": "/",
                    "problems": [],
                    "screenshot": "shots/upstream1/omctl-lab-plugin-1.1/after/front.png",
                    "status": 200,
                    "threshold": 2.0,
                    "url": "http://shop.lab.test/",
                }
            ],
            "before": [
                {
                    "changed_percent": None,
                    "marker_found": True,
                    "ok": True,
                    "path": "/",
                    "problems": [],
                    "screenshot": "shots/upstream1/omctl-lab-plugin-1.1/before/front.png",
                    "status": 200,
                    "threshold": 2.0,
                    "url": "http://shop.lab.test/",
                }
            ],
            "database_digest": "332bddddb20e7ccc548f4d14a6ca02f4b1c711f34c3e568cc464d1dd05ad4ac4",
            "files_digest": "809207ea878e70c513903417c2f421a7cdfb6ae6468f82da94b11532b5945d82",
            "from": "1.0",
            "gates": [
                {"detail": "", "name": "pages", "ok": True},
                {"detail": "", "name": "php_fatal", "ok": True},
                {"detail": "", "name": "visual", "ok": True},
            ],
            "maintenance_file_removed": False,
            "outcome": "updated",
            "package": "/srv/omctl/packages/omctl-lab-plugin.1.1.zip",
            "reason": None,
            "restore_point": "/var/backups/omctl-wordpress-update/run-1/omctl-lab-plugin-1.0",
            "rollback": None,
            "site": "/var/www/shop",
            "slug": "omctl-lab-plugin",
            "to": "1.1",
            "type": "plugin",
        }
    ],
    "notes": [],
    "packages": "/srv/omctl/packages",
    "planned": [
        {
            "from": "1.0",
            "held": False,
            "package": "/srv/omctl/packages/omctl-lab-plugin.1.1.zip",
            "reason": None,
            "site": "/var/www/shop",
            "slug": "omctl-lab-plugin",
            "to": "1.1",
            "type": "plugin",
        }
    ],
    "stopped": False,
}
WORDPRESS_UPDATE_ROLLED_BACK: dict[str, Any] = {
    "check_mode": False,
    "held": [],
    "items": [
        {
            "after": [
                {
                    "changed_percent": 62.082,
                    "marker_found": True,
                    "ok": False,
                    "path": "/",
                    "problems": ["/ changed 62.08% of its pixels (threshold 2%)"],
                    "screenshot": "shots/upstream1/omctl-lab-plugin-1.3/after/front.png",
                    "status": 200,
                    "threshold": 2.0,
                    "url": "http://shop.lab.test/",
                }
            ],
            "before": [
                {
                    "changed_percent": None,
                    "marker_found": True,
                    "ok": True,
                    "path": "/",
                    "problems": [],
                    "screenshot": "shots/upstream1/omctl-lab-plugin-1.3/before/front.png",
                    "status": 200,
                    "threshold": 2.0,
                    "url": "http://shop.lab.test/",
                }
            ],
            "database_digest": "8348c7e08c737ba0434efcdb6c743dc8ec44f4d50c089fa48a58d69165963c6a",
            "files_digest": "fbe0d3204365c2046ebadb426e0503bdeb103290d2175dd619e6a6ab3f825335",
            "from": "1.1",
            "gates": [
                {"detail": "", "name": "pages", "ok": True},
                {"detail": "", "name": "php_fatal", "ok": True},
                {
                    "detail": "/ changed 62.08% of its pixels (threshold 2%)",
                    "name": "visual",
                    "ok": False,
                },
            ],
            "maintenance_file_removed": False,
            "outcome": "rolled_back",
            "package": "/srv/omctl/packages/omctl-lab-plugin.1.3.zip",
            "reason": "/ changed 62.08% of its pixels (threshold 2%)",
            "restore_point": "/var/backups/omctl-wordpress-update/run-2/omctl-lab-plugin-1.1",
            "rollback": {
                "database_identical": True,
                "files_identical": True,
                "pages": [
                    {
                        "changed_percent": 0.0,
                        "marker_found": True,
                        "ok": True,
                        "path": "/",
                        "problems": [],
                        "screenshot": "shots/upstream1/omctl-lab-plugin-1.3/restored/front.png",
                        "status": 200,
                        "threshold": 2.0,
                        "url": "http://shop.lab.test/",
                    }
                ],
                "pages_ok": True,
                "php_fatals": [],
                "proven": True,
            },
            "site": "/var/www/shop",
            "slug": "omctl-lab-plugin",
            "to": "1.3",
            "type": "plugin",
        }
    ],
    "notes": [],
    "packages": "/srv/omctl/packages",
    "planned": [
        {
            "from": "1.1",
            "held": False,
            "package": "/srv/omctl/packages/omctl-lab-plugin.1.3.zip",
            "reason": None,
            "site": "/var/www/shop",
            "slug": "omctl-lab-plugin",
            "to": "1.3",
            "type": "plugin",
        }
    ],
    "stopped": False,
}
WORDPRESS_UPDATE_HELD: dict[str, Any] = {
    "packages": "/srv/omctl/packages",
    "check_mode": False,
    "planned": [],
    "items": [],
    "held": [
        {
            "site": "/var/www/shop",
            "type": "theme",
            "slug": "omctl-lab-theme",
            "from": "1.0",
            "to": "1.1",
            "package": None,
            "held": True,
            "reason": "held: waiting for the client's decision",
        },
        {
            "site": "/var/www/shop",
            "type": "plugin",
            "slug": "omctl-lab-plugin",
            "from": "1.1",
            "to": None,
            "package": None,
            "held": False,
            "reason": "1.2 waits until 2026-12-10 (7 days after its release)",
        },
    ],
    "stopped": False,
    "notes": [],
}


RECORDS: dict[str, list[dict[str, Any]]] = {
    "baseline": [
        BASELINE,
        {"collected_at": "2026-11-28T13:43:54Z"},
        {**BASELINE, "wordpress": WORDPRESS},
    ],
    "healthcheck": [HEALTHCHECK, {**HEALTHCHECK, "wordpress": WORDPRESS}],
    "patching": [
        month.patching([("libssl3", "3.0.15-1", "3.0.16-1", True)], rebooted=True),
        month.PATCHING_CHECK,
        month.PATCHING_FAILED,
        PATCHING_LOCKED,
    ],
    "hardening": [month.hardening(59, 80, "2026-11-09")],
    "backup": [
        month.backup("web1", "2026-11-06", 100, 4),
        month.backup_failed("web2", "2026-11-07"),
    ],
    "backup_check": [BACKUP_CHECK],
    "restore_drill": [month.RESTORE_DRILL],
    "restore_drill_check": [RESTORE_DRILL_CHECK],
    "content_sync": [
        month.content_sync("20261105T100000Z", "20261028", "v1"),
        {"error": "the source could not be read"},
    ],
    "config_tuning": [month.CONFIG_TUNING],
    "access_review": [month.ACCESS_REVIEW],
    "incident": [month.INCIDENT],
    "inventory": [INVENTORY, INVENTORY_REFUSED],
    "drift": [DRIFT_NONE, DRIFT_FOUND, DRIFT_UNVERIFIED],
    "vulnerability_scan": [VULNERABILITY_SCAN, VULNERABILITY_SCAN_CLEAN],
    "wordpress_update": [
        WORDPRESS_UPDATE_UPDATED,
        WORDPRESS_UPDATE_ROLLED_BACK,
        WORDPRESS_UPDATE_HELD,
    ],
    "software_inventory": [
        {
            "release": "bookworm",
            "distribution": "debian",
            "packages": [
                {
                    "name": "libssl3",
                    "version": "3.0.15-1~deb12u1",
                    "source": "openssl",
                    "source_version": "3.0.15-1~deb12u1",
                    "arch": "amd64",
                },
            ],
            "packages_note": "",
            "wordpress": WORDPRESS,
        },
        {
            "release": "",
            "distribution": "",
            "packages": [],
            "packages_note": "no dpkg-query on the host: its packages are not listed",
            "wordpress": [],
        },
    ],
}
