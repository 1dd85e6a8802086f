"""Site monitoring against a real lab host: nginx stopped -> one incident, one alert to a
webhook on loopback; started again -> one recovery alert; the day's summary in the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.integration.conftest import Lab, new_lab
from tests.unit.test_notify import Receiver

pytestmark = pytest.mark.integration

START = datetime.fromisoformat("2026-12-03T10:00:00+00:00")


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One lab host; client shop (the lab's inventory, a scope that only monitors web1's
    site)."""
    started = new_lab(tmp_path_factory, "monitor")
    try:
        up = started.omctl("lab", "up", "--hosts", "1", "--json", timeout=1800)
        assert up.code == 0, up.stderr
        started.hosts = up.json()
        client = started.ws / "inventories" / "shop"
        client.mkdir()
        hosts = (started.ws / "inventories" / "lab" / "hosts.yml").read_text()
        (client / "hosts.yml").write_text(hosts)
        site = f"http://127.0.0.1:{started.host('web1')['http_port']}/"
        (client / "scope.yml").write_text(
            "client: shop\ncontract: SHOP-1\nvalid_from: 2026-01-01\nvalid_until: 2099-12-31\n"
            f"monitor:\n  - url: {site}\n    timeout: 5s\n"
        )
        yield started
    finally:
        started.omctl("lab", "down")


def test_a_stopped_web_server_is_one_incident_and_one_alert(watched: Lab) -> None:
    receiver = Receiver()
    site = f"http://127.0.0.1:{watched.host('web1')['http_port']}/"
    env = {"OMCTL_NOTIFY": receiver.url()}

    def tick(minutes: int) -> str:
        moment = (START + timedelta(minutes=minutes)).isoformat()
        done = watched.omctl("tick", "--client", "shop", "--now", moment, "--json", env=env)
        assert done.code == 0, done.stderr
        assert done.json() == []  # no contracted task: the task list keeps its shape
        return done.stderr

    try:
        planned = watched.omctl("tick", "--client", "shop", "--dry-run", "--json")
        assert planned.code == 0 and "monitor: would probe 1 sites" in planned.stderr
        assert "monitor: probed 1 sites (0 failing" in tick(0)
        stopped = watched.ssh("web1", "systemctl stop nginx")
        assert stopped.returncode == 0, stopped.stderr
        assert "(1 failing" in tick(5) and receiver.received == []  # confirm: 2
        assert "incidents opened 1" in tick(10)
        tick(15)
        assert [m["title"] for m in receiver.received] == [f"omctl: {site} of shop is down"]
        down = watched.omctl("status", "shop", "--json").json()["monitor"]
        (row,) = down
        assert row["open_incident"]["opened_at"] == "2026-12-03T10:05:00Z"
        started = watched.ssh("web1", "systemctl start nginx")
        assert started.returncode == 0, started.stderr
        assert "closed 1" in tick(20)
        tick(25)
        assert [m["title"] for m in receiver.received] == [
            f"omctl: {site} of shop is down", f"omctl: {site} of shop is up again"
        ]  # fmt: skip
        assert "after 15 min down" in receiver.received[1]["message"]
        # The next day's first tick writes the day's summary; the chain still verifies.
        assert "daily summaries 1" in tick(24 * 60)
        verify = watched.omctl("ledger", "verify")
        assert verify.code == 0, verify.stderr
        assert len(receiver.received) == 2  # nothing sent since
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
