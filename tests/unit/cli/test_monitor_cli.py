"""Monitoring through the CLI: tick probes (its task list keeps its shape), status shows the
sites, status without a client sums them up; a site never probed is "not monitored"."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests import sites
from tests.unit.conftest import scope_text


@pytest.fixture
def web() -> Iterator[sites.Server]:
    server = sites.serve()
    server.failing = True
    yield server
    server.shutdown()


def test_tick_probes_and_status_shows_the_sites(omctl, web: sites.Server) -> None:
    working, failing = sites.url(web), sites.url(web, "/switch")
    body = f"monitor:\n  - url: {working}\n    keyword: Add to cart\n  - url: {failing}\n"
    (omctl.ws.client_dir("acme") / "scope.yml").write_text(scope_text(body=body))
    planned = omctl("tick", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.stderr
    assert json.loads(planned.stdout) == [] and "would probe 2 sites" in planned.stderr
    assert not (omctl.ws.state / "monitor.sqlite3").exists()
    never = json.loads(omctl("status", "--json").stdout)
    assert (never[0]["availability"], never[0]["open_incidents"]) == (None, 0)
    assert "availability: not monitored" in omctl("status").stdout  # never a made-up 100%

    ticked = omctl("tick", "--json")
    assert ticked.exit_code == 0, ticked.stderr
    assert json.loads(ticked.stdout) == []
    assert "probed 2 sites (1 failing, 0 not due yet)" in ticked.stderr

    shown = json.loads(omctl("status", "acme", "--json").stdout)
    up, down = shown["monitor"]
    assert (up["url"], up["availability"], up["open_incident"]) == (working, 100.0, None)
    assert (down["availability"], down["last_probe"]["error"]) == (0.0, "status 500, expected 200")
    assert down["open_incident"] is None  # one failure of confirm: 2
    text = omctl("status", "acme").stdout
    assert "Monitored sites this month:" in text and "100.00%" in text
    every = json.loads(omctl("status", "--json").stdout)
    assert (every[0]["monitored_sites"], every[0]["availability"]) == (2, 50.0)
