"""A month of a client's work in a real ledger, for the report's tests.

Runs are recorded the way ``omctl/runs.py`` records them: ``runs.prepare`` takes the scope
decision and ``runs.record_fields`` makes the start (or refusal) payload; ``runs.record_result``
appends the per-host results, the evidence and the end in one atomic append. Only the ledger's
clock is set (``ledger.utcnow``) so that the runs fall on chosen days. The evidence payloads are
copied from what the roles publish (roles/*/README.md, roles/patching/library/patching_apt.py,
roles/backup/files/usr/local/sbin/omctl-backup, roles/backup/tasks/restore_drill.yml).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from omctl import ledger, runner, runs, work
from omctl.settings import Settings
from omctl.workspace import Workspace
from tests.unit import conftest

MIB = 2**20
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script> site down | call <b>Ann</b> & fix'

SCOPE = """\
client: acme
contract: ACME-2026-11
valid_from: 2026-11-04
valid_until: 2027-10-31
timezone: Europe/Berlin
operation:
  content_sync: {every: weekly, window: "Mon-Fri 09:00-17:00", hosts: [web1]}
  config_tuning: {every: on_request}
  access_review: {every: monthly}
maintenance:
  patching: {every: monthly, window: "Sun 02:00-04:00"}
  hardening: {every: quarterly}
  backup: {every: weekly}
  restore_drill: {every: monthly, hosts: [web1]}
"""

HOSTS = """\
all:
  vars:
    ansible_connection: local
  children:
    web:
      hosts:
        web1: {}
        web2: {}
