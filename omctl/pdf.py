"""HTML to PDF with Debian's headless Chromium (the browser the report's tests already use).

The page is loaded from a file in a private temporary folder, with a new empty profile and
everything that would reach the network switched off: the report's HTML is self-contained
(inline CSS and SVG), so nothing is fetched. Chromium's chatter on stderr is kept back and only
its last line is shown when printing fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from omctl.errors import EnvironmentProblem

CHROMIUM = "chromium"  # Debian's package and command (Makefile SYSTEM_PACKAGES)
PRINT_TIMEOUT_SECONDS = 120
# Chromium's paper follows its locale (US Letter here); reports are printed on A4. First in
# <head>, so a page's own @page rules win.
PAGE_STYLE = "<style>@page { size: A4; }</style>"
FLAGS = (
    "--headless",
    "--no-sandbox",  # omctl may run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--no-pdf-header-footer",
    # No name resolves, so a page that tried to fetch anything would fail, not leak.
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


def chromium() -> str:
    found = shutil.which(CHROMIUM)
    if found is None:
        raise EnvironmentProblem(
            "chromium is not installed: a PDF report needs it (apt-get install chromium)"
        )
    return found


def html_to_pdf(html: str) -> bytes:
    """The PDF Chromium prints of ``html``. Raises EnvironmentProblem."""
    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="omctl-pdf-") as folder:
        root = Path(folder)  # mkdtemp: 0700, only this user reads the report
        page, printed, profile = root / "report.html", root / "report.pdf", root / "profile"
        page.write_text(html.replace("<head>", "<head>" + PAGE_STYLE, 1), encoding="utf-8")
        # Chromium writes under $HOME besides its profile (crash reports): keep it in here too.
        environment = {**os.environ, "HOME": str(root)}
        command = [browser, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={printed}",
                   page.as_uri()]  # fmt: skip
        try:
            done = subprocess.run(
                command,
                env=environment,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=PRINT_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise EnvironmentProblem(
                f"chromium did not print the PDF within {PRINT_TIMEOUT_SECONDS} s"
            ) from None
        except OSError as exc:
            raise EnvironmentProblem(f"chromium could not start: {exc.strerror}") from None
        data = printed.read_bytes() if printed.is_file() else b""
        if done.returncode != 0 or not data.startswith(b"%PDF-"):
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise EnvironmentProblem(
                f"chromium did not print the PDF (exit code {done.returncode}): {last}"
            )
        return data
