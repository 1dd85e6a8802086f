"""Hostile and malformed input, through the real CLI, each case in its own bounded process.

Every file omctl reads is fed broken on purpose: the small cases are files under
hostile_corpus/<target>/ (first line ``# expect: LINE: message``); the large or binary ones are
generated below. Each case runs ``python -m omctl`` in a subprocess limited to 100 MB of address
space and 5 s of CPU (bounds on work, not on wall-clock time), and must end with exit 2 and one
line on stderr naming file:LINE, never a traceback.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from omctl import settings, yamlfile
from omctl.errors import ExitCode
from tests.unit.conftest import HOSTS, make_workspace

CORPUS = Path(__file__).parent / "hostile_corpus"
EXPECT = re.compile(rb"^# expect: (\d+): (.+)$")
MEMORY_LIMIT = 100 << 20  # bytes of address space for the whole omctl process
CPU_LIMIT = 5  # s of CPU: a hang is killed; worst case 1.5 s (start-up 1 s) on a loaded machine
DIRECTORY = b"<a directory>"
FIFO = b"<a named pipe>"

SCOPE = b"client: acme\ncontract: ACME-2026\nvalid_from: 2026-01-01\nvalid_until: 2099-12-31\n"
TARGETS = {  # where each kind of file goes, and the command that reads it
    "scope": ("inventories/acme/scope.yml", ["scope", "check", "acme"]),
    "hosts": ("inventories/acme/hosts.yml", ["scope", "check", "acme"]),
    "toml": ("omctl.toml", ["tasks"]),
}


@dataclass(frozen=True)
class Case:
    target: str
    name: str
    content: bytes
    line: int | None  # None: the error is about the whole file
    message: str

    @property
    def id(self) -> str:
        return f"{self.target}-{self.name}"


def _from_files() -> list[Case]:
    cases = []
    for path in sorted(CORPUS.glob("*/*")):
        content = path.read_bytes()
        expected = EXPECT.match(content.splitlines()[0])
        assert expected, f"{path} lacks its '# expect: LINE: message' header"
        line, message = int(expected[1]), expected[2].decode()
        cases.append(Case(path.parent.name, path.stem, content, line, message))
    return cases


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _generated() -> list[Case]:
    scope_over = b"#" + b" " * yamlfile.MAX_BYTES + b"\n" + SCOPE
    toml_over = b"#" + b" " * settings.MAX_SETTINGS_BYTES + b"\n"
    block = b"".join(b"  " * level + b"a:\n" for level in range(200))
    many = b"[" + b"1," * (yamlfile.MAX_NODES + 10) + b"1]"
    cases = [
        Case("scope", "size_bound", scope_over, None, "more than the limit of 1048576"),
        Case(
            "scope", "deep_flow_10000", SCOPE + b"x: " + _nested(10_000) + b"\n", 5, "nesting depth"
        ),
        Case("scope", "deep_flow_100", SCOPE + b"x: " + _nested(100) + b"\n", 5, "nested more"),
        Case("scope", "deep_block", SCOPE + b"x:\n" + block, 70, "nested more than 64"),
        Case(
            "scope",
            "many_values",
            SCOPE + b"x: " + many + b"\n",
            5,
            f"more than {yamlfile.MAX_NODES} values",
        ),
        Case("scope", "huge_int", SCOPE + b"x: " + b"9" * 5000 + b"\n", 5, "invalid value"),
        Case("scope", "nul_byte", SCOPE.replace(b"ACME", b"AC\0ME"), 2, "control characters"),
        Case("scope", "invalid_utf8", SCOPE + b"x: \xff\xfe\n", 5, "not UTF-8 text (byte 0xff)"),
        Case("scope", "latin1", SCOPE.replace(b"ACME", b"Caf\xe9"), 2, "not UTF-8 text"),
        Case("scope", "directory", DIRECTORY, None, "is a directory, not a file"),
        Case("scope", "named_pipe", FIFO, None, "is not a regular file"),
        Case("hosts", "size_bound", scope_over, None, "more than the limit of 1048576"),
        Case("hosts", "deep_flow", b"all: " + _nested(10_000) + b"\n", 1, "nesting depth"),
        Case("hosts", "nul_byte", HOSTS.encode().replace(b"web2", b"we\0b2"), 6, "control"),
        Case("hosts", "invalid_utf8", HOSTS.encode().replace(b"db1", b"d\xc3b1"), 9, "UTF-8"),
        Case("hosts", "directory", DIRECTORY, None, "is a directory, not a file"),
        Case("toml", "size_bound", toml_over, None, "more than the limit of 65536"),
        Case("toml", "deep_array", b"operator = " + _nested(10_000) + b"\n", 1, "nested too"),
        Case("toml", "huge_int", b"\nartifacts_keep = " + b"9" * 5000 + b"\n", 2, "limit"),
        Case("toml", "nul_byte", b'operator = "a\0b"\n', 1, "invalid TOML"),
        Case("toml", "invalid_utf8", b'\n\noperator = "\xff"\n', 3, "not UTF-8 text"),
        Case("toml", "directory", DIRECTORY, None, "is a directory, not a file"),
        Case("toml", "named_pipe", FIFO, None, "is not a regular file"),
    ]
    return cases


CASES = _from_files() + _generated()


def _limits() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT, CPU_LIMIT))


def _place(root: Path, case: Case) -> Path:
    relative, _ = TARGETS[case.target]
    path = root / relative
    if path.exists():
        path.unlink()
    if case.content == DIRECTORY:
        path.mkdir()
    elif case.content == FIFO:
        os.mkfifo(path)
    else:
        path.write_bytes(case.content)
    return path


def test_the_corpus_covers_every_class() -> None:
    names = {case.id for case in CASES}
    for target in TARGETS:
        for kind in ("size_bound", "directory", "nul_byte", "invalid_utf8"):
            assert f"{target}-{kind}" in names
    for target in ("scope", "hosts"):
        for kind in ("billion_laughs", "merge_key", "python_tag", "impossible_date"):
            assert f"{target}-{kind}" in names
    assert {"toml-duplicate_key", "toml-impossible_date", "toml-deep_array"} <= names


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_input_is_one_line_exit_2(tmp_path: Path, case: Case) -> None:
    root = tmp_path / "ws"
    make_workspace(root)
    path = _place(root.resolve(), case)
    _, command = TARGETS[case.target]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMCTL_")}
    env["OMCTL_OPERATOR"] = "hostile@test"
    done = subprocess.run(
        [sys.executable, "-m", "omctl", "--workspace", str(root), *command],
        capture_output=True,
        text=True,
        errors="replace",
        env=env,
        preexec_fn=_limits,
        timeout=120,  # far beyond the CPU limit: only a process stuck off-CPU gets here
        check=False,
    )
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr
    assert done.returncode == ExitCode.BAD_INPUT, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    where = f"{path}:{case.line}: " if case.line is not None else f"{path}: "
    assert lines[0].startswith(f"error: {where}"), lines[0]
    assert case.message in lines[0]
