"""Lab hosts: Debian 12 web servers in podman containers, built locally with no registry.

The image is built once and cached: ``debootstrap`` a bookworm root from the mirror the
controller's own apt sources name, run ``data/lab/provision.sh`` in it (nginx, PHP-FPM, MariaDB,
the Debian ``wordpress`` package, sshd), then ``podman import`` it. Its tag is a hash of the
recipe, so a changed recipe builds a new image. Containers boot systemd, publish sshd and HTTP on
127.0.0.1 ports, and accept one key pair kept in the workspace's state folder. ``up`` writes
``inventories/lab/`` so that the lab is a client like any other. Flavours (``FLAVOURS``: bare,
upstream, two-sites, apache) are other kinds of server made from the same image at start-up by
``data/lab/flavour.sh``, with packages from the image's offline repository.

Podman always runs with the project-local ``data/containers.conf`` (runc, no ulimits) unless the
caller set ``CONTAINERS_CONF``; /etc is never edited.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, TextIO

import yaml

from omctl import catalog, files
from omctl.catalog import Category
from omctl.errors import BadInput, EnvironmentProblem
from omctl.workspace import Workspace

Progress = Callable[[str], None]

DATA = Path(__file__).resolve().parent / "data"
CONTAINERS_CONF = DATA / "containers.conf"
PROVISION_SCRIPT = DATA / "lab" / "provision.sh"
FLAVOUR_SCRIPT = DATA / "lab" / "flavour.sh"

IMAGE_NAME = "localhost/omctl-lab"
LATEST_REF = f"{IMAGE_NAME}:latest"
# Bump when build_image() changes what ends up in the image: it is part of the image tag.
BUILD_VERSION = "1"
SUITE = "bookworm"
SECURITY_SUITE = f"{SUITE}-security"
# "php" before "wordpress": otherwise apt satisfies "libapache2-mod-php | php" with Apache.
PACKAGES: tuple[str, ...] = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "python3-apt",
    "sudo",
    "curl",
    "ca-certificates",
    "iproute2",
    "procps",
    "less",
    "logrotate",
    "cron",
    "nginx",
    "php-fpm",
    "php",
    "php-mysql",
    "php-curl",
    "php-mbstring",
    "php-xml",
    "mariadb-server",
    "wordpress",
    "wordpress-theme-twentytwentythree",
)

# Not installed: fetched at build time into an offline apt repository inside the image
# (/srv/omctl-lab-repo, source "omctl-lab-offline"), so that roles install these with apt as
# on a real server while tests never reach beyond the project's own containers.
OFFLINE_PACKAGES: tuple[str, ...] = (
    "apache2",  # the apache lab flavour
    "apt-listchanges",
    "apt-show-versions",
    "debsums",
    "fail2ban",
    "libpam-pwquality",
    "libpam-tmpdir",
    "lynis",
    "needrestart",
    "nftables",
    "python3-systemd",
    "restic",
    "unattended-upgrades",
)

CACHE_DIR = Path("/var/cache/omctl-lab")
DEB_CACHE = CACHE_DIR / "debs"  # .debs shared by debootstrap and apt across builds
BUILD_LOG = CACHE_DIR / "build.log"
BUILD_PARENT = Path("/var/tmp")
BUILD_PREFIX = "omctl-lab-build-"
APT_SOURCES_LIST = Path("/etc/apt/sources.list")
APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")
IMAGE_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

LABEL_WORKSPACE = "omctl.workspace"
LABEL_HOST = "omctl.lab.host"
LABEL_RECIPE = "omctl.lab.recipe"
LABEL_FLAVOUR = "omctl.lab.flavour"
LOOPBACK = "127.0.0.1"
CLIENT = "lab"
CONTRACT = "LAB-0001"
MARKER = "# written by omctl lab"
MAX_HOSTS = 20
READY_TIMEOUT = 180.0
SITE_TITLE = "omctl lab site"  # set by provision.sh: a content marker for checks
CHROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FLAVOUR_TIMEOUT = 600.0


@dataclass(frozen=True)
class Flavour:
    """A kind of client server, made from the one image at start-up by ``data/lab/flavour.sh``.

    ``http_host``: the Host header the published HTTP port is checked with (the default
    server's name when WordPress knows its site by name), None for any; ``web``: False when
    the host serves no HTTP at all, and readiness is SSH only.
    """

    name: str
    web: bool = True
    http_host: str | None = None

    @property
    def prefix(self) -> str:
        """Host names of the flavour: web1..N for the default, <flavour>1..N for the others."""
        return "web" if self.name == DEFAULT_FLAVOUR else self.name


DEFAULT_FLAVOUR = "debian"
# What each one is: flavour.sh's header and the README's lab section.
FLAVOURS: dict[str, Flavour] = {
    flavour.name: flavour
    for flavour in (
        Flavour("debian"),
        Flavour("bare", web=False),
        Flavour("upstream", http_host="shop.lab.test"),
        Flavour("two-sites", http_host="shop.lab.test"),
        Flavour("apache"),
    )
}


def flavour(name: str) -> Flavour:
    """The flavour called ``name``; an unknown name is BadInput listing the valid ones."""
    try:
        return FLAVOURS[name]
    except KeyError:
        raise BadInput(
            f"unknown lab flavour {name!r}: choose one of {', '.join(FLAVOURS)}"
        ) from None


def flavour_hostnames(name: str, hosts: int) -> list[str]:
    """The host names of ``hosts`` hosts of flavour ``name``: web1.., bare1.., apache1.., ..."""
    prefix = flavour(name).prefix
    return [f"{prefix}{index}" for index in range(1, hosts + 1)]


def _quiet(_message: str) -> None:
    """Default progress sink: say nothing."""


# --- running tools ---------------------------------------------------------------------------


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _tool(name: str, hint: str = "") -> str:
    path = shutil.which(name)
    if path is None:
        raise EnvironmentProblem(f"{name} is not installed{f' ({hint})' if hint else ''}")
    return path


def _run(
    cmd: Sequence[str | Path],
    *,
    what: str | None = None,
    check: bool = True,
    input: str | None = None,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a tool with captured output; a failure is one EnvironmentProblem line."""
    args = [str(part) for part in cmd]
    what = what or Path(args[0]).name
    try:
        result = subprocess.run(
            args,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise EnvironmentProblem(f"{args[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(f"{what} did not finish within {timeout:.0f}s") from None
    if check and result.returncode != 0:
        reason = _last_line(result.stderr) or _last_line(result.stdout)
        raise EnvironmentProblem(
            f"{what} failed (exit {result.returncode}){': ' + reason if reason else ''}"
        )
    return result


def podman_env() -> dict[str, str]:
    """The environment podman runs with: the project-local containers.conf unless one is set."""
    env = dict(os.environ)
    if not env.get("CONTAINERS_CONF"):
        env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


def podman(
    *args: str,
    check: bool = True,
    capture: bool = True,
    input: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``podman ARGS``; missing podman or a failed command raise EnvironmentProblem."""
    exe = _tool("podman", "apt-get install podman")
    what = f"podman {args[0]}" if args else "podman"
    if capture:
        return _run(
            [exe, *args], what=what, check=check, input=input, timeout=timeout, env=podman_env()
        )
    try:
        result = subprocess.run(
            [exe, *args], input=input, text=True, timeout=timeout, env=podman_env(), check=False
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(f"{what} did not finish within {timeout:.0f}s") from None
    if check and result.returncode != 0:
        raise EnvironmentProblem(f"{what} failed (exit {result.returncode})")
    return result


# --- apt sources of the controller -------------------------------------------------------------


@dataclass(frozen=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mirror:
    """Where the image's packages come from, taken from the controller's apt sources."""

    uri: str
    suites: tuple[str, ...]  # of the image's main source: bookworm, bookworm-updates
    security_uri: str | None = None

    def sources(self) -> str:
        """The image's own /etc/apt/sources.list.d/debian.sources (deb822)."""
        text = (
            f"Types: deb\nURIs: {self.uri}\nSuites: {' '.join(self.suites)}\n"
            f"Components: main\nSigned-By: {IMAGE_KEYRING}\n"
        )
        if self.security_uri:
            text += (
                f"\nTypes: deb\nURIs: {self.security_uri}\nSuites: {SECURITY_SUITE}\n"
                f"Components: main\nSigned-By: {IMAGE_KEYRING}\n"
            )
        return text


_USABLE_URI = re.compile(r"^(https?|ftp|file)://", re.IGNORECASE)


def parse_one_line_sources(text: str) -> list[AptSource]:
    """``deb [options] URI SUITE COMPONENT...`` lines (sources.list, *.list)."""
    sources: list[AptSource] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if parts[0] != "deb":
            continue
        rest = parts[1:]
        if rest and rest[0].startswith("["):  # [arch=amd64 signed-by=...]
            while rest and not rest[0].endswith("]"):
                rest = rest[1:]
            rest = rest[1:]
        if len(rest) < 2:
            continue
        sources.append(AptSource(rest[0], (rest[1],), tuple(rest[2:])))
    return sources


def parse_deb822_sources(text: str) -> list[AptSource]:
    """deb822 stanzas (*.sources): Types, URIs, Suites, Components; ``Enabled: no`` skipped."""
    sources: list[AptSource] = []
    for stanza in re.split(r"\n[ \t]*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key is not None:  # continuation line
                fields[key] += " " + line.strip()
                continue
            name, sep, value = line.partition(":")
            if not sep:
                continue
            key = name.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").strip().lower() == "no":
            continue
        suites = tuple(fields.get("suites", "").split())
        components = tuple(fields.get("components", "").split())
        sources.extend(AptSource(uri, suites, components) for uri in fields.get("uris", "").split())
    return sources


def read_apt_sources(
    sources_list: Path = APT_SOURCES_LIST, sources_dir: Path = APT_SOURCES_DIR
) -> list[AptSource]:
    """Every enabled ``deb`` source of the controller, in apt's reading order."""
    sources: list[AptSource] = []
    if sources_list.is_file():
        sources += parse_one_line_sources(sources_list.read_text(encoding="utf-8"))
    if sources_dir.is_dir():
        for path in sorted(sources_dir.iterdir()):
            if not path.is_file():
                continue
            if path.suffix == ".list":
                sources += parse_one_line_sources(path.read_text(encoding="utf-8"))
            elif path.suffix == ".sources":
                sources += parse_deb822_sources(path.read_text(encoding="utf-8"))
    return sources


def _is_security(source: AptSource) -> bool:
    return "security" in source.uri.lower() or any(s.endswith("-security") for s in source.suites)


def find_mirror(sources: Iterable[AptSource], suite: str = SUITE) -> Mirror:
    """The first non-security source carrying ``suite``, and the security source next to it."""
    sources = [s for s in sources if _USABLE_URI.match(s.uri)]
    main = next((s for s in sources if suite in s.suites and not _is_security(s)), None)
    if main is None:
        raise EnvironmentProblem(
            f"no Debian {suite} mirror in the apt sources ({APT_SOURCES_LIST}, "
            f"{APT_SOURCES_DIR}/*.list|*.sources): the lab image is built from it"
        )
    security = next((s for s in sources if f"{suite}-security" in s.suites), None)
    return Mirror(
        uri=main.uri.rstrip("/"),
        suites=(suite, f"{suite}-updates"),
        security_uri=security.uri.rstrip("/") if security else None,
    )


# --- the image ---------------------------------------------------------------------------------


def recipe_hash(script: Path = PROVISION_SCRIPT, packages: Sequence[str] = PACKAGES) -> str:
    """Short hash of what goes into the image: provision.sh, the packages, the build version."""
    digest = hashlib.sha256()
    offline = "\n".join(OFFLINE_PACKAGES).encode()
    for part in (
        BUILD_VERSION.encode(),
        "\n".join(packages).encode(),
        offline,
        script.read_bytes(),
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:12]


def image_ref(script: Path = PROVISION_SCRIPT, packages: Sequence[str] = PACKAGES) -> str:
    return f"{IMAGE_NAME}:{recipe_hash(script, packages)}"


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False).returncode == 0


def ensure_image(progress: Progress = _quiet) -> str:
    """The image of the current recipe, built if missing and tagged ``:latest``; its ref."""
    ref = image_ref()
    if not image_exists(ref):
        if os.geteuid() != 0:
            raise EnvironmentProblem("building the lab image needs root (debootstrap, chroot)")
        with _lock(CACHE_DIR / "build.lock", progress, "another lab image build"):
            if not image_exists(ref):  # built by the holder of the lock meanwhile?
                build_image(ref, progress)
                podman("tag", ref, LATEST_REF)  # first: the old image then has no tag left
                prune_images(ref, progress)
    podman("tag", ref, LATEST_REF)
    return ref


def prune_images(keep: str, progress: Progress = _quiet) -> None:
    """Remove lab images of older recipes; one a container still uses stays (podman refuses)."""
    listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}", IMAGE_NAME).stdout.split()
    for ref in listed:
        name, _, tag = ref.rpartition(":")
        if name != IMAGE_NAME or ref == keep or not re.fullmatch(r"[0-9a-f]{12}", tag):
            continue
        if podman("rmi", ref, check=False).returncode == 0:
            progress(f"removed the image of an older recipe: {ref}")


def build_image(ref: str, progress: Progress = _quiet) -> None:
    """debootstrap + provision.sh in a chroot + podman import; the root is removed afterwards."""
    for tool in ("debootstrap", "chroot", "mount", "umount", "tar"):
        _tool(tool, "apt-get install debootstrap" if tool == "debootstrap" else "")
    mirror = find_mirror(read_apt_sources())
    if mirror.security_uri is None:
        progress(f"warning: no {SECURITY_SUITE} source in the apt sources; image without it")
    DEB_CACHE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    build = Path(tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=BUILD_PARENT))
    rootfs = build / "rootfs"
    try:
        with BUILD_LOG.open("w", encoding="utf-8") as log:
            progress(f"building {ref}: debootstrap {SUITE} from {mirror.uri} (log: {BUILD_LOG})")
            _logged(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--cache-dir={DEB_CACHE}",
                    SUITE,
                    str(rootfs),
                    mirror.uri,
                ],
                log,
                "debootstrap",
                timeout=1800,
            )
            _clear_debs(rootfs)
            (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
            (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(mirror.sources())
            shutil.copyfile("/etc/resolv.conf", rootfs / "etc/resolv.conf")
            shutil.copyfile(PROVISION_SCRIPT, rootfs / "tmp/omctl-provision.sh")
            progress("provisioning: sshd, nginx, PHP-FPM, MariaDB, WordPress (provision.sh)")
            with _chroot_mounts(rootfs):
                _logged(
                    [
                        "chroot",
                        str(rootfs),
                        "/usr/bin/env",
                        "-i",
                        f"PATH={CHROOT_PATH}",
                        "HOME=/root",
                        f"OMCTL_LAB_OFFLINE={' '.join(OFFLINE_PACKAGES)}",
                        "/bin/sh",
                        "/tmp/omctl-provision.sh",
                        *PACKAGES,
                    ],
                    log,
                    "provision.sh",
                    timeout=3600,
                )
            (rootfs / "tmp/omctl-provision.sh").unlink(missing_ok=True)
            _clear_debs(rootfs)
            progress("importing the root file system into podman")
            tarball = build / "rootfs.tar"
            _logged(
                [
                    "tar",
                    "--numeric-owner",
                    "--xattrs",
                    "--xattrs-include=*",
                    "-C",
                    str(rootfs),
                    "-cf",
                    str(tarball),
                    ".",
                ],
                log,
                "tar",
            )
            podman(
                "import",
                "--quiet",
                "--change",
                'CMD ["/sbin/init"]',
                "--change",
                "STOPSIGNAL SIGRTMIN+3",
                "--change",
                f"LABEL {LABEL_RECIPE}={ref.rsplit(':', 1)[1]}",
                "--message",
                f"omctl lab image, recipe {ref}",
                str(tarball),
                ref,
            )
    finally:
        if rootfs.is_dir():
            _kill_chrooted(rootfs)  # e.g. after a debootstrap timeout
        _remove_build_dir(build)
    progress(f"built {ref} in {time.monotonic() - started:.0f}s")


def _logged(cmd: list[str], log: TextIO, what: str, timeout: float | None = None) -> None:
    log.write(f"\n$ {' '.join(cmd)}\n")
    log.flush()
    try:
        result = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(
            f"{what} did not finish within {timeout:.0f}s (log: {BUILD_LOG})"
        ) from None
    if result.returncode != 0:
        log.flush()
        tail = _last_line(BUILD_LOG.read_text(encoding="utf-8", errors="replace"))
        raise EnvironmentProblem(
            f"{what} failed (exit {result.returncode}): {tail} (log: {BUILD_LOG})"
        )


def _clear_debs(rootfs: Path) -> None:
    """debootstrap leaves its .debs in the root's apt archive: they stay in DEB_CACHE only."""
    for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()


def _mounts_under(path: Path) -> list[Path]:
    prefix = str(path.resolve())
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            found.append(Path(point))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def _kill_chrooted(rootfs: Path) -> None:
    """End the processes the build left running inside its own chroot (e.g. a stray mariadbd)."""
    root = str(rootfs.resolve())
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "root") == root:
                    pids.append(int(entry.name))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while pids and time.monotonic() < deadline:
            pids = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
            time.sleep(0.1)
        if not pids:
            return


@contextlib.contextmanager
def _chroot_mounts(rootfs: Path) -> Iterator[None]:
    """/proc, a private /run and /dev/pts, and the shared .deb cache, for the provisioning."""
    archives = rootfs / "var/cache/apt/archives"
    archives.mkdir(parents=True, exist_ok=True)
    mounts: list[tuple[list[str], Path]] = [
        (["-t", "proc", "proc"], rootfs / "proc"),
        (["-t", "tmpfs", "-o", "mode=0755", "tmpfs"], rootfs / "run"),
        (["-t", "devpts", "-o", "newinstance,ptmxmode=0666", "devpts"], rootfs / "dev/pts"),
        (["--bind", str(DEB_CACHE)], archives),
    ]
    done: list[Path] = []
    try:
        for options, target in mounts:
            target.mkdir(parents=True, exist_ok=True)
            _run(["mount", *options, str(target)], what=f"mount {target}")
            done.append(target)
        yield
    finally:
        _kill_chrooted(rootfs)
        for target in reversed(done):
            if _run(["umount", str(target)], check=False).returncode != 0:
                _run(["umount", "--lazy", str(target)], check=False)


def _remove_build_dir(build: Path) -> None:
    """Delete the build folder, never crossing into a file system still mounted under it."""
    for point in _mounts_under(build):
        _run(["umount", "--lazy", str(point)], check=False)
    left = _mounts_under(build)
    if left:
        raise EnvironmentProblem(f"not removing {build}: {left[0]} is still mounted")
    _run(["rm", "-rf", "--one-file-system", str(build)], what=f"removing {build}")


@contextlib.contextmanager
def _lock(path: Path, progress: Progress, holder: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"waiting for {holder} to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- containers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabHost:
    name: str  # container name: omctl-<workspace ident>-<hostname>
    hostname: str  # web<i> or <flavour><i>, also the inventory host name
    ssh_port: int | None  # on 127.0.0.1
    http_port: int | None  # on 127.0.0.1
    state: str  # podman's: running, exited, created, ...
    image: str = ""
    flavour: str = DEFAULT_FLAVOUR  # a container from before flavours is a debian one

    @property
    def index(self) -> int:
        match = re.fullmatch(r"\D.*?(\d+)", self.hostname)
        return int(match[1]) if match else 0

    @property
    def order(self) -> tuple[int, str, int]:
        """Host order: the default flavour first, then flavours by name, each by number."""
        prefix = self.hostname[: len(self.hostname) - len(str(self.index))]
        return (0 if prefix == "web" else 1, prefix, self.index)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def container_name(ws: Workspace, hostname: str) -> str:
    return f"omctl-{ws.ident}-{hostname}"


def run_options(
    name: str,
    hostname: str,
    workspace_ident: str,
    ssh_port: int,
    http_port: int,
    flavour_name: str = DEFAULT_FLAVOUR,
) -> list[str]:
    """Every ``podman run`` option of a lab host, in one place.

    systemd as PID 1; NET_ADMIN for the firewall roles; never --privileged (/proc/sys stays
    read-only); sshd and HTTP published on loopback only. ``--restart=always``: a reboot inside
    the host (``systemctl reboot``, ``ansible.builtin.reboot``) ends PID 1, and podman starts the
    container again, as a server comes back; ``podman stop``/``rm`` still stop it for good.
    """
    return [
        "--detach",
        f"--name={name}",
        f"--hostname={hostname}",
        f"--label={LABEL_WORKSPACE}={workspace_ident}",
        f"--label={LABEL_HOST}={hostname}",
        f"--label={LABEL_FLAVOUR}={flavour_name}",
        "--systemd=always",
        "--cap-add=NET_ADMIN",
        f"--publish={LOOPBACK}:{ssh_port}:22",
        f"--publish={LOOPBACK}:{http_port}:80",
        "--stop-timeout=10",
        "--restart=always",
    ]


def _host_from_ps(entry: dict[str, Any]) -> LabHost:
    labels = entry.get("Labels") or {}
    names = entry.get("Names") or [""]
    ports = {p.get("container_port"): p.get("host_port") for p in entry.get("Ports") or []}
    return LabHost(
        name=names[0],
        hostname=labels.get(LABEL_HOST, ""),
        ssh_port=ports.get(22),
        http_port=ports.get(80),
        state=entry.get("State", "unknown"),
        image=entry.get("Image", ""),
        flavour=labels.get(LABEL_FLAVOUR) or DEFAULT_FLAVOUR,
    )


def _ps(label_filter: str) -> list[LabHost]:
    out = podman("ps", "--all", "--filter", f"label={label_filter}", "--format", "json").stdout
    try:
        entries = json.loads(out or "[]")
    except json.JSONDecodeError:
        raise EnvironmentProblem("podman ps printed something that is not JSON") from None
    return sorted((_host_from_ps(e) for e in entries), key=lambda h: (h.order, h.name))


def status(ws: Workspace) -> list[LabHost]:
    """This workspace's lab hosts, running or not, in host order."""
    return _ps(f"{LABEL_WORKSPACE}={ws.ident}")


def _used_ports() -> set[int]:
    """Ports held by any omctl lab container, running or stopped (it may start again)."""
    used: set[int] = set()
    for host in _ps(LABEL_WORKSPACE):
        used.update(p for p in (host.ssh_port, host.http_port) if p)
    return used


def free_port(avoid: set[int] | None = None) -> int:
    """A free TCP port on 127.0.0.1 (the kernel's pick), not in ``avoid``."""
    avoid = avoid or set()
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port
    raise EnvironmentProblem("could not find a free port on 127.0.0.1")


def lab_dir(ws: Workspace) -> Path:
    return ws.state / "lab"


def key_path(ws: Workspace) -> Path:
    return lab_dir(ws) / "id_ed25519"


def known_hosts_path(ws: Workspace) -> Path:
    return lab_dir(ws) / "known_hosts"


def ensure_key(ws: Workspace) -> Path:
    """The lab's SSH key pair, generated once at .omctl/lab/id_ed25519 (mode 0600)."""
    ws.ensure_state()
    lab_dir(ws).mkdir(mode=0o700, exist_ok=True)
    key = key_path(ws)
    public = key.with_name(key.name + ".pub")
    if not key.exists():
        keygen = _tool("ssh-keygen", "apt-get install openssh-client")
        comment = f"omctl-lab@{ws.ident}"
        _run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)])
    elif not public.exists():
        derived = _run(["ssh-keygen", "-y", "-f", str(key)], what="ssh-keygen -y").stdout
        public.write_text(derived)
    key.chmod(0o600)
    return key


