"""The lab image: a Debian 12 web server built locally, with no registry.

``mmdebstrap`` a bookworm root from the mirror the controller's own apt sources name, run
``data/lab/provision.sh`` in it (nginx, PHP-FPM, MariaDB, the Debian ``wordpress`` package with
the lab's own plugin and theme from ``data/lab/wordpress``, sshd), then ``podman import`` it.
Its tag is a hash of the recipe, so a changed recipe builds a new image.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from omctl.errors import EnvironmentProblem
from omctl.lab.apt import SECURITY_SUITE, SUITE, Mirror, find_mirror, read_apt_sources
from omctl.lab.tools import DATA, Progress, last_line, lock, podman, quiet, require

PROVISION_SCRIPT = DATA / "lab" / "provision.sh"
# The lab's own WordPress plugin and theme: copied into the image, installed by provision.sh and
# flavour.sh from there (IMAGE_WORDPRESS).
WORDPRESS_SOURCES = DATA / "lab" / "wordpress"
IMAGE_WORDPRESS = "/usr/share/omctl-lab/wordpress"
IMAGE_NAME = "localhost/omctl-lab"
LATEST_REF = f"{IMAGE_NAME}:latest"
# Bump when build_image() changes what ends up in the image: it is part of the image tag.
BUILD_VERSION = "2"
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
DEB_CACHE = CACHE_DIR / "debs"  # .debs shared by all builds (mmdebstrap and apt in them)
BUILD_LOG = CACHE_DIR / "build.log"
BUILD_PARENT = Path("/var/tmp")
BUILD_PREFIX = "omctl-lab-build-"
LABEL_RECIPE = "omctl.lab.recipe"
CHROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def sources_digest(directory: Path = WORDPRESS_SOURCES) -> bytes:
    """Every file below ``directory``, by relative path and content, in a stable order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        for part in (path.relative_to(directory).as_posix().encode(), path.read_bytes()):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.digest()


def recipe_hash(
    script: Path = PROVISION_SCRIPT,
    packages: Sequence[str] = PACKAGES,
    sources: Path = WORDPRESS_SOURCES,
) -> str:
    """Short hash of what goes into the image: provision.sh, the packages, the build version and
    the lab's WordPress plugin and theme."""
    digest = hashlib.sha256()
    offline = "\n".join(OFFLINE_PACKAGES).encode()
    for part in (
        BUILD_VERSION.encode(),
        "\n".join(packages).encode(),
        offline,
        script.read_bytes(),
        sources_digest(sources),
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:12]


def image_ref(script: Path = PROVISION_SCRIPT, packages: Sequence[str] = PACKAGES) -> str:
    return f"{IMAGE_NAME}:{recipe_hash(script, packages)}"


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False).returncode == 0


def ensure_image(progress: Progress = quiet) -> str:
    """The image of the current recipe, built if missing and tagged ``:latest``; its ref."""
    ref = image_ref()
    if not image_exists(ref):
        if os.geteuid() != 0:
            raise EnvironmentProblem("building the lab image needs root (mmdebstrap)")
        with lock(CACHE_DIR / "build.lock", progress, "another lab image build"):
            if not image_exists(ref):  # built by the holder of the lock meanwhile?
                build_image(ref, progress)
                podman("tag", ref, LATEST_REF)  # first: the old image then has no tag left
                prune_images(ref, progress)
    podman("tag", ref, LATEST_REF)
    return ref


def prune_images(keep: str, progress: Progress = quiet) -> None:
    """Remove lab images of older recipes; one a container still uses stays (podman refuses)."""
    listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}", IMAGE_NAME).stdout.split()
    for ref in listed:
        name, _, tag = ref.rpartition(":")
        if name != IMAGE_NAME or ref == keep or not re.fullmatch(r"[0-9a-f]{12}", tag):
            continue
        if podman("rmi", ref, check=False).returncode == 0:
            progress(f"removed the image of an older recipe: {ref}")


