"""Onboarding, in-scope, refused and out-of-scope runs, locking and kills on real lab hosts."""

from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta
from pathlib import Path

import psutil
import pytest

from tests.integration.conftest import Lab, write_scope
from tests.unit.smtp_server import SmtpServer, pdf_text

SLOW_PLAYBOOK = """\
# description: Test probe that holds a run open for a while
- name: Slow probe
  hosts: all
  gather_facts: false
  tasks:
    - name: Hold the run open
      ansible.builtin.command: sleep 45
      changed_when: false
"""


@pytest.fixture(scope="module")
def acme(lab: Lab) -> Lab:
    """Client acme with both lab hosts onboarded; the contract covers web1's healthcheck."""
    for name in ("web1", "web2"):
        result = lab.onboard("acme", name)
        assert result.code == 0, result.stderr
    (lab.ws / "playbooks" / "maintenance" / "slow_probe.yml").write_text(SLOW_PLAYBOOK)
    write_scope(
        lab,
        "acme",
        "  healthcheck: {every: daily, hosts: [web1]}\n  slow_probe: {every: on_request}\n",
    )
    assert lab.omctl("scope", "check", "acme").code == 0
    return lab


def _runs(lab: Lab, client: str = "acme") -> list[dict]:
    result = lab.omctl("history", client, "--json")
    assert result.code == 0, result.stderr
    return result.json()