def ssh_command(ws: Workspace, port: int, *remote: str) -> list[str]:
    """ssh as root to a lab host with the lab key, trusting a new host key on first use."""
    return [
        "ssh",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=accept-new",
        "-o", f"UserKnownHostsFile={known_hosts_path(ws)}",
        "-o", "ConnectTimeout=5",
        "-o", "LogLevel=ERROR",
        "-i", str(key_path(ws)),
        "-p", str(port),
        f"root@{LOOPBACK}",
        *remote,
    ]  # fmt: skip


def _forget_host_key(ws: Workspace, port: int) -> None:
    """A new container on a reused port has new host keys: drop the old entry."""
    known = known_hosts_path(ws)
    if known.exists():
        _run(["ssh-keygen", "-R", f"[{LOOPBACK}]:{port}", "-f", str(known)], check=False)
        Path(f"{known}.old").unlink(missing_ok=True)


def _authorize_key(ws: Workspace, host: LabHost) -> None:
    public = key_path(ws).with_name(key_path(ws).name + ".pub").read_text().strip()
    script = (
        "umask 077; mkdir -p /root/.ssh; touch /root/.ssh/authorized_keys; "
        'grep -qxF -- "$1" /root/.ssh/authorized_keys || '
        'printf "%s\\n" "$1" >> /root/.ssh/authorized_keys'
    )
    podman("exec", host.name, "sh", "-c", script, "sh", public)


