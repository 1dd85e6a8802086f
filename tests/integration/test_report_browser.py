"""The HTML report as a browser renders it: headless Chromium (Debian chromium and
chromium-driver) through selenium, over the month of records of tests/unit/report_ledger.py.
No lab host is needed. Set OMCTL_REPORT_SCREENSHOT=PATH to keep the full-page screenshot
(docs/report.png is made that way)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from omctl import report, report_render
from tests.unit.report_ledger import HOSTILE, NOW, build_month, make_workspace

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (dev)")
if CHROMIUM is None or DRIVER is None:
    pytest.skip(
        "Debian packages chromium and chromium-driver are not installed (make system installs "
        "them)",
        allow_module_level=True,
    )

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

SECTIONS = [
    "The contract",
    "Who does what",
    "Operation done",
    "Maintenance done",
    "Coverage",
    "Out-of-scope work (billable)",
    "Refused requests",
    "Failures and incidents",
    "Fees",
    "Ledger verification",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[report.Report, Path]:
    root = tmp_path_factory.mktemp("report")
    month = build_month(make_workspace(root / "ws"))
    try:
        made = report.collect(month.book, report.subject(month.ws, "acme", "2026-11"), now=NOW)
    finally:
        month.close()
    page = root / "acme-2026-11.html"
    report.write_atomic(page, report_render.to_html(made))
    return made, page


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1100,1200"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, built):
    made, path = built
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "screen"})
    browser.get(path.as_uri())
    return browser, made


def test_sections_are_rendered_in_order(page) -> None:
    driver, _ = page
    headings = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "section > h2")]
    assert headings == SECTIONS
    assert driver.title == "Service report: acme, 2026-11"


def test_three_charts_have_a_rendered_size_and_a_title(page) -> None:
    driver, _ = page
    for chart, title in (
        ("chart-runs", "Runs per week by category"),
        ("chart-hardening", "Lynis hardening index over time"),
        ("chart-backup", "Backup repository size over time"),
    ):
        svg = driver.find_element(By.ID, chart)
        box = driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", svg)
        assert box["width"] > 300 and box["height"] > 100, (chart, box)
        assert (
            driver.execute_script("return arguments[0].querySelector('title').textContent", svg)
            == title
        )
        labels = [e.text for e in svg.find_elements(By.CSS_SELECTOR, "text.axis-label")]
        assert len(labels) == 2 and all(labels), (chart, labels)
        drawn = driver.execute_script(
            "return Array.from(arguments[0].querySelectorAll('rect, circle, polyline'))"
            ".filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0 }).length",
            svg,
        )
        assert drawn > 3, chart


def test_table_rows_match_the_report(page) -> None:
    driver, made = page

    def rows(table_id_or_caption: str) -> int:
        return driver.execute_script(
            "const t = Array.from(document.querySelectorAll('table')).find(t => "
            "t.closest('#' + arguments[0]) || (t.caption && t.caption.textContent === "
            "arguments[0])); return t ? t.tBodies[0].rows.length : -1",
            table_id_or_caption,
        )

    assert rows("chart-runs-data") == len(made.charts["runs_per_week"]) == 6
    assert rows("chart-hardening-data") == len(made.charts["hardening_index"]) == 6
    assert rows("chart-backup-data") == len(made.charts["backup_size"]) == 6
    assert rows("Packages patched") == len(made.maintenance["packages"]) == 4
    assert rows("Expected and done") == len(made.coverage) == 7
    assert rows("Failed and interrupted runs") == len(made.failures) == 2


def test_hostile_reason_is_text_not_markup(page) -> None:
    driver, _ = page
    assert driver.execute_script("return document.scripts.length") == 0
    assert driver.find_elements(By.CSS_SELECTOR, "section#out-of-scope b") == []
    cells = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "section#out-of-scope td")]
    assert HOSTILE in cells


def test_print_starts_each_section_on_a_new_page(page) -> None:
    driver, _ = page
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    breaks = driver.execute_script(
        "return Array.from(document.querySelectorAll('section'))"
        ".map(s => getComputedStyle(s).breakBefore)"
    )
    assert breaks[0] != "page" and set(breaks[1:]) == {"page"}


def test_screenshot(page, tmp_path) -> None:
    driver, _ = page
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1100, height + 120)
    shot = tmp_path / "report.png"
    assert driver.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 50_000
    keep = os.environ.get("OMCTL_REPORT_SCREENSHOT")
    if keep:
        Path(keep).write_bytes(data)
    driver.set_window_size(1100, 1200)
