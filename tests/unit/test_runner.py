import ast
import json
import random
from pathlib import Path

import psutil

from omctl import runner
from tests.unit.local_play import LOCAL_HOSTS, REPO, run_local_play

PACKAGE = Path(runner.__file__).resolve().parent


def _spec(**overrides) -> runner.PlaybookSpec:
    values = {
        "run_id": "20261128T000000Z-abcdef",
        "private_data_dir": Path("/ws/.omctl/runs/20261128T000000Z-abcdef"),
        "project_dir": Path("/ws"),
        "playbook": Path("/ws/playbooks/maintenance/healthcheck.yml"),
        "inventory": Path("/ws/inventories/acme/hosts.yml"),
    }
    values.update(overrides)
    return runner.PlaybookSpec(**values)


def test_only_runner_imports_ansible_runner() -> None:
    importers = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name.split(".")[0] == "ansible_runner" for name in names):
                importers.append(path.relative_to(PACKAGE).as_posix())
    assert sorted(set(importers)) == ["runner.py"]


def test_kwargs_isolate_the_run_and_write_no_env_files() -> None:
    kwargs = _spec().runner_kwargs()
    assert kwargs["private_data_dir"] == "/ws/.omctl/runs/20261128T000000Z-abcdef"
    assert kwargs["ident"] == "20261128T000000Z-abcdef"
    assert kwargs["suppress_env_files"] is True
    assert kwargs["inventory"] == "/ws/inventories/acme/hosts.yml"
    assert kwargs["playbook"] == "/ws/playbooks/maintenance/healthcheck.yml"
    assert "cmdline" not in kwargs and "limit" not in kwargs and "extravars" not in kwargs


def test_check_diff_limit_and_vault_file_are_passed_through() -> None:
    kwargs = _spec(
        check=True, diff=True, limit="web1", vault_password_file=Path("/secret dir/pass")
    ).runner_kwargs()
    assert kwargs["cmdline"] == "--check --diff --vault-password-file '/secret dir/pass'"
    assert kwargs["limit"] == "web1"


def test_extra_vars_go_to_a_private_file_not_the_command_line(tmp_path: Path) -> None:
    spec = _spec(private_data_dir=tmp_path, extravars={"db_password": "hunter2", "n": 3})
    kwargs = spec.runner_kwargs()
    assert "hunter2" not in repr(kwargs) and "extravars" not in kwargs
    assert kwargs["cmdline"] == f"--extra-vars @{tmp_path / runner.EXTRAVARS_FILE}"
    spec.write_extravars()
    written = tmp_path / runner.EXTRAVARS_FILE
    assert json.loads(written.read_text()) == {"db_password": "hunter2", "n": 3}
    assert written.stat().st_mode & 0o777 == 0o600


def test_diff_of_a_changed_file_is_unified() -> None:
    res = {
        "changed": True,
        "diff": [
            {
                "before": "a\nb\n",
                "after": "a\nc\n",
                "before_header": "/etc/x",
                "after_header": "/etc/x",
            }
        ],
    }
    assert runner.render_diff(res).splitlines() == [
        "--- /etc/x",
        "+++ /etc/x",
        "@@ -1,2 +1,2 @@",
        " a",
        "-b",
        "+c",
    ]


def test_diff_of_loop_items_and_prepared_text_but_not_unchanged_results() -> None:
    res = {
        "changed": True,
        "results": [
            {"changed": True, "diff": {"prepared": "+ new rule"}},
            {"changed": False, "diff": {"before": "same", "after": "other"}},
            {"changed": True, "diff": {"before": {"k": 1}, "after": {"k": 2}}},
        ],
    }
    text = runner.render_diff(res)
    assert "+ new rule" in text
    assert '-  "k": 1' in text and '+  "k": 2' in text
    assert "other" not in text
    assert runner.render_diff({"changed": False, "diff": {"before": "a", "after": "b"}}) == ""


def test_ansible_cfg_of_the_workspace_is_used(tmp_path: Path) -> None:
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[defaults]\n")
    env = _spec(ansible_cfg=cfg).envvars()
    assert env["ANSIBLE_CONFIG"] == str(cfg)
    assert "ANSIBLE_CONFIG" not in _spec(ansible_cfg=tmp_path / "missing.cfg").envvars()


