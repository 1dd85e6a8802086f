"""A small local apt repository of demo packages, so that patching tests upgrade real packages.

Built on the controller with ``dpkg-deb`` (no apt-ftparchive, no network) and copied into the
test hosts, where apt reads it as a ``file:`` source. Never served over the network.

Packages (``Architecture`` of the controller):

- ``omctl-demo-tool`` runs ``omctl-demo.service``, a daemon whose binary is a copy of
  ``sleep``: an upgrade replaces the binary under the running process, so needrestart lists the
  service. 1.0 is installed before the tests (``installed/``); the repository has 1.1 in the
  ``bookworm-security`` suite and 1.2 in ``bookworm-updates``: security-only patching must pick
  1.1, full patching 1.2.
  It ships ``/etc/omctl-demo/omctl-demo.conf``, a conffile each version changes.
- ``omctl-demo-kernel`` flags ``/var/run/reboot-required`` when it is upgraded, like a kernel.
  1.0 is installed; 1.1 is in ``bookworm-updates`` only (not a security update).

Used by Molecule's prepare (``python tests/aptrepo.py build DIR``), the integration tests and the
patching benchmark (``import tests.aptrepo``). Stdlib only.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

# Where things go on a test host.
REPO_DIR = "/srv/omctl-test-repo"
INSTALLED_DIR = "/var/tmp/omctl-demo-installed"
# A sources.list.d file, so that apt's cache sees the packages; refreshes are restricted to it.
SOURCES_FILE = "/etc/apt/sources.list.d/omctl-test.list"
SECURITY_SUITE = "bookworm-security"
UPDATES_SUITE = "bookworm-updates"
ORIGIN = "omctl-test"
# Fixed, in the past: the same bytes on every build, so a second apt-get update is a "Hit".
RELEASE_DATE = "Mon, 01 Jan 2024 00:00:00 UTC"

TOOL = "omctl-demo-tool"
KERNEL = "omctl-demo-kernel"
SERVICE = "omctl-demo.service"
DAEMON = "/usr/lib/omctl-demo/omctl-demo-daemon"
# A configuration file every version changes: a locally edited copy must survive upgrades.
CONFFILE = "/etc/omctl-demo/omctl-demo.conf"

TOOL_POSTINST = """\
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
    # First install only: upgrades leave the running daemon alone, as many packages do.
    if [ -z "$2" ]; then
        systemctl enable --now omctl-demo.service || true
    fi
fi
"""

TOOL_PRERM = """\
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl disable --now omctl-demo.service || true
fi
"""

KERNEL_POSTINST = """\
#!/bin/sh
set -e
# Like a kernel package: an upgrade needs a reboot to take effect.
if [ "$1" = configure ] && [ -n "$2" ]; then
    touch /var/run/reboot-required
    echo omctl-demo-kernel >> /var/run/reboot-required.pkgs
fi
"""

SERVICE_UNIT = f"""\
[Unit]
Description=omctl demo daemon (patching tests)

[Service]
ExecStart={DAEMON} infinity

