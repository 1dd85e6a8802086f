"""Running a task for a client: scope decision, lock, ledger records, playbook, result.

Order matters for the evidence: the refusal or the run's start is in the ledger before Ansible
starts, per-host results and the end follow, so a killed run is never lost (the next omctl start
marks it interrupted).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import yaml

from omctl import (
    __version__,
    catalog,
    evidence,
    grants,
    guards,
    inventory,
    inventory_edit,
    ledger,
    locking,
    nodes,
    redact,
    runner,
    scope,
    work,
)
from omctl.errors import BadInput, EnvironmentProblem, NotGranted, ScopeRefused
from omctl.ledger import Ledger, Run
from omctl.settings import Settings
from omctl.workspace import Workspace

if TYPE_CHECKING:
    from omctl.vulns.scan import Feeds

RUNS_DIR = "runs"
HISTORY_RUNS = 20  # runs per host handed to playbooks that need the host's history
VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_extra_vars(items: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` items of ``omctl run -e``; values are YAML scalars (true, 3, text)."""
    parsed: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not VAR_NAME_RE.match(name):
            raise BadInput(f"-e expects NAME=VALUE with NAME a variable name, got {item!r}")
        if name.startswith("omctl_"):
            raise BadInput(f"-e {name}: names starting with omctl_ are set by omctl itself")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        if isinstance(value, dict | list) or value is None:
            value = text  # only scalars: structured values belong in group_vars
        parsed[name] = value
    return parsed


def recorded_extra_vars(
    extravars: dict[str, Any] | None, secret_vars: tuple[str, ...] = ()
) -> dict[str, Any] | None:
    """``-e`` values as the ledger keeps them: secret ones (by name) as ``<redacted>``."""
    if not extravars:
        return None
    return {
        name: redact.REDACTED if redact.secret_name(name) or name in secret_vars else value
        for name, value in extravars.items()
    }


def redactor(
    settings: Settings, inventory_dir: Path, extravars: dict[str, Any] | None = None
) -> redact.Redactor:
    """The scrubber of everything a run (or a report) of a client writes (omctl.redact)."""
    ws = settings.workspace
    values = redact.collect(
        inventory_dir=inventory_dir,
        vault_dirs=(ws.playbooks, ws.roles),
        vault_password_file=settings.vault_password_file,
        secret_vars=settings.secret_vars,
        extravars=extravars,
        environment=runner.child_environment(os.environ, settings.pass_env),
    )
    return redact.Redactor(values)