def _event(kind: str, host: str, task: str, **data) -> dict:
    return {"event": kind, "event_data": {"host": host, "task": task, **data}}


def test_collector_turns_events_into_host_results() -> None:
    seen: list[runner.Progress] = []
    collect = runner._Collector(seen.append)
    collect(_event("runner_on_ok", "web1", "Gather", res={"changed": False}))
    collect(_event("runner_on_ok", "web1", "Write config", role="nginx", res={"changed": True}))
    collect(_event("runner_on_failed", "web2", "Check", res={"msg": "boom\nmore"}))
    collect(_event("runner_on_failed", "web2", "Tolerated", ignore_errors=True, res={}))
    collect(_event("runner_on_unreachable", "web3", "Gather", res={"msg": "no route"}))
    collect(
        {
            "event": "playbook_on_stats",
            "event_data": {
                "ok": {"web1": 2, "web2": 1},
                "changed": {"web1": 1},
                "failures": {"web2": 1},
                "dark": {"web3": 1},
                "skipped": {},
                "artifact_data": {
                    "omctl_evidence": {"healthcheck": {"web1": {"ok": True}, "web2": {}}}
                },
            },
        }
    )
    hosts = collect.hosts()
    assert hosts["web1"].changed == 1 and hosts["web1"].changed_tasks == ["nginx : Write config"]
    assert hosts["web2"].failures == [{"task": "Check", "message": "boom"}]
    assert hosts["web2"].status == "failed"
    assert hosts["web3"].status == "unreachable"
    assert collect.evidence() == {"healthcheck": {"web1": {"ok": True}, "web2": {}}}
    assert [p.state for p in seen] == ["ok", "changed", "failed", "failed", "unreachable"]


OPERATOR_ENV = {
    "PATH": "/usr/bin",
    "HOME": "/root",
    "USER": "root",
    "LANG": "C.UTF-8",
    "LC_TIME": "de_DE.UTF-8",
    "SSH_AUTH_SOCK": "/tmp/agent.sock",
    "AWS_SECRET_ACCESS_KEY": "cloud-canary",
    "GITHUB_TOKEN": "gh-canary",
    "ANSIBLE_VAULT_PASSWORD_FILE": "/home/op/.vault",
    "OMCTL_VAULT_PASSWORD_FILE": "/home/op/.vault",
    "DEPLOY_REGION": "eu-1",
    "DEPLOY_TOKEN": "passed-canary",
}


def test_child_environment_is_the_allow_list_and_pass_env() -> None:
    assert runner.child_environment(OPERATOR_ENV) == {
        name: OPERATOR_ENV[name]
        for name in ("PATH", "HOME", "USER", "LANG", "LC_TIME", "SSH_AUTH_SOCK")
    }
    passed = runner.child_environment(OPERATOR_ENV, ("DEPLOY_*", "GITHUB_TOKEN"))
    assert set(passed) - set(runner.child_environment(OPERATOR_ENV)) == {
        "DEPLOY_REGION",
        "DEPLOY_TOKEN",
        "GITHUB_TOKEN",
    }


