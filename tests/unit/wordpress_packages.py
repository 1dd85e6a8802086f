"""Later versions of the lab plugin (omctl/data/lab/wordpress), built as zips into a package
folder: 1.1 is fine, 1.2 dies with a PHP fatal on every front-end page (in its footer hook),
1.3 renders but breaks the layout (a style that drops the sidebar grid and recolours the page)."""

from __future__ import annotations

import os
import zipfile
from datetime import datetime
from pathlib import Path

SLUG = "omctl-lab-plugin"
SOURCE = (
    Path(__file__).resolve().parents[2] / "omctl" / "data" / "lab" / "wordpress" / "plugins" / SLUG
)
FATAL = """
function omctl_lab_plugin_broken_footer() {
    omctl_lab_plugin_function_that_does_not_exist();
}
add_action('wp_footer', 'omctl_lab_plugin_broken_footer');
"""
BROKEN_LAYOUT = """
function omctl_lab_plugin_broken_style() {
    echo '<style>.site-body{display:block}.site-sidebar{background:#c00;min-height:600px}'
        . '.site-header{background:#0c0}</style>' . "\\n";
}
add_action('wp_head', 'omctl_lab_plugin_broken_style', 100);
"""
CHANGES = {"1.1": "", "1.2": FATAL, "1.3": BROKEN_LAYOUT}


def plugin_source(version: str) -> str:
    text = (SOURCE / f"{SLUG}.php").read_text(encoding="utf-8")
    text = text.replace(" * Version: 1.0", f" * Version: {version}")
    text = text.replace("define('OMCTL_LAB_PLUGIN_VERSION', '1.0');",
                        f"define('OMCTL_LAB_PLUGIN_VERSION', '{version}');")  # fmt: skip
    assert f"Version: {version}" in text and f"'{version}'" in text, "the 1.0 source changed"
    return text + CHANGES[version]


def build(folder: Path, version: str, released: datetime | None = None) -> Path:
    """``folder/omctl-lab-plugin.VERSION.zip``, as wordpress.org lays out a plugin's zip."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{SLUG}.{version}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{SLUG}/", "")
        archive.writestr(f"{SLUG}/{SLUG}.php", plugin_source(version))
    if released is not None:
        os.utime(path, (released.timestamp(), released.timestamp()))
    return path
