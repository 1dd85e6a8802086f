"""``software_inventory``: what the vulnerability scan's role read on one host.

The role (roles/vulnerability_scan) publishes the installed Debian packages with their source
packages and the release codename (module package_inventory), and what each WordPress has
installed (roles/wordpress_facts). omctl matches it against the feeds on the controller and
records the ``vulnerability_scan`` findings in its place (omctl/runs.py): a host's package
list is large, the baseline has it, and the findings are what a scan proves. The model is the
contract between the role and the matcher, checked by the role's Molecule verify.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from omctl.evidence.base import Evidence, Part
from omctl.evidence.wordpress import WordPressSite


class InstalledPackage(Part):
    name: str
    version: str
    source: str | None = None  # the source package (its own name when dpkg names none)
    source_version: str | None = None
    arch: str | None = None


class SoftwareInventory(Evidence):
    KIND: ClassVar[str] = "software_inventory"

    release: str = ""  # the Debian codename the tracker is keyed by
    distribution: str = ""
    packages: list[InstalledPackage] = Field(default_factory=list)
    packages_note: str = ""  # why no packages are listed (no dpkg on the host)
    wordpress: list[WordPressSite] = Field(default_factory=list)

    def summary_line(self) -> str:
        sites = len(self.wordpress)
        return (
            f"{len(self.packages)} packages ({self.release or 'release unknown'}), "
            f"{sites} WordPress site{'s' if sites != 1 else ''}"
        )
