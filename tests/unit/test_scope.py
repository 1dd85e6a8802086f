import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from omctl import catalog, inventory, scope
from omctl.errors import ScopeInvalid
from omctl.workspace import Workspace

CORPUS = sorted((Path(__file__).parent / "scope_corpus").glob("*.yml"))
EXPECT = re.compile(r"^# expect: (\d+): (.+)$")


def load_checked(ws: Workspace, path: Path) -> scope.LoadedScope:
    loaded = scope.load(path)
    hosts = inventory.load(ws.client_dir("acme") / "hosts.yml")
    scope.check_against(
        loaded, client="acme", catalog=catalog.by_name(ws), inventory_names=hosts.names
    )
    return loaded


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_broken_scope_names_its_line(ws: Workspace, path: Path) -> None:
    expected = EXPECT.match(path.read_text().splitlines()[0])
    assert expected, f"{path} lacks its '# expect: LINE: message' header"
    with pytest.raises(ScopeInvalid) as caught:
        load_checked(ws, path)
    error = caught.value
    assert error.path == path
    assert error.line == int(expected[1]), str(error)
    assert expected[2] in error.message
    assert "\n" not in str(error)


def test_valid_scope_loads(ws: Workspace) -> None:
    loaded = load_checked(ws, ws.client_dir("acme") / "scope.yml")
    contract = loaded.scope
    assert contract.contract == "ACME-2026"
    assert contract.maintenance["healthcheck"].every is scope.Cadence.DAILY
    assert contract.maintenance["healthcheck"].hosts == ["web"]
    assert str(contract.maintenance["patching"].window) == "Sun 02:00-04:00"
    assert contract.operation["content_sync"].window is None


def test_contract_out_of_its_dates(ws: Workspace) -> None:
    loaded = scope.load(ws.client_dir("acme") / "scope.yml")
    with pytest.raises(ScopeInvalid, match="ended on") as caught:
        scope.check_in_force(loaded, date(2999, 1, 1))
    assert caught.value.line == 4
    with pytest.raises(ScopeInvalid, match="not in force yet"):
        scope.check_in_force(loaded, date(2000, 1, 1))


@pytest.mark.parametrize(
    ("window", "moment", "is_open"),
    [
        ("Sun 02:00-04:00", datetime(2026, 11, 29, 2, 0), True),  # a Sunday
        ("Sun 02:00-04:00", datetime(2026, 11, 29, 4, 0), False),  # end is exclusive
        ("Sun 02:00-04:00", datetime(2026, 11, 28, 3, 0), False),  # Saturday
        ("Mon-Fri 09:00-17:00", datetime(2026, 11, 27, 16, 59), True),  # Friday
        ("Mon-Fri 09:00-17:00", datetime(2026, 11, 28, 10, 0), False),
        ("Sat 22:00-02:00", datetime(2026, 11, 28, 23, 0), True),
        ("Sat 22:00-02:00", datetime(2026, 11, 29, 1, 59), True),  # Sunday morning
        ("Sat 22:00-02:00", datetime(2026, 11, 29, 23, 0), False),  # Sunday evening
        ("Fri-Mon 00:00-24:00", datetime(2026, 11, 30, 12, 0), True),  # wraps the week
        ("Fri-Mon 00:00-24:00", datetime(2026, 12, 1, 12, 0), False),  # Tuesday
        ("daily 02:00-03:00", datetime(2026, 12, 2, 2, 30), True),
    ],
)
def test_window_is_open(window: str, moment: datetime, is_open: bool) -> None:
    assert scope.Window.parse(window).is_open(moment) is is_open


def _decide(ws: Workspace, task_name: str, targets: list[str], moment: datetime):
    loaded = scope.load(ws.client_dir("acme") / "scope.yml")
    hosts = inventory.load(ws.client_dir("acme") / "hosts.yml")
    task = catalog.get(ws, task_name)
    entry = loaded.scope.entry(task)
    covered = hosts.covered(entry.hosts) if entry else None
    return scope.decide(loaded.scope, task, targets=targets, covered=covered, now=moment)


NOW = datetime.now(ZoneInfo("UTC"))


def test_listed_task_on_covered_hosts_is_in_scope(ws: Workspace) -> None:
    assert _decide(ws, "healthcheck", ["web1", "web2"], NOW).in_scope


def test_host_not_covered_is_refused(ws: Workspace) -> None:
    decision = _decide(ws, "healthcheck", ["web1", "db1"], NOW)
    assert not decision.in_scope
    assert "not on db1" in decision.reason