def _wait_running(lab: Lab, task: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [r for r in _runs(lab) if r["task"] == task and r["status"] == "running"]
        if running:
            return running[-1]
        time.sleep(0.5)
    raise AssertionError(f"no running {task} run within {timeout}s")


def test_onboarding_records_the_baseline(acme: Lab) -> None:
    baselines = [r for r in _runs(acme) if r["task"] == "baseline"]
    assert len(baselines) == 2 and all(r["status"] == "successful" for r in baselines)
    shown = acme.omctl("show", baselines[0]["id"], "--json").json()
    (host,) = shown["hosts"].values()
    evidence = host["evidence"]["baseline"]
    ports = {int(p["port"]) for p in evidence["ports"]}
    assert {22, 80} <= ports
    assert shown["category"] == "onboarding" and shown["in_scope"] is True
    text = acme.omctl("show", baselines[0]["id"])
    assert text.code == 0 and "baseline of web1" in text.stdout


def test_onboarding_wrote_inventory_and_an_empty_contract(acme: Lab) -> None:
    client = acme.ws / "inventories" / "acme"
    assert (client / "known_hosts").read_text().strip()
    shown = acme.omctl("scope", "show", "acme", "--json").json()
    assert shown["contract"]["client"] == "acme"


def test_failed_onboarding_writes_nothing(lab: Lab) -> None:
    closed_port = lab.host("web1")["http_port"] + 0  # HTTP, not SSH: the SSH handshake fails
    result = lab.omctl(
        "onboard", "ghost", "web1", "--address", "127.0.0.1", "--port", str(closed_port),
        "--key", str(lab.key),
    )  # fmt: skip
    assert result.code == 1
    assert "Traceback" not in result.stderr and "web1" not in result.stdout
    assert "SSH" in result.stderr
    assert not (lab.ws / "inventories" / "ghost").exists()


def test_onboarding_the_same_host_twice_is_bad_input(acme: Lab) -> None:
    result = acme.onboard("acme", "web1")
    assert result.code == 2
    assert "already in the inventory" in result.stderr


def test_in_scope_run_answers_over_ssh(acme: Lab) -> None:
    result = acme.omctl("run", "acme", "healthcheck", "--limit", "web1", "--json")
    assert result.code == 0, result.stderr
    run = result.json()
    assert run["status"] == "successful" and run["in_scope"] is True
    assert run["hosts"]["web1"]["failed"] == 0 and run["hosts"]["web1"]["ok"] > 0
    assert run["contract"] == "ACME-1" and run["operator"] == "itest@lab"


def test_refused_run_is_recorded_and_touches_nothing(acme: Lab) -> None:
    before = len(_runs(acme))
    result = acme.omctl("run", "acme", "healthcheck", "--limit", "web2")
    assert result.code == 3
    assert "not on web2" in result.stderr
    runs = _runs(acme)
    assert len(runs) == before + 1
    assert runs[-1]["status"] == "refused" and runs[-1]["in_scope"] is False
    assert not (acme.ws / ".omctl" / "runs" / runs[-1]["id"]).exists()


def test_out_of_scope_run_is_recorded_with_its_reason(acme: Lab) -> None:
    reason = "client asked by phone, ticket 42"
    result = acme.omctl(
        "run", "acme", "healthcheck", "--limit", "web2", "--out-of-scope", reason, "--json"
    )
    assert result.code == 0, result.stderr
    run = result.json()
    assert run["in_scope"] is False and run["out_of_scope_reason"] == reason
    assert run["hosts"]["web2"]["failed"] == 0


def test_second_concurrent_run_exits_4_at_once(acme: Lab) -> None:
    first = acme.popen("run", "acme", "slow_probe", "--limit", "web1")
    try:
        running = _wait_running(acme, "slow_probe")
        second = acme.omctl("run", "acme", "healthcheck", "--limit", "web1")
        assert second.code == 4
        assert "locked" in second.stderr and running["id"] in second.stderr
        assert first.poll() is None  # the second did not wait for the first
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 1
    finally:
        if first.poll() is None:
            first.kill()
    shown = acme.omctl("show", running["id"], "--json").json()
    assert shown["status"] == "interrupted"
    assert "SIGTERM" in shown["message"]
    # Nothing of the playbook runs on: no ansible-playbook (nor a worker of it) of this run.
    run_dir = str(acme.ws / ".omctl" / "runs" / running["id"])
    left = [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if run_dir in " ".join(p.info["cmdline"] or [])
    ]
    assert left == []


def test_run_killed_with_sigkill_is_marked_interrupted(acme: Lab) -> None:
    victim = acme.popen("run", "acme", "slow_probe", "--limit", "web1")
    running = _wait_running(acme, "slow_probe")
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    # The dead run's lock never stops the next run, which marks the dead one (once).
    after = acme.omctl("run", "acme", "healthcheck", "--limit", "web1")
    assert after.code == 0, after.stderr
    shown = acme.omctl("show", running["id"], "--json").json()
    assert shown["status"] == "interrupted"
    assert shown["ledger_seq"][1] - shown["ledger_seq"][0] == 1  # started, interrupted
    assert acme.omctl("ledger", "verify").code == 0


def test_demo_of_bad_input_changes_nothing(acme: Lab) -> None:
    before = _runs(acme)
    assert acme.omctl("run", "acme", "no_such_task").code == 2
    assert acme.omctl("run", "nobody", "healthcheck").code == 2
    assert acme.omctl("run", "acme", "healthcheck", "--limit", "web9").code == 2
    assert _runs(acme) == before


def test_a_tick_runs_what_is_due_once(lab: Lab) -> None:
    """Client tock's contract has web2's healthcheck daily: the first tick runs it over SSH
    (trigger: schedule, in scope), the second finds the day done and runs nothing."""
    assert lab.onboard("tock", "web2").code == 0
    write_scope(lab, "tock", "  healthcheck: {every: daily}\n")
    planned = lab.omctl("tick", "--client", "tock", "--dry-run", "--json")
    assert planned.code == 0, planned.stderr
    assert [(p["task"], p["decision"]) for p in planned.json()] == [("healthcheck", "run")]
    first = lab.omctl("tick", "--client", "tock", "--json")
    assert first.code == 0, first.stderr
    (ran,) = first.json()
    assert ran["status"] == "successful" and ran["run_id"]
    shown = lab.omctl("show", ran["run_id"], "--json").json()
    assert (shown["trigger"], shown["in_scope"], list(shown["hosts"])) == (
        "schedule", True, ["web2"]
    )  # fmt: skip
    assert shown["hosts"]["web2"]["evidence"]["healthcheck"]
    second = lab.omctl("tick", "--client", "tock", "--json")
    assert second.code == 0, second.stderr
    assert [(o["decision"], o["run_id"]) for o in second.json()] == [("wait", None)]
    tasks = [r["task"] for r in _runs(lab, "tock")]
    assert tasks == ["baseline", "healthcheck"]


def test_the_first_tick_of_a_month_mails_last_months_report_as_a_pdf(
    lab: Lab, tmp_path: Path
) -> None:
    """Client mail's healthcheck of web2 ran over SSH this month; the first tick of next month
    prints the month's report with Chromium and mails it to an SMTP server on loopback once."""
    assert lab.onboard("mail", "web2").code == 0
    write_scope(lab, "mail", "  healthcheck: {every: on_request}\n")
    ran = lab.omctl("run", "mail", "healthcheck", "--json")
    assert ran.code == 0, ran.stderr
    scope_file = lab.ws / "inventories" / "mail" / "scope.yml"
    scope_file.write_text(scope_file.read_text() + "report_recipients: [owner@mail.example]\n")
    started = datetime.fromisoformat(ran.json()["started_at"].replace("Z", "+00:00"))
    period = f"{started:%Y-%m}"
    first = (started.replace(day=28) + timedelta(days=4)).replace(day=1, hour=0, minute=30)
    server = SmtpServer(tmp_path)
    try:
        smtp = server.settings(tmp_path)
        env = {f"OMCTL_{name.upper()}": str(value) for name, value in smtp.items()}
        at = ["--client", "mail", "--now", first.isoformat(), "--json"]
        tick = lab.omctl("tick", *at, env=env)
        assert tick.code == 0, tick.stderr
        (sent,) = [o for o in tick.json() if o["task"] == "report"]
        assert sent["status"] == "successful", sent
        (mail,) = server.mails
        assert mail.recipients == ["owner@mail.example"]
        text = " ".join(pdf_text(mail.pdf(), tmp_path).split())
        assert f"Service report: mail, {period}" in text and "healthcheck" in text
        again = lab.omctl("tick", *at, env=env)
        assert again.code == 0 and len(server.mails) == 1
    finally:
        server.stop()
