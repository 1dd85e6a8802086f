"""The adapter to ansible-runner: the only module that imports ``ansible_runner``.

Each run gets a private data dir of its own (``.omctl/runs/<run-id>/``); no env files are
written there (they could hold secrets); events stream to a callback as they arrive; the final
stats become per-host results. Roles publish evidence with ``set_stats`` under the key
``omctl_evidence`` as ``{kind: {host: data}}``.
"""

from __future__ import annotations

import difflib
import json
import os
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omctl.errors import EnvironmentProblem
from omctl.ledger import HostResult

EVIDENCE_KEY = "omctl_evidence"
# Extra vars go to a private file, never onto the command line (visible in ps, limited by
# ARG_MAX, copied into the run's artifacts).
EXTRAVARS_FILE = "omctl-extravars.json"
# Runner event -> what the operator sees for that host and task.
HOST_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}
STAT_FIELDS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}


@dataclass(frozen=True)
class Progress:
    host: str
    task: str
    state: str  # ok, changed, failed, unreachable, skipped
    message: str = ""
    diff: str = ""  # unified diff of what the task changed (or would change), with --diff


@dataclass(frozen=True)
class PlaybookSpec:
    run_id: str
    private_data_dir: Path
    project_dir: Path
    playbook: Path
    inventory: Path
    limit: str | None = None
    check: bool = False
    diff: bool = False
    extravars: dict[str, Any] = field(default_factory=dict)
    vault_password_file: Path | None = None
    ansible_cfg: Path | None = None

    @property
    def extravars_path(self) -> Path:
        return self.private_data_dir / EXTRAVARS_FILE

    def cmdline(self) -> list[str]:
        args: list[str] = []
        if self.extravars:
            args += ["--extra-vars", f"@{self.extravars_path}"]
        if self.check:
            args.append("--check")
        if self.diff:
            args.append("--diff")
        if self.vault_password_file is not None:
            args += ["--vault-password-file", str(self.vault_password_file)]
        return args

    def envvars(self) -> dict[str, str]:
        # ansible-playbook from omctl's own environment, even when the venv is not activated.
        path = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
        env = {"ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "PATH": path}
        if self.ansible_cfg is not None and self.ansible_cfg.is_file():
            env["ANSIBLE_CONFIG"] = str(self.ansible_cfg)
        return env

    def runner_kwargs(self) -> dict[str, Any]:
        """Everything handed to ``ansible_runner.run`` apart from the callbacks."""
        kwargs: dict[str, Any] = {
            "private_data_dir": str(self.private_data_dir),
            "project_dir": str(self.project_dir),
            "ident": self.run_id,
            "playbook": str(self.playbook),
            "inventory": str(self.inventory),
            "envvars": self.envvars(),
            "suppress_env_files": True,
            "quiet": True,
            "settings": {"suppress_ansible_output": True},
        }
        cmdline = self.cmdline()
        if cmdline:
            kwargs["cmdline"] = shlex.join(cmdline)
        if self.limit:
            kwargs["limit"] = self.limit
        return kwargs

    def write_extravars(self) -> None:
        if not self.extravars:
            return
        fd = os.open(self.extravars_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.extravars, handle)


@dataclass
class PlaybookResult:
    status: str  # successful, failed, canceled, timeout
    rc: int
    hosts: dict[str, HostResult]
    evidence: dict[str, dict[str, Any]]  # kind -> host -> data
    tail: str = ""

    def host_failed(self) -> bool:
        return any(host.failed or host.unreachable for host in self.hosts.values())


def _task_label(data: dict[str, Any]) -> str:
    task = str(data.get("task") or data.get("task_action") or "?")
    role = data.get("role")
    return f"{role} : {task}" if role and not task.startswith(f"{role} :") else task


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, default=str) + "\n"


