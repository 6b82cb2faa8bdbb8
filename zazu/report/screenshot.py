"""Render a report in headless Chromium: a PNG screenshot, and how many of its images loaded.

Chromium is an optional tool (Debian: `apt-get install chromium`); it is looked
up on PATH as `chromium`, `chromium-browser` or `google-chrome`, or `$CHROMIUM`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from zazu.errors import ZazuError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


class BrowserError(ZazuError):
    """No headless browser, or it failed to render the page."""


def find_chromium() -> str:
    explicit = os.environ.get("CHROMIUM")
    found = explicit if explicit and shutil.which(explicit) else None
    found = found or next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if found is None:
        raise BrowserError("No headless browser found. Expected `chromium` on PATH "
                           "(Debian: apt-get install -y chromium) or $CHROMIUM. "
                           f"Received: CHROMIUM={explicit!r}, PATH={os.environ.get('PATH', '')}")
    return found


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="zazu-chromium-") as profile:
        # --no-sandbox: CI and Docker run as root, where Chromium's sandbox refuses to start.
        command = [find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--hide-scrollbars", "--no-first-run", f"--user-data-dir={profile}", *args]
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BrowserError(f"{command[0]} did not finish within {timeout:.0f}s: {' '.join(args)}") from None


def screenshot(html_path: str | Path, out_png: str | Path, width: int = 1280, height: int = 3200,
               timeout: float = 90) -> Path:
    """PNG of the page's top `height` pixels at `width` (Chromium's --screenshot has no full-page mode)."""
    html_path, out_png = Path(html_path).resolve(), Path(out_png).resolve()
    if not html_path.is_file():
        raise BrowserError(f"{html_path}: file not found. Expected a report written by `zazu report RUN_DIR`.")
    out_png.parent.mkdir(parents=True, exist_ok=True)
    out_png.unlink(missing_ok=True)
    result = _run([f"--window-size={width},{height}", f"--screenshot={out_png}", html_path.as_uri()], timeout)
    if result.returncode != 0 or not out_png.is_file():
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BrowserError(f"headless Chromium wrote no screenshot of {html_path} (exit {result.returncode}): {last}")
    return out_png


def images_loaded(html_path: str | Path, timeout: float = 90) -> tuple[int, int]:
    """(loaded, total) images of the page after its load event, read from the DOM Chromium dumps."""
    html_path = Path(html_path).resolve()
    result = _run(["--dump-dom", html_path.as_uri()], timeout)
    match = re.search(r'data-images-loaded="(\d+)/(\d+)"', result.stdout)
    if match is None:
        raise BrowserError(f"headless Chromium did not report the images of {html_path} "
                           f"(exit {result.returncode}); is it a Zazu report?")
    return int(match.group(1)), int(match.group(2))


def first_screen(html_path: str | Path, width: int = 1280, height: int = 800,
                 timeout: float = 90) -> tuple[set[str], int]:
    """(the `data-check` names of the elements wholly inside the page's top `width` x `height` pixels,
    which `screenshot(..., width, height)` shows; the page's scroll width at that width)."""
    html_path = Path(html_path).resolve()
    # the window taller than the screen checked: headless Chromium's viewport is its window less some chrome
    result = _run([f"--window-size={width},{height + 300}", "--dump-dom",
                   f"{html_path.as_uri()}#first-screen={height}"], timeout)
    seen = re.search(r'data-first-screen="([^"]*)"', result.stdout)
    page = re.search(r'data-page-width="(\d+)/(\d+)"', result.stdout)
    if seen is None or page is None:
        raise BrowserError(f"headless Chromium did not report the layout of {html_path} "
                           f"(exit {result.returncode}); is it a Zazu report?")
    return set(seen.group(1).split()), int(page.group(1))
