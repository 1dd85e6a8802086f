"""omctl schedule: the systemd units checked by the real systemd-analyze, and install's
roll-back when systemctl cannot reach a systemd (a user bus that does not exist). The
Makefile installs systemd (Debian's package has systemd-analyze) where it is missing."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from omctl import systemd
from omctl.errors import BadInput, EnvironmentProblem, ExitCode

NO_BUS = {"XDG_RUNTIME_DIR": "/nonexistent-omctl-test", "DBUS_SESSION_BUS_ADDRESS":
          "unix:path=/nonexistent-omctl-test/bus"}  # fmt: skip


def _printed(output: str) -> dict[str, str]:
    """``schedule install --print``'s two units, by file name."""
    parts = re.split(r"^# (/\S+)\n", output, flags=re.MULTILINE)
    return {Path(path).name: text for path, text in zip(parts[1::2], parts[2::2], strict=True)}


def test_printed_units_pass_systemd_analyze_verify(omctl, tmp_path: Path) -> None:
    result = omctl("schedule", "install", "--print", "--every", "10")
    assert result.exit_code == 0, result.stderr
    units = _printed(result.stdout)
    assert sorted(Path(name).suffix for name in units) == [".service", ".timer"]
    service = next(text for name, text in units.items() if name.endswith(".service"))
    timer = next(text for name, text in units.items() if name.endswith(".timer"))
    assert f"--workspace {omctl.ws.root.resolve()} tick" in service
    assert "OnCalendar=*:0/10" in timer and "Persistent=true" in timer
    folder = tmp_path / "units"
    folder.mkdir()
    for name, text in units.items():
        (folder / name).write_text(text)
    checked = subprocess.run(["systemd-analyze", "verify", *map(str, folder.iterdir())],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert not (Path("/etc/systemd/system") / next(iter(units))).exists()  # --print wrote nothing


def test_environment_is_quoted_as_systemd_reads_it(omctl) -> None:
    environ = {"HOME": "/home/a b", "OMCTL_OPERATOR": 'ann "the op" 100%', "OMCTL_WORKSPACE": "x"}
    units = systemd.render(omctl.ws, 5, True, environ)
    line = next(line for line in units.service.splitlines() if line.startswith("Environment="))
    assert '"HOME=/home/a b"' in line
    assert '"OMCTL_OPERATOR=ann \\"the op\\" 100%%"' in line
    assert "OMCTL_WORKSPACE" not in line  # the unit names its workspace itself
    assert units.directory == Path("/home/a b/.config/systemd/user")
    systemd.verify(units)


def test_a_unit_systemd_refuses_is_never_written(omctl) -> None:
    units = systemd.render(omctl.ws, 5, True, {"HOME": "/tmp"})
    broken = replace(units, timer=units.timer.replace("OnCalendar=*:0/5", "OnCalendar=bogus"))
    with pytest.raises(EnvironmentProblem, match="systemd-analyze verify refused the units"):
        systemd.install(broken)
    assert not any(path.exists() for path in broken.paths)
    with pytest.raises(BadInput, match="minutes from 1 to 60"):
        systemd.render(omctl.ws, 0, True, {})


def test_install_without_a_reachable_systemd_leaves_nothing(omctl, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name, value in NO_BUS.items():
        monkeypatch.setenv(name, value)
    result = omctl("schedule", "install", "--user")
    assert result.exit_code == ExitCode.ENVIRONMENT
    assert "systemctl daemon-reload failed" in result.stderr
    unit_dir = tmp_path / "config" / "systemd" / "user"
    assert not unit_dir.exists() or not list(unit_dir.iterdir())
    assert omctl("schedule", "remove", "--user").exit_code == ExitCode.BAD_INPUT


def test_status_lists_the_scheduled_runs_and_what_is_due(omctl, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (omctl.ws.client_dir("acme") / "scope.yml").write_text(
        (omctl.ws.client_dir("acme") / "scope.yml").read_text().replace(
            "hosts: [web]", "hosts: [web1]")
    )  # fmt: skip
    assert omctl("run", "acme", "healthcheck", "--limit", "web1").exit_code == 0  # operator
    tick = json.loads(omctl("tick", "--json").stdout)
    ran = [o for o in tick if o["run_id"]]
    result = omctl("schedule", "status", "--user", "--json")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["timer"]["installed"] == "no"
    assert [r["id"] for r in shown["scheduled_runs"]] == [o["run_id"] for o in ran]
    (acme,) = shown["clients"]
    assert "healthcheck" not in acme["due_now"]  # the operator's run covered today
    assert acme["next_due"]["task"] and acme["error"] is None
