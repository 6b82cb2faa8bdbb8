"""The report's figures, drawn with matplotlib's Agg canvas straight to PNG.

No pyplot: figures are plain `Figure` objects on a `FigureCanvasAgg`, so nothing
needs a display and no global figure state leaks between calls.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zazu.report.run_reader import Trial
from zazu.trial_status import TrialStatus

NOT_PLOTTED_COLUMNS = ("epoch", "learning_rate", "lr")
MAX_CATEGORIES = 6  # numeric hyperparameters with at most this many values are drawn as categories


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: Path) -> Path:
    figure.savefig(path, format="png")
    return path


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def learning_curves(trial: Trial, path: Path) -> Path:
    """Losses on the left, every other per-epoch metric (accuracy...) on the right; val_* dashed."""
    from matplotlib.ticker import MaxNLocator

    history = trial.history or {}
    n = max((len(v) for v in history.values()), default=0)
    epochs = [e + 1 for e in history.get("epoch", range(n))]
    losses = [c for c in history if c.endswith("loss")]
    others = [c for c in history if c not in losses and c not in NOT_PLOTTED_COLUMNS]
    panels = [("loss", losses)] + ([("metric", others)] if others else [])
    figure = _figure(2.8 * len(panels), 2.5)  # two trials side by side on the page
    for k, (label, columns) in enumerate(panels):
        ax = figure.add_subplot(1, len(panels), k + 1)
        for column in columns:
            ax.plot(epochs, history[column], linestyle="--" if column.startswith("val_") else "-",
                    marker="o", markersize=3, label=column)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if columns:
            ax.legend(fontsize=7)
    figure.suptitle(f"{trial.name} ({trial.status.lower()})", fontsize=10)
    return _save(figure, path)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _label(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict, bool)) or value is None else str(value)


def hyperparameter_plot(model: str, trials: Sequence[Trial], objective: str, path: Path) -> Path | None:
    """One panel per searched hyperparameter: the objective of each completed trial against its value.

    Numbers with many distinct values on a numeric axis (log when they span 10x or
    more); a few values (a search choice) or anything else (lists, strings,
    booleans) as categories. None when there is nothing to plot."""
    done = [t for t in trials if t.status == TrialStatus.COMPLETED and objective in t.metrics]
    names: list[str] = []
    for t in trials:
        names += [h for h in t.hyperparameters if h not in names]
    if not names or not done:
        return None
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure = _figure(3.0 * columns, 2.4 * rows + 0.3)
    for k, name in enumerate(names):
        ax = figure.add_subplot(rows, columns, k + 1)
        points = [(t.hyperparameters[name], t.metrics[objective]) for t in done if name in t.hyperparameters]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        numeric = bool(xs) and all(_is_number(x) for x in xs)
        if numeric and len(set(xs)) > MAX_CATEGORIES:
            ax.scatter(xs, ys, s=30)
            if min(xs) > 0 and max(xs) / min(xs) >= 10:
                ax.set_xscale("log")
        else:
            categories = [_label(x) for x in (sorted(set(xs)) if numeric else xs)]
            categories = list(dict.fromkeys(categories if numeric else sorted(categories)))
            ax.scatter([categories.index(_label(x)) for x in xs], ys, s=30)
            ax.set_xticks(range(len(categories)), categories, fontsize=7, rotation=20 if len(categories) > 3 else 0)
            ax.set_xlim(-0.5, len(categories) - 0.5)
        ax.set_xlabel(name)
        ax.set_ylabel(objective)
        ax.grid(alpha=0.3)
    failed = len(trials) - len(done)
    figure.suptitle(f"{model}: {objective} per hyperparameter, {len(done)} completed trial(s)"
                    + (f"; {failed} not completed, not shown" if failed else ""), fontsize=10)
    return _save(figure, path)


@dataclass(frozen=True)
class CostPoint:
    name: str
    model: str
    metric: float
    latency_ms: float
    size_bytes: float
    on_front: bool


def pareto_plot(points: Sequence[CostPoint], objective: str, path: Path) -> Path:
    """Objective vs int8 latency and vs int8 file size, one colour per model; the Pareto front ringed and named."""
    models = list(dict.fromkeys(p.model for p in points))
    colour = dict(zip(models, _colours(len(models))))
    figure = _figure(10.0, 3.8)
    axes = [figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)]
    for ax, (x_of, x_label) in zip(axes, ((lambda p: p.latency_ms, "int8 latency, median (ms)"),
                                          (lambda p: p.size_bytes / 1024, "int8 model size (KiB)"))):
        for model in models:
            mine = [p for p in points if p.model == model]
            ax.scatter([x_of(p) for p in mine], [p.metric for p in mine], s=36, color=colour[model], label=model)
        front = [p for p in points if p.on_front]
        ax.scatter([x_of(p) for p in front], [p.metric for p in front], s=160, facecolors="none",
                   edgecolors="black", linewidths=1.5, label="Pareto front")
        for p in front:
            ax.annotate(p.name, (x_of(p), p.metric), fontsize=7, xytext=(6, 4), textcoords="offset points")
        ax.margins(0.15)  # room for the names of the front's points
        ax.set_xlabel(x_label)
        ax.set_ylabel(objective)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="best")
    figure.suptitle(f"{objective} vs int8 cost (ringed: Pareto front on {objective}, latency and size)", fontsize=10)
    return _save(figure, path)


def confusion_plot(matrix: list[list[int]], classes: list[str], title: str, path: Path) -> Path:
    """Counts, coloured by the share of each true class (rows sum to 1)."""
    import numpy as np

    counts = np.asarray(matrix, dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    n = len(classes)
    side = max(3.6, 0.45 * n + 2.0)
    figure = _figure(side + 0.8, side)
    ax = figure.add_subplot(1, 1, 1)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    if n <= 30:
        ticks = range(n)
        ax.set_xticks(ticks, classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(ticks, classes, fontsize=8)
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if shares[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    figure.colorbar(image, ax=ax, fraction=0.046, label="share of the true class")
    return _save(figure, path)


@dataclass(frozen=True)
class Sample:
    image: Path
    caption: str
    correct: bool | None = None  # colours the caption: green right, red wrong, black unknown


def image_grid(samples: Sequence[Sample], title: str, path: Path, columns: int = 4) -> Path:
    from PIL import Image, ImageOps

    columns = min(columns, len(samples))
    rows = math.ceil(len(samples) / columns)
    figure = _figure(2.3 * columns, 2.5 * rows + 0.3)
    for k, sample in enumerate(samples):
        ax = figure.add_subplot(rows, columns, k + 1)
        ax.set_axis_off()
        colour = {True: "green", False: "red", None: "black"}[sample.correct]
        try:
            with Image.open(sample.image) as im:
                ax.imshow(ImageOps.exif_transpose(im).convert("RGB"), interpolation="nearest")
        except (OSError, ValueError) as e:
            ax.text(0.5, 0.5, f"image not readable\n{type(e).__name__}", ha="center", va="center", fontsize=7)
        ax.set_title(sample.caption, fontsize=8, color=colour)
    figure.suptitle(title, fontsize=10)
    return _save(figure, path)