def build_image(ref: str, progress: Progress = quiet) -> None:
    """mmdebstrap a bookworm root, run provision.sh in it, ``podman import`` the tarball.

    mmdebstrap (unshare mode, as root) gives the build its own mount and PID namespaces: the
    mounts it needs and any process provision.sh leaves behind (a stray mariadbd) end with it,
    so the host's mount table is never touched. The .deb cache is bind-mounted over the root's
    apt archive in that namespace and unmounted before the root is packed: packages are
    downloaded once across builds and none ends up in the image.
    """
    require("mmdebstrap", "apt-get install mmdebstrap")
    mirror = find_mirror(read_apt_sources())
    if mirror.security_uri is None:
        progress(f"warning: no {SECURITY_SUITE} source in the apt sources; image without it")
    DEB_CACHE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=BUILD_PREFIX, dir=BUILD_PARENT) as folder:
        build = Path(folder)
        sources = build / "debian.sources"
        sources.write_text(mirror.sources(), encoding="utf-8")
        tarball = build / "rootfs.tar"
        with BUILD_LOG.open("w", encoding="utf-8") as log:
            progress(
                f"building {ref}: mmdebstrap {SUITE} from {mirror.uri}, then provision.sh "
                f"(sshd, nginx, PHP-FPM, MariaDB, WordPress; log: {BUILD_LOG})"
            )
            _logged(mmdebstrap_command(mirror, sources, tarball), log, "mmdebstrap", 3600)
        progress("importing the root file system into podman")
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
    progress(f"built {ref} in {time.monotonic() - started:.0f}s")


def mmdebstrap_command(mirror: Mirror, sources: Path, tarball: Path) -> list[str]:
    """The whole build as one mmdebstrap call; each hook gets the root's path as ``$1``."""
    archives = '"$1"/var/cache/apt/archives'
    cache = shlex.quote(str(DEB_CACHE))
    # "upload" hooks split on white space: these paths have none (a temp folder, the package).
    upload_sources = f"upload {sources} /etc/apt/sources.list.d/debian.sources"
    provision = " ".join(
        shlex.quote(part)
        for part in (
            "/usr/bin/env", "-i", f"PATH={CHROOT_PATH}", "HOME=/root",
            f"OMCTL_LAB_OFFLINE={' '.join(OFFLINE_PACKAGES)}",
            "/bin/sh", "/tmp/omctl-provision.sh", *PACKAGES,
        )
    )  # fmt: skip
    return [
        "mmdebstrap",
        "--mode=unshare",
        "--variant=minbase",
        "--format=tar",
        "--skip=essential/unlink",  # the downloaded .debs stay in the shared cache
        f"--setup-hook=mkdir -p {archives} && mount --bind {cache} {archives}",
        '--customize-hook=rm -f "$1"/etc/apt/sources.list',
        f"--customize-hook={upload_sources}",
        f"--customize-hook=upload {PROVISION_SCRIPT} /tmp/omctl-provision.sh",
        f'--customize-hook=mkdir -p "$1"{Path(IMAGE_WORDPRESS).parent}',
        f"--customize-hook=copy-in {WORDPRESS_SOURCES} {Path(IMAGE_WORDPRESS).parent}",
        '--customize-hook=mount -t tmpfs -o mode=0755 tmpfs "$1"/run',
        f'--customize-hook=chroot "$1" {provision}',
        '--customize-hook=umount "$1"/run',
        f"--customize-hook=umount {archives}",
        '--customize-hook=rm -f "$1"/tmp/omctl-provision.sh',
        SUITE,
        str(tarball),
        *(f"deb {mirror.uri} {suite} main" for suite in mirror.suites),
    ]


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
        tail = last_line(BUILD_LOG.read_text(encoding="utf-8", errors="replace"))
        raise EnvironmentProblem(
            f"{what} failed (exit {result.returncode}): {tail} (log: {BUILD_LOG})"
        )
