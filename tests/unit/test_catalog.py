from pathlib import Path

import pytest

from omctl import catalog
from omctl.errors import BadInput, UnknownTask
from omctl.workspace import Workspace


def test_discovers_tasks_with_category_from_folder(ws: Workspace) -> None:
    found = {task.name: task for task in catalog.discover(ws)}
    assert set(found) == {"baseline", "healthcheck", "patching", "content_sync"}
    assert found["baseline"].category is catalog.Category.ONBOARDING
    assert found["content_sync"].category is catalog.Category.OPERATION
    assert found["healthcheck"].description == "Check services, the site and disk space"


def test_sorted_by_category_then_name(ws: Workspace) -> None:
    names = [(t.category.value, t.name) for t in catalog.discover(ws)]
    assert names == [
        ("operation", "content_sync"),
        ("maintenance", "healthcheck"),
        ("maintenance", "patching"),
        ("onboarding", "baseline"),
    ]


def test_missing_description_names_file_and_line(ws: Workspace) -> None:
    playbook = ws.playbooks / "maintenance" / "broken.yml"
    playbook.write_text("- hosts: all\n")
    with pytest.raises(BadInput) as caught:
        catalog.discover(ws)
    assert str(caught.value).startswith(f"{playbook}:1:")


def test_same_task_in_two_categories_is_an_error(ws: Workspace) -> None:
    (ws.playbooks / "operation" / "healthcheck.yml").write_text("# description: again\n")
    with pytest.raises(BadInput, match="two categories"):
        catalog.discover(ws)


def test_unknown_task_lists_known_ones(ws: Workspace) -> None:
    with pytest.raises(UnknownTask, match="known: baseline, content_sync"):
        catalog.get(ws, "nope")


def test_real_project_catalog_has_descriptions() -> None:
    root = Path(__file__).resolve().parents[2]
    tasks = catalog.discover(Workspace(root))
    assert {"baseline", "healthcheck"} <= {t.name for t in tasks}
    assert all(t.description for t in tasks)


def test_second_line_declares_what_a_task_needs(ws: Workspace) -> None:
    playbook = ws.playbooks / "maintenance" / "diagnose.yml"
    playbook.write_text("# description: Investigate\n# needs: host_history\n- hosts: all\n")
    found = catalog.get(ws, "diagnose")
    assert found.needs == frozenset({"host_history"})
    assert catalog.get(ws, "healthcheck").needs == frozenset()


def test_unknown_need_names_file_and_line(ws: Workspace) -> None:
    playbook = ws.playbooks / "maintenance" / "diagnose.yml"
    playbook.write_text("# description: Investigate\n# needs: crystal_ball\n")
    with pytest.raises(BadInput, match="unknown need 'crystal_ball'") as caught:
        catalog.discover(ws)
    assert str(caught.value).startswith(f"{playbook}:2:")
