"""The report opened in headless Chromium (Debian's `chromium`; CI installs it): a real search on the
embedded dataset, and a run folder holding every input the report reads. Not skipped when Chromium
is missing: the check then fails and says how to install it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fake_runs import referenced_pngs, section, table_rows
from PIL import Image

from zazu.cli import cli
from zazu.report import write_report
from zazu.report.screenshot import first_screen, images_loaded, screenshot

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')

REPO = Path(__file__).resolve().parents[2]


MATPLOTLIB_BLUE = np.array([31, 119, 180])  # tab10's first colour: every plot's first line or marker


def _screenshot_pixels(png: Path, width: int) -> np.ndarray:
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size[0] == width
        return np.asarray(image.convert("RGB")).astype(int)


def _plot_pixels(pixels: np.ndarray) -> int:
    return int((np.abs(pixels - MATPLOTLIB_BLUE).max(axis=-1) <= 12).sum())


def _assert_rendered(png: Path, width: int) -> None:
    """Not blank, and the plots are on screen (the page's own styles use no matplotlib blue)."""
    pixels = _screenshot_pixels(png, width)
    not_white = (pixels.min(axis=-1) < 235).mean()
    assert not_white > 0.03, f"screenshot almost blank: {not_white:.3%} non-white pixels"
    assert _plot_pixels(pixels) > 100, f"screenshot shows no plot: {_plot_pixels(pixels)} plot-blue pixels"


def test_report_of_an_embedded_data_search_renders_in_chromium(tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["--task", "classification", "--models", "tiny_cnn", "--max-trials", "2",
                                      "--epochs", "1", "--output", str(run)])
    assert result.exit_code == 0, result.output
    assert "embedded synthetic classification dataset" in result.output

    html_path = write_report(run)
    html = html_path.read_text(encoding="utf-8")
    leaderboard = table_rows(section(html, "leaderboard"))
    assert [(r[1], r[3]) for r in leaderboard] == [("tiny_cnn", "COMPLETED")] * 2
    sources = referenced_pngs(html)
    for src in sources:
        assert (run / src).is_file(), src
    trial_ids = sorted(p.name for p in (run / "trials").iterdir())
    assert {f"report/curves-{t}.png" for t in trial_ids} | {"report/hp-tiny_cnn.png"} <= set(sources)
    int8_row = [r for r in table_rows(section(html, "export")) if r[0] == "int8"]
    # the report shows the int8 score export.json holds, not a placeholder or another variant's
    recorded = json.loads((run / "export" / "export.json").read_text())["metrics"]["int8"]["val_accuracy"]
    assert int8_row and float(int8_row[0][1]) == pytest.approx(recorded, abs=5e-4)
    # the export work adds val_predictions.json; until then the report must say so, after it show the matrix
    if (run / "export" / "val_predictions.json").exists():
        assert "report/confusion-int8.png" in sources
    else:
        assert "Not available: export/val_predictions.json not found" in section(html, "classes")

    png = screenshot(html_path, tmp_path / "report.png", width=1280, height=4000)
    _assert_rendered(png, 1280)
    assert images_loaded(html_path) == (len(sources), len(sources))

    # the first screen a user sees at 1280x800 is the model card, whole, and the page is no wider
    in_view, page_width = first_screen(html_path, 1280, 800)
    assert CARD <= in_view, f"not on the first screen: {sorted(CARD - in_view)}"
    assert page_width <= 1280
    card = section(html, "card")
    assert "int8 val_accuracy" in card and "zazu predict" in card and str(run / "export" / "model_int8.tflite") in card
    assert html.index('id="card"') < html.index('id="leaderboard"')


CARD = {"shipped", "tile-metric", "tile-size", "tile-ram", "tile-latency", "tile-edgetpu", "tile-budget", "commands"}


def test_the_first_screen_check_fails_when_the_card_is_pushed_down(classification_run, tmp_path):
    """The check above can fail: the same report with a tall block before the card."""
    html = write_report(classification_run).read_text(encoding="utf-8")
    assert CARD <= first_screen(classification_run / "report.html", 1280, 800)[0]
    pushed = tmp_path / "pushed.html"
    pushed.write_text(html.replace('<section id="card">', '<div style="height:900px"></div><section id="card">', 1),
                      encoding="utf-8")
    in_view, _ = first_screen(pushed, 1280, 800)
    assert not CARD & in_view
    wide = tmp_path / "wide.html"
    wide.write_text(html.replace('<section id="card">', '<div style="width:2000px">x</div><section id="card">', 1),
                    encoding="utf-8")
    assert first_screen(wide, 1280, 800)[1] > 1280


def test_screenshot_script_on_a_run_with_every_input(classification_run, tmp_path):
    out = tmp_path / "shots" / "report.png"
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "screenshot_report.py"), str(classification_run),
                             str(out)], capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{out}: screenshot of {classification_run / 'report.html'} (8/8 images loaded)"
    _assert_rendered(out, 1280)
    html = (classification_run / "report.html").read_text(encoding="utf-8")
    assert len(referenced_pngs(html)) == 8


def test_a_report_without_plots_fails_the_plot_check(tmp_path):
    """The check above can fail: a run folder with nothing to plot renders tables and notes only."""
    run = tmp_path / "run"
    (run / "trials").mkdir(parents=True)
    html_path = write_report(run)
    assert referenced_pngs(html_path.read_text(encoding="utf-8")) == []

    pixels = _screenshot_pixels(screenshot(html_path, tmp_path / "empty.png", width=1000, height=1200), 1000)
    assert (pixels.min(axis=-1) < 235).mean() > 0.01  # headings and notes are there
    assert _plot_pixels(pixels) == 0
    assert images_loaded(html_path) == (0, 0)
