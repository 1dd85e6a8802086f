"""The controller's apt sources: the mirror the lab image is built from."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from omctl.errors import EnvironmentProblem

SUITE = "bookworm"
SECURITY_SUITE = f"{SUITE}-security"
APT_SOURCES_LIST = Path("/etc/apt/sources.list")
APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")
IMAGE_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


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
