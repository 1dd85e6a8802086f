"""The adapter to ansible-runner: the only module that imports ``ansible_runner``.

Each run gets a private data dir of its own (``.omctl/runs/<run-id>/``, 0700, files 0600);
no env files are written there; events stream to a callback as they arrive; the final stats
become per-host results. Roles publish evidence with ``set_stats`` under the key
``omctl_evidence`` as ``{kind: {host: data}}``.

Secrets: ansible-playbook gets an allow-listed environment (:func:`child_environment`), never
omctl's whole one; the run's ``command`` artifact keeps no environment; every event is scrubbed
by the run's :class:`~omctl.redact.Redactor` before ansible-runner writes it to ``job_events/``,
and ``stdout`` is written by omctl from the scrubbed events.

On an execution node (``PlaybookSpec.worker``) the same job is streamed: ``transmit`` here
writes the job (project, the client's inventory, extra vars, vault password, the hosts' key)
into ``ansible-runner worker`` on the node over SSH, whose events come back to ``process``
here, through the same collector: events, stdout and artifacts are those of a local run.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from omctl.errors import EnvironmentProblem
from omctl.ledger import HostResult
from omctl.redact import Redactor

EVIDENCE_KEY = "omctl_evidence"
# Extra vars go to a private file, never onto the command line (visible in ps, limited by
# ARG_MAX, copied into the run's artifacts).
EXTRAVARS_FILE = "omctl-extravars.json"
# What ansible-playbook inherits from omctl's environment, besides what omctl sets itself and
# what the operator names in omctl.toml ``pass_env``: no cloud token or API key of the
# operator's shell reaches the playbook, its modules or the run's artifacts.
ENV_ALLOWED = (
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_*", "TZ", "TMPDIR", "SSH_AUTH_SOCK",
)  # fmt: skip
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
class RemoteWorker:
    """Where a job runs when not on the controller: an execution node (omctl.nodes)."""

    command: list[str]  # ssh to the node running `ansible-runner worker` on stdin/stdout
    node: str  # how messages name the node
    venv_bin: str  # the folder of the node's ansible-playbook
    hosts: tuple[str, ...]  # the run's targets: failed when the link is lost
    ssh_key: Path | None = None  # the key of the client's hosts, for ssh-agent on the node


# Names in the transmitted job (relative to the project dir, ansible-playbook's cwd there).
REMOTE_VAULT_FILE = "../omctl-vault-password"
REMOTE_PROJECT = ("ansible.cfg", "playbooks", "roles")


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
    pass_env: tuple[str, ...] = ()
    worker: RemoteWorker | None = None

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
        """What omctl sets in ansible-playbook's environment."""
        # ansible-playbook from omctl's own environment, even when the venv is not activated.
        path = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
        env = {"ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "PATH": path}
        if self.ansible_cfg is not None and self.ansible_cfg.is_file():
            env["ANSIBLE_CONFIG"] = str(self.ansible_cfg)
        return env

    def environment(
        self, prepared: Mapping[str, str], environ: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """ansible-playbook's environment from the one ansible-runner ``prepared`` (omctl's
        environment plus its own settings): the allow-list, ``pass_env``, what omctl and
        ansible-runner set."""
        environ = os.environ if environ is None else environ
        env = child_environment(environ, self.pass_env)
        env.update(
            (name, value)
            for name, value in prepared.items()
            if environ.get(name) != value  # set by ansible-runner (callback plugin, data dir)
        )
        env.update(self.envvars())
        return env

    def runner_kwargs(self) -> dict[str, Any]:
        """Everything handed to ansible-runner's ``init_runner`` apart from the callbacks."""
        kwargs: dict[str, Any] = {
            "private_data_dir": str(self.private_data_dir),
            "project_dir": str(self.project_dir),
            "ident": self.run_id,
            "playbook": str(self.playbook),
            "inventory": str(self.inventory),
            "envvars": self.envvars(),
            "suppress_env_files": True,
            "quiet": True,
            # omctl writes stdout itself, from the scrubbed events; facts stay in memory.
            "settings": {"suppress_ansible_output": True, "suppress_output_file": True},
            "fact_cache_type": "memory",
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


def remote_job(spec: PlaybookSpec, worker: RemoteWorker, staged: Path) -> dict[str, Any]:
    """Lay the job out in ``staged`` as the node will see it; the kwargs ``transmit`` sends.

    The project (playbooks, roles, ansible.cfg) and the client's inventory folder are copied
    (``{{ inventory_dir }}/known_hosts`` pins the hosts there as here); the vault password and
    the hosts' key are written 0600 and go only into the stream, never to the node's disk but
    in the job folder the worker removes.
    """
    staged.mkdir(mode=0o700)
    project = staged / "project"
    project.mkdir(mode=0o700)
    for name in REMOTE_PROJECT:
        source = spec.project_dir / name
        if source.is_dir():
            shutil.copytree(source, project / name, symlinks=False)
        elif source.is_file():
            shutil.copy2(source, project / name)
    shutil.copytree(spec.inventory.parent, staged / "inventory", symlinks=False)
    args: list[str] = []
    if spec.check:
        args.append("--check")
    if spec.diff:
        args.append("--diff")
    if spec.vault_password_file is not None:
        vault_copy = project / REMOTE_VAULT_FILE
        fd = os.open(vault_copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(spec.vault_password_file.read_bytes())
        args += ["--vault-password-file", REMOTE_VAULT_FILE]
    kwargs: dict[str, Any] = {
        "private_data_dir": str(staged),
        "ident": spec.run_id,
        "playbook": str(project / spec.playbook.relative_to(spec.project_dir)),
        "inventory": str(staged / "inventory" / spec.inventory.name),
        "envvars": {
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{worker.venv_bin}:/usr/local/bin:/usr/bin:/bin",
        },
        "suppress_env_files": False,  # env/extravars and env/ssh_key carry the job's data
        "quiet": True,
        "settings": {"suppress_ansible_output": True, "suppress_output_file": True},
        "fact_cache_type": "memory",
    }
    if spec.extravars:
        kwargs["extravars"] = spec.extravars
    if worker.ssh_key is not None:
        kwargs["ssh_key"] = worker.ssh_key.read_text(encoding="utf-8")
    if args:
        kwargs["cmdline"] = shlex.join(args)
    if spec.limit:
        kwargs["limit"] = spec.limit
    make_private(staged)
    return kwargs


def child_environment(environ: Mapping[str, str], pass_env: Iterable[str] = ()) -> dict[str, str]:
    """The variables of ``environ`` that ansible-playbook may see: :data:`ENV_ALLOWED` and the
    operator's ``pass_env`` (names, or patterns ending in ``*``)."""
    patterns = (*ENV_ALLOWED, *pass_env)
    return {
        name: value
        for name, value in environ.items()
        if any(fnmatchcase(name, pattern) for pattern in patterns)
    }


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
    """Turns the runner's event stream into progress callbacks and per-host facts.

    Each event is scrubbed in place first: ansible-runner writes it to ``job_events/`` after
    this returns, and its ``stdout`` goes to the run's ``stdout`` file.
    """

    def __init__(
        self,
        on_progress: Callable[[Progress], None],
        redactor: Redactor | None = None,
        stdout: Path | None = None,
    ):
        self.on_progress = on_progress
        self.redactor = redactor or Redactor()
        self.stdout = stdout
        self.changed_tasks: dict[str, list[str]] = {}
        self.failures: dict[str, list[dict[str, str]]] = {}
        self.stats: dict[str, Any] | None = None

    def _write_stdout(self, text: str) -> None:
        if self.stdout is None or not text:
            return
        fd = os.open(self.stdout, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")

    def __call__(self, event: dict[str, Any]) -> bool:
        self.redactor.in_place(event)
        self._write_stdout(str(event.get("stdout") or ""))
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
        return True  # keep every (scrubbed) event in the run's artifacts

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


def discard_unscrubbed(private_data_dir: Path) -> None:
    """What a killed run leaves that omctl never scrubbed: its extra vars file and the partial
    events the callback plugin drops for ansible-runner to merge (and delete). What is left is
    made private: the run never reached make_private()."""
    (private_data_dir / EXTRAVARS_FILE).unlink(missing_ok=True)
    for partial in private_data_dir.glob("artifacts/*/job_events/*-partial.json"):
        partial.unlink(missing_ok=True)
    if private_data_dir.is_dir():
        make_private(private_data_dir)


def make_private(root: Path) -> None:
    """Folders 0700 and files 0600 under ``root`` (a run's folder)."""
    for path in (root, *root.rglob("*")):
        if path.is_symlink():
            continue
        path.chmod(0o700 if path.is_dir() else 0o600)


def _without_environment(command_file: Path) -> None:
    """ansible-runner's ``command`` artifact, without the ``env`` it records."""
    try:
        data = json.loads(command_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        command_file.unlink(missing_ok=True)
        return
    data.pop("env", None)
    fd = os.open(command_file, os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)


def _last_line(text: bytes) -> str:
    lines = text.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


def _fail_unfinished(collector: _Collector, worker: RemoteWorker, reason: str) -> None:
    """The stream broke before the playbook's stats: every host of the run failed with why."""
    if collector.stats is not None:
        return
    message = f"lost the connection to execution node {worker.node} ({reason})"
    for host in worker.hosts:
        collector.failures.setdefault(host, []).append(
            {"task": f"execution node {worker.node}", "message": message}
        )


def _pump(
    link: subprocess.Popen[bytes],
    kwargs: dict[str, Any],
    cancelled: Callable[[], bool],
    stderr: list[bytes],
    done: threading.Event,
) -> list[threading.Thread]:
    """Threads feeding the job into the link, reading its stderr and ending it on a cancel."""
    from ansible_runner.interface import run

    assert link.stdin is not None and link.stderr is not None
    link_in, link_err = link.stdin, link.stderr

    def send() -> None:
        try:
            run(streamer="transmit", _output=link_in, cancel_callback=lambda: False, **kwargs)
        except OSError:
            pass  # the link broke: process reads the end of the stream and says so
        finally:
            with contextlib.suppress(OSError):
                link_in.close()

    def watch() -> None:
        # Ctrl-C/SIGTERM: end the link; the worker on the node ends with it.
        while not done.wait(0.5):
            if cancelled():
                link.terminate()
                return

    threads = [
        threading.Thread(target=send, daemon=True),
        threading.Thread(target=lambda: stderr.append(link_err.read()), daemon=True),
        threading.Thread(target=watch, daemon=True),
    ]
    for thread in threads:
        thread.start()
    return threads


def _run_streamed(
    spec: PlaybookSpec,
    worker: RemoteWorker,
    collector: _Collector,
    on_status: Callable[..., None],
    cancelled: Callable[[], bool],
) -> tuple[str, int]:
    """transmit | ssh node worker | process; returns the status and rc. A broken stream fails
    every host of the run that has no result with the reason."""
    from ansible_runner.interface import run

    staged = spec.private_data_dir.parent / f"{spec.run_id}.job"
    explanation: list[str] = []

    def status_seen(data: dict[str, Any], **extra: Any) -> None:
        if data.get("job_explanation"):
            explanation.append(str(data["job_explanation"]))
        on_status(data, **extra)

    try:
        kwargs = remote_job(spec, worker, staged)
        link = subprocess.Popen(
            worker.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert link.stdout is not None
        link_out = link.stdout

        stderr: list[bytes] = []
        done = threading.Event()
        threads = _pump(link, kwargs, cancelled, stderr, done)
        processor = run(
            streamer="process",
            _input=link_out,
            private_data_dir=str(spec.private_data_dir),
            ident=spec.run_id,
            event_handler=collector,
            status_handler=status_seen,
            quiet=True,
        )
        done.set()
        link_out.close()
        try:
            link.wait(timeout=30)
        except subprocess.TimeoutExpired:
            link.kill()
            link.wait()
        for thread in threads[:2]:
            thread.join(timeout=10)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    status = str(processor.status)
    rc_file = spec.private_data_dir / "artifacts" / spec.run_id / "rc"
    try:
        rc = int(rc_file.read_text().strip())
    except (OSError, ValueError):
        rc = -1
    if status == "error" or (status not in ("successful", "failed") and collector.stats is None):
        reason = _last_line(b"".join(stderr)) or (explanation[-1] if explanation else "")
        _fail_unfinished(collector, worker, f"ssh exit {link.returncode}: {reason}".rstrip(": "))
        status = "failed"
    return status, rc


# A cancelled run is stopped as Ctrl-C stops ansible-playbook in a terminal. ansible-runner's own
# cancel SIGKILLs the playbook's process group, and Ansible's workers, each in a session of its
# own, went on with the task they held (an apt run, a restore) on hosts whose lock omctl then
# released.
PLAYBOOK_STOP_GRACE = 30.0  # seconds ansible-playbook gets after SIGINT to end its workers
LEFTOVER_GRACE = 5.0  # then SIGTERM to what is left, and SIGKILL after this


def stop_playbook_tree(grace: float = PLAYBOOK_STOP_GRACE) -> list[int]:
    """Stop the playbook this process started and everything it started: SIGINT to
    ansible-playbook (Ansible then ends its workers itself), SIGTERM to whatever of the process
    tree is still there once it has ended or ``grace`` has passed, SIGKILL after
    :data:`LEFTOVER_GRACE`. Returns the pids that outlived the SIGINT. Nothing is reaped here:
    the playbook's exit status stays for ansible-runner."""
    import psutil

    me = psutil.Process()
    tree = me.children(recursive=True)  # taken before anything is re-parented to init
    playbooks = [proc for proc in me.children() if "ansible-playbook" in _cmdline(proc)]
    _signal_all(playbooks, signal.SIGINT)
    _still_running(playbooks, grace)
    left = _still_running(tree, 0)
    _signal_all(left, signal.SIGTERM)
    _signal_all(_still_running(left, LEFTOVER_GRACE), signal.SIGKILL)
    return [proc.pid for proc in left]


def _cmdline(proc: Any) -> str:
    import psutil

    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


def _signal_all(procs: Iterable[Any], signum: int) -> None:
    import psutil

    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signum)  # psutil refuses a pid that was reused meanwhile


def _still_running(procs: list[Any], timeout: float) -> list[Any]:
    """Those of ``procs`` still running (a zombie has ended) after waiting up to ``timeout``."""
    import psutil

    def running(proc: Any) -> bool:
        try:
            return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    deadline = time.monotonic() + timeout
    while True:
        alive = [proc for proc in procs if running(proc)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.1)


def run_playbook(
    spec: PlaybookSpec,
    on_progress: Callable[[Progress], None],
    cancelled: Callable[[], bool],
    redactor: Redactor | None = None,
) -> PlaybookResult:
    from ansible_runner.interface import init_runner

    if (
        spec.worker is None
        and shutil.which("ansible-playbook", path=spec.envvars()["PATH"]) is None
    ):
        raise EnvironmentProblem("ansible-playbook is not installed (pip install 'ansible<13')")
    artifacts = spec.private_data_dir / "artifacts" / spec.run_id
    command_file = artifacts / "command"

    def on_status(data: dict[str, Any], **_: Any) -> None:
        # "running" comes right after ansible-runner wrote the command file, before the
        # playbook starts.
        if data.get("status") == "running":
            _without_environment(command_file)

    # The run's folder is 0700 before anything is written into it: what ansible-runner writes
    # there with looser modes (status, rc) is out of reach, and made 0600 after the run. No
    # umask is forced on ansible-playbook: controller-side tasks keep the operator's.
    # artifacts/ too: ansible-runner's makedirs() gives only the leaf 0700, and a run killed
    # with SIGKILL never reaches make_private().
    for folder in (spec.private_data_dir.parent, spec.private_data_dir, artifacts.parent):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    collector = _Collector(on_progress, redactor, artifacts / "stdout")
    if spec.worker is not None:
        try:
            status, rc = _run_streamed(spec, spec.worker, collector, on_status, cancelled)
        except Exception as exc:  # ansible-runner raises bare exceptions for setup problems
            raise EnvironmentProblem(
                f"ansible-runner could not stream the job to {spec.worker.node}: {exc}"
            ) from None
        finally:
            if command_file.exists():
                _without_environment(command_file)
            make_private(spec.private_data_dir)
        return PlaybookResult(
            status=status,
            rc=rc,
            hosts=collector.hosts(),
            evidence=collector.evidence(),
            tail=_tail(spec.private_data_dir, spec.run_id),
        )
    spec.write_extravars()
    stopped: list[bool] = []

    def cancel() -> bool:
        if not cancelled():
            return False
        if not stopped:  # ansible-runner asks again until the playbook has gone
            stopped.append(True)
            stop_playbook_tree()
        return True

    try:
        runner = init_runner(
            **spec.runner_kwargs(),
            event_handler=collector,
            status_handler=on_status,
            cancel_callback=cancel,
        )
        runner.config.env = spec.environment(runner.config.env)
        runner.run()
    except Exception as exc:  # ansible-runner raises bare exceptions for setup problems
        raise EnvironmentProblem(f"ansible-runner could not start the playbook: {exc}") from None
    finally:
        spec.extravars_path.unlink(missing_ok=True)  # may hold operator-supplied values
        if command_file.exists():
            _without_environment(command_file)
        make_private(spec.private_data_dir)
    return PlaybookResult(
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else -1),
        hosts=collector.hosts(),
        evidence=collector.evidence(),
        tail=_tail(spec.private_data_dir, spec.run_id),
    )
