"""The one YAML loader: data and lines in one pass, hostile input refused at its line.

Each case runs with libyaml's parser and with PyYAML's pure-Python one (the fallback where
PyYAML is built without libyaml), so both give the same answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from omctl import inventory_edit, yamlfile
from omctl.errors import BadInput


@pytest.fixture(params=["libyaml", "python"])
def parser(request, monkeypatch) -> None:
    if request.param == "python":
        monkeypatch.setattr(yamlfile, "_Parser", yaml.SafeLoader)
    elif not yaml.__with_libyaml__:  # pragma: no cover - the venv's PyYAML has it
        pytest.skip("PyYAML without libyaml")


def load(tmp_path: Path, text: str | bytes) -> yamlfile.LocatedYaml:
    path = tmp_path / "f.yml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return yamlfile.load(path)


def test_data_and_lines_in_one_pass(parser, tmp_path: Path) -> None:
    located = load(tmp_path, "a: 1\nb:\n  - x\n  - {c: 2026-01-01, d: '3'}\ne: !vault |\n  $X\n")
    assert located.data == {
        "a": 1,
        "b": ["x", {"c": yaml.safe_load("2026-01-01"), "d": "3"}],
        "e": "$X\n",
    }
    assert located.lines[("b", 1, "d")] == 4 and located.line_of(("b", 0)) == 3
    assert located.line_of(("b", 1, "nope")) == 4
    assert load(tmp_path, "").data is None


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: &x [1]\nb: *x\n", 1, "anchor &x refused"),
        ("a: 1\nb: *x\n", 2, ""),  # an alias without its anchor is never composed
        ("a:\n  b: 1\n  b: 2\n", 3, "duplicate key 'b' (first on line 2)"),
        ("- {a: 1, 'a': 2}\n", 1, "duplicate key 'a'"),
        ("a:\n  <<: {b: 1}\n", 2, "merge keys (<<) are not supported"),
        ("1: a\n", 1, "key '1' must be text"),
        ("? [a]\n: b\n", 1, "a key must be text"),
        ("a: 2026-02-30\n", 1, "invalid value '2026-02-30'"),
        ("a: " + "9" * 5000 + "\n", 1, "invalid value"),
        ("a: !!python/name:os.system\n", 1, "unsupported tag"),
        ("a: !!set {x}\n", 1, "unsupported tag"),
        ("a: 1\n---\nb: 2\n", 2, "more than one YAML document"),
        ("a: " + "{b: " * 100 + "1" + "}" * 100 + "\n", 1, "nested more than 64 levels deep"),
        ("a: [" + "1," * yamlfile.MAX_NODES + "1]\n", 1, f"more than {yamlfile.MAX_NODES} values"),
        ("a: 1\nb: x\0y\n", 2, "characters are not allowed (#x0000)"),
    ],
)
def test_hostile_yaml_is_refused_at_its_line(
    parser, tmp_path: Path, text: str, line: int, message: str
) -> None:
    with pytest.raises(BadInput) as caught:
        load(tmp_path, text)
    assert caught.value.line == line, str(caught.value)
    assert message in caught.value.message and "\n" not in str(caught.value)


def test_a_deep_flow_nest_is_an_error_not_a_recursion(parser, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"f\.yml:1: "):
        load(tmp_path, "a: " + "[" * 10_000 + "]" * 10_000 + "\n")


def test_files_are_bounded_before_they_are_read(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="more than the limit of 1048576"):
        load(tmp_path, b" " * (yamlfile.MAX_BYTES + 1))
    with pytest.raises(BadInput, match=r"f\.yml:3: not UTF-8 text \(byte 0xff\)"):
        load(tmp_path, b"a: 1\n\nb: \xff\n")
    with pytest.raises(BadInput, match="is a directory, not a file"):
        yamlfile.load(tmp_path)
    with pytest.raises(BadInput, match="file not found"):
        yamlfile.load(tmp_path / "missing.yml")


def test_a_host_vars_file_omctl_refuses_stops_an_edit_at_its_line(tmp_path: Path) -> None:
    hosts_file = tmp_path / "hosts.yml"
    hosts_file.write_text("all:\n  hosts:\n    web1: {ansible_port: 22}\n")
    vars_file = tmp_path / "host_vars" / "web1.yml"
    vars_file.parent.mkdir()
    vars_file.write_text("ansible_user: a\nansible_user: b\n")
    with pytest.raises(BadInput, match=rf"{vars_file}:2: duplicate key 'ansible_user'"):
        inventory_edit.set_host_var(hosts_file, "web1", "ansible_port", 40022)
    vars_file.unlink()
    hosts_file.write_text("all:\n  hosts:\n    web1: {ansible_port: 22, ansible_port: 23}\n")
    before = hosts_file.read_text()
    with pytest.raises(BadInput, match=rf"{hosts_file}:3: duplicate key 'ansible_port'"):
        inventory_edit.set_host_var(hosts_file, "web1", "ansible_port", 40022)
    assert hosts_file.read_text() == before
