"""The run report: `write_report(run_dir)` -> <run>/report.html, with its PNG figures in <run>/report/.

Reads only files (no TensorFlow): leaderboard.csv, best_trial.json, trials/*/{trial.json,
history.csv, profile.json}, config.yaml, export/{export.json, val_predictions.json, predictions/*.png}.
"""

from __future__ import annotations

from pathlib import Path


def write_report(run_dir: str | Path) -> Path:
    from zazu.report.build import write_report as _write_report

    return _write_report(run_dir)


__all__ = ["write_report"]
