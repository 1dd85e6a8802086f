#!/usr/bin/python
"""PHP fatal errors written to the web server's and PHP's logs since a mark: the mark is each
log's size before an update, the scan reads only what came after it.

Plain Python (standard library only); only ``main()`` talks to Ansible.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: wordpress_php_fatals
short_description: PHP fatal errors in the logs since a mark
description:
  - Every file matching O(logs) (globs) is read from its offset in O(since) (0 for a file not
    marked; from the start again when it shrank, as after a rotation) to its end. Lines with
    C(PHP Fatal error) or C(PHP Parse error) are returned, at most 20.
  - Returns C(marks), the files' current sizes, to pass as O(since) to a later call.
  - Reads only; runs the same in check mode.
options:
  logs: {description: Globs of the log files., type: list, elements: str, required: true}
  since: {description: Offsets per file from an earlier call's C(marks)., type: dict, default: {}}
author: omctl maintainers
"""

EXAMPLES = r"""
- name: Mark the logs
  wordpress_php_fatals:
    logs: [/var/log/nginx/*error.log, /var/log/php*-fpm.log]
  register: __marks
"""

RETURN = r"""
marks: {description: File -> size now., returned: always, type: dict}
fatals:
  description:
    - The fatal lines found since the marks (at most 20).
  returned: always
  type: list
  elements: str
"""

import glob
import os
import re

FATAL = re.compile(r"PHP (Fatal|Parse) error")
KEEP = 20


def scan(patterns: list[str], since: dict[str, int]) -> tuple[dict[str, int], list[str]]:
    marks: dict[str, int] = {}
    fatals: list[str] = []
    for path in sorted({p for pattern in patterns for p in glob.glob(pattern)}):
        if not os.path.isfile(path):
            continue
        size = os.path.getsize(path)
        start = int(since.get(path, 0))
        start = 0 if start > size else start
        with open(path, "rb") as handle:
            handle.seek(start)
            text = handle.read(size - start).decode("utf-8", "replace")
        fatals += [
            f"{path}: {line.strip()[:400]}" for line in text.splitlines() if FATAL.search(line)
        ]
        marks[path] = size
    return marks, fatals[:KEEP]


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "logs": {"type": "list", "elements": "str", "required": True},
            "since": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    marks, fatals = scan(module.params["logs"], module.params["since"] or {})
    module.exit_json(changed=False, marks=marks, fatals=fatals)


if __name__ == "__main__":
    main()
