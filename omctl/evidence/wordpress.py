"""What a WordPress site has installed, as roles/wordpress_facts reads it from WordPress itself.

Not a kind of its own: the baseline (state at handover) and the healthcheck (every run) carry a
list of these sites as ``wordpress``, and the vulnerability scan matches their items against its
feed. One item is ``{type: core|plugin|theme, slug, version, active, update: {version}|null}``.
"""

from __future__ import annotations

from typing import Literal

from omctl.evidence.base import Part
from omctl.evidence.rows import Mark, Row, row

ItemType = Literal["core", "plugin", "theme"]


class WordPressUpdate(Part):
    """A newer version WordPress already knows of (its update transients, never a new check)."""

    version: str | None = None


class WordPressItem(Part):
    """WordPress core, a plugin (must-use ones included) or a theme of one site."""

    type: ItemType
    slug: str
    name: str | None = None
    version: str | None = None
    active: bool | None = None
    update: WordPressUpdate | None = None
    must_use: bool | None = None

    def text(self) -> str:
        parts = [] if self.type == "core" else ["active" if self.active else "inactive"]
        if self.must_use:
            parts = ["must-use"]
        if self.update is not None and self.update.version:
            parts.append(f"update {self.update.version}")
        state = f" ({', '.join(parts)})" if parts else ""
        return f"{self.slug} {self.version or '?'}{state}"


class WordPressSite(Part):
    """One WordPress site: where it is, what it answered, or why it could not be read."""

    path: str | None = None
    url: str | None = None
    items: list[WordPressItem] | None = None
    error: str | None = None

    def of(self, kind: ItemType) -> list[WordPressItem]:
        return [item for item in self.items or [] if item.type == kind]

    @property
    def core(self) -> WordPressItem | None:
        return next(iter(self.of("core")), None)

    @property
    def updates(self) -> list[WordPressItem]:
        return [i for i in self.items or [] if i.update is not None and i.update.version]

    def rows(self) -> list[Row]:
        label = f"wordpress {self.url or self.path or '?'}"
        if self.error:
            return [row(label, Mark("not read", "error"), f" {self.error}")]
        core = self.core
        pending = len(self.updates)
        summary = f"core {core.version if core else '?'} in {self.path or '?'}"
        known = f"{pending} update{'s' if pending > 1 else ''} known"
        rows = [row(label, summary, *((", ", Mark(known, "warning")) if pending else ()))]
        kinds: tuple[tuple[ItemType, str], ...] = (("plugin", "plugins"), ("theme", "themes"))
        for kind, title in kinds:
            items = self.of(kind)
            rows.append(row(f"  {title}", ", ".join(i.text() for i in items) or "none"))
        return rows


def rows(sites: list[WordPressSite] | None) -> list[Row]:
    """The rows of every site; none when the inventory did not run."""
    return [r for site in sites or [] for r in site.rows()]
