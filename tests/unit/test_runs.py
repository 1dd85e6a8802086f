"""execute() end to end with a real ansible-runner and local-connection hosts."""

import json
import multiprocessing
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from omctl import inventory, ledger, locking, redact, runs
from omctl.errors import BadInput, ClientLocked, ScopeRefused
from omctl.settings import Settings
from omctl.workspace import Workspace

LOCAL_HOSTS = """\
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  children:
    web:
      hosts:
        web1: {}
        web2: {should_fail: true}
    db:
      hosts:
        db1: {}
"""

PLAYBOOK = """\
# description: Check services, the site and disk space
- name: Health
  hosts: all
  gather_facts: false
  tasks:
    - name: Touch something
      ansible.builtin.command: "true"
      changed_when: true
    - name: Publish evidence
      ansible.builtin.set_stats:
        data:
          omctl_evidence:
            healthcheck: "{{ {inventory_hostname: {'checked': true}} }}"
        aggregate: true
        per_host: false
    - name: Fail where asked
      ansible.builtin.fail:
        msg: "site down on {{ inventory_hostname }}"
      when: should_fail | default(false)
"""


@pytest.fixture
def local_ws(ws: Workspace) -> Workspace:
    (ws.client_dir("acme") / "hosts.yml").write_text(LOCAL_HOSTS)
    (ws.playbooks / "maintenance" / "healthcheck.yml").write_text(PLAYBOOK)
    return ws


@pytest.fixture
def book(settings: Settings):
    settings.workspace.ensure_state()
    opened = ledger.open_ledger(settings.ledger)
    yield opened
    opened.close()


def _noop(_event) -> None:
    return None


def test_in_scope_run_records_hosts_changes_and_evidence(local_ws, settings, book) -> None:
    request = runs.Request(client="acme", task="healthcheck", limit="web1")
    run = runs.execute(settings, book, request, _noop)
    assert run.status == ledger.SUCCESSFUL
    assert run.in_scope and run.contract == "ACME-2026" and run.operator == "tester@unit"
    assert run.hosts["web1"].changed == 1
    assert run.hosts["web1"].changed_tasks == ["Touch something"]
    assert run.hosts["web1"].evidence == {"healthcheck": {"checked": True}}
    assert (local_ws.state / "runs" / run.id / "artifacts" / run.id / "job_events").is_dir()
    assert not (local_ws.state / "runs" / run.id / "env").exists()
    assert book.verify().ok


def test_evidence_of_several_hosts_is_merged(local_ws, settings, book) -> None:
    local_ws.client_dir("acme").joinpath("scope.yml").write_text(
        local_ws.client_dir("acme").joinpath("scope.yml").read_text().replace("[web]", "[all]")
    )
    run = runs.execute(settings, book, runs.Request("acme", "healthcheck", limit="web1,db1"), _noop)
    assert run.hosts["web1"].evidence and run.hosts["db1"].evidence


def test_failed_host_fails_the_run_with_its_message(local_ws, settings, book) -> None:
    run = runs.execute(settings, book, runs.Request("acme", "healthcheck", limit="web"), _noop)
    assert run.status == ledger.FAILED
    assert run.hosts["web2"].failed == 1
    assert run.hosts["web1"].failed == 0
    assert "web2 failed at 'Fail where asked': site down on web2" in run.message


def test_refusal_is_recorded_and_nothing_runs(local_ws, settings, book) -> None:
    with pytest.raises(ScopeRefused, match="not on db1"):
        runs.execute(settings, book, runs.Request("acme", "healthcheck", limit="db1"), _noop)
    (refused,) = ledger.runs(book)
    assert refused.status == ledger.STATUS_REFUSED and not refused.in_scope
    assert "not on db1" in refused.refusal_reason
    assert not (local_ws.state / "runs").exists()


