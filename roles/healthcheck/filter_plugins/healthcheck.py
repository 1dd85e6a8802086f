"""Filters of the healthcheck role."""

from __future__ import annotations


def selected(tags: list[str], run_tags: list[str], skip_tags: list[str]) -> bool:
    """Whether --tags/--skip-tags would run a task tagged ``tags``: the role's probe runs
    whatever the tags say and asks the host only for the concerns they select."""
    run = set(run_tags or ["all"])
    if set(skip_tags or []) & set(tags):
        return False
    return bool(run & {"all", "tagged", *tags})


class FilterModule:
    def filters(self) -> dict:
        return {"healthcheck_selected": selected}
