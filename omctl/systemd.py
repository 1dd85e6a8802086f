"""The systemd service and timer that run ``omctl tick`` for one workspace.

The service is a oneshot ``omctl --workspace DIR tick`` with the environment the tick needs
(PATH with omctl's own virtualenv first, HOME, the ledger key's XDG_CONFIG_HOME and the
caller's ``OMCTL_*`` settings); the timer starts it every N minutes, and catches up after the
machine was off (``Persistent=``). Both are checked with ``systemd-analyze verify`` before
anything is written, and nothing stays written when systemctl cannot enable them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from omctl.errors import BadInput, EnvironmentProblem
from omctl.workspace import Workspace

SYSTEM_DIR = Path("/etc/systemd/system")
# What the tick's environment takes from the installer's besides OMCTL_* settings.
PASSED = ("HOME", "XDG_CONFIG_HOME", "LANG", "CONTAINERS_CONF")
EXIT_ANOTHER_TICK = 4  # a tick finding another one running: not a failure of the unit


@dataclass(frozen=True)
class Units:
    name: str  # without suffix: omctl-tick-<workspace id>
    service: str
    timer: str
    directory: Path
    user: bool

    @property
    def paths(self) -> tuple[Path, Path]:
        return self.directory / f"{self.name}.service", self.directory / f"{self.name}.timer"


def unit_dir(user: bool, environ: dict[str, str]) -> Path:
    if not user:
        return SYSTEM_DIR
    config = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    return Path(config).expanduser() / "systemd" / "user"


def _quoted(name: str, value: str) -> str:
    """One ``Environment=`` assignment, quoted as systemd reads it (and ``%`` escaped)."""
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{name}={text}"'


def _escape_path(path: Path) -> str:
    return str(path).replace("%", "%%")


def render(ws: Workspace, every_minutes: int, user: bool, environ: dict[str, str]) -> Units:
    if not 1 <= every_minutes <= 60:
        raise BadInput(f"--every {every_minutes}: give whole minutes from 1 to 60")
    name = f"omctl-tick-{ws.ident}"
    omctl = Path(sys.executable).parent / "omctl"
    path = os.pathsep.join([str(omctl.parent), "/usr/local/bin", "/usr/bin", "/bin",
                            "/usr/local/sbin", "/usr/sbin", "/sbin"])  # fmt: skip
    env = {"PATH": path}
    env.update({key: environ[key] for key in PASSED if environ.get(key)})
    env.update({key: value for key, value in sorted(environ.items()) if key.startswith("OMCTL_")})
    env.pop("OMCTL_WORKSPACE", None)  # the unit names its workspace
    root = ws.root.resolve()
    header = f"# Written by `omctl schedule install` for the workspace {root}; remove it with\n" \
             f"# `omctl --workspace {root} schedule remove`.\n"  # fmt: skip
    service = (
        f"{header}[Unit]\n"
        f"Description=omctl tick: contracted work that is due, for {_escape_path(root)}\n"
        "After=network-online.target\nWants=network-online.target\n\n"
        "[Service]\nType=oneshot\n"
        f"WorkingDirectory={_escape_path(root)}\n"
        f"ExecStart={_escape_path(omctl)} --workspace {_escape_path(root)} tick\n"
        f"Environment={' '.join(_quoted(k, v) for k, v in env.items())}\n"
        f"SuccessExitStatus={EXIT_ANOTHER_TICK}\n"
        "Nice=5\n"
    )
    timer = (
        f"{header}[Unit]\n"
        f"Description=omctl tick every {every_minutes} min for {_escape_path(root)}\n\n"
        "[Timer]\n"
        f"OnCalendar=*:0/{every_minutes}\n"
        "Persistent=true\n"
        f"Unit={name}.service\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return Units(name, service, timer, unit_dir(user, environ), user)


def verify(units: Units) -> None:
    """``systemd-analyze verify`` of both units, in a scratch folder: nothing is written
    where systemd would read it unless they pass."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        raise EnvironmentProblem("systemd-analyze is not installed: the units cannot be checked")
    with tempfile.TemporaryDirectory(prefix="omctl-units-") as scratch:
        paths = []
        for text, suffix in ((units.service, "service"), (units.timer, "timer")):
            path = Path(scratch) / f"{units.name}.{suffix}"
            path.write_text(text)
            paths.append(str(path))
        checked = subprocess.run([tool, "verify", *paths], capture_output=True, text=True,
                                 check=False)  # fmt: skip
    if checked.returncode != 0:
        detail = (checked.stderr or checked.stdout).strip().splitlines()
        raise EnvironmentProblem(
            f"systemd-analyze verify refused the units: {detail[0] if detail else 'no reason'}"
        )


def _systemctl(units: Units, *args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemctl")
    if tool is None:
        raise EnvironmentProblem("systemctl is not installed: this host has no systemd")
    command = [tool, *(["--user"] if units.user else []), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _failed(what: str, done: subprocess.CompletedProcess[str]) -> EnvironmentProblem:
    detail = (done.stderr or done.stdout).strip().splitlines()
    return EnvironmentProblem(
        f"systemctl {what} failed: {detail[0] if detail else done.returncode}"
    )


def install(units: Units) -> None:
    """Verify, write both units, reload systemd and start the timer; on failure, remove what
    was written."""
    verify(units)
    service_path, timer_path = units.paths
    if service_path.exists() or timer_path.exists():
        raise BadInput(f"{units.name} is already installed in {units.directory}: "
                       f"`omctl schedule remove` first")  # fmt: skip
    units.directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for path, text in ((service_path, units.service), (timer_path, units.timer)):
            path.write_text(text)
            path.chmod(0o644)
            written.append(path)
        reloaded = _systemctl(units, "daemon-reload")
        if reloaded.returncode != 0:
            raise _failed("daemon-reload", reloaded)
        enabled = _systemctl(units, "enable", "--now", f"{units.name}.timer")
        if enabled.returncode != 0:
            raise _failed(f"enable --now {units.name}.timer", enabled)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def remove(units: Units) -> None:
    service_path, timer_path = units.paths
    if not service_path.exists() and not timer_path.exists():
        raise BadInput(f"no schedule of this workspace is installed in {units.directory}")
    disabled = _systemctl(units, "disable", "--now", f"{units.name}.timer")
    service_path.unlink(missing_ok=True)
    timer_path.unlink(missing_ok=True)
    _systemctl(units, "daemon-reload")
    if disabled.returncode != 0:
        raise _failed(f"disable --now {units.name}.timer (the unit files are removed)", disabled)


def timer_state(units: Units) -> dict[str, str | None]:
    """What systemd says of the timer (None where it cannot be asked)."""
    installed = all(path.exists() for path in units.paths)
    state: dict[str, str | None] = {"installed": "yes" if installed else "no",
                                    "active": None, "last_trigger": None, "next": None}  # fmt: skip
    if not installed:
        return state
    try:
        shown = _systemctl(units, "show", f"{units.name}.timer", "--property",
                           "ActiveState,LastTriggerUSec,NextElapseUSecRealtime")  # fmt: skip
    except EnvironmentProblem:
        return state
    if shown.returncode == 0:
        values = dict(line.split("=", 1) for line in shown.stdout.splitlines() if "=" in line)
        state["active"] = values.get("ActiveState") or None
        state["last_trigger"] = values.get("LastTriggerUSec") or None
        state["next"] = values.get("NextElapseUSecRealtime") or None
    return state