def test_out_of_scope_run_records_the_reason(local_ws, settings, book) -> None:
    request = runs.Request("acme", "healthcheck", limit="db1", out_of_scope_reason="client call")
    run = runs.execute(settings, book, request, _noop)
    assert run.status == ledger.SUCCESSFUL
    assert not run.in_scope and run.out_of_scope_reason == "client call"


def test_empty_reason_is_bad_input(local_ws, settings, book) -> None:
    request = runs.Request("acme", "healthcheck", limit="db1", out_of_scope_reason="  ")
    with pytest.raises(BadInput):
        runs.execute(settings, book, request, _noop)
    assert ledger.runs(book) == []


def test_locked_client_is_refused_at_once(local_ws, settings, book) -> None:
    fd = locking.try_lock(local_ws, "acme")
    try:
        with pytest.raises(ClientLocked):
            runs.execute(settings, book, runs.Request("acme", "healthcheck", limit="web1"), _noop)
    finally:
        locking.release(fd)


def test_dead_run_is_marked_interrupted_but_a_live_one_is_not(local_ws, settings, book) -> None:
    fields = {"client": "acme", "task": "healthcheck", "category": "maintenance", "in_scope": True}
    book.append("dead", ledger.STARTED, fields)
    fd = locking.try_lock(local_ws, "acme")  # pretend a live omctl holds the lock
    assert runs.recover_interrupted(local_ws, book) == []
    locking.release(fd)
    assert runs.recover_interrupted(local_ws, book) == ["dead"]
    assert ledger.get_run(book, "dead").status == ledger.STATUS_INTERRUPTED


def test_artifacts_are_rotated_by_count(local_ws, settings, book) -> None:
    kept = Settings(workspace=local_ws, operator="t@u", artifacts_keep=2)
    ids = [
        runs.execute(kept, book, runs.Request("acme", "healthcheck", limit="web1"), _noop).id
        for _ in range(3)
    ]
    remaining = sorted(p.name for p in (local_ws.state / "runs").iterdir())
    assert remaining == ids[1:]


def test_unknown_client_and_task(local_ws, settings, book) -> None:
    with pytest.raises(BadInput, match="unknown client 'nobody'"):
        runs.execute(settings, book, runs.Request("nobody", "healthcheck"), _noop)
    with pytest.raises(BadInput, match="unknown task 'nothing'"):
        runs.execute(settings, book, runs.Request("acme", "nothing"), _noop)


def test_workspace_commit_of_a_plain_folder_is_none(tmp_path: Path) -> None:
    assert runs.workspace_commit(Workspace(tmp_path)) is None


def test_extra_vars_are_parsed_as_scalars_and_checked() -> None:
    parsed = runs.parse_extra_vars(["diagnose_recover=true", "limit_pct=85", "note=a=b", "x="])
    assert parsed == {"diagnose_recover": True, "limit_pct": 85, "note": "a=b", "x": ""}
    assert runs.parse_extra_vars(["items=[1, 2]"]) == {"items": "[1, 2]"}
    for bad in ("novalue", "1abc=2", "=3", "omctl_run=x"):
        with pytest.raises(BadInput):
            runs.parse_extra_vars([bad])


SEE_VARS = """\
# description: Check services, the site and disk space
# needs: host_history
- name: Show what omctl passed
  hosts: all
  gather_facts: false
  tasks:
    - name: Publish evidence
      ansible.builtin.set_stats:
        data:
          omctl_evidence:
            seen: "{{ {inventory_hostname: {'run': omctl_run, 'db_password': db_password,
              'db_password_upper': db_password | upper,
              'history': omctl_host_history[inventory_hostname]}} }}"
        aggregate: true
        per_host: false
"""


