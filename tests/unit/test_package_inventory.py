"""The vulnerability scan's package_inventory module, loaded from the file Ansible ships."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit import role_code

MODULE = (
    Path(__file__).resolve().parents[2] / "roles/vulnerability_scan/library/package_inventory.py"
)
pi = role_code.load(MODULE, "package_inventory")


def test_installed_packages_with_their_source_packages() -> None:
    text = (
        "libssl3:amd64\t3.0.15-1~deb12u1\topenssl\t3.0.15-1~deb12u1\tamd64\tii \n"
        "bash\t5.2.15-2+b7\tbash\t5.2.15-2\tamd64\tii \n"
        "oldpkg\t1.0-1\t\t\tall\trc \n"  # removed, its configuration left: not installed
        "nosource\t2.0\t\t\tall\tii \n"
        "garbage line\n"
    )
    assert pi.parse_packages(text) == [
        {"name": "bash", "version": "5.2.15-2+b7", "source": "bash",
         "source_version": "5.2.15-2", "arch": "amd64"},
        {"name": "libssl3", "version": "3.0.15-1~deb12u1", "source": "openssl",
         "source_version": "3.0.15-1~deb12u1", "arch": "amd64"},
        {"name": "nosource", "version": "2.0", "source": "nosource",
         "source_version": "2.0", "arch": "all"},
    ]  # fmt: skip


def test_os_release_values_are_unquoted() -> None:
    text = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n# comment\nVERSION_CODENAME=bookworm\nBAD="unclosed\n'  # noqa: E501
    values = pi.parse_os_release(text)
    assert values["ID"] == "debian" and values["VERSION_CODENAME"] == "bookworm"
    assert values["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)" and "BAD" not in values


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs a Debian host's dpkg")
def test_the_module_lists_this_hosts_packages_in_check_mode(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    release.write_text("ID=debian\nVERSION_CODENAME=bookworm\n")
    result = role_code.run_module(MODULE, {"os_release": str(release)}, check=True)
    assert result["changed"] is False and result["release"] == "bookworm"
    bash_version = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "bash"], capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    bash = next(p for p in result["packages"] if p["name"] == "bash")
    assert bash["version"] == bash_version and bash["source"] == "bash"


def test_a_host_without_dpkg_says_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pi.shutil, "which", lambda _name: None)
    found = pi.inventory(tmp_path / "missing-os-release")
    assert found["packages"] == [] and "no dpkg-query" in found["note"]
    assert found["release"] == ""