"""

TASKS = {
    "operation": ["content_sync", "config_tuning", "access_review"],
    "maintenance": [
        "patching",
        "hardening",
        "backup",
        "restore_drill",
        "diagnose",
        "healthcheck",
        "vulnerability_scan",
        "wordpress_update",
    ],
    "onboarding": ["baseline"],
}


def make_workspace(root: Path) -> Workspace:
    playbooks = {
        f"{category}/{name}.yml": name for category, names in TASKS.items() for name in names
    }
    return conftest.make_workspace(root, hosts=HOSTS, playbooks=playbooks, scope=SCOPE)


# --- evidence as the roles publish it -----------------------------------------------------


def content_sync(release: str, previous: str, ref: str) -> dict[str, Any]:
    return {
        "action": "sync", "check_mode": False, "up_to_date": False,
        "release": release, "previous": previous,
        "source": {"type": "git", "source": "/srv/content/acme", "ref": ref,
                   "commit": "265ca4958f2a5e512f89a19f7f6dd0df69845e50", "subdir": ""},
        "transferred": {"files_transferred": 1, "created_files": 0, "deleted_files": 0,
                        "literal_bytes": 10, "matched_bytes": 0, "bytes_sent": 118282,
                        "bytes_received": 44, "total_files": 2862, "total_size": 53815138,
                        "transferred_size": 10, "rsync_seconds": 1.5, "seconds": 1.21},
        "changes": [], "removed_incomplete": [], "releases": [previous, release],
        "removed": [], "root": "/srv/www/acme", "shared": ["wp-content/uploads"],
        "db": None, "switched": True, "health": {"ok": True},
    }  # fmt: skip


CONFIG_TUNING = {
    "applied": True, "check_mode": False,
    "settings": [
        {"file": "/etc/php/8.2/fpm/pool.d/zz-omctl-tuning.conf", "name": "pm.max_children",
         "old": "5", "new": "14"},
        {"file": "/etc/mysql/mariadb.conf.d/90-omctl-tuning.cnf",
         "name": "innodb_buffer_pool_size", "old": "128M", "new": "384M"},
        {"file": "/etc/nginx/conf.d/omctl-tuning.conf", "name": "fastcgi_read_timeout",
         "old": None, "new": "90s"},
        {"file": "/etc/php/8.2/fpm/pool.d/zz-omctl-tuning.conf", "name": "pm",
         "old": "dynamic", "new": "dynamic"},
    ],
    "measured": {"memory_mb": 1536, "memory_source": "cgroup v1 limit", "cores": 2,
                 "nofile_hard": 20000, "nofile_source": "nginx master", "ulimit_n": 20000,
                 "php_version": "8.2", "php_worker_rss_mb": 40.1, "php_workers": 1,
                 "php_worker_rss_source": "1 worker(s) that served requests, after a request",
                 "sizing": {"ram_mb": 1536, "cores": 2, "system_reserve_mb": 256,
                            "mariadb_mb": 640, "opcache_mb": 64, "available_mb": 576,
                            "worker_rss_mb": 40.1, "children_sized": 14, "children_kept": False}},
    "changed_files": ["/etc/nginx/conf.d/omctl-tuning.conf", "/etc/nginx/nginx.conf"],
    "reloaded": ["nginx", "php-fpm", "mariadb"],
    "diffs": ["--- /etc/nginx/nginx.conf (before)\n+++ /etc/nginx/nginx.conf (after)\n@@ ..."],
    "notes": ["sysctl: written to /etc/sysctl.d/60-omctl-tuning.conf but not applied"],
    "sysctl_applied": False,
}  # fmt: skip

ACCESS_REVIEW = {
    "findings": {
        "period": {"days": 30, "first_day": "2026-10-30", "last_day": "2026-11-28"},
        "lines": {"read": 65, "in_period": 57, "out_of_period": 7, "malformed": 1,
                  "own_probes": 0, "with_request_time": 7},
        "requests": 57, "unique_visitors": 10, "bytes": 15600,
        "per_day": [{"date": "2026-11-28", "requests": 39, "unique_visitors": 6, "bytes": 13400}],
        "status": {"200": 50, "404": 6, "502": 1},
        "status_classes": {"2xx": 50, "4xx": 6, "5xx": 1},
        "top_urls": [{"url": "/wp-login.php", "requests": 32}],
        "top_404": [{"url": "/old-offer/", "requests": 6,
                     "referers": [{"referer": "https://partner.example/deals", "requests": 6}]}],
        "slowest": [{"url": "/shop/", "requests": 4, "avg_s": 2.4, "max_s": 2.4}],
        "bots": {"requests": 33, "share": 0.5789, "top": [{"name": "Googlebot", "requests": 3}]},
        "wp_login": {"requests": 32, "posts": 30, "addresses": 2,
                     "top": [{"ip": "203.0.113.66", "requests": 30, "posts": 30}]},
        "xmlrpc": {"requests": 4, "posts": 4, "addresses": 1, "top": []},
        "static": {"requests": 4, "top": [{"url": "/wp-content/themes/x/style.css",
                                           "requests": 4}]},
        "cache_probe": [{"url": "/wp-content/themes/x/style.css", "status": 200,
                         "cache_control": "", "expires": "", "cached": False}],
        "files": [{"path": "/var/log/nginx/site.access.log.2.gz", "lines": 13}],
        "seconds": 0.004},
    "proposals": [
        {"id": "wp_login_fail2ban", "title": "Enable the WordPress fail2ban jail (wp-login.php)",
         "why": "30 POSTs to /wp-login.php in 30 days from 2 addresses, 30 from 203.0.113.66",
         "action": "Enable a fail2ban jail on the nginx access log", "evidence": {"posts": 30}},
        {"id": "redirect_404", "title": "Redirect /old-offer/",
         "why": "6 requests for /old-offer/ from https://partner.example/deals",
         "action": "Add a 301 redirect to the current offer", "evidence": {"requests": 6}},
    ],
}  # fmt: skip


def patching(applied: list[tuple[str, str, str, bool]], rebooted: bool) -> dict[str, Any]:
    plan = [{"name": n, "from": a, "to": b, "security": s,
             "origin": "Debian-Security bookworm-security" if s else "Debian bookworm",
             "new": False, "requested": True} for n, a, b, s in applied]  # fmt: skip
    return {
        "scope": "security", "check": False, "batch": ["web1", "web2"], "status": "patched",
        "started_at": "2026-11-15T01:31:00Z", "finished_at": "2026-11-15T01:36:00Z",
        "preflight": {"dpkg_repaired": False}, "lists_refreshed": True, "plan": plan,
        "deferred": [], "not_applied": [],
        "applied": [{"name": n, "from": a, "to": b} for n, a, b, _ in applied],
        "services": {"restarted": ["nginx"], "restarted_by_reboot": [], "deferred": []},
        "reboot": {"policy": "if_required", "required": rebooted,
                   "required_by": ["linux-image-6.1.0-27-amd64"] if rebooted else [],
                   "done": rebooted, "would_reboot": False, "pending": False,
                   "boot_id_before": "a1", "boot_id_after": "b2" if rebooted else None,
                   "boot_before": "a1/1", "boot_after": "b2/1" if rebooted else None},
        "health": {"before": {"ok": True, "failed": []}, "after": {"ok": True, "failed": []}},
        "wordpress": {"sites": []},
    }  # fmt: skip


PATCHING_CHECK = {
    **patching([("tzdata", "2024a-0+deb12u1", "2025b-0+deb12u1", False)], False),
    "check": True, "status": "planned", "applied": [],
}  # fmt: skip

PATCHING_FAILED = {
    **patching([], False),
    "status": "failed", "failed_task": "patching : Check the site after patching",
    "message": "health gate failed after patching: nginx is not active",
    "health": {"before": {"ok": True, "failed": []},
               "after": {"ok": False, "failed": ["nginx is not active"]}},
}  # fmt: skip


def hardening(before: int, after: int, audited: str) -> dict[str, Any]:
    return {
        "check_mode": False, "container": True,
        "lynis_before": {"index": before, "warnings": 1, "warning_tests": ["SSH-7408"],
                         "fresh": True, "audited_at": f"{audited}T10:01:00Z"},
        "lynis_after": {"index": after, "warnings": 0, "warning_tests": [], "fresh": True,
                        "audited_at": f"{audited}T10:06:00Z"},
        "changes": ["packages: installed nftables, fail2ban",
                    "ssh: /etc/ssh/sshd_config.d/00-omctl-hardening.conf"],
        "skipped": ["sysctl: not applied, /proc/sys is read-only in this podman container"],
        "notes": [], "error": "", "reverted": False,
        "site": {"url": "http://localhost/", "same": True,
                 "before": {"status": 200, "sha256": "c1ca", "bytes": 52597},
                 "after": {"status": 200, "sha256": "c1ca", "bytes": 52597}},
        "ssh": {"port": 22, "previous_port": 22, "set_inventory_port": None,
                "fresh_login": "proved by a fresh SSH login as root on port 22"},
        "services": {"disabled": [], "left_enabled_outside_allow_list": []},
        "firewall": {"ssh_ports": [22], "tcp_ports": [80, 443], "udp_ports": [],
                     "dropped_listeners": []},
    }  # fmt: skip


def backup(host: str, day: str, size_mib: int, snapshots: int) -> dict[str, Any]:
    files = {"id": "4f1c2a9e", "files_new": 12, "files_changed": 3, "files_unmodified": 2847,
             "files_total": 2862, "bytes_added": 2 * MIB, "bytes_total": 51 * MIB,
             "duration_seconds": 3.2}  # fmt: skip
    return {
        "ok": True, "host": host, "repository": f"sftp:backup@vault:/srv/restic/{host}",
        "run": f"{day.replace('-', '')}T030000Z",
        "started_at": f"{day}T03:00:00Z", "finished_at": f"{day}T03:02:10Z",
        "snapshots": {"files": files,
                      "databases": {"wordpress": {"id": "77ab01cd", "bytes_added": MIB,
                                                  "bytes_total": 9 * MIB,
                                                  "duration_seconds": 1.1}},
                      "frontpage": {"id": "99ee1122"}},
        "retention": {"policy": {"keep_daily": 7, "keep_weekly": 4}, "snapshots_removed": 0,
                      "pruned": False, "duration_seconds": 0.8},
        "repository_id": "c0ffee", "repository_size_bytes": size_mib * MIB,
        "repository_snapshots": snapshots,
        "totals": {"files_new": 12, "files_changed": 3, "files_total": 2862,
                   "bytes_added": 3 * MIB, "bytes_total": 60 * MIB},
        "duration_seconds": 130.4, "error": None,
    }  # fmt: skip


def backup_failed(host: str, day: str) -> dict[str, Any]:
    return {
        "ok": False, "host": host, "repository": f"sftp:backup@vault:/srv/restic/{host}",
        "run": f"{day.replace('-', '')}T030000Z", "started_at": f"{day}T03:00:00Z",
        "snapshots": {"files": None, "databases": {}, "frontpage": None}, "retention": None,
        "repository_size_bytes": None, "totals": {}, "duration_seconds": 4.0,
        "error": {"code": "repository_unreachable", "exit": 1,
                  "message": "sftp: connection refused by vault:22"},
    }  # fmt: skip


RESTORE_DRILL = {
    "ok": True, "started_at": "2026-11-28T11:00:00Z", "run": "20261127T030000Z",
    "snapshot_time": "2026-11-27T03:00:05Z", "snapshot_age_seconds": 115195.0,
    "snapshots": {"files": "4f1c2a9e", "databases": {"wordpress": "77ab01cd"},
                  "frontpage": "99ee1122"},
    "check_subset": "1/10", "restore_seconds": 30.25, "import_seconds": 12.25,
    "time_to_restore_seconds": 42.5, "files_restored": 2862, "bytes_restored": 53477376,
    "siteurl": "http://localhost",
    "checks": [{"name": "repository check", "ok": True, "detail": "1/10 of the data read"},
               {"name": "files match the snapshot", "ok": True, "detail": "2862 files"},
               {"name": "site answers from the restore", "ok": True, "detail": "200, same title"}],
    "error": None, "scratch_removed": True,
}  # fmt: skip

INCIDENT = {  # roles/diagnose/filter_plugins/diagnose.py: analyse() then with_actions()
    "severity": "critical",
    "summary": "critical: nginx.service failed; / is 97% full. Recovery: restart nginx.service: "
    "restarted, now active; apt-get clean /var/cache/apt: freed 432013312 bytes",
    "findings": [
        {"check": "units", "severity": "critical", "message": "nginx.service failed",
         "details": [{"unit": "nginx.service", "why": "failed", "journal": ["bind() failed"]}]},
        {"check": "errors", "severity": "ok", "message": "no errors in the last 24 h",
         "details": []},
        {"check": "disk", "severity": "critical", "message": "/ is 97% full",
         "details": {"mount": "/", "used_percent": 97}},
        {"check": "memory", "severity": "warning",
         "message": "1 OOM kill in the last 24 h (php-fpm8.2)", "details": {"ooms": 1}},
    ],
    "timeline": [],
    "actions": [
        {"action": "restart", "target": "nginx.service",
         "reason": "nginx.service was failed and is in diagnose_restartable_units",
         "result": "restarted, now active", "state_after": "active"},
        {"action": "apt-get clean", "target": "/var/cache/apt",
         "reason": "/ holds /var/cache/apt and is above 90% full",
         "result": "freed 432013312 bytes", "freed_bytes": 432013312,
         "state_after": "0 bytes in /var/cache/apt"},
    ],
    "recover": True,
    "check_mode": False,
}  # fmt: skip


# --- recording ----------------------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MonthLedger:
    """Records runs of client acme at chosen times through omctl's own record code."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self.settings = Settings(workspace=ws, operator="ann@provider")
        ws.ensure_state()
        self.book = ledger.open_ledger(self.settings.ledger)
        self.ids: dict[str, str] = {}

    def close(self) -> None:
        self.book.close()

    def run(
        self,
        name: str,
        task: str,
        at: datetime,
        evidence: dict[str, dict[str, Any]] | None = None,
        limit: str | None = None,
        failed: dict[str, str] | None = None,
        check: bool = False,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> str:
        """``evidence`` {host: {kind: data}}; ``failed`` {host: message}. Refused when the
        contract says so and no ``reason`` is given (recorded as runs.execute does).
        ``request_id``: the client's request the run is for (its approval is the ``reason``
        runs.execute would record)."""
        request = runs.Request(
            "acme",
            task,
            check=check,
            limit=limit,
            out_of_scope_reason=reason,
            request_id=request_id,
        )
        prepared = runs.prepare(self.ws, request, at)
        run_id = runs.new_run_id(at)
        self.ids[name] = run_id
        in_scope = prepared.decision.in_scope
        fields = runs.record_fields(prepared, self.settings, in_scope)
        with mock.patch.object(ledger, "utcnow", return_value=_stamp(at)):
            if not in_scope and reason is None:
                self.book.append(
                    run_id,
                    ledger.REFUSED,
                    {**fields, "refusal_reason": prepared.decision.reason},
                )
                return run_id
            self.book.append(run_id, ledger.STARTED, fields)
        evidence = evidence or {}
        failed = failed or {}
        hosts = {}
        per_kind: dict[str, dict[str, Any]] = {}
        for host in prepared.targets:
            result = ledger.HostResult(ok=12, changed=0 if check else 3)
            if host in failed:
                result.failed = 1
                result.failures = [{"task": f"{task} : step", "message": failed[host]}]
            hosts[host] = result
            for kind, data in evidence.get(host, {}).items():
                per_kind.setdefault(kind, {})[host] = copy.deepcopy(data)
        outcome = runner.PlaybookResult(
            status="failed" if failed else "successful",
            rc=2 if failed else 0,
            hosts=hosts,
            evidence=per_kind,
        )
        with mock.patch.object(ledger, "utcnow", return_value=_stamp(at + timedelta(minutes=5))):
            runs.record_result(self.book, run_id, outcome, None)
        return run_id


def day(text: str) -> datetime:
    """'2026-11-05 10:00' in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def build_month(ws: Workspace) -> MonthLedger:
    """November 2026 of client acme (contract from Wednesday 2026-11-04, Europe/Berlin)."""
    month = MonthLedger(ws)
    r = month.run
    r("early", "content_sync", day("2026-10-28 10:00"), limit="web1")  # refused: not in force
    r(
        "cs1",
        "content_sync",
        day("2026-11-05 10:00"),
        limit="web1",
        evidence={"web1": {"content_sync": content_sync("20261105T100000Z", "20261028", "v1")}},
    )
    r(
        "bk1",
        "backup",
        day("2026-11-06 03:00"),
        evidence={
            "web1": {"backup": backup("web1", "2026-11-06", 100, 4)},
            "web2": {"backup": backup("web2", "2026-11-06", 80, 4)},
        },
    )
    r(
        "pt_failed",
        "patching",
        day("2026-11-08 01:30"),
        evidence={"web2": {"patching": PATCHING_FAILED}},
        failed={"web2": "health gate failed after patching: nginx is not active"},
    )
    r(
        "hd1",
        "hardening",
        day("2026-11-09 10:00"),
        limit="web1",
        evidence={"web1": {"hardening": hardening(59, 80, "2026-11-09")}},
    )
    r(
        "ct",
        "config_tuning",
        day("2026-11-10 13:00"),
        limit="web1",
        evidence={"web1": {"config_tuning": CONFIG_TUNING}},
    )
    r(
        "cs2",
        "content_sync",
        day("2026-11-12 10:00"),
        limit="web1",
        evidence={
            "web1": {"content_sync": content_sync("20261112T100000Z", "20261105T100000Z", "v2")}
        },
    )
    r(
        "bk2",
        "backup",
        day("2026-11-14 03:00"),
        evidence={
            "web1": {"backup": backup("web1", "2026-11-14", 120, 5)},
            "web2": {"backup": backup("web2", "2026-11-14", 85, 5)},
        },
    )
    r(
        "pt_check",
        "patching",
        day("2026-11-15 01:10"),
        check=True,
        evidence={"web1": {"patching": PATCHING_CHECK}, "web2": {"patching": PATCHING_CHECK}},
    )
    r(
        "pt",
        "patching",
        day("2026-11-15 01:30"),
        evidence={
            "web1": {
                "patching": patching(
                    [
                        ("openssl", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2", True),
                        ("nginx", "1.22.1-9", "1.22.1-9+deb12u1", True),
                        ("tzdata", "2024a-0+deb12u1", "2025b-0+deb12u1", False),
                    ],
                    rebooted=True,
                )
            },
            "web2": {
                "patching": patching(
                    [("openssl", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2", True)], rebooted=False
                )
            },
        },
    )
    r(
        "diag",
        "diagnose",
        day("2026-11-18 15:00"),
        limit="web2",
        reason=HOSTILE,
        evidence={"web2": {"incident": INCIDENT}},
    )
    r("hc_refused", "healthcheck", day("2026-11-20 10:00"))
    r(
        "bk3",
        "backup",
        day("2026-11-21 03:00"),
        evidence={
            "web1": {"backup": backup("web1", "2026-11-21", 130, 6)},
            "web2": {"backup": backup_failed("web2", "2026-11-21")},
        },
        failed={"web2": "backup failed: sftp: connection refused by vault:22"},
    )
    r(
        "hd2",
        "hardening",
        day("2026-11-23 10:00"),
        evidence={
            "web1": {"hardening": hardening(80, 84, "2026-11-23")},
            "web2": {"hardening": hardening(59, 81, "2026-11-23")},
        },
    )
    r(
        "cs3",
        "content_sync",
        day("2026-11-26 10:00"),
        limit="web1",
        evidence={
            "web1": {"content_sync": content_sync("20261126T100000Z", "20261112T100000Z", "v3")}
        },
    )
    r(
        "bk4",
        "backup",
        day("2026-11-27 03:00"),
        limit="web1",
        evidence={"web1": {"backup": backup("web1", "2026-11-27", 150, 7)}},
    )
    r(
        "ar",
        "access_review",
        day("2026-11-28 09:00"),
        limit="web1",
        evidence={"web1": {"access_review": ACCESS_REVIEW}},
    )
    r(
        "rd",
        "restore_drill",
        day("2026-11-28 11:00"),
        limit="web1",
        evidence={"web1": {"restore_drill": RESTORE_DRILL}},
    )
    r(
        "late",
        "hardening",
        day("2026-12-02 10:00"),
        limit="web1",
        evidence={"web1": {"hardening": hardening(84, 85, "2026-12-02")}},
    )
    return month  # fmt: skip


# --- fees, requests and manual work (issue 15) ----------------------------------------------

FEES = """\
fees:
  currency: EUR
  monthly: {operation: 300, maintenance: 200}
  included_hours: {operation: 2, maintenance: 1}
  hourly_rate: 90
  increment_minutes: 15
  task_prices: {diagnose: 120}
responsibilities:
  - {area: Content, provider: publishes the releases the client tags, client: writes the content}
  - {area: DNS, provider: advises on the records, client: keeps the domain and its records}
  - {area: Backups off-site, provider: runs and checks them, client: pays for the storage}
"""
# 300 and 200 pro-rated 27/30 days (the contract starts 2026-11-04): 270 + 180; operation
# 50 -> 60 and 80 -> 90 min against 2 h included: 0.5 h x 90 = 45; maintenance 25 -> 30 min
# of 1 h; approved out of scope: R2's 130 -> 135 min = 202.50, the healthcheck run for R2
# 5 -> 15 min = 22.50, the diagnose run (its operator's reason) at its task price 120.
BILLED_TOTAL = "840.00"


class Billed:
    """What ``bill_month`` recorded: the request ids by name."""

    def __init__(self) -> None:
        self.requests: dict[str, str] = {}


def bill_month(month: MonthLedger) -> Billed:
    """Give acme's contract fees and responsibilities, and record November's requests, manual
    work and an out-of-scope run for an approved request, at chosen times."""
    scope_file = month.ws.client_dir("acme") / "scope.yml"
    scope_file.write_text(scope_file.read_text() + FEES)
    book, who, done = month.book, month.settings.operator, Billed()

    def at(text: str) -> Any:
        return mock.patch.object(ledger, "utcnow", return_value=_stamp(day(text)))

    def add(name: str, when: str, text: str, **kw: Any) -> str:
        with at(when):
            done.requests[name] = work.add(book, "acme", text, who, **kw).id
        return done.requests[name]

    def log(when: str, category: str, minutes: int, text: str, request: str | None = None):
        with at(when):
            work.log(book, "acme", category, minutes, text, who, day(when), request=request)

    inquiry = add("inquiry", "2026-11-05 08:00", "Why is the contact form slow?",
                  requested_by="Eva (acme)", category="operation")  # fmt: skip
    with at("2026-11-05 08:05"):
        work.classify(book, inquiry, "operation", "a support inquiry", who)
    log("2026-11-05 09:00", "operation", 50, "answered: the form plugin's SMTP timeout", inquiry)
    with at("2026-11-06 08:00"):
        work.close(book, inquiry, who)
    log("2026-11-12 13:00", "operation", 80, "proposed caching the shop pages")
    log("2026-11-20 15:00", "maintenance", 25, "helped the client's developer with staging")
    newsletter = add("newsletter", "2026-11-10 08:00", "Move the newsletter to a new provider",
                     requested_by="Eva (acme)")  # fmt: skip
    with at("2026-11-10 08:10"):
        work.classify(book, newsletter, "out-of-scope", "not in the contract", who)
    with at("2026-11-11 08:00"):
        work.approve(book, newsletter, "Eva (acme)", who, quote_hours=work.parse_hours("3"))
    log("2026-11-16 10:00", "operation", 130, "moved the newsletter lists", newsletter)
    month.run("hc_request", "healthcheck", day("2026-11-29 10:00"), request_id=newsletter,
              reason=f"request {newsletter}, approved by Eva (acme)")  # fmt: skip
    staging = add("staging", "2026-11-25 08:00", "Add a staging site")
    with at("2026-11-25 08:10"):
        work.classify(book, staging, "out-of-scope", "a new site", who)
    log("2026-11-26 10:00", "maintenance", 40, "looked at a staging setup", staging)
    add("certificate", "2026-11-27 08:00", "Renew the certificate of the old domain")
    return done