def test_playbooks_get_the_run_extra_vars_and_host_history(local_ws, settings, book) -> None:
    first = runs.execute(settings, book, runs.Request("acme", "healthcheck", limit="web1"), _noop)
    (local_ws.playbooks / "maintenance" / "healthcheck.yml").write_text(SEE_VARS)
    request = runs.Request(
        "acme", "healthcheck", limit="web1", extravars={"db_password": "hunter2"}
    )
    run = runs.execute(settings, book, request, _noop)
    seen = run.hosts["web1"].evidence["seen"]
    assert seen["run"]["id"] == run.id and seen["run"]["task"] == "healthcheck"
    # The playbook got the value; the ledger keeps it only scrubbed.
    assert seen["db_password_upper"] == "HUNTER2" and seen["db_password"] == redact.REDACTED
    assert [past["id"] for past in seen["history"]["runs"]] == [first.id]
    assert seen["history"]["runs"][0]["changed"] == 1
    assert run.extra_vars == {"db_password": redact.REDACTED}
    assert not list((local_ws.state / "runs").rglob("omctl-extravars.json"))


def test_host_history_keeps_the_latest_baseline_of_each_host(local_ws, settings, book) -> None:
    (local_ws.playbooks / "maintenance" / "healthcheck.yml").write_text(
        PLAYBOOK.replace("healthcheck: ", "baseline: ")
    )
    local_ws.client_dir("acme").joinpath("scope.yml").write_text(
        local_ws.client_dir("acme").joinpath("scope.yml").read_text().replace("[web]", "[all]")
    )
    old = runs.execute(settings, book, runs.Request("acme", "healthcheck", limit="web1"), _noop)
    new = runs.execute(settings, book, runs.Request("acme", "healthcheck"), _noop)
    history = runs.host_history(book, "acme", ["web1", "web2", "db1"])
    assert history["web1"]["baseline_run"] == new.id
    assert [r["id"] for r in history["web1"]["runs"]] == [old.id, new.id]
    # web2 failed in that run: its baseline is not trusted.
    assert history["web2"]["baseline"] is None and history["web2"]["runs"][0]["failed"] == 1
    assert history["db1"]["baseline"] == {"checked": True}


PORT_MOVED = """\
# description: Check services, the site and disk space
- name: Move sshd
  hosts: all
  gather_facts: false
  tasks:
    - name: Publish what hardening publishes after a proven port change
      ansible.builtin.set_stats:
        data:
          omctl_evidence:
            hardening: "{{ {inventory_hostname: {'ssh': {'port': 2222, 'previous_port': 22,
              'set_inventory_port': 40022}}} }}"
        aggregate: true
        per_host: false
"""


def test_a_proven_ssh_port_change_is_written_to_the_inventory(local_ws, settings, book) -> None:
    (local_ws.playbooks / "maintenance" / "healthcheck.yml").write_text(PORT_MOVED)
    hosts_file = local_ws.client_dir("acme") / "hosts.yml"
    run = runs.execute(settings, book, runs.Request("acme", "healthcheck", limit="web1"), _noop)
    assert run.status == ledger.SUCCESSFUL
    assert run.hosts["web1"].evidence["inventory"] == {
        "file": "inventories/acme/hosts.yml", "ansible_port": 40022, "previous": None,
        "updated": True,
    }  # fmt: skip
    assert "ansible_port: 40022" in hosts_file.read_text()
    assert (
        inventory._ansible_manager(hosts_file).get_host("web2").get_vars().get("ansible_port")
        is None
    )  # only the host that moved

    # Where a host_vars file sets the port, hosts.yml would not win: the run says so instead.
    (local_ws.client_dir("acme") / "host_vars").mkdir()
    (local_ws.client_dir("acme") / "host_vars" / "web2.yml").write_text("ansible_port: 22\n")
    before = hosts_file.read_text()
    run = runs.execute(settings, book, runs.Request("acme", "healthcheck", limit="web2"), _noop)
    recorded = run.hosts["web2"].evidence["inventory"]
    assert (
        recorded["updated"] is False
        and "host_vars/web2.yml sets ansible_port" in recorded["reason"]
    )
    assert hosts_file.read_text() == before