def render_diff(res: dict[str, Any]) -> str:
    """The unified diff of a task result, as ``ansible-playbook --diff`` would show it."""
    diffs: list[Any] = []
    for result in [res, *(r for r in res.get("results") or [] if isinstance(r, dict))]:
        if result.get("changed") and result.get("diff"):
            found = result["diff"]
            diffs.extend(found if isinstance(found, list) else [found])
    chunks: list[str] = []
    for diff in diffs:
        if not isinstance(diff, dict):
            continue
        if diff.get("prepared"):
            chunks.append(str(diff["prepared"]).rstrip("\n"))
        elif "before" in diff or "after" in diff:
            before, after = _as_text(diff.get("before", "")), _as_text(diff.get("after", ""))
            lines = difflib.unified_diff(
                before.splitlines(keepends=True),
                after.splitlines(keepends=True),
                fromfile=str(diff.get("before_header") or "before"),
                tofile=str(diff.get("after_header") or "after"),
            )
            text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
            if text:
                chunks.append(text.rstrip("\n"))
        elif diff.get("src_binary") or diff.get("dst_binary"):
            chunks.append("binary file changed")
    return "\n".join(chunks)


def _message(res: dict[str, Any]) -> str:
    msg = res.get("msg") or res.get("stderr") or res.get("reason") or ""
    return str(msg).strip().splitlines()[0] if str(msg).strip() else ""


class _Collector:
    """Turns the runner's event stream into progress callbacks and per-host facts."""

    def __init__(self, on_progress: Callable[[Progress], None]):
        self.on_progress = on_progress
        self.changed_tasks: dict[str, list[str]] = {}
        self.failures: dict[str, list[dict[str, str]]] = {}
        self.stats: dict[str, Any] | None = None

    def __call__(self, event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_stats":
            self.stats = data
        elif kind in HOST_EVENTS and data.get("host"):
            host = str(data["host"])
            res = data.get("res") if isinstance(data.get("res"), dict) else {}
            state = HOST_EVENTS[kind]
            label = _task_label(data)
            message = ""
            diff = render_diff(res)
            if state == "ok" and res.get("changed"):
                state = "changed"
                self.changed_tasks.setdefault(host, [])
                if label not in self.changed_tasks[host]:
                    self.changed_tasks[host].append(label)
            elif state in ("failed", "unreachable"):
                message = _message(res)
                if not data.get("ignore_errors"):
                    self.failures.setdefault(host, []).append({"task": label, "message": message})
            self.on_progress(Progress(host, label, state, message, diff))
        return True  # keep every event in the run's artifacts

    def hosts(self) -> dict[str, HostResult]:
        results: dict[str, HostResult] = {}
        stats = self.stats or {}
        for stat_name, attr in STAT_FIELDS.items():
            for host, count in (stats.get(stat_name) or {}).items():
                setattr(results.setdefault(host, HostResult()), attr, int(count))
        for host in list(self.failures) + list(self.changed_tasks):
            results.setdefault(host, HostResult())
        for host, result in results.items():
            result.changed_tasks = self.changed_tasks.get(host, [])
            result.failures = self.failures.get(host, [])
            if result.failures and not (result.failed or result.unreachable):
                # Stats can be missing when ansible-playbook dies mid-run.
                result.failed = len(result.failures)
        return results

    def evidence(self) -> dict[str, dict[str, Any]]:
        artifact = (self.stats or {}).get("artifact_data") or {}
        published = artifact.get(EVIDENCE_KEY) or {}
        return {
            str(kind): dict(per_host)
            for kind, per_host in published.items()
            if isinstance(per_host, dict)
        }


def _tail(private_data_dir: Path, run_id: str, lines: int = 5) -> str:
    stdout = private_data_dir / "artifacts" / run_id / "stdout"
    try:
        text = stdout.read_text(errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run_playbook(
    spec: PlaybookSpec,
    on_progress: Callable[[Progress], None],
    cancelled: Callable[[], bool],
) -> PlaybookResult:
    import ansible_runner

    if shutil.which("ansible-playbook", path=spec.envvars()["PATH"]) is None:
        raise EnvironmentProblem("ansible-playbook is not installed (pip install 'ansible<13')")
    spec.private_data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(spec.private_data_dir, 0o700)
    spec.write_extravars()
    collector = _Collector(on_progress)
    try:
        runner = ansible_runner.run(
            **spec.runner_kwargs(),
            event_handler=collector,
            cancel_callback=cancelled,
        )
    except Exception as exc:  # ansible-runner raises bare exceptions for setup problems
        raise EnvironmentProblem(f"ansible-runner could not start the playbook: {exc}") from None
    finally:
        spec.extravars_path.unlink(missing_ok=True)  # may hold operator-supplied values
    return PlaybookResult(
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else -1),
        hosts=collector.hosts(),
        evidence=collector.evidence(),
        tail=_tail(spec.private_data_dir, spec.run_id),
    )