[Install]
WantedBy=multi-user.target
"""


@dataclass(frozen=True)
class Deb:
    name: str
    version: str
    path: Path
    control: dict[str, str]


@dataclass
class DemoRepo:
    """What ``build`` made: the installed (1.0) packages and the repository."""

    root: Path
    installed: list[Deb] = field(default_factory=list)
    suites: dict[str, list[Deb]] = field(default_factory=dict)

    @property
    def repo(self) -> Path:
        return self.root / "repo"

    @property
    def installed_dir(self) -> Path:
        return self.root / "installed"

    def sources_line(self, repo_dir: str = REPO_DIR) -> str:
        return "".join(
            f"deb [trusted=yes] file:{repo_dir} {suite} main\n" for suite in sorted(self.suites)
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "root": str(self.root),
            "repo": str(self.repo),
            "installed_dir": str(self.installed_dir),
            "installed": [str(deb.path) for deb in self.installed],
            "suites": {
                s: [f"{d.name}={d.version}" for d in debs] for s, debs in self.suites.items()
            },
            "sources": self.sources_line(),
            "sources_file": SOURCES_FILE,
            "repo_dir": REPO_DIR,
            "installed_target": INSTALLED_DIR,
        }


def architecture() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def build_deb(
    out_dir: Path,
    name: str,
    version: str,
    *,
    arch: str,
    files: dict[str, bytes | Path] | None = None,
    scripts: dict[str, str] | None = None,
    conffiles: tuple[str, ...] = (),
    description: str = "omctl demo package",
) -> Deb:
    """One binary package made with dpkg-deb; ``files`` maps target paths to content."""
    with tempfile.TemporaryDirectory(prefix="omctl-deb-") as scratch:
        root = Path(scratch) / "pkg"
        (root / "DEBIAN").mkdir(parents=True)
        size = 0
        for target, content in (files or {}).items():
            path = root / target.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, path)
                path.chmod(0o755)
            else:
                path.write_bytes(content)
                path.chmod(0o755 if target.startswith(("/usr/bin/", "/usr/sbin/")) else 0o644)
            size += path.stat().st_size
        control = {
            "Package": name,
            "Version": version,
            "Architecture": arch,
            "Maintainer": "omctl tests <omctl@example.invalid>",
            "Installed-Size": str(max(1, size // 1024)),
            "Section": "misc",
            "Priority": "optional",
            "Description": f"{description}\n Built by tests/aptrepo.py for the patching tests.",
        }
        (root / "DEBIAN" / "control").write_text(
            "".join(f"{key}: {value}\n" for key, value in control.items())
        )
        if conffiles:
            (root / "DEBIAN" / "conffiles").write_text("".join(f"{c}\n" for c in conffiles))
        for script, text in (scripts or {}).items():
            path = root / "DEBIAN" / script
            path.write_text(text)
            path.chmod(0o755)
        out_dir.mkdir(parents=True, exist_ok=True)
        deb = out_dir / f"{name}_{version}_{arch}.deb"
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
            capture_output=True,
            text=True,
            check=True,
        )
    return Deb(name, version, deb, control)


def _digests(data: bytes) -> dict[str, str]:
    return {
        "MD5sum": hashlib.md5(data).hexdigest(),
        "SHA256": hashlib.sha256(data).hexdigest(),
    }


def write_suite(repo: Path, suite: str, debs: list[Deb], arch: str) -> None:
    """dists/<suite>/main/binary-<arch>/Packages(.gz) and an unsigned Release."""
    stanzas = []
    for deb in sorted(debs, key=lambda d: (d.name, d.version)):
        pool = repo / "pool" / suite
        pool.mkdir(parents=True, exist_ok=True)
        target = pool / deb.path.name
        shutil.copyfile(deb.path, target)
        data = target.read_bytes()
        fields = dict(deb.control)
        description = fields.pop("Description")
        fields.update(Filename=str(target.relative_to(repo)), Size=str(len(data)), **_digests(data))
        fields["Description"] = description
        stanzas.append("".join(f"{key}: {value}\n" for key, value in fields.items()))
    packages = "\n".join(stanzas).encode()
    binary = repo / "dists" / suite / "main" / f"binary-{arch}"
    binary.mkdir(parents=True, exist_ok=True)
    (binary / "Packages").write_bytes(packages)
    # mtime=0: the same bytes on every build.
    buffer = BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz:
        gz.write(packages)
    (binary / "Packages.gz").write_bytes(buffer.getvalue())
    indexes = {
        f"main/binary-{arch}/Packages": packages,
        f"main/binary-{arch}/Packages.gz": buffer.getvalue(),
    }
    release = (
        f"Origin: {ORIGIN}\nLabel: {ORIGIN}\nSuite: {suite}\nCodename: {suite}\n"
        f"Date: {RELEASE_DATE}\nArchitectures: {arch}\nComponents: main\n"
        f"Description: omctl patching test packages ({suite})\n"
    )
    for title, algorithm in (("MD5Sum", "md5"), ("SHA256", "sha256")):
        release += f"{title}:\n"
        for path, data in indexes.items():
            digest = hashlib.new(algorithm, data).hexdigest()
            release += f" {digest} {len(data):>8} {path}\n"
    (repo / "dists" / suite / "Release").write_text(release)


def build(root: Path) -> DemoRepo:
    """The demo packages and repository under ``root`` (created; emptied first)."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    arch = architecture()
    daemon = Path(shutil.which("sleep") or "/usr/bin/sleep").resolve()
    debs = root / "debs"

    def tool(version: str) -> Deb:
        return build_deb(
            debs,
            TOOL,
            version,
            arch=arch,
            files={
                DAEMON: daemon,
                f"/lib/systemd/system/{SERVICE}": SERVICE_UNIT.encode(),
                "/usr/bin/omctl-demo-tool": f"#!/bin/sh\necho {version}\n".encode(),
                CONFFILE: f"# omctl demo configuration\nshipped_with = {version}\n".encode(),
            },
            scripts={"postinst": TOOL_POSTINST, "prerm": TOOL_PRERM},
            conffiles=(CONFFILE,),
            description="omctl demo tool with a daemon",
        )

    def kernel(version: str) -> Deb:
        return build_deb(
            debs,
            KERNEL,
            version,
            arch=arch,
            files={"/usr/share/omctl-demo-kernel/version": f"{version}\n".encode()},
            scripts={"postinst": KERNEL_POSTINST},
            description="omctl demo package that needs a reboot when upgraded",
        )

    made = DemoRepo(root)
    made.installed_dir.mkdir()
    for deb in (tool("1.0"), kernel("1.0")):
        copy = made.installed_dir / deb.path.name
        shutil.copyfile(deb.path, copy)
        made.installed.append(Deb(deb.name, deb.version, copy, deb.control))
    made.suites = {SECURITY_SUITE: [tool("1.1")], UPDATES_SUITE: [tool("1.2"), kernel("1.1")]}
    for suite, suite_debs in made.suites.items():
        write_suite(made.repo, suite, suite_debs, arch)
    shutil.rmtree(debs)
    return made


