from pathlib import Path

import pytest

from omctl import settings
from omctl.errors import BadInput


def test_defaults(tmp_path: Path) -> None:
    loaded = settings.load(tmp_path, environ={})
    assert loaded.workspace.root == tmp_path.resolve()
    assert loaded.artifacts_keep == 20
    assert loaded.vault_password_file is None
    assert "@" in loaded.operator
    assert loaded.ledger == tmp_path.resolve() / ".omctl" / "ledger.sqlite3"


def test_precedence_cli_over_env_over_file(tmp_path: Path) -> None:
    (tmp_path / "omctl.toml").write_text(
        'artifacts_keep = 5\noperator = "file@x"\nvault_password_file = "pass"\n'
    )
    from_file = settings.load(tmp_path, environ={})
    assert from_file.artifacts_keep == 5 and from_file.operator == "file@x"
    assert from_file.vault_password_file == tmp_path.resolve() / "pass"  # relative to the file
    from_env = settings.load(tmp_path, environ={"OMCTL_ARTIFACTS_KEEP": "7"})
    assert from_env.artifacts_keep == 7 and from_env.operator == "file@x"
    from_cli = settings.load(
        tmp_path,
        cli={"vault_password_file": Path("/cli/pass")},
        environ={"OMCTL_VAULT_PASSWORD_FILE": "/env/pass"},
    )
    assert from_cli.vault_password_file == Path("/cli/pass")


def test_workspace_from_env(tmp_path: Path) -> None:
    loaded = settings.load(None, environ={"OMCTL_WORKSPACE": str(tmp_path)})
    assert loaded.workspace.root == tmp_path.resolve()


def test_unknown_setting_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "omctl.toml"
    path.write_text('operator = "a@b"\nartefacts = 3\n')
    with pytest.raises(BadInput) as caught:
        settings.load(tmp_path, environ={})
    assert str(caught.value).startswith(f"{path.resolve()}:2: unknown setting 'artefacts'")


def test_bad_values(tmp_path: Path) -> None:
    (tmp_path / "omctl.toml").write_text("artifacts_keep = 0\n")
    with pytest.raises(
        BadInput, match=r"omctl.toml:1: artifacts_keep: must be between 1 and 10000"
    ):
        settings.load(tmp_path, environ={})
    (tmp_path / "omctl.toml").write_text("artifacts_keep = [\n")
    with pytest.raises(BadInput, match=r"omctl\.toml:1: invalid TOML"):
        settings.load(tmp_path, environ={})
    for wrong in ("true", "2.5"):  # a bool, a float: never silently a number
        (tmp_path / "omctl.toml").write_text(f"artifacts_keep = {wrong}\n")
        with pytest.raises(
            BadInput, match=r"omctl\.toml:1: artifacts_keep: must be a whole number"
        ):
            settings.load(tmp_path, environ={})
    (tmp_path / "omctl.toml").unlink()
    with pytest.raises(BadInput, match="OMCTL_ARTIFACTS_KEEP"):
        settings.load(tmp_path, environ={"OMCTL_ARTIFACTS_KEEP": "many"})


def test_missing_workspace(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="is not a directory"):
        settings.load(tmp_path / "nope", environ={})


def test_pass_env_and_secret_vars(tmp_path: Path) -> None:
    (tmp_path / "omctl.toml").write_text(
        'pass_env = ["AWS_*", "DEPLOY_TOKEN"]\nsecret_vars = ["db_pass", "api_key", "db_pass"]\n'
    )
    loaded = settings.load(tmp_path, environ={})
    assert loaded.pass_env == ("AWS_*", "DEPLOY_TOKEN")
    assert loaded.secret_vars == ("db_pass", "api_key")
    from_env = settings.load(tmp_path, environ={"OMCTL_SECRET_VARS": "x, y,"})
    assert from_env.secret_vars == ("x", "y") and from_env.pass_env == ("AWS_*", "DEPLOY_TOKEN")
    assert settings.load(tmp_path / "..", environ={}).pass_env == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('pass_env = "AWS_*"\n', "pass_env: must be a list of environment variable names"),
        ("secret_vars = [1]\n", "secret_vars: must be a list of variable names"),
        (
            'secret_vars = ["db-pass"]\n',
            "secret_vars: must be a list of variable names, not 'db-pass'",
        ),
        ('pass_env = ["*"]\n', r"pass_env: must be a list of .*, not '\*'"),
    ],
)
def test_bad_lists_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "omctl.toml").write_text('operator = "a@b"\n' + text)
    with pytest.raises(BadInput, match=rf"omctl.toml:2: {message}"):
        settings.load(tmp_path, environ={})
