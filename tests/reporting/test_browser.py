"""report.html opens in a real headless Chromium (Debian's package) without errors, and its
screenshot is not blank. Skips, saying why, where no chromium is installed (.ci/run installs
it when it runs as root with apt-get)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on PATH (apt-get install chromium; .ci/run does it as root)",
)


def _chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={cwd / 'profile'}", "--enable-logging=stderr", "--v=0"]  # fmt: skip
    return subprocess.run(
        [CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_report_opens_without_errors_and_renders(penguins_ckpt, tmp_path):
    page = penguins_ckpt.parents[1] / "report" / "report.html"
    assert page.is_file()
    url = page.resolve().as_uri()
    dom = _chromium("--dump-dom", url, cwd=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h1>penguins: evaluation on the test split</h1>" in dom.stdout
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console  # no script or console error on the page
    sources = re.findall(r'<img src="([^"]+)"', dom.stdout)
    assert {"reliability.png", "roc.png", "confusion_matrix.png"} <= set(sources)
    for src in sources:  # every image the page shows lies beside it
        assert (page.parent / src).stat().st_size > 1000, src

    shot = tmp_path / "shot.png"
    proc = _chromium("--window-size=1200,1600", f"--screenshot={shot}", url, cwd=tmp_path)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.shape == (1600, 1200)
    assert pixels.std() > 10  # not one flat colour
    assert (pixels < 128).mean() > 0.01  # text, lines and plots drawn on the white page


def test_console_errors_are_seen(tmp_path):
    """The check above can fail: a page that logs an error shows it on Chromium's stderr."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.error('broken')</script></body></html>")
    proc = _chromium("--dump-dom", bad.as_uri(), cwd=tmp_path)
    assert any("CONSOLE" in line and "broken" in line for line in proc.stderr.splitlines())
