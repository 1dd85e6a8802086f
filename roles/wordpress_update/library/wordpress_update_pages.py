#!/usr/bin/python
"""On the controller: the key pages of a site - HTTP status, content marker, a screenshot by
headless Chromium and, against earlier screenshots, the share of changed pixels
(omctl/wordpress/visual.py, where the checks and their tests are)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: wordpress_update_pages
short_description: Check a WordPress site's key pages and compare their screenshots
description:
  - Runs on the controller (delegate it to localhost) with omctl, Pillow and Chromium. For each
    of O(pages) fetches O(base_url) + C(path) (no redirect followed) and checks the status
    (C(status), default 200) and the C(marker) text when one is given, then saves a screenshot
    to O(out)/C(NAME).png. With O(compare_to), the share of pixels that changed against the
    screenshot of the same name there (C(masks) left out) must stay at or under C(threshold)
    percent (default 2.0).
  - Writes only screenshots on the controller; runs the same in check mode.
options:
  pages:
    description:
      - Pages: path, marker, status, threshold, masks (x, y, width, height).
    type: list
    elements: dict
    required: true
  base_url: {description: The site's URL (its home URL)., type: str, required: true}
  connect:
    description:
      - HOST:PORT the controller reaches the web server at, when the site's name does not resolve
        there.
    type: str
  out: {description: Folder for the screenshots., type: path, required: true}
  compare_to: {description: Folder of the screenshots to compare with., type: path}
  chromium: {description: The Chromium binary., type: path, default: /usr/bin/chromium}
author: omctl maintainers
"""

EXAMPLES = r"""
- name: Check the pages before the update
  wordpress_update_pages:
    pages: [{path: /, marker: "omctl lab site"}]
    base_url: http://shop.lab.test
    connect: 127.0.0.1:8080
    out: /tmp/shots/before
  delegate_to: localhost
"""

RETURN = r"""
pages:
  description:
    - Per page - path, url, status, marker_found, screenshot, changed_percent, threshold, ok,
      problems.
  returned: always
  type: list
  elements: dict
ok: {description: Every page passed., returned: always, type: bool}
"""

import re
from pathlib import Path

DEFAULT_THRESHOLD = 2.0


def file_name(path: str) -> str:
    """A page path as a file name: / is front, /shop/cart/ is shop-cart."""
    return re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "front"


def check(page: dict, params: dict, visual) -> dict:
    path = str(page.get("path") or "/")
    url = params["base_url"].rstrip("/") + "/" + path.lstrip("/")
    marker = page.get("marker")
    expected = int(page.get("status") or 200)
    threshold = float(
        page.get("threshold") if page.get("threshold") is not None else DEFAULT_THRESHOLD
    )
    got = visual.fetch(url, marker, params["connect"])
    problems = []
    if got.error:
        problems.append(got.error)
    elif got.status != expected:
        problems.append(f"{path} answered HTTP {got.status}, not {expected}")
    if marker and got.marker_found is False:
        problems.append(f"{path} does not show {marker!r}")
    shot = Path(params["out"]) / f"{file_name(path)}.png"
    visual.screenshot(url, shot, params["connect"], chromium=params["chromium"])
    changed = None
    if params["compare_to"]:
        before = Path(params["compare_to"]) / shot.name
        changed = round(
            visual.compare(before, shot, visual.masks_of(page.get("masks") or [])).percent, 3
        )
        if changed > threshold:
            problems.append(
                f"{path} changed {changed:.2f}% of its pixels (threshold {threshold:g}%)"
            )
    return {"path": path, "url": url, "status": got.status, "marker_found": got.marker_found,
            "screenshot": str(shot), "changed_percent": changed, "threshold": threshold,
            "ok": not problems, "problems": problems}  # fmt: skip


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    from omctl.errors import OmctlError
    from omctl.wordpress import visual

    module = AnsibleModule(
        argument_spec={
            "pages": {"type": "list", "elements": "dict", "required": True},
            "base_url": {"type": "str", "required": True},
            "connect": {"type": "str"},
            "out": {"type": "path", "required": True},
            "compare_to": {"type": "path"},
            "chromium": {"type": "path", "default": "/usr/bin/chromium"},
        },
        supports_check_mode=True,
    )
    try:
        pages = [check(page, module.params, visual) for page in module.params["pages"]]
    except (OmctlError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, pages=pages, ok=all(p["ok"] for p in pages))


if __name__ == "__main__":
    main()