def test_an_inventory_that_cannot_be_edited_is_said_and_the_evidence_kept(local_ws) -> None:
    hosts_file = local_ws.client_dir("acme") / "hosts.yml"
    hosts_file.write_text("all: [\n")  # changed behind omctl's back during the run
    evidence = {"hardening": {"web1": {"ssh": {"set_inventory_port": 40022}}}}
    runs.follow_ssh_port_changes(local_ws, hosts_file, evidence)
    recorded = evidence["inventory"]["web1"]
    assert recorded["updated"] is False
    assert recorded["reason"].startswith(f"{hosts_file}:1: invalid YAML")
    assert evidence["hardening"]["web1"]["ssh"]["set_inventory_port"] == 40022
    assert hosts_file.read_text() == "all: [\n"


class _PausedLedger(ledger.SqliteLedger):
    """A real ledger whose first ``unfinished()`` answer is held back until ``go`` is set:
    the moment a slower omctl has read the dead run as unfinished but not yet taken its lock."""

    def __init__(self, path: Path, read, go):
        super().__init__(path)
        self.read, self.go = read, go

    def unfinished(self) -> list[str]:
        found = super().unfinished()
        if not self.read.is_set():
            self.read.set()
            assert self.go.wait(60)
        return found


def _recover_in_child(root: str, results, read=None, go=None) -> None:
    ws = Workspace(Path(root))
    path = ws.state / "ledger.sqlite3"
    book = ledger.SqliteLedger(path) if read is None else _PausedLedger(path, read, go)
    results.put(runs.recover_interrupted(ws, book))
    book.close()


def test_processes_recovering_the_same_dead_run_mark_it_once(local_ws, settings, book) -> None:
    fields = {"client": "acme", "task": "healthcheck", "category": "maintenance", "in_scope": True}
    book.append("dead", ledger.STARTED, fields)
    context = multiprocessing.get_context("fork")
    read, go, results = context.Event(), context.Event(), context.Queue()
    slow = context.Process(target=_recover_in_child, args=(str(local_ws.root), results, read, go))
    slow.start()
    assert read.wait(60)  # the slow one saw the dead run as unfinished ...
    fast = context.Process(target=_recover_in_child, args=(str(local_ws.root), results))
    fast.start()
    fast.join(60)
    assert results.get(timeout=60) == ["dead"]  # ... the fast one marked it and let go
    go.set()
    slow.join(60)
    assert (fast.exitcode, slow.exitcode) == (0, 0)
    assert results.get(timeout=60) == []  # the slow one checked again under the lock
    interrupted = [e.run_id for e in book.entries() if e.kind == ledger.INTERRUPTED]
    assert interrupted == ["dead"]
    assert book.verify().ok


def test_a_run_marks_a_dead_run_of_its_own_client(local_ws, settings, book) -> None:
    fields = {"client": "acme", "task": "healthcheck", "category": "maintenance", "in_scope": True}
    book.append("dead", ledger.STARTED, fields)
    run = runs.execute(settings, book, runs.Request("acme", "healthcheck", limit="web1"), _noop)
    assert ledger.get_run(book, "dead").status == ledger.STATUS_INTERRUPTED
    assert run.status == ledger.SUCCESSFUL


def _dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def test_a_lock_whose_file_names_a_dead_process_is_waited_for(local_ws) -> None:
    """What another omctl marking a dead run interrupted looks like: the lock is held a moment
    while the lock file still names the dead run."""
    path = locking.lock_path(local_ws, "acme")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"run_id": "dead", "pid": _dead_pid()}))
    fd = locking.try_lock(local_ws, "acme")
    releaser = threading.Timer(0.5, locking.release, args=(fd,))
    releaser.start()
    started = time.monotonic()
    with locking.client_lock(local_ws, "acme", "new"):
        waited = time.monotonic() - started
        assert json.loads(path.read_text())["run_id"] == "new"
    releaser.join()
    assert 0.4 < waited < locking.GRACE_SECONDS


