"""The CLI end to end through CliRunner, with real ansible-runner on local-connection hosts."""

import json
import re
import sqlite3

from omctl import ledger, ledger_key
from omctl.errors import ExitCode
from tests.unit.test_runs import PORT_MOVED


def one_line_error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_help_documents_exit_codes(omctl) -> None:
    result = omctl("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for phrase in ("0 success", "1 a host failed", "2 bad input", "3 refused", "4 client locked"):
        assert phrase in text


def test_tasks_json(omctl) -> None:
    result = omctl("tasks", "--json")
    assert result.exit_code == 0
    tasks = {t["name"]: t for t in json.loads(result.stdout)}
    assert tasks["healthcheck"]["category"] == "maintenance"
    assert tasks["content_sync"]["description"] == "Publish a content release"


def test_tasks_table_groups_by_category(omctl) -> None:
    result = omctl("tasks")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    categories = [line.split()[0] for line in lines[1:]]
    assert categories == ["operation", "maintenance", "maintenance", "onboarding"]


def test_scope_check_ok_and_show(omctl) -> None:
    result = omctl("scope", "check", "acme")
    assert result.exit_code == 0, result.stderr
    assert "contract ACME-2026" in result.stdout
    shown = json.loads(omctl("scope", "show", "acme", "--json").stdout)
    by_name = {t["name"]: t for t in shown["tasks"]}
    assert by_name["healthcheck"]["in_scope"] and by_name["healthcheck"]["scope"]["hosts"] == [
        "web"
    ]
    assert "baseline" not in by_name  # onboarding is not contracted work
    assert shown["contract"]["contract"] == "ACME-2026"


def test_scope_check_bad_file_exit_2_one_line(omctl, ws) -> None:
    path = ws.client_dir("acme") / "scope.yml"
    path.write_text(path.read_text() + "  bogus: 1\n")
    result = omctl("scope", "check", "acme")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"{path}:" in one_line_error(result)


def test_unknown_client_exit_2(omctl) -> None:
    result = omctl("scope", "check", "nobody")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "unknown client 'nobody'" in one_line_error(result)


def test_wrong_option_exit_2(omctl) -> None:
    result = omctl("run", "acme", "healthcheck", "--frobnicate")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "No such option: --frobnicate" in one_line_error(result)
    assert not (omctl.ws.state / "ledger.sqlite3").exists()


def test_run_in_scope_then_history_and_show(omctl) -> None:
    result = omctl("run", "acme", "healthcheck", "--limit", "web1", "--json")
    assert result.exit_code == 0, result.stderr
    run = json.loads(result.stdout)
    assert run["status"] == "successful" and run["in_scope"] is True
    assert run["hosts"]["web1"]["changed"] == 1
    assert "web1" in result.stderr  # live progress goes to stderr
    history = json.loads(omctl("history", "acme", "--json").stdout)
    assert [(r["id"], r["task"], r["status"]) for r in history] == [
        (run["id"], "healthcheck", "successful")
    ]
    shown = json.loads(omctl("show", run["id"][:18], "--json").stdout)
    assert shown["hosts"]["web1"]["evidence"]["healthcheck"] == {"checked": True}
    assert shown["operator"] == "cli@test"


def test_failed_host_exit_1(omctl) -> None:
    result = omctl("run", "acme", "healthcheck", "--limit", "web2")
    assert result.exit_code == ExitCode.HOST_FAILED
    assert "web2" in result.stdout


def test_refused_exit_3_and_recorded(omctl) -> None:
    result = omctl("run", "acme", "healthcheck", "--limit", "db1")
    assert result.exit_code == ExitCode.REFUSED
    assert "covers 'healthcheck' on web1, web2, not on db1" in one_line_error(result)
    history = json.loads(omctl("history", "--json").stdout)
    assert history[-1]["status"] == "refused"
    assert history[-1]["in_scope"] is False


def test_history_shows_the_most_recent_runs_oldest_first(omctl) -> None:
    for _ in range(5):  # refusals: recorded runs without a playbook
        assert omctl("run", "acme", "healthcheck", "--limit", "db1").exit_code == ExitCode.REFUSED
    every = json.loads(omctl("history", "acme", "--json").stdout)
    assert len(every) == 5 and json.loads(omctl("history", "--last", "0", "--json").stdout) == every
    last_two = omctl("history", "acme", "--last", "2", "--json")
    assert json.loads(last_two.stdout) == every[-2:]
    assert "the 2 most recent of 5 runs (--last 0 for all)" in last_two.stderr
    text = omctl("history", "acme", "--last", "3")
    shown = re.findall(r"^(\d{8}T\d{6}Z-\w+) ", text.stdout, re.MULTILINE)
    assert shown == [run["id"] for run in every[-3:]]
    assert "most recent" not in omctl("history", "acme", "--last", "5").stderr
    negative = omctl("history", "--last", "-1")
    assert negative.exit_code == ExitCode.BAD_INPUT


def test_out_of_scope_run(omctl) -> None:
    result = omctl("run", "acme", "healthcheck", "-l", "db1", "--out-of-scope", "urgent", "--json")
    assert result.exit_code == 0, result.stderr
    run = json.loads(result.stdout)
    assert run["in_scope"] is False and run["out_of_scope_reason"] == "urgent"


def test_bad_extra_var_is_one_line_exit_2_and_records_nothing(omctl) -> None:
    result = omctl("run", "acme", "healthcheck", "-l", "web1", "-e", "recover")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "-e expects NAME=VALUE" in one_line_error(result)
    assert json.loads(omctl("history", "--json").stdout) == []


DIFF_PLAYBOOK = """\
# description: Check services, the site and disk space
- name: Write a file
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the motd
      ansible.builtin.copy:
        dest: "{{ target }}"
        content: "hello {{ greeting }}\\n"
        mode: "0644"
"""


def test_check_diff_shows_the_change_and_makes_none(omctl, ws, tmp_path) -> None:
    (ws.playbooks / "maintenance" / "healthcheck.yml").write_text(DIFF_PLAYBOOK)
    target = tmp_path / "motd"
    target.write_text("hello world\n")
    args = ("run", "acme", "healthcheck", "-l", "web1", "-e", f"target={target}")
    result = omctl(*args, "-e", "greeting=client", "--check", "--diff")
    assert result.exit_code == 0, result.stderr
    assert "-hello world" in result.stderr and "+hello client" in result.stderr
    assert target.read_text() == "hello world\n"
    shown = json.loads(omctl("history", "--json").stdout)[-1]
    assert shown["check"] is True


def test_ledger_verify_detects_tampering(omctl) -> None:
    omctl("run", "acme", "healthcheck", "--limit", "db1")  # the keying entry, a refusal
    omctl("run", "acme", "healthcheck", "--limit", "web1")
    assert omctl("ledger", "verify").exit_code == 0
    raw = sqlite3.connect(omctl.ws.state / "ledger.sqlite3")
    raw.execute("DROP TRIGGER entries_no_update")
    raw.execute("UPDATE entries SET payload = replace(payload, 'false', 'true') WHERE seq = 2")
    raw.commit()
    raw.close()
    result = omctl("ledger", "verify")
    assert result.exit_code == ExitCode.LEDGER_BROKEN
    assert "row 2 was altered" in one_line_error(result)


def test_missing_argument_and_unknown_command_exit_2(omctl) -> None:
    assert "Missing argument" in one_line_error(omctl("run", "acme"))
    result = omctl("frobnicate")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "No such command" in one_line_error(result)


def test_show_unknown_run(omctl) -> None:
    result = omctl("show", "nope")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "no run 'nope'" in one_line_error(result)


def test_init_creates_a_workspace(omctl, tmp_path) -> None:
    target = tmp_path / "provider"
    result = omctl("init", str(target))
    assert result.exit_code == 0, result.stderr
    assert (target / "ansible.cfg").is_file()
    assert (target / "playbooks" / "onboarding" / "baseline.yml").is_file()
    assert (target / "inventories" / "example" / "scope.yml").is_file()
    (keying,) = ledger.SqliteLedger(target / ".omctl" / "ledger.sqlite3").entries()
    assert keying.kind == ledger.KEYED
    key_file = ledger_key.default_path(keying.payload["ledger_id"])
    assert key_file.stat().st_mode & 0o777 == 0o600 and f"ledger key: {key_file}" in result.stderr
    assert not key_file.is_relative_to(target)
    again = omctl("init", str(target))
    assert again.exit_code == ExitCode.BAD_INPUT


def test_init_refuses_a_ledger_key_inside_the_workspace(omctl, tmp_path, monkeypatch) -> None:
    target = tmp_path / "provider"
    monkeypatch.setenv("OMCTL_LEDGER_KEY_FILE", str(target / "ledger.key"))
    result = omctl("init", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "inside the workspace" in one_line_error(result)
    assert not target.exists()


def test_ledger_verify_checkpoints(omctl) -> None:
    omctl("run", "acme", "healthcheck", "--limit", "db1")
    ok = omctl("ledger", "verify")
    assert ok.exit_code == 0, ok.stderr
    head = ok.stdout.split("head ")[1].strip()
    seq, digest = head.split(":")
    assert ok.stdout.startswith("ledger ok: 2 entries, chain intact") and len(digest) == 64
    held = omctl("ledger", "verify", "--checkpoint", head, "--checkpoint", head.upper())
    assert held.exit_code == 0 and "1 checkpoint held" in held.stdout
    other = f"{seq}:{'0' * 64}"
    broken = omctl("ledger", "verify", "--checkpoint", head, "--checkpoint", other)
    assert broken.exit_code == ExitCode.LEDGER_BROKEN
    assert f"row {seq} differs from checkpoint {seq}:000000000000" in one_line_error(broken)
    for bad in ("12", f"0:{digest}", f"{seq}:{digest[:-1]}"):
        result = omctl("ledger", "verify", "--checkpoint", bad)
        assert result.exit_code == ExitCode.BAD_INPUT
        assert "--checkpoint expects SEQ:HASH" in one_line_error(result)


def test_a_stale_run_index_fails_verify_and_reindex_rebuilds_it(omctl) -> None:
    omctl("run", "acme", "healthcheck", "--limit", "db1")
    before = json.loads(omctl("history", "acme", "--json").stdout)
    raw = sqlite3.connect(omctl.ws.state / "ledger.sqlite3")
    raw.execute("UPDATE run_index SET task = 'patching'")
    raw.commit()
    raw.close()
    broken = omctl("ledger", "verify")
    assert broken.exit_code == ExitCode.LEDGER_BROKEN
    assert "the run index differs from the entries of run" in one_line_error(broken)
    rebuilt = omctl("ledger", "reindex")
    assert rebuilt.exit_code == 0 and rebuilt.stdout.strip() == "run index rebuilt: 1 run"
    assert omctl("ledger", "verify").exit_code == 0
    assert json.loads(omctl("history", "acme", "--json").stdout) == before


def test_a_missing_ledger_key_is_exit_6_and_runs_nothing(omctl) -> None:
    omctl("run", "acme", "healthcheck", "--limit", "db1")
    book = ledger.SqliteLedger(omctl.ws.state / "ledger.sqlite3")
    (keying,) = [e for e in book.entries() if e.kind == ledger.KEYED]
    book.close()
    ledger_key.default_path(keying.payload["ledger_id"]).unlink()
    for args in (("ledger", "verify"), ("run", "acme", "healthcheck", "--limit", "web1")):
        result = omctl(*args)
        assert result.exit_code == ExitCode.LEDGER_BROKEN
        assert "its key file is missing" in one_line_error(result)
    assert not (omctl.ws.state / "runs").exists()


def test_show_says_how_the_inventory_followed_a_port_change(omctl) -> None:
    (omctl.ws.playbooks / "maintenance" / "healthcheck.yml").write_text(PORT_MOVED)
    (omctl.ws.client_dir("acme") / "host_vars").mkdir()
    (omctl.ws.client_dir("acme") / "host_vars" / "web2.yml").write_text("ansible_port: 22\n")
    run = json.loads(omctl("run", "acme", "healthcheck", "--limit", "web", "--json").stdout)
    shown = omctl("show", run["id"]).stdout
    assert "inventory of web1: ansible_port set to 40022 in inventories/acme/hosts.yml" in shown
    assert "inventory of web2: not updated: " in shown and "host_vars/web2.yml sets" in shown


def test_secret_vars_of_the_wrong_type_exit_2(omctl) -> None:
    path = omctl.ws.root / "omctl.toml"
    path.write_text('secret_vars = "db_password"\n')
    result = omctl("run", "acme", "healthcheck")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert one_line_error(result).endswith(
        f"{path}:1: secret_vars: must be a list of variable names"
    )
    assert not (omctl.ws.state / "ledger.sqlite3").exists()


def test_report_scrubs_values_made_secret_after_they_were_recorded(omctl) -> None:
    """A run recorded a value before omctl.toml listed its variable in secret_vars: the report
    (stdout and --output under .omctl/, 0600) shows it redacted."""
    from datetime import UTC, datetime

    group_vars = omctl.ws.client_dir("acme") / "group_vars"
    group_vars.mkdir()
    (group_vars / "all.yml").write_text("site_note: s3cret-note\n")
    reason = "asked by phone, code s3cret-note"  # db1 is not covered: out of scope
    result = omctl("run", "acme", "healthcheck", "--limit", "db1", "--out-of-scope", reason)
    assert result.exit_code == 0, result.stderr
    period = datetime.now(UTC).strftime("%Y-%m")
    before = omctl("report", "acme", "--period", period, "--format", "json")
    assert "s3cret-note" in before.stdout  # the control: the report shows the recorded value
    (omctl.ws.root / "omctl.toml").write_text('secret_vars = ["site_note"]\n')
    shown = omctl("report", "acme", "--period", period, "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert "s3cret-note" not in shown.stdout
    output = omctl.ws.state / "acme-report.md"
    written = omctl("report", "acme", "--period", period, "--output", str(output))
    assert written.exit_code == 0, written.stderr
    assert output.stat().st_mode & 0o777 == 0o600
