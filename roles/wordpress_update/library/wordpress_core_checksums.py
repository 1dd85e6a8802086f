#!/usr/bin/python
"""WordPress core's files against wordpress.org's checksums, through wp-cli where the host has
it (``wp core verify-checksums``); without wp-cli the gate is not available and says so.

Plain Python (standard library only); only ``main()`` talks to Ansible.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: wordpress_core_checksums
short_description: wp core verify-checksums where wp-cli is installed
description:
  - Finds wp-cli (O(wp_cli), else C(wp) on the PATH). Without it returns C(available=false)
    and nothing is run.
  - Runs C(wp core verify-checksums --path=O(path)) as the owner of the site's
    C(wp-config.php) (never as root: wp-cli runs the site's PHP), with C(--skip-plugins
    --skip-themes) so that a broken plugin cannot hide the result.
  - wp-cli fetches the checksums from wordpress.org: a host that cannot reach it gives
    C(ok=false) with wp-cli's message, which the role records.
  - Reads only; runs the same in check mode.
options:
  path:
    description: The WordPress directory (where wp-config.php or wp-load.php is).
    type: path
    required: true
  wp_cli: {description: "wp-cli's path; empty: C(wp) on the PATH.", type: str, default: ""}
  timeout: {description: Seconds wp-cli may take., type: int, default: 120}
author: omctl maintainers
"""

EXAMPLES = r"""
- name: Verify core's checksums
  wordpress_core_checksums:
    path: /var/www/shop
  register: __checksums
"""

RETURN = r"""
available: {description: Whether wp-cli was found., returned: always, type: bool}
ok:
  description: "Whether core's files match (null when wp-cli is not available)."
  returned: always
  type: bool
detail: {description: wp-cli's message, or why the check did not run., returned: always, type: str}
"""

import os
import pwd
import shutil
import subprocess

KEEP = 2000  # characters of wp-cli's output kept for the record


def find_wp_cli(configured: str) -> str | None:
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("wp")


def site_owner(path: str) -> str:
    """The user wp-cli runs as: the owner of wp-config.php (one level up as WordPress allows),
    else of the directory; root only when nothing else owns it."""
    for candidate in (
        os.path.join(path, "wp-config.php"),
        os.path.join(os.path.dirname(path.rstrip("/")), "wp-config.php"),
        path,
    ):
        if os.path.exists(candidate):
            return pwd.getpwuid(os.stat(candidate).st_uid).pw_name
    return "root"


def command(wp_cli: str, path: str, user: str) -> list[str]:
    args = [wp_cli, "core", "verify-checksums", f"--path={path}", "--skip-plugins",
            "--skip-themes"]  # fmt: skip
    if user == "root":
        return [*args, "--allow-root"]
    return ["runuser", "-u", user, "--", *args]


def verify(path: str, wp_cli: str, timeout: int) -> dict:
    found = find_wp_cli(wp_cli)
    if found is None:
        where = wp_cli or "wp on the PATH"
        return {"available": False, "ok": None, "detail": f"no wp-cli ({where})"}
    try:
        done = subprocess.run(
            command(found, path, site_owner(path)),
            capture_output=True, text=True, timeout=timeout, check=False, cwd="/",
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"available": True, "ok": False, "detail": f"wp-cli took over {timeout} s"}
    output = (done.stdout + done.stderr).strip()
    return {"available": True, "ok": done.returncode == 0, "detail": output[-KEEP:]}


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "wp_cli": {"type": "str", "default": ""},
            "timeout": {"type": "int", "default": 120},
        },
        supports_check_mode=True,
    )
    params = module.params
    module.exit_json(changed=False, **verify(params["path"], params["wp_cli"], params["timeout"]))


if __name__ == "__main__":
    main()