def new_run_id(now: datetime | None = None) -> str:
    moment = now or datetime.now(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def workspace_commit(ws: Workspace) -> str | None:
    """The workspace's git commit, with '-dirty' when it has uncommitted changes."""
    if shutil.which("git") is None:
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(ws.root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ws.root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return None
    return f"{head}-dirty" if dirty else head


@dataclass(frozen=True)
class Request:
    client: str
    task: str
    check: bool = False
    diff: bool = False
    limit: str | None = None
    out_of_scope_reason: str | None = None
    no_backup_check_reason: str | None = None
    extravars: dict[str, Any] | None = None
    trigger: str = ledger.TRIGGER_OPERATOR
    # The client's request (omctl.work) this run is for; an approved out-of-scope request is
    # what lets out-of-scope work run without a separate --out-of-scope reason.
    request_id: str | None = None
    # A check-mode run that proves an idempotent task's hosts did not drift: it records
    # ``drift`` evidence per host (omctl.evidence.drift).
    drift_check: bool = False

    def __post_init__(self) -> None:
        if self.drift_check and not self.check:
            raise ValueError("a drift check runs in check mode")


@dataclass(frozen=True)
class Prepared:
    """Everything known about a request before anything is recorded or run."""

    request: Request
    task: catalog.Task
    inventory: inventory.Inventory
    scope: scope.Scope
    targets: list[str]
    decision: scope.Decision


def prepare(ws: Workspace, request: Request, now: datetime | None = None) -> Prepared:
    """Validate the request; raises BadInput family errors, records nothing."""
    for option, reason in (
        ("--out-of-scope", request.out_of_scope_reason),
        ("--no-backup-check", request.no_backup_check_reason),
    ):
        if reason is not None and not reason.strip():
            raise BadInput(f"{option} needs a reason the client can read")
    contract = scope.load_checked(ws, request.client)
    loaded, hosts = contract.loaded, contract.hosts
    task = catalog.find(contract.tasks, request.task, ws)
    targets = hosts.resolve(request.limit)
    entry = loaded.scope.entry(task)
    covered = hosts.covered(entry.hosts) if entry is not None else None
    moment = now.astimezone(ZoneInfo(loaded.scope.timezone)) if now else loaded.scope.now()
    decision = scope.decide(loaded.scope, task, targets=targets, covered=covered, now=moment)
    return Prepared(request, task, hosts, loaded.scope, targets, decision)


def record_fields(prepared: Prepared, settings: Settings, in_scope: bool) -> dict[str, Any]:
    """The payload of a run's start or refusal record: who asked for what, on which hosts."""
    request = prepared.request
    return {
        "client": request.client,
        "contract": prepared.scope.contract,
        "task": prepared.task.name,
        "category": prepared.task.category.value,
        "in_scope": in_scope,
        "out_of_scope_reason": None if in_scope else request.out_of_scope_reason,
        "no_backup_check_reason": request.no_backup_check_reason,
        "check": request.check,
        "drift_check": request.drift_check,
        "diff": request.diff,
        "limit": request.limit,
        "targets": prepared.targets,
        "extra_vars": recorded_extra_vars(request.extravars, settings.secret_vars),
        "operator": settings.operator,
        "trigger": request.trigger,
        "omctl_version": __version__,
        "workspace_commit": workspace_commit(settings.workspace),
        # Only when there is one: the start records of other runs stay as they were.
        **({"request": request.request_id} if request.request_id else {}),
    }


def host_history(book: Ledger, client: str, hosts: list[str]) -> dict[str, dict[str, Any]]:
    """Per host: its latest baseline evidence and its recent runs, oldest first."""
    history: dict[str, dict[str, Any]] = {
        host: {"baseline": None, "baseline_run": None, "baseline_at": None, "runs": []}
        for host in hosts
    }
    for run in ledger.runs(book, client):
        for host, result in run.hosts.items():
            if host not in history:
                continue
            entry = history[host]
            baseline = result.evidence.get("baseline")
            if baseline is not None and result.status in ("ok", "changed") and not run.check:
                entry.update(baseline=baseline, baseline_run=run.id, baseline_at=run.started_at)
            entry["runs"].append(
                {
                    "id": run.id,
                    "task": run.task,
                    "category": run.category,
                    "status": run.status,
                    "check": run.check,
                    "started_at": run.started_at,
                    "ended_at": run.ended_at,
                    "changed": result.changed,
                    "failed": result.failed + result.unreachable,
                    "message": run.message,
                }
            )
    for entry in history.values():
        entry["runs"] = entry["runs"][-HISTORY_RUNS:]
    return history


def _extravars(book: Ledger, prepared: Prepared, run_id: str, run_dir: Path) -> dict[str, Any]:
    request = prepared.request
    extravars: dict[str, Any] = dict(request.extravars or {})
    extravars["omctl_run"] = {
        "id": run_id,
        "client": request.client,
        "task": prepared.task.name,
        "category": prepared.task.category.value,
        "in_scope": prepared.decision.in_scope,
        "check": request.check,
        # Where the run keeps files of its own (wordpress_update's screenshots).
        "dir": str(run_dir),
    }
    if "host_history" in prepared.task.needs:
        extravars["omctl_host_history"] = host_history(book, request.client, prepared.targets)
    return extravars


def recover_interrupted(
    ws: Workspace, book: Ledger, client: str | None = None, held: str | None = None
) -> list[str]:
    """Mark runs whose process is gone as interrupted. A live run holds its client's lock;
    ``held`` is a client whose lock the caller already holds (``execute``), so its unfinished
    runs are dead. Whether a run is unfinished is checked again under the lock: two omctl
    processes never both mark the same run."""
    marked: list[str] = []
    for run_id in book.unfinished():
        run = ledger.get_run(book, run_id)
        if run is None or (client is not None and run.client != client):
            continue
        fd = None
        if run.client != held:
            fd = locking.try_lock(ws, run.client)
            if fd is None:
                continue  # its omctl process is still running
        try:
            if run_id not in book.unfinished():
                continue  # another omctl marked it while this one took the lock
            book.append(
                run.id,
                ledger.INTERRUPTED,
                {
                    "status": ledger.STATUS_INTERRUPTED,
                    "message": "omctl stopped before the run finished; no result was recorded",
                },
            )
            marked.append(run.id)
            runner.discard_unscrubbed(artifacts_dir(ws, run.id))
        finally:
            if fd is not None:
                locking.release(fd)
    return marked


def rotate_run_dirs(ws: Workspace, keep: int, current: str) -> None:
    """Keep the artifacts of the newest ``keep`` runs (run ids sort by time)."""
    root = ws.state / RUNS_DIR
    if not root.is_dir():
        return
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name)
    for old in folders[: max(0, len(folders) - keep)]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


class _Cancellation:
    """SIGINT/SIGTERM cancel the playbook through ansible-runner instead of killing omctl."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def __call__(self) -> bool:
        return self.signal_name is not None

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signum).name


@contextmanager
def _cancel_on_signals(cancellation: _Cancellation) -> Iterator[None]:
    previous = {
        sig: signal.signal(sig, cancellation.handle) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def execute(
    settings: Settings,
    book: Ledger,
    request: Request,
    on_progress: Callable[[runner.Progress], None],
    on_start: Callable[[str, Prepared], None] | None = None,
    now: datetime | None = None,
) -> Run:
    """Run one task for one client. Returns the recorded run; raises ScopeRefused (recorded)."""
    ws = settings.workspace
    prepared = prepare(ws, request, now)
    scrub = redactor(settings, prepared.inventory.path.parent, request.extravars)
    ws.ensure_state()
    run_id = new_run_id()
    decision = prepared.decision
    if request.request_id is not None:
        prepared = _for_request(book, prepared)
        request = prepared.request
    _check_grant(settings, book, prepared, run_id, scrub)
    _check_scope(settings, book, prepared, run_id, scrub)
    if not request.check and request.no_backup_check_reason is None:
        stale = guards.backup_freshness(
            book,
            prepared.scope,
            request.client,
            prepared.task.name,
            prepared.targets,
            now or datetime.now(UTC),
        )
        if stale is not None:
            fields = record_fields(prepared, settings, decision.in_scope)
            book.append(run_id, ledger.REFUSED, scrub.data({**fields, "refusal_reason": stale}))
            raise ScopeRefused(
                f"refused: {stale}. Run {run_id} records the refusal; run the backup first, "
                f"or pass --no-backup-check REASON"
            )
    in_scope = decision.in_scope
    # A feed that does not read is the operator's to fix: found before anything is recorded.
    feeds = _vulnerability_feeds(settings) if prepared.task.name == VULNERABILITY_SCAN else None
    worker = _remote_worker(prepared)
    with locking.client_lock(ws, request.client, run_id):
        recover_interrupted(ws, book, request.client, held=request.client)
        extravars = _extravars(book, prepared, run_id, ws.state / RUNS_DIR / run_id)
        started = record_fields(prepared, settings, in_scope)
        book.append(run_id, ledger.STARTED, scrub.data(started | _node_field(worker)))
        if on_start is not None:
            on_start(run_id, prepared)
        spec = runner.PlaybookSpec(
            run_id=run_id,
            private_data_dir=ws.state / RUNS_DIR / run_id,
            project_dir=ws.root,
            playbook=prepared.task.playbook,
            inventory=prepared.inventory.path,
            limit=request.limit,
            check=request.check,
            diff=request.diff,
            extravars=extravars,
            vault_password_file=settings.vault_password_file,
            ansible_cfg=ws.ansible_cfg,
            pass_env=settings.pass_env,
            worker=worker,
        )
        cancellation = _Cancellation()
        try:
            with _cancel_on_signals(cancellation):
                result = runner.run_playbook(spec, on_progress, cancellation, scrub)
        except EnvironmentProblem as exc:
            message = scrub.text(exc.message)
            book.append(run_id, ledger.FINISHED, {"status": ledger.FAILED, "message": message})
            raise EnvironmentProblem(message) from None
        finally:
            rotate_run_dirs(ws, settings.artifacts_keep, run_id)
        follow_ssh_port_changes(ws, prepared.inventory.path, result.evidence)
        if request.drift_check:
            add_drift_evidence(prepared.task.name, prepared.targets, result)
        if feeds is not None:
            add_vulnerability_evidence(feeds, result)
        record_result(book, run_id, result, cancellation.signal_name, scrub)
    found = ledger.get_run(book, run_id)
    assert found is not None  # just appended
    return found


def _check_scope(
    settings: Settings, book: Ledger, prepared: Prepared, run_id: str, scrub: redact.Redactor
) -> None:
    """Refuse (and record) out-of-scope work the operator gave no reason for."""
    decision, request = prepared.decision, prepared.request
    if not decision.in_scope and request.out_of_scope_reason is None:
        book.append(
            run_id,
            ledger.REFUSED,
            scrub.data(
                {**record_fields(prepared, settings, False), "refusal_reason": decision.reason}
            ),
        )
        how = (
            f"request {request.request_id} is not approved out-of-scope work (omctl request "
            "classify, then approve), or pass --out-of-scope REASON"
            if request.request_id
            else "pass --out-of-scope REASON"
        )
        raise ScopeRefused(
            f"refused: {decision.reason}. Run {run_id} records the refusal; to do it anyway as "
            f"out-of-scope work, {how}"
        )


def _check_grant(
    settings: Settings, book: Ledger, prepared: Prepared, run_id: str, scrub: redact.Redactor
) -> None:
    """Refuse (and record) a run operators.yml does not grant its operator: the signer of the
    run's entries, or the ``operator`` setting in a workspace without operator keys."""
    operator = book.signer.name if book.signer is not None else settings.operator
    task = prepared.task
    try:
        grants.check_grant(
            settings.workspace, operator, prepared.request.client, task.category.value, task.name
        )
    except NotGranted as exc:
        fields = record_fields(prepared, settings, prepared.decision.in_scope)
        book.append(run_id, ledger.REFUSED, scrub.data({**fields, "refusal_reason": exc.message}))
        raise NotGranted(f"refused: {exc.message}. Run {run_id} records the refusal") from None


def _remote_worker(prepared: Prepared) -> runner.RemoteWorker | None:
    """The execution node the run streams to (BadInput before anything is recorded)."""
    node = nodes.for_targets(prepared.inventory, prepared.targets)
    return nodes.remote_worker(node, prepared.inventory, prepared.targets) if node else None


def _node_field(worker: runner.RemoteWorker | None) -> dict[str, str]:
    """The started record of a run on an execution node names it."""
    return {"execution_node": worker.node} if worker is not None else {}


def _for_request(book: Ledger, prepared: Prepared) -> Prepared:
    """The request names an open request of the client (BadInput otherwise, before anything is
    recorded); out-of-scope work that the client approved in it runs with that approval as its
    recorded reason."""
    request = prepared.request
    assert request.request_id is not None
    linked = work.find(book, request.client, request.request_id)
    if not linked.open:
        raise BadInput(f"request {linked.id} is closed: open a new one for this work")
    reason = request.out_of_scope_reason
    if (
        not prepared.decision.in_scope
        and reason is None
        and linked.out_of_scope
        and linked.approved
    ):
        reason = (
            f"request {linked.id}, approved by {linked.approved_by} on "
            f"{linked.approved_at:%Y-%m-%d}: {linked.text}"
        )
    updated = replace(request, request_id=linked.id, out_of_scope_reason=reason)
    return replace(prepared, request=updated)


def follow_ssh_port_changes(
    ws: Workspace, hosts_file: Path, evidence: dict[str, dict[str, Any]]
) -> None:
    """A hardening run that moved sshd to a new port, proven by a fresh login there, says which
    ``ansible_port`` the inventory needs (``set_inventory_port``): set it in hosts.yml, so that
    the next run connects, and add what was done (or why not) as ``inventory`` evidence."""
    for host, data in (evidence.get("hardening") or {}).items():
        port = ((data or {}).get("ssh") or {}).get("set_inventory_port")
        if not isinstance(port, int) or isinstance(port, bool):
            continue
        shown = (
            hosts_file.relative_to(ws.root) if hosts_file.is_relative_to(ws.root) else hosts_file
        )
        record: dict[str, Any] = {"file": str(shown), "ansible_port": port}
        try:
            record["previous"] = inventory_edit.set_host_var(hosts_file, host, "ansible_port", port)
            record["updated"] = True
        except BadInput as exc:
            record.update(updated=False, reason=str(exc))  # with file:line
        except OSError as exc:  # the run's own record comes first: say it, never raise here
            record.update(updated=False, reason=f"{hosts_file} could not be written: {exc}")
        evidence.setdefault("inventory", {})[host] = record


def add_drift_evidence(task: str, targets: list[str], result: runner.PlaybookResult) -> None:
    """A drift check's verdict per target host, from what check mode would have changed."""
    from omctl.evidence import drift

    records = result.evidence.setdefault(drift.Drift.KIND, {})
    for host in targets:
        counts = result.hosts.get(host)
        if counts is None:
            reason = "no result from the host (the play did not reach it)"
            records[host] = drift.from_host(task, False, [], reason).dump()
            continue
        failed = counts.failed or counts.unreachable
        reason = "; ".join(f"{f['task']}: {f['message']}" for f in counts.failures[:2]) or (
            "unreachable" if counts.unreachable else "failed"
        )
        record = drift.from_host(task, not failed, counts.changed_tasks, reason if failed else None)
        records[host] = record.dump()


VULNERABILITY_SCAN = "vulnerability_scan"
SOFTWARE_INVENTORY = "software_inventory"


def _vulnerability_feeds(settings: Settings) -> Feeds:
    from omctl.vulns import scan

    return scan.feeds_from_settings(settings)


def add_vulnerability_evidence(feeds: Feeds, result: runner.PlaybookResult) -> None:
    """Each host's ``software_inventory`` (what the role read on it) is matched against the
    feeds, read once for the run, and its ``vulnerability_scan`` findings are recorded in its
    place. An inventory that does not fit its model is kept as sent, and named invalid."""
    from omctl.vulns import scan

    inventories = result.evidence.get(SOFTWARE_INVENTORY) or {}
    findings = result.evidence.setdefault(VULNERABILITY_SCAN, {})
    for host, read in list(inventories.items()):
        try:
            found = scan.match(read, feeds).dump()
        except BadInput:
            continue
        notes = found.get("notes", [])
        if read.get("packages_note"):
            notes.append(str(read["packages_note"]))
        for site in read.get("wordpress") or []:
            if isinstance(site, dict) and site.get("error"):
                notes.append(f"WordPress {site.get('path')}: not read ({site['error']})")
        if notes:
            found["notes"] = notes
        findings[host] = found
        del inventories[host]
    if not inventories:
        result.evidence.pop(SOFTWARE_INVENTORY, None)
    if not findings:
        result.evidence.pop(VULNERABILITY_SCAN, None)


def record_result(
    book: Ledger,
    run_id: str,
    result: runner.PlaybookResult,
    signal_name: str | None,
    scrub: redact.Redactor | None = None,
) -> None:
    """Per-host results, evidence and the end of the run (scrubbed), in one atomic append."""
    items: list[tuple[str, str, dict[str, Any]]] = []
    for host, counts in result.hosts.items():
        items.append(
            (
                run_id,
                ledger.HOST,
                {
                    "host": host,
                    "ok": counts.ok,
                    "changed": counts.changed,
                    "failed": counts.failed,
                    "unreachable": counts.unreachable,
                    "skipped": counts.skipped,
                    "rescued": counts.rescued,
                    "ignored": counts.ignored,
                    "changed_tasks": counts.changed_tasks,
                    "failures": counts.failures,
                },
            )
        )
    for kind, per_host in result.evidence.items():
        for host, data in per_host.items():
            # A record that does not match its model is kept as sent, with why (never dropped).
            stored, invalid = evidence.check(kind, data)
            payload = {"host": host, "kind": kind, "data": stored}
            if invalid is not None:
                payload["invalid"] = invalid
            items.append((run_id, ledger.EVIDENCE, payload))
    if signal_name is not None or result.status == "canceled":
        status = ledger.STATUS_INTERRUPTED
        message = f"cancelled by {signal_name or 'the operator'}"
    elif result.status == "successful" and not result.host_failed():
        status, message = ledger.SUCCESSFUL, None
    else:
        status = ledger.FAILED
        message = _failure_message(result)
    items.append((run_id, ledger.FINISHED, {"status": status, "message": message, "rc": result.rc}))
    scrub = scrub or redact.Redactor()
    book.append_many([(run, kind, scrub.data(payload)) for run, kind, payload in items])


def _failure_message(result: runner.PlaybookResult) -> str:
    failed = {
        host: counts for host, counts in result.hosts.items() if counts.failed or counts.unreachable
    }
    if failed:
        parts = []
        for host, counts in failed.items():
            # The last failure is the one that failed the host; earlier ones may have been rescued.
            cause = counts.failures[-1] if counts.failures else {"task": "?", "message": ""}
            state = "unreachable" if counts.unreachable else "failed"
            parts.append(f"{host} {state} at '{cause['task']}': {cause['message']}".rstrip(": "))
        return "; ".join(parts)
    if result.status == "timeout":
        return "the playbook timed out"
    last = result.tail.splitlines()[-1] if result.tail else ""
    return f"ansible-playbook exited {result.rc}" + (f": {last}" if last else "")


def artifacts_dir(ws: Workspace, run_id: str) -> Path:
    return ws.state / RUNS_DIR / run_id