def test_environment_keeps_what_runner_and_omctl_set_and_drops_the_rest(tmp_path: Path) -> None:
    spec = _spec(ansible_cfg=tmp_path / "ansible.cfg", pass_env=("DEPLOY_TOKEN",))
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    # What ansible-runner prepares: omctl's environment, omctl's envvars, its own settings.
    prepared = {
        **OPERATOR_ENV,
        **spec.envvars(),
        "ANSIBLE_STDOUT_CALLBACK": "awx_display",
        "AWX_ISOLATED_DATA_DIR": "/ws/.omctl/runs/x/artifacts/x",
    }
    env = spec.environment(prepared, OPERATOR_ENV)
    for dropped in ("AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "ANSIBLE_VAULT_PASSWORD_FILE"):
        assert dropped not in env
    assert "OMCTL_VAULT_PASSWORD_FILE" not in env and "DEPLOY_REGION" not in env
    assert env["DEPLOY_TOKEN"] == "passed-canary" and env["SSH_AUTH_SOCK"] == "/tmp/agent.sock"
    assert env["ANSIBLE_STDOUT_CALLBACK"] == "awx_display"
    assert env["ANSIBLE_CONFIG"] == str(tmp_path / "ansible.cfg")
    assert env["PATH"] == spec.envvars()["PATH"]  # omctl's venv first


def test_collector_scrubs_events_before_they_are_written(tmp_path: Path) -> None:
    from omctl.redact import Redactor

    seen: list[runner.Progress] = []
    collector = runner._Collector(seen.append, Redactor(["hunter2-secret"]), tmp_path / "stdout")
    event = {
        "event": "runner_on_failed",
        "stdout": "fatal: [web1]: FAILED! => hunter2-secret",
        "event_data": {
            "host": "web1",
            "task": "Login",
            "res": {"msg": "bad password hunter2-secret", "cmd": ["login", "hunter2-secret"]},
        },
    }
    assert collector(event) is True
    assert "hunter2-secret" not in json.dumps(event)
    assert seen[0].message == "bad password <redacted>"
    assert collector.failures["web1"] == [{"task": "Login", "message": "bad password <redacted>"}]
    assert (tmp_path / "stdout").read_text() == "fatal: [web1]: FAILED! => <redacted>\n"
    assert (tmp_path / "stdout").stat().st_mode & 0o777 == 0o600


def test_artifacts_folder_is_private_while_the_playbook_runs(tmp_path: Path) -> None:
    """What the playbook sees mid-run, i.e. what stays behind when omctl is killed (SIGKILL
    never reaches make_private): artifacts/ is 0700, not ansible-runner's makedirs() 0755."""
    playbook = tmp_path / "stat.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.stat:\n        path: " + str(tmp_path / "run" / "artifacts") + "\n"
        "      register: folder\n"
        "    - ansible.builtin.set_stats:\n"
        "        data: {omctl_evidence: {mode: {web1: '{{ folder.stat.mode }}'}}}\n"
    )
    result = run_local_play(tmp_path, playbook)
    assert result.rc == 0, result.tail
    assert result.evidence["mode"] == {"web1": "0700"}


def test_what_a_killed_run_left_is_discarded_or_made_private(tmp_path: Path) -> None:
    run = tmp_path / "run"
    events = run / "artifacts" / "r1" / "job_events"
    events.mkdir(parents=True, mode=0o755)
    (events / "1-abc-partial.json").write_text("{}")
    (events / "2-def.json").write_text("{}")
    (run / "artifacts" / "r1" / "status").write_text("running")
    (run / runner.EXTRAVARS_FILE).write_text("secret: x")
    runner.discard_unscrubbed(run)
    assert not (events / "1-abc-partial.json").exists()
    assert not (run / runner.EXTRAVARS_FILE).exists()
    for path in [run, *run.rglob("*")]:
        assert (path.stat().st_mode & 0o777) == (0o700 if path.is_dir() else 0o600), path


def test_a_cancelled_run_leaves_no_task_running(tmp_path: Path) -> None:
    """ansible-runner's cancel alone killed ansible-playbook's process group: the workers (each
    in a session of its own) went on running their task after omctl had recorded the run."""
    seconds = str(random.randint(4000, 9000))  # this test's sleeps, told from any other's
    playbook = tmp_path / "slow.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        f"    - ansible.builtin.command: sleep {seconds}\n"
    )

    def sleeping() -> list[psutil.Process]:
        return [
            p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", seconds]
        ]

    hosts = LOCAL_HOSTS.replace("    web1: {}\n", "    web1: {}\n    web2: {}\n")
    inventory = tmp_path / "inventories" / "acme"
    inventory.mkdir(parents=True)
    (inventory / "hosts.yml").write_text(hosts)
    spec = runner.PlaybookSpec(
        run_id="slow",
        private_data_dir=tmp_path / "run",
        project_dir=REPO,
        playbook=playbook,
        inventory=inventory / "hosts.yml",
        ansible_cfg=REPO / "ansible.cfg",
    )
    # Cancelled (as by Ctrl-C) once both hosts' tasks run.
    result = runner.run_playbook(spec, lambda _progress: None, lambda: len(sleeping()) == 2)
    assert result.status == "canceled"
    assert sleeping() == []