def test_a_lock_held_by_a_live_run_is_refused_at_once(local_ws) -> None:
    fd = locking.try_lock(local_ws, "acme")
    locking.lock_path(local_ws, "acme").write_text(
        json.dumps({"run_id": "live", "pid": os.getpid()})
    )
    started = time.monotonic()
    try:
        with (
            pytest.raises(ClientLocked, match=rf"by run live \(pid {os.getpid()}\)"),
            locking.client_lock(local_ws, "acme", "new"),
        ):
            pass
    finally:
        locking.release(fd)
    assert time.monotonic() - started < 1


LEAKY = """\
# description: Check services, the site and disk space
- name: Leaky
  hosts: all
  gather_facts: false
  tasks:
    - name: Print what should stay secret
      ansible.builtin.debug:
        msg: "{{ db_password }} {{ site_secret }} env={{ lookup('env', 'CLOUD_TOKEN') }}"
    - name: Publish it
      ansible.builtin.set_stats:
        data:
          omctl_evidence:
            leak: "{{ {inventory_hostname: {'both': db_password ~ ' ' ~ site_secret}} }}"
"""


def test_no_secret_reaches_the_run_folder_or_the_ledger(
    local_ws, settings, book, monkeypatch
) -> None:
    """-e secret, secret_vars value and an operator env variable: never on disk, never recorded;
    the command artifact has no environment; the run folder is 0700 with files 0600."""
    import dataclasses
    import json

    monkeypatch.setenv("CLOUD_TOKEN", "env-canary-0001")
    (local_ws.playbooks / "maintenance" / "healthcheck.yml").write_text(LEAKY)
    group_vars = local_ws.client_dir("acme") / "group_vars"
    group_vars.mkdir()
    (group_vars / "all.yml").write_text("site_secret: listed-canary-0002\n")
    current = dataclasses.replace(settings, secret_vars=("site_secret",))
    request = runs.Request(
        "acme", "healthcheck", limit="web1", extravars={"db_password": "extra-canary-0003"}
    )
    seen: list = []
    run = runs.execute(current, book, request, seen.append)
    assert run.status == ledger.SUCCESSFUL
    assert run.hosts["web1"].evidence["leak"] == {"both": "<redacted> <redacted>"}
    folder = runs.artifacts_dir(local_ws, run.id)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.parent.name == "job_events" for p in files)
    stdout = (folder / "artifacts" / run.id / "stdout").read_text()
    assert "<redacted> <redacted> env=" in stdout and "env-canary" not in stdout
    for canary in ("env-canary-0001", "listed-canary-0002", "extra-canary-0003"):
        assert [p for p in files if canary.encode() in p.read_bytes()] == []
        assert canary not in settings.ledger.read_bytes().decode(errors="replace")
    command = json.loads((folder / "artifacts" / run.id / "command").read_text())
    assert "env" not in command and command["command"][0].endswith("ansible-playbook")
    for path in (folder, *folder.rglob("*")):
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path


def test_a_dead_run_leaves_no_unscrubbed_file(local_ws, settings, book) -> None:
    """omctl killed mid-run: its extra vars file and the callback's partial events go."""
    fields = {"client": "acme", "task": "healthcheck", "category": "maintenance", "in_scope": True}
    book.append("dead", ledger.STARTED, fields)
    folder = runs.artifacts_dir(local_ws, "dead")
    events = folder / "artifacts" / "dead" / "job_events"
    events.mkdir(parents=True)
    (folder / "omctl-extravars.json").write_text('{"db_password": "hunter2"}')
    (events / "0123-partial.json").write_text('{"res": "hunter2"}')
    (events / "1-0123.json").write_text('{"res": "<redacted>"}')
    assert runs.recover_interrupted(local_ws, book) == ["dead"]
    assert [p.name for p in folder.rglob("*") if p.is_file()] == ["1-0123.json"]
