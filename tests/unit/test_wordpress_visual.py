"""The pixel comparison of omctl/wordpress/visual.py on images drawn here: identical, changed,
masked, sizes that differ, the tolerance for antialiasing noise; and the page check's threshold
(roles/wordpress_update/library/wordpress_update_pages.py) with fetching and Chromium faked."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image, ImageDraw

from omctl.wordpress import visual
from tests.unit import role_code

PAGES = (
    Path(__file__).resolve().parents[2] / "roles/wordpress_update/library/wordpress_update_pages.py"
)


def picture(path: Path, boxes: list[tuple[int, int, int, int, str]] = (), size=(100, 50)) -> Path:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for x, y, w, h, colour in boxes:
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=colour)
    image.save(path)
    return path


def test_identical_images_change_nothing(tmp_path: Path) -> None:
    a = picture(tmp_path / "a.png", [(10, 10, 20, 20, "blue")])
    b = picture(tmp_path / "b.png", [(10, 10, 20, 20, "blue")])
    found = visual.compare(a, b)
    assert (found.changed_pixels, found.total_pixels, found.percent) == (0, 5000, 0.0)


def test_a_changed_block_counts_its_pixels(tmp_path: Path) -> None:
    a = picture(tmp_path / "a.png")
    b = picture(tmp_path / "b.png", [(0, 0, 10, 25, "red")])
    found = visual.compare(a, b)
    assert found.changed_pixels == 250
    assert found.percent == pytest.approx(5.0)


def test_a_masked_region_is_left_out_of_both_counts(tmp_path: Path) -> None:
    a = picture(tmp_path / "a.png")
    b = picture(tmp_path / "b.png", [(0, 0, 10, 25, "red"), (50, 0, 10, 10, "green")])
    found = visual.compare(a, b, [visual.Mask(0, 0, 10, 25)])
    assert (found.changed_pixels, found.total_pixels) == (100, 5000 - 250)


def test_noise_under_the_tolerance_does_not_count(tmp_path: Path) -> None:
    a = picture(tmp_path / "a.png", [(0, 0, 50, 50, (200, 200, 200))])
    b = picture(tmp_path / "b.png", [(0, 0, 50, 50, (200 + visual.TOLERANCE - 1,) * 3)])
    c = picture(tmp_path / "c.png", [(0, 0, 50, 50, (200 + visual.TOLERANCE + 1,) * 3)])
    assert visual.compare(a, b).changed_pixels == 0
    assert visual.compare(a, c).changed_pixels == 2500


def test_a_taller_page_counts_what_the_other_lacks(tmp_path: Path) -> None:
    a = picture(tmp_path / "a.png", size=(100, 50))
    b = picture(tmp_path / "b.png", size=(100, 100))
    assert visual.compare(a, b).percent == pytest.approx(50.0)


@pytest.fixture
def pages():
    return role_code.load(PAGES, "wordpress_update_pages")


def fake_visual(tmp_path: Path, after: Path, status: int = 200, marker: bool = True):
    def screenshot(url, out, connect, chromium):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(after.read_bytes())

    return SimpleNamespace(
        fetch=lambda url, m, connect: visual.Fetched(status, marker if m else None),
        screenshot=screenshot, compare=visual.compare, masks_of=visual.masks_of,
    )  # fmt: skip


def params(tmp_path: Path, compare_to: Path | None) -> dict:
    return {"base_url": "http://shop.test", "connect": None, "out": str(tmp_path / "after"),
            "compare_to": str(compare_to) if compare_to else None, "chromium": "x"}  # fmt: skip


@pytest.mark.parametrize(("threshold", "ok"), [(4.9, False), (5.0, True)])
def test_the_page_check_holds_the_change_to_its_threshold(pages, tmp_path, threshold, ok) -> None:
    (tmp_path / "before").mkdir()
    picture(tmp_path / "before" / "front.png")
    after = picture(tmp_path / "new.png", [(0, 0, 10, 25, "red")])
    page = {"path": "/", "threshold": threshold}
    found = pages.check(page, params(tmp_path, tmp_path / "before"), fake_visual(tmp_path, after))
    assert found["changed_percent"] == pytest.approx(5.0)
    assert found["ok"] is ok
    assert found["problems"] == (
        [] if ok else [f"/ changed 5.00% of its pixels (threshold {threshold:g}%)"]
    )


def test_the_page_check_names_a_wrong_status_and_a_missing_marker(pages, tmp_path) -> None:
    after = picture(tmp_path / "new.png")
    page = {"path": "/shop/cart/", "marker": "Cart"}
    found = pages.check(page, params(tmp_path, None), fake_visual(tmp_path, after, 500, False))
    assert found["screenshot"].endswith("/after/shop-cart.png")
    assert found["problems"] == ["/shop/cart/ answered HTTP 500, not 200",
                                 "/shop/cart/ does not show 'Cart'"]  # fmt: skip