def _create(ws: Workspace, ref: str, hostname: str, flavour_name: str, progress: Progress) -> None:
    name = container_name(ws, hostname)
    avoid = _used_ports()
    for attempt in range(3):
        ssh_port = free_port(avoid)
        http_port = free_port(avoid | {ssh_port})
        options = run_options(name, hostname, ws.ident, ssh_port, http_port, flavour_name)
        result = podman("run", *options, ref, check=False)
        if result.returncode == 0:
            _forget_host_key(ws, ssh_port)
            progress(
                f"{hostname}: started {name} ({flavour_name}; ssh {ssh_port}, http {http_port})"
            )
            return
        podman("rm", "--force", name, check=False)
        reason = _last_line(result.stderr)
        if "address already in use" not in reason or attempt == 2:
            raise EnvironmentProblem(f"podman run {name} failed: {reason}")
        avoid |= {ssh_port, http_port}


def _http_ok(port: int, host_header: str | None = None) -> tuple[bool, str]:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": host_header} if host_header else {})
        status_code = conn.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        return False, f"HTTP: {exc}"
    finally:
        conn.close()
    return status_code == 200, f"HTTP status {status_code}"


def _ssh_ok(ws: Workspace, port: int) -> tuple[bool, str]:
    try:
        result = subprocess.run(
            ssh_command(ws, port, "true"),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, "SSH: timed out"
    return result.returncode == 0, f"SSH: {_last_line(result.stderr) or result.returncode}"


def _container_state(name: str) -> str:
    result = podman("inspect", "--format", "{{.State.Status}}", name, check=False)
    return result.stdout.strip() if result.returncode == 0 else "missing"


def wait_ready(
    ws: Workspace,
    hosts: Sequence[LabHost],
    timeout: float = READY_TIMEOUT,
    progress: Progress = _quiet,
) -> None:
    """Until SSH with the lab key works and the site answers 200, for every host (bounded).

    The site is the flavour's default server (its Host header); a flavour without a web
    server (``bare``) is ready once SSH works.
    """
    _tool("ssh", "apt-get install openssh-client")
    deadline = time.monotonic() + timeout
    pending = {host.name: host for host in hosts}
    reasons: dict[str, str] = {}
    ssh_done: set[str] = set()
    while True:
        for host in list(pending.values()):
            if host.ssh_port is None or host.http_port is None:
                raise EnvironmentProblem(f"{host.name} publishes no SSH or HTTP port")
            if host.name not in ssh_done:
                ok, reasons[host.name] = _ssh_ok(ws, host.ssh_port)
                if not ok:
                    continue
                ssh_done.add(host.name)
            ok, reasons[host.name] = http_ready(host)
            if ok:
                del pending[host.name]
                _report_boot(ws, host, progress)
        if not pending:
            return
        for host in pending.values():
            state = _container_state(host.name)
            if state != "running":
                raise EnvironmentProblem(
                    f"lab host {host.hostname} is {state} while booting (podman logs {host.name})"
                )
        if time.monotonic() > deadline:
            host = next(iter(pending.values()))
            raise EnvironmentProblem(
                f"lab host {host.hostname} not ready after {timeout:.0f}s "
                f"({reasons.get(host.name, 'no answer')}); see podman logs {host.name}"
            )
        time.sleep(1)


def http_ready(host: LabHost) -> tuple[bool, str]:
    """Whether the host's published HTTP port answers as its flavour should (and why not)."""
    kind = FLAVOURS.get(host.flavour, FLAVOURS[DEFAULT_FLAVOUR])
    if not kind.web:
        return True, "no web server in this flavour"
    assert host.http_port is not None
    return _http_ok(host.http_port, kind.http_host)


def set_up_flavour(host: LabHost, progress: Progress = _quiet) -> None:
    """Run data/lab/flavour.sh in the container once (it keeps a marker and exits early)."""
    if host.flavour == DEFAULT_FLAVOUR:
        return
    flavour(host.flavour)  # a container labelled with an unknown flavour is not touched
    script = FLAVOUR_SCRIPT.read_text(encoding="utf-8")
    result = podman(
        "exec", host.name, "bash", "-c", script, "flavour.sh", host.flavour,
        check=False, timeout=FLAVOUR_TIMEOUT,
    )  # fmt: skip
    if result.returncode != 0:
        reason = _last_line(result.stderr) or _last_line(result.stdout)
        raise EnvironmentProblem(
            f"lab host {host.hostname}: setting up the {host.flavour} flavour failed "
            f"(exit {result.returncode}): {reason}"
        )
    last = _last_line(result.stdout)
    if last.startswith("flavour: done"):
        progress(f"{host.hostname}: set up as {host.flavour}")


def _report_boot(ws: Workspace, host: LabHost, progress: Progress) -> None:
    """Say how systemd's boot ended; a degraded host is usable, so it is only reported."""
    assert host.ssh_port is not None
    remote = (
        "systemctl is-system-running --wait; "
        "systemctl list-units --failed --plain --no-legend | cut -d' ' -f1"
    )
    try:
        result = subprocess.run(
            ssh_command(ws, host.ssh_port, remote),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        lines = result.stdout.split()
    except subprocess.TimeoutExpired:
        lines = ["still-starting"]
    state = lines[0] if lines else "unknown"
    failed = f"; failed units: {', '.join(lines[1:])}" if lines[1:] else ""
    web = FLAVOURS.get(host.flavour, FLAVOURS[DEFAULT_FLAVOUR]).web
    http = f"http {LOOPBACK}:{host.http_port}" if web else "no web server"
    progress(
        f"{host.hostname}: ready, systemd {state}{failed} "
        f"({host.flavour}; ssh {LOOPBACK}:{host.ssh_port}, {http})"
    )


def up(
    ws: Workspace,
    hosts: int = 1,
    progress: Progress = _quiet,
    timeout: float = READY_TIMEOUT,
    flavour_name: str = DEFAULT_FLAVOUR,
) -> list[LabHost]:
    """Start ``hosts`` lab hosts of a flavour (web1.. or <flavour>1..), write inventories/lab/.

    Idempotent: running hosts are kept, stopped ones started again (recreated if that fails),
    missing ones created; a new host of another flavour than ``debian`` is set up by
    data/lab/flavour.sh once. Hosts beyond ``hosts`` and hosts of other flavours are kept (and
    started) too: ``up --hosts 2`` after ``--hosts 3`` leaves three; ``down`` removes them all.
    Returns every lab host of the workspace once all are ready (SSH, and HTTP where the flavour
    serves it).
    """
    flavour(flavour_name)
    if not 1 <= hosts <= MAX_HOSTS:
        raise BadInput(f"--hosts must be between 1 and {MAX_HOSTS}, not {hosts}")
    for path in (hosts_file(ws), group_vars_file(ws)):
        _check_ours(path)
    ref = ensure_image(progress)
    ensure_key(ws)
    with _lock(lab_dir(ws) / "lock", progress, "another omctl lab command on this workspace"):
        existing = {host.hostname: host for host in status(ws)}
        wanted = {name: flavour_name for name in flavour_hostnames(flavour_name, hosts)}
        wanted.update({name: host.flavour for name, host in existing.items()})
        for hostname, kind in wanted.items():
            host = existing.get(hostname)
            if host is not None and host.image != ref:
                progress(f"{hostname} runs {host.image}, not {ref}: `omctl lab down` to refresh")
            if host is None:
                _create(ws, ref, hostname, kind, progress)
            elif host.state != "running":
                if podman("start", host.name, check=False).returncode == 0:
                    progress(f"{hostname}: started again ({host.name})")
                else:
                    progress(f"{hostname}: cannot start {host.name} again, recreating it")
                    podman("rm", "--force", host.name)
                    _create(ws, ref, hostname, kind, progress)
        current = status(ws)
        for host in current:
            _authorize_key(ws, host)
        for host in current:
            set_up_flavour(host, progress)
        wait_ready(ws, current, timeout, progress)
        write_inventory(ws, current)
        write_scope(ws, catalog.discover(ws), progress=progress)
        _private_files(lab_dir(ws))
    return current


def _private_files(folder: Path) -> None:
    """What omctl and ssh wrote in .omctl/lab/ (key pair, known_hosts, lock) is 0600."""
    for path in folder.iterdir():
        if path.is_file() and not path.is_symlink():
            path.chmod(0o600)


def down(ws: Workspace, progress: Progress = _quiet) -> list[str]:
    """Remove this workspace's lab containers and the inventory files ``up`` wrote."""
    ws.ensure_state()
    lab_dir(ws).mkdir(mode=0o700, exist_ok=True)
    with _lock(lab_dir(ws) / "lock", progress, "another omctl lab command on this workspace"):
        names = [host.name for host in status(ws)]
        if names:
            podman("rm", "--force", "--time", "10", *names, timeout=120)
            progress(f"removed {', '.join(names)}")
        for path in (hosts_file(ws), scope_file(ws), group_vars_file(ws)):
            if path.exists() and _is_ours(path):
                path.unlink()
        all_vars = group_vars_file(ws).parent
        for folder in (all_vars, all_vars.parent, hosts_file(ws).parent):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        known_hosts_path(ws).unlink(missing_ok=True)
    return names


# --- inventories/lab/ ------------------------------------------------------------------------


def hosts_file(ws: Workspace) -> Path:
    return ws.inventories / CLIENT / "hosts.yml"


def scope_file(ws: Workspace) -> Path:
    return ws.inventories / CLIENT / "scope.yml"


def group_vars_file(ws: Workspace) -> Path:
    return ws.inventories / CLIENT / "group_vars" / "all" / "lab.yml"


def _is_ours(path: Path) -> bool:
    if not path.is_file():
        return False  # a directory or a device where lab writes a file is never ours
    with path.open("rb") as handle:
        return handle.readline(len(MARKER) + 2).strip() == MARKER.encode()


def _check_ours(path: Path) -> None:
    if path.exists() and not _is_ours(path):
        raise BadInput(
            f"not written by omctl lab (no '{MARKER}' first line): move it away", path=path
        )


def _write(path: Path, data: dict[str, Any], note: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"{MARKER}\n# {note}\n"
    text += yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000)
    files.write_atomic(path, text)


def inventory_data(hosts: Sequence[LabHost], key: Path) -> dict[str, Any]:
    """hosts.yml of the lab: group ``web`` with every host on its ports, and its flavour."""
    entries = {
        host.hostname: {
            "ansible_host": LOOPBACK,
            "ansible_port": host.ssh_port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(key.resolve()),
            "lab_http_port": host.http_port,
            "lab_flavour": host.flavour,
        }
        for host in sorted(hosts, key=lambda h: h.order)
    }
    return {"all": {"children": {"web": {"hosts": entries}}}}


def group_vars_data(known_hosts: Path) -> dict[str, Any]:
    return {
        "ansible_ssh_common_args": (
            f"-o UserKnownHostsFile={known_hosts.resolve()} -o StrictHostKeyChecking=accept-new"
        ),
        "ansible_python_interpreter": "/usr/bin/python3",
    }


def scope_data(tasks: Iterable[Any], today: date | None = None) -> dict[str, Any]:
    """A contract with every operation and maintenance task on request, valid ten years."""
    today = today or date.today()
    try:
        until = today.replace(year=today.year + 10)
    except ValueError:  # 29 February
        until = today.replace(year=today.year + 10, day=28)
    data: dict[str, Any] = {
        "client": CLIENT,
        "contract": CONTRACT,
        "valid_from": today,
        "valid_until": until,
        "operation": {},
        "maintenance": {},
    }
    for task in tasks:
        category = str(getattr(task.category, "value", task.category))
        if category in (Category.OPERATION.value, Category.MAINTENANCE.value):
            data[category][task.name] = {"every": "on_request"}
    return data


def write_inventory(ws: Workspace, hosts: Sequence[LabHost]) -> Path:
    note = "rewritten by `omctl lab up`, removed by `omctl lab down`"
    _write(hosts_file(ws), inventory_data(hosts, key_path(ws)), note)
    _write(group_vars_file(ws), group_vars_data(known_hosts_path(ws)), note)
    return hosts_file(ws)


def write_scope(
    ws: Workspace, tasks: Iterable[Any], today: date | None = None, progress: Progress = _quiet
) -> Path | None:
    """scope.yml with the whole catalog in scope; a hand-edited one (no marker) is kept."""
    path = scope_file(ws)
    if path.exists() and not _is_ours(path):
        progress(f"keeping {path}: it was edited by hand (no '{MARKER}' line)")
        return None
    note = "every task on request; rewritten by `omctl lab up`, removed by `omctl lab down`"
    _write(path, scope_data(tasks, today), note)
    return path