def update_command(sources_file: str = SOURCES_FILE) -> list[str]:
    """apt-get update of the test source only: the host's other sources are never contacted."""
    return [
        "apt-get",
        "update",
        "-q",
        "-o",
        f"Dir::Etc::sourcelist={sources_file}",
        "-o",
        "Dir::Etc::sourceparts=-",
        "-o",
        "APT::Get::List-Cleanup=0",
    ]


def tarball(made: DemoRepo) -> bytes:
    """The repository and the installed packages as one tar, extracted with ``tar -C / -x``."""
    buffer = BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(made.repo, arcname=REPO_DIR.lstrip("/"))
        tar.add(made.installed_dir, arcname=INSTALLED_DIR.lstrip("/"))
    return buffer.getvalue()


def install_script(sources: str) -> str:
    """Shell run on a host after the tarball is extracted: 1.0 installed, source added, read."""
    quoted = sources.replace("'", "'\\''")
    return (
        "set -e\n"
        f"printf '%s' '{quoted}' > {SOURCES_FILE}\n"
        f"DEBIAN_FRONTEND=noninteractive dpkg -i {INSTALLED_DIR}/*.deb >/dev/null\n"
        "rm -f /var/run/reboot-required /var/run/reboot-required.pkgs\n"
        f"{' '.join(update_command())} >/dev/null\n"
    )


def reset_script() -> str:
    """Shell that puts a host back to the 1.0 packages with no reboot flag."""
    return (
        "set -e\n"
        "DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold --force-confdef "
        f"{INSTALLED_DIR}/*.deb >/dev/null\n"
        f"systemctl restart {SERVICE}\n"
        "rm -f /var/run/reboot-required /var/run/reboot-required.pkgs\n"
    )


def remove_script() -> str:
    """Shell that removes everything the tests added to a host."""
    return (
        f"DEBIAN_FRONTEND=noninteractive dpkg --purge {TOOL} {KERNEL} >/dev/null 2>&1\n"
        f"rm -rf {REPO_DIR} {INSTALLED_DIR} {SOURCES_FILE}\n"
        "rm -f /var/lib/apt/lists/*omctl-test-repo*\n"
        "rm -f /var/run/reboot-required /var/run/reboot-required.pkgs\n"
        "true\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    made = sub.add_parser("build", help="build the packages and the repository; print JSON")
    made.add_argument("root", type=Path)
    options = parser.parse_args(argv)
    if options.command == "build":
        print(json.dumps(build(options.root.resolve()).as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
