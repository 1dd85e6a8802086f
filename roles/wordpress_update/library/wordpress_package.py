#!/usr/bin/python
"""Install one WordPress plugin or theme from its zip (wordpress.org's layout: one top folder
named after the slug), in place of the installed version, with the old directory's owner.

Plain Python (standard library only): checking and extracting the zip are functions the unit
tests import without Ansible; only ``main()`` talks to Ansible.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: wordpress_package
short_description: Install a WordPress plugin or theme from a zip, replacing the installed one
description:
  - Checks that O(src) (a zip on the host) holds one top folder named O(slug) and no path that
    leaves it, writes C(.maintenance) in O(site) while it works (as WordPress's own updater
    does), extracts the folder next to O(dest), swaps it in place of O(dest) and removes the
    old one and C(.maintenance). Files get the owner and group of the old O(dest).
  - In check mode the zip is checked and nothing is written.
options:
  src: {description: The zip on the host., type: path, required: true}
  dest:
    description:
      - The item's directory (for example wp-content/plugins/SLUG).
    type: path
    required: true
  slug: {description: The item's slug, the zip's top folder., type: str, required: true}
  site: {description: The WordPress root (where C(.maintenance) goes)., type: path, required: true}
author: omctl maintainers
"""

EXAMPLES = r"""
- name: Install the new version
  wordpress_package:
    src: /tmp/omctl-lab-plugin.1.1.zip
    dest: /var/www/shop/wp-content/plugins/omctl-lab-plugin
    slug: omctl-lab-plugin
    site: /var/www/shop
"""

RETURN = r"""
files: {description: Files the zip installed., returned: always, type: int}
"""

import os
import shutil
import time
import zipfile
from pathlib import Path, PurePosixPath


class Problem(Exception):
    pass


def members(archive: zipfile.ZipFile, slug: str) -> list[zipfile.ZipInfo]:
    """The zip's entries, each under ``slug/``; a problem when one is not or escapes it."""
    entries = archive.infolist()
    for entry in entries:
        parts = PurePosixPath(entry.filename).parts
        if not parts or parts[0] != slug or ".." in parts or entry.filename.startswith("/"):
            raise Problem(f"{entry.filename!r} is not under the top folder {slug}/")
    if not any(not e.is_dir() for e in entries):
        raise Problem("the zip holds no files")
    return entries


def chown_tree(root: Path, uid: int, gid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        os.chown(dirpath, uid, gid)
        for name in dirnames + filenames:
            os.lchown(Path(dirpath) / name, uid, gid)


def install(src: Path, dest: Path, slug: str, site: Path) -> int:
    """Extract next to ``dest``, then swap: the old tree is gone only once the new one is whole."""
    owner = dest.stat() if dest.exists() else dest.parent.stat()
    staging = dest.parent / f".{slug}.omctl-new"
    old = dest.parent / f".{slug}.omctl-old"
    for leftover in (staging, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    maintenance = site / ".maintenance"
    maintenance.write_text(f"<?php $upgrading = {int(time.time())}; ?>")
    try:
        with zipfile.ZipFile(src) as archive:
            entries = members(archive, slug)
            staging.mkdir()
            archive.extractall(staging, entries)
        chown_tree(staging / slug, owner.st_uid, owner.st_gid)
        if dest.exists():
            dest.rename(old)
        (staging / slug).rename(dest)
        shutil.rmtree(staging)
        if old.exists():
            shutil.rmtree(old)
    finally:
        maintenance.unlink(missing_ok=True)
    return sum(1 for e in entries if not e.is_dir())


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "slug": {"type": "str", "required": True},
            "site": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        if module.check_mode:
            with zipfile.ZipFile(params["src"]) as archive:
                files = sum(1 for e in members(archive, params["slug"]) if not e.is_dir())
            module.exit_json(changed=True, files=files)
        files = install(
            Path(params["src"]), Path(params["dest"]), params["slug"], Path(params["site"])
        )
    except (OSError, zipfile.BadZipFile, Problem) as exc:
        module.fail_json(msg=f"{params['src']}: {exc}")
    module.exit_json(changed=True, files=files)


if __name__ == "__main__":
    main()