def test_task_not_listed_is_refused(ws: Workspace) -> None:
    (ws.playbooks / "maintenance" / "hardening.yml").write_text("# description: Harden\n")
    decision = _decide(ws, "hardening", ["web1"], NOW)
    assert not decision.in_scope
    assert "'hardening' is not in contract ACME-2026" in decision.reason


def test_closed_window_is_refused_and_open_window_allowed(ws: Workspace) -> None:
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=ZoneInfo("UTC"))
    sunday = datetime(2026, 11, 29, 3, 0, tzinfo=ZoneInfo("UTC"))
    refused = _decide(ws, "patching", ["web1"], saturday)
    assert not refused.in_scope
    assert "window Sun 02:00-04:00" in refused.reason
    assert _decide(ws, "patching", ["web1"], sunday).in_scope


def test_onboarding_needs_no_contract_entry(ws: Workspace) -> None:
    assert _decide(ws, "baseline", ["db1"], NOW).in_scope


def test_contract_not_in_force_refuses(ws: Workspace) -> None:
    later = datetime(2999, 1, 1, tzinfo=ZoneInfo("UTC"))
    decision = _decide(ws, "content_sync", ["web1"], later)
    assert not decision.in_scope
    assert "not on 2999-01-01" in decision.reason


def test_window_follows_the_contract_timezone(ws: Workspace) -> None:
    path = ws.client_dir("acme") / "scope.yml"
    path.write_text(path.read_text().replace("maintenance:", "timezone: Asia/Tokyo\nmaintenance:"))
    # 18:00 UTC Saturday is 03:00 Sunday in Tokyo: inside the window there.
    moment = datetime(2026, 11, 28, 18, 0, tzinfo=ZoneInfo("UTC")).astimezone(
        ZoneInfo("Asia/Tokyo")
    )
    assert _decide(ws, "patching", ["web1"], moment).in_scope


# --- fees and responsibilities --------------------------------------------------------------

FEES = """\
fees:
  currency: EUR
  monthly: {operation: 300, maintenance: 200.10}
  included_hours: {operation: 2, maintenance: 1.5}
  hourly_rate: "92.50"
  task_prices: {content_sync: 12.5}
responsibilities:
  - {area: DNS, provider: keeps the records, client: pays the registrar}
  - {area: Content, provider: publishes releases, client: writes the content}
"""


def test_fees_are_decimal_as_written(ws: Workspace) -> None:
    path = ws.client_dir("acme") / "scope.yml"
    path.write_text(path.read_text() + FEES)
    fees = load_checked(ws, path).scope.fees
    assert fees is not None and fees.currency == "EUR"
    # A YAML float goes through its repr: 200.10 is Decimal('200.1'), not 200.0999999...
    assert fees.monthly == {"operation": Decimal(300), "maintenance": Decimal("200.1")}
    assert fees.included_hours["maintenance"] == Decimal("1.5")
    assert fees.hourly_rate == Decimal("92.50") and fees.task_prices["content_sync"] == Decimal(
        "12.5"
    )
    for amount in (*fees.monthly.values(), fees.hourly_rate, *fees.task_prices.values()):
        assert type(amount) is Decimal
    assert (fees.increment_minutes, fees.minimum) == (15, 15)  # the minimum is the increment
    areas = [r.area for r in load_checked(ws, path).scope.responsibilities]
    assert areas == ["DNS", "Content"]


def test_a_contract_without_fees_has_none(ws: Workspace) -> None:
    contract = load_checked(ws, ws.client_dir("acme") / "scope.yml").scope
    assert contract.fees is None and contract.responsibilities == []


FEE_CORPUS = [p for p in CORPUS if p.stem.startswith(("fees_", "responsibilities_"))]


@pytest.mark.parametrize("path", FEE_CORPUS, ids=[p.stem for p in FEE_CORPUS])
def test_scope_check_of_bad_fees_is_one_located_line_exit_2(ws: Workspace, path: Path) -> None:
    from typer.testing import CliRunner

    from omctl.cli.main import app
    from omctl.errors import ExitCode

    expected = EXPECT.match(path.read_text().splitlines()[0])
    assert expected
    target = ws.client_dir("acme") / "scope.yml"
    target.write_text(path.read_text())
    result = CliRunner().invoke(app, ["--workspace", str(ws.root), "scope", "check", "acme"])
    assert result.exit_code == ExitCode.BAD_INPUT
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"error: {target}:{expected[1]}:") and expected[2] in lines[0]
