"""Site monitoring against a real lab host: nginx stopped -> one incident, one alert to a
webhook on loopback; started again -> one recovery alert; the day's summary in the ledger."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.integration.conftest import Lab
from tests.unit.webhook import Receiver

pytestmark = pytest.mark.integration

START = datetime.fromisoformat("2026-12-03T10:00:00+00:00")


@pytest.fixture(scope="module")
def watched(lab: Lab) -> Lab:
    """Client shop on the session's lab hosts (the lab's inventory), with a scope that only
    monitors web1's site; nginx is started again before the test ends."""
    client = lab.ws / "inventories" / "shop"
    client.mkdir()
    hosts = (lab.ws / "inventories" / "lab" / "hosts.yml").read_text()
    (client / "hosts.yml").write_text(hosts)
    site = f"http://127.0.0.1:{lab.host('web1')['http_port']}/"
    (client / "scope.yml").write_text(
        "client: shop\ncontract: SHOP-1\nvalid_from: 2026-01-01\nvalid_until: 2099-12-31\n"
        f"monitor:\n  - url: {site}\n    timeout: 5s\n"
    )
    return lab


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
        watched.ssh("web1", "systemctl start nginx")  # the session's later tests need it
        receiver.server.shutdown()
        receiver.server.server_close()
