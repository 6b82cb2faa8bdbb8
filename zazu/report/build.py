"""`write_report(run_dir)`: <run>/report.html and its PNGs in <run>/report/, from whatever the run folder holds."""

from __future__ import annotations

import time
from pathlib import Path

from zazu.atomic_io import atomic_write_text
from zazu.report.html import Section, esc, not_available, page
from zazu.report.run_reader import ReportError, read_run
from zazu.report.sections import SECTIONS, Figures

REPORT_FILE = "report.html"


def write_report(run_dir: str | Path) -> Path:
    """Write (or rewrite) <run>/report.html; returns its path. Missing inputs are reported as not available."""
    run = read_run(run_dir)
    figures = Figures(run.run_dir)
    try:
        figures.folder.mkdir(exist_ok=True)
        for old in figures.folder.glob("*.png"):  # figures of a previous report may no longer apply
            old.unlink()
    except OSError as e:
        raise ReportError(f"{figures.folder}: cannot write the report's figures ({e.strerror}).") from None
    sections = []
    for anchor, title, render in SECTIONS:
        try:
            body = render(run, figures)
        except Exception as e:  # one malformed input file must not cost the rest of the report
            body = not_available(f"could not be drawn from the run folder's files ({type(e).__name__}: {e})")
        sections.append(Section(anchor, title, body))
    task = run.task or "unknown task"
    objective = f"objective {run.objective} ({run.direction})" if run.objective else "objective unknown"
    meta = esc(f"{task} · {objective} · {run.run_dir} · written {time.strftime('%Y-%m-%d %H:%M:%S')}")
    path = run.run_dir / REPORT_FILE
    try:
        atomic_write_text(path, page(f"Zazu run report: {run.run_dir.name}", meta, sections))
    except OSError as e:
        raise ReportError(f"{path}: cannot write the report ({e.strerror}).") from None
    return path
