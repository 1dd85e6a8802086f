#!/usr/bin/python
"""A restore point of one WordPress plugin or theme before its update: the item's directory
copied aside and the site's database dumped with the site's own credentials (wp-config.php), and
the way back from it - proven by the same digests afterwards.

Plain Python (standard library only): reading wp-config.php, the tree digest and the copy are
functions the unit tests import without Ansible; only ``main()`` talks to Ansible.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: wordpress_restore_point
short_description: Copy a WordPress item and the site's database aside, or put them back
description:
  - C(state=present) copies O(path) (a plugin's or theme's directory) to O(store)/files, keeping
    owners and modes, and dumps the site's database with C(mysqldump) as the site's own database
    user (read from O(site)/wp-config.php; the password reaches mysqldump in its environment,
    never on a command line) to O(store)/database.sql. Returns digests of both.
  - C(state=restored) replaces O(path) with the copy, loads the dump, and returns the digests
    again; equal ones prove the files and the database are as they were.
  - In check mode nothing is written; the digests of the present state are returned.
options:
  path: {description: The item's directory., type: path, required: true}
  site: {description: The WordPress root holding wp-config.php., type: path, required: true}
  store: {description: Where the restore point is kept on the host., type: path, required: true}
  state:
    description:
      - Make the restore point or go back to it.
    type: str
    choices: [present, restored]
    default: present
  timeout: {description: Seconds the dump or the load may take., type: int, default: 300}
author: omctl maintainers
"""

EXAMPLES = r"""
- name: Make the restore point
  wordpress_restore_point:
    path: /var/www/shop/wp-content/plugins/omctl-lab-plugin
    site: /var/www/shop
    store: /var/backups/omctl-wordpress-update/run-1/omctl-lab-plugin
"""

RETURN = r"""
files_digest:
  description:
    - sha256 over the item's tree (paths
  modes: None
  owners: None
  contents).: None
  returned: always
  type: str
database_digest:
  description:
    - sha256 of the database dump (dump date left out).
  returned: always
  type: str
store: {description: Where the restore point is., returned: always, type: str}
"""

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

CONFIG_KEYS = ("DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST")
DEFINE = re.compile(r"""define\(\s*['"](DB_[A-Z]+)['"]\s*,\s*(['"])(.*?)(?<!\\)\2\s*\)""")


class Problem(Exception):
    pass


def database_settings(config_text: str) -> dict[str, str]:
    """DB_NAME, DB_USER, DB_PASSWORD and DB_HOST as wp-config.php defines them (string literals)."""
    found = {key: value.replace("\\'", "'").replace('\\"', '"')
             for key, _, value in DEFINE.findall(config_text)}  # fmt: skip
    missing = [key for key in CONFIG_KEYS[:2] if key not in found]
    if missing:
        raise Problem(f"wp-config.php defines no {', '.join(missing)} as a string")
    return {key: found.get(key, "") for key in CONFIG_KEYS}


def client_args(settings: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """mysqldump/mysql options for the host (host, host:port, or localhost:/socket) and the
    environment with the password."""
    host = settings["DB_HOST"] or "localhost"
    args = ["--user=" + settings["DB_USER"]]
    name, _, rest = host.partition(":")
    if rest.startswith("/"):
        args += ["--socket=" + rest]
    elif rest:
        args += ["--host=" + name, "--port=" + rest]
    elif name != "localhost":
        args += ["--host=" + name]
    return args, {"MYSQL_PWD": settings["DB_PASSWORD"]}


def tree_digest(root: Path) -> str:
    """sha256 over every entry under ``root``: relative path, type, mode, owner, contents."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            path = Path(dirpath) / name
            info = path.lstat()
            digest.update(
                f"{path.relative_to(root)}\0{info.st_mode:o}\0{info.st_uid}:{info.st_gid}\0".encode()
            )
            if path.is_symlink():
                digest.update(os.readlink(path).encode())
            elif path.is_file():
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    top = root.lstat()
    digest.update(f".\0{top.st_mode:o}\0{top.st_uid}:{top.st_gid}".encode())
    return digest.hexdigest()


def copy_tree(source: Path, target: Path) -> None:
    """``source`` to ``target`` (which must not exist), with modes, times and owners."""
    shutil.copytree(source, target, symlinks=True, copy_function=shutil.copy2)
    for dirpath, dirnames, filenames in os.walk(source):
        for name in [".", *dirnames, *filenames]:
            old = Path(dirpath) / name
            info = old.lstat()
            os.lchown(target / old.relative_to(source), info.st_uid, info.st_gid)


def run(argv: list[str], env: dict[str, str], timeout: int, stdin=None, stdout=None) -> None:
    done = subprocess.run(argv, env={**os.environ, **env}, stdin=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=timeout, check=False)  # fmt: skip
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise Problem(f"{argv[0]} exited {done.returncode}: {why[0]}")


def dump(settings: dict[str, str], out: Path, timeout: int) -> str:
    args, env = client_args(settings)
    argv = ["mysqldump", *args, "--single-transaction", "--skip-dump-date", "--add-drop-table",
            "--routines", settings["DB_NAME"]]  # fmt: skip
    with out.open("wb") as handle:
        run(argv, env, timeout, stdout=handle)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def load(settings: dict[str, str], dump_file: Path, timeout: int) -> None:
    args, env = client_args(settings)
    with dump_file.open("rb") as handle:
        run(["mysql", *args, settings["DB_NAME"]], env, timeout, stdin=handle)


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "site": {"type": "path", "required": True},
            "store": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["present", "restored"], "default": "present"},
            "timeout": {"type": "int", "default": 300},
        },
        supports_check_mode=True,
    )
    path, store = Path(module.params["path"]), Path(module.params["store"])
    timeout = module.params["timeout"]
    try:
        settings = database_settings(
            (Path(module.params["site"]) / "wp-config.php").read_text(errors="replace")
        )
        files = store / "files"
        dump_file = store / "database.sql"
        if module.params["state"] == "present":
            if not path.is_dir():
                raise Problem(f"{path} is not a directory")
            if module.check_mode:
                module.exit_json(changed=True, files_digest=tree_digest(path),
                                 database_digest=None, store=str(store))  # fmt: skip
            if store.exists():
                shutil.rmtree(store)
            store.mkdir(parents=True, mode=0o700)
            copy_tree(path, files)
            dump_file.touch(mode=0o600)
            database = dump(settings, dump_file, timeout)
            module.exit_json(changed=True, files_digest=tree_digest(files),
                             database_digest=database, store=str(store))  # fmt: skip
        if not files.is_dir() or not dump_file.is_file():
            raise Problem(f"no restore point in {store}")
        if module.check_mode:
            module.exit_json(changed=True, files_digest=tree_digest(files), database_digest=None,
                             store=str(store))  # fmt: skip
        if path.exists():
            shutil.rmtree(path)
        copy_tree(files, path)
        load(settings, dump_file, timeout)
        check = store / "database-restored.sql"
        check.touch(mode=0o600)
        database = dump(settings, check, timeout)
        module.exit_json(changed=True, files_digest=tree_digest(path), database_digest=database,
                         store=str(store))  # fmt: skip
    except (OSError, Problem, subprocess.TimeoutExpired) as exc:
        module.fail_json(msg=f"restore point of {path}: {exc}")


if __name__ == "__main__":
    main()
