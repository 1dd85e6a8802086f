#!/usr/bin/python
"""On the controller: which plugin and theme of each site gets which version from the package
folder, by each item's policy (omctl/wordpress/policy.py, where the rules and their tests are)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: wordpress_update_plan
short_description: Decide the WordPress plugin and theme updates from the package folder
description:
  - Runs on the controller (delegate it to localhost) with omctl installed. For every plugin and
    theme of O(sites) (roles/wordpress_facts) that has a newer zip (C(SLUG.VERSION.zip)) in
    O(packages), decides by its rule (O(default) with the slug's O(items) entry over it) - update
    to the newest allowed version released O(default.delay_days) days ago or more, held (waiting
    for the client's decision), or waiting and why.
  - Reads only; runs the same in check mode.
options:
  sites: {description: wordpress_facts_sites., type: list, elements: dict, required: true}
  packages: {description: The package folder on the controller., type: path, required: true}
  default:
    description:
      - The default rule: policy (patch, minor, major), hold, delay_days.
    type: dict
    default: {}
  items: {description: Rules per slug over the default., type: dict, default: {}}
  now: {description: "ISO time the delay is counted to (tests); default now.", type: str}
author: omctl maintainers
"""

EXAMPLES = r"""
- name: Plan the updates
  wordpress_update_plan:
    sites: "{{ wordpress_facts_sites }}"
    packages: /srv/omctl/wordpress-packages
    default: {policy: minor, delay_days: 2}
    items: {woocommerce: {hold: true}}
  delegate_to: localhost
"""

RETURN = r"""
updates:
  description:
    - Decisions with a package to install (site
  type: list
  slug: None
  from: None
  to: None
  package).: None
  returned: always
  elements: dict
held:
  description:
    - Decisions not installed - held
  or waiting with the reason.: None
  returned: always
  type: list
  elements: dict
"""

from datetime import UTC, datetime
from pathlib import Path


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    from omctl.errors import OmctlError
    from omctl.wordpress import policy

    module = AnsibleModule(
        argument_spec={
            "sites": {"type": "list", "elements": "dict", "required": True},
            "packages": {"type": "path", "required": True},
            "default": {"type": "dict", "default": {}},
            "items": {"type": "dict", "default": {}},
            "now": {"type": "str"},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        now = datetime.fromisoformat(params["now"]) if params["now"] else datetime.now(UTC)
        decisions = policy.plan(params["sites"], Path(params["packages"]), params["default"],
                                params["items"], now)  # fmt: skip
    except (OmctlError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    updates = [d for d in decisions if d["package"]]
    held = [d for d in decisions if not d["package"]]
    module.exit_json(changed=False, updates=updates, held=held)


if __name__ == "__main__":
    main()
