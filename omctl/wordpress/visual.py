"""The key pages of a site as the controller sees them, before and after an update: HTTP status
and content marker (http.client), a screenshot by headless Chromium, and the share of pixels
that changed against the screenshot taken before (Pillow), with masked rectangles left out.

``connect`` (``HOST:PORT``) is where the controller reaches the web server when the site's own
name does not resolve there (a lab published on 127.0.0.1): HTTP goes there with the site's
Host header, and Chromium maps the site's name to it (``--host-resolver-rules``).
"""

from __future__ import annotations

import http.client
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image, ImageChops, ImageDraw

from omctl.errors import EnvironmentProblem

CHROMIUM = "/usr/bin/chromium"
WINDOW = (1280, 1024)
# A channel may differ by this much without counting: antialiasing and JPEG-free PNG noise.
TOLERANCE = 16


@dataclass(frozen=True)
class Mask:
    """A rectangle left out of the comparison (a clock, a rotating banner), in pixels."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Fetched:
    status: int | None
    marker_found: bool | None
    error: str | None = None


@dataclass(frozen=True)
class Comparison:
    changed_pixels: int
    total_pixels: int

    @property
    def percent(self) -> float:
        return 100.0 * self.changed_pixels / self.total_pixels if self.total_pixels else 100.0


def _target(url: str, connect: str | None) -> tuple[str, int, str, str]:
    """(address, port, Host header, path with query) of a page URL."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or 80
    header = host if parts.port is None else f"{host}:{port}"
    address, _, connect_port = (connect or "").rpartition(":") if connect else ("", "", "")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if connect:
        return address, int(connect_port), header, path
    return host, port, header, path


def fetch(url: str, marker: str | None, connect: str | None = None, timeout: float = 30) -> Fetched:
    """The page's HTTP status (no redirect followed) and whether its body holds ``marker``."""
    address, port, header, path = _target(url, connect)
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": header, "User-Agent": "omctl-wordpress-update"})
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return Fetched(None, None, f"{url}: {exc}")
    finally:
        conn.close()
    return Fetched(response.status, (marker in body) if marker else None)


def screenshot(url: str, out: Path, connect: str | None = None, chromium: str = CHROMIUM,
               window: tuple[int, int] = WINDOW, timeout: float = 90) -> None:  # fmt: skip
    """A PNG of the page's first ``window`` of pixels, as headless Chromium renders it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="omctl-chromium-") as profile:
        argv = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--no-first-run",
                f"--user-data-dir={profile}", f"--window-size={window[0]},{window[1]}",
                f"--screenshot={out}"]  # fmt: skip
        if connect:
            argv.append(f"--host-resolver-rules=MAP {urlsplit(url).hostname} {connect}")
        try:
            done = subprocess.run([*argv, url], capture_output=True, text=True,
                                  timeout=timeout, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EnvironmentProblem(f"headless Chromium ({chromium}) did not run: {exc}") from exc
    if done.returncode != 0 or not out.is_file():
        why = done.stderr.strip().splitlines()[-1:] or ["no screenshot"]
        raise EnvironmentProblem(f"headless Chromium could not take {url}: {why[0]}")


def compare(before: Path, after: Path, masks: Sequence[Mask] = ()) -> Comparison:
    """Pixels whose colour moved by more than TOLERANCE in a channel, masks left out. Images of
    different sizes compare over the larger size (what one lacks counts as changed)."""
    with Image.open(before) as first, Image.open(after) as second:
        old, new = first.convert("RGB"), second.convert("RGB")
    size = (max(old.width, new.width), max(old.height, new.height))
    old, new = _pad(old, size), _pad(new, size)
    differs = (
        ImageChops.difference(old, new).convert("L").point(lambda v: 255 if v > TOLERANCE else 0)
    )
    keep = Image.new("L", size, 255)
    draw = ImageDraw.Draw(keep)
    for mask in masks:
        draw.rectangle((mask.x, mask.y, mask.x + mask.width - 1, mask.y + mask.height - 1), fill=0)
    changed = ImageChops.multiply(differs, keep).histogram()[255]
    total = keep.histogram()[255]
    return Comparison(changed, total)


def _pad(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    # Magenta never matches a real page, so padding counts as changed on both sides.
    padded = Image.new("RGB", size, (255, 0, 255))
    padded.paste(image, (0, 0))
    return padded


def masks_of(raw: Iterable[dict[str, int]]) -> list[Mask]:
    return [Mask(int(m["x"]), int(m["y"]), int(m["width"]), int(m["height"])) for m in raw]
