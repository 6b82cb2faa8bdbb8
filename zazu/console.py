"""The one place that talks to the terminal during a search.

Every event prints one permanent line (trial started, trial finished with the
best so far and the time left in the budget, messages, warnings). On a
terminal, a live `rich` panel under those lines also shows each running trial:
trial k of n, model, epoch with a bar, latest metrics, best so far and time
left. When output is not a terminal (CI, Docker logs) there is no panel, no
line per epoch and no escape codes.

Epochs reach the reporter through callbacks passed explicitly, as keras-tuner passes its own: the tuner
passes `reporter.epoch_callbacks(trial_key)` in the trial's inputs (`TrialInputs.callbacks`), and the
adapters add them to `model.fit`. A worker process has its own reporter (its log); the chief sees its
trials start and finish.
"""

from __future__ import annotations

import atexit
import json
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.markup import escape
from zazu.trial_status import TrialStatus

def _short(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v) if isinstance(v, (list, dict)) else v}" for k, v in values.items())


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _direction(objective: str) -> str:
    from zazu.tasks import TASKS

    return next((t.direction for t in TASKS.values() if t.objective == objective), "max")


# what the panel says while a trial is in a step other than training
STEP_WORDS = {"reformat": "reading data", "data_loader": "reading data", "preprocess": "building the input pipeline",
              "build": "building the model", "get_metrics": "scoring on val", "save": "saving the model",
              "int8": "int8 export and scoring"}


class _Elapsed:
    """`label` and the time since it was made, as rich renders it (each refresh of a spinner)."""

    def __init__(self, label: str):
        self.label, self.started = label, time.monotonic()

    def __rich__(self) -> str:
        return f"{escape(self.label)} {_clock(time.monotonic() - self.started)}"


@dataclass
class RunningTrial:
    number: int  # k in "trial k of n"
    model: str
    trial_id: str
    started: float = field(default_factory=time.monotonic)
    epoch: int = 0  # epochs finished
    running_epoch: int = 0
    epochs: int = 0
    batch: int = 0  # batches done in the running epoch
    batches: int = 0  # batches an epoch (0: unknown)
    step: str = ""  # the lifecycle step running (`zazu.adapters.lifecycle.STEPS`, or "save")
    logs: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.model}-{self.trial_id}"


class Reporter:
    """Prints a search's progress. The driver sets `total` (trials planned) and `deadline`
    (`time.monotonic()` value at which the time budget ends; None without a budget)."""

    def __init__(self, console=None, quiet: bool = False, live: bool | None = None):
        from rich.console import Console

        # Piped output (CI, Docker logs) has no width; 80 columns would fold the table.
        self.console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 160)
        self.quiet = quiet
        self.live = self.console.is_terminal if live is None else live
        self.started = 0
        self.total = 0
        self.deadline: float | None = None
        # (value, objective, ["model #id", ...]): every trial at the best value, since the export picks among
        # equals by speed or size, not by which came first
        self.best: tuple[float, str, list[str]] | None = None
        self.running: dict[str, RunningTrial] = {}
        self._panel = None  # rich.live.Live while a trial runs on a terminal
        self._lock = threading.Lock()

    # -- lines ------------------------------------------------------------------------------
    def message(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, soft_wrap=True)

    def note(self, text: str) -> None:
        self.message(f"[cyan]note:[/cyan] {escape(text)}")

    def warning(self, text: str) -> None:
        self.console.print(f"[yellow]warning:[/yellow] {escape(text)}", soft_wrap=True)

    def epoch_callbacks(self, trial_key: str) -> list:
        """Keras callbacks that report each epoch of trial `trial_key` (its folder's name, `<model>-<trial_id>`,
        so trials running side by side in one process are told apart) to this reporter."""
        import keras

        reporter = self

        class ReportEpochs(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                reporter.epoch_started(epoch + 1, int(self.params.get("epochs") or 0), trial_key)

            def on_train_batch_end(self, batch, logs=None):
                reporter.batch_finished(batch + 1, int(self.params.get("steps") or 0), trial_key)

            def on_epoch_end(self, epoch, logs=None):
                reporter.epoch_finished(epoch + 1, int(self.params.get("epochs") or 0), dict(logs or {}), trial_key)

        return [ReportEpochs()]

    def trial_started(self, model: str, trial_id: str, hyperparameters: dict[str, Any]) -> None:
        with self._lock:
            self.started += 1
            trial = RunningTrial(self.started, model, str(trial_id))
            self.running[trial.key] = trial
        total = f"/{self.total}" if self.total else ""
        self.message(f"[bold]trial {trial.number}{total}[/bold] {escape(model)} #{escape(str(trial_id))}  "
                     f"{escape(_short(hyperparameters))}")
        self._show_panel()

    def _running_trial(self, trial_key: str | None) -> RunningTrial | None:
        trial = self.running.get(trial_key) if trial_key else None
        if trial is None and len(self.running) == 1:
            trial = next(iter(self.running.values()))
        return trial

    def epoch_started(self, epoch: int, epochs: int, trial_key: str | None = None) -> None:
        """Called by the Keras callback of `epoch_callbacks`; the panel shows the epoch running."""
        with self._lock:
            trial = self._running_trial(trial_key)
            if trial is not None:
                trial.running_epoch, trial.epochs, trial.batch = epoch, epochs, 0

    def batch_finished(self, batch: int, batches: int, trial_key: str | None = None) -> None:
        """Called by the Keras callback after each training batch; the panel shows it. No lock: two ints set
        on every batch, read by the panel's next refresh."""
        trial = self._running_trial(trial_key)
        if trial is not None:
            trial.batch, trial.batches = batch, batches

    def trial_step(self, trial_key: str, step: str) -> None:
        """A trial's lifecycle step started (the tuner's `on_step`); the panel shows what runs."""
        with self._lock:
            trial = self._running_trial(trial_key)
            if trial is not None:
                trial.step = step

    def epoch_finished(self, epoch: int, epochs: int, logs: dict[str, Any], trial_key: str | None = None) -> None:
        """Called by the Keras callback of `epoch_callbacks`; no line is printed, the panel updates."""
        with self._lock:
            trial = self._running_trial(trial_key)
            if trial is None:
                return
            trial.epoch, trial.epochs = epoch, epochs
            trial.logs = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float))}
            if self._panel is not None:
                self._panel.refresh()

    def trial_finished(self, record: dict[str, Any], objective: str) -> None:
        with self._lock:
            trial = self.running.pop(f"{record.get('model')}-{record.get('trial_id')}", None)
            if not self.running:
                self._hide_panel()
        secs = f"{record.get('wall_time_s', 0):.1f}s"
        epochs = f" ({trial.epoch} epoch{'s' if trial.epoch != 1 else ''})" if trial and trial.epoch else ""
        value = (record.get("metrics") or {}).get(objective)
        int8 = (record.get("int8_metrics") or {}).get(objective)
        if record.get("status") == TrialStatus.OVER_BUDGET:
            self.message(f"  [yellow]over budget[/yellow], not trained ({secs} to build and measure): "
                         f"{escape('; '.join(record.get('over_budget') or []))}{escape(self._standing())}")
        elif record.get("status") == TrialStatus.COMPLETED and isinstance(value, (int, float)):
            shipped = float(int8) if isinstance(int8, (int, float)) else float(value)
            self._update_best(shipped, objective, f"{record.get('model')} #{record.get('trial_id')}")
            int8_text = f", int8 {int8:.4f}" if isinstance(int8, (int, float)) else ""
            self.message(f"  [green]done[/green] {objective}={value:.4f}{int8_text} in {secs}{epochs}"
                         f"{escape(self._standing())}")
        else:
            self.message(f"  [red]failed[/red] after {secs}{epochs}: {escape(str(record.get('error', '')))} "
                         f"(traceback in {escape(str(record.get('trial_dir', '?')))}/traceback.txt)"
                         f"{escape(self._standing())}")

    def leaderboard(self, ranked: list[dict[str, Any]], objective: str, limit: int = 20) -> None:
        from rich.table import Table

        self.close()
        table = Table(title="Leaderboard", title_justify="left")
        for column in ("rank", "model", "trial", objective, f"int8 {objective}", "int8 KiB", "RAM KiB",
                       "latency ms", "status", "time", "hyperparameters"):
            table.add_column(column)
        for i, r in enumerate(ranked[:limit], 1):
            done = r["status"] == TrialStatus.COMPLETED
            int8 = (r.get("int8_metrics") or {}).get(objective)
            cost = r.get("cost") or r.get("cost_before_training") or {}
            latency = "-" if cost.get("latency_ms") is None else (
                f"{cost['latency_ms']:.2f}" + (" (est.)" if cost.get("latency_source", "").startswith("estimate") else ""))
            table.add_row(
                str(i) if done else "-", r["model"], r["trial_id"],
                f"{r['metrics'][objective]:.4f}" if done else "-", "-" if int8 is None else f"{int8:.4f}",
                ">=" * bool(cost.get("model_kb_is_lower_bound")) + f"{cost['model_kb']:.0f}" if "model_kb" in cost
                else "-", f"{cost['ram_kb']:.0f}" if cost.get("ram_kb") is not None else "-", latency,
                r["status"], f"{r.get('wall_time_s', 0):.1f}s", _short(r.get("hyperparameters", {})),
            )
        self.console.print(table)

    @contextmanager
    def working(self, label: str):
        """A long step with no trial panel (the export): on a terminal, a spinner with `label` and the time
        it has taken, under the lines the step prints; piped, nothing more than those lines."""
        if not self.live or self.quiet:
            yield
            return
        with self.console.status(_Elapsed(label)):  # the spinner redraws its text, and so the time, itself
            yield

    def close(self) -> None:
        """Stop the live panel (the search ended, failed or was interrupted)."""
        with self._lock:
            self._hide_panel()
            self.running.clear()

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- standing: best so far and time left ------------------------------------------------
    def _update_best(self, value: float, objective: str, name: str) -> None:
        if self.best is None or (value > self.best[0] if _direction(objective) == "max" else value < self.best[0]):
            self.best = (value, objective, [name])
        elif value == self.best[0]:
            self.best[2].append(name)

    def time_left(self) -> str | None:
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        return f"{_clock(left)} left in the time budget" if left > 0 else "time budget spent"

    def _standing(self) -> str:
        parts = []
        if self.best is not None:
            value, objective, names = self.best
            parts.append(f"best {objective}={value:.4f} ({', '.join(names)}{' tied' if len(names) > 1 else ''})")
        if self.time_left():
            parts.append(self.time_left())
        return ("  | " + "; ".join(parts)) if parts else ""

    # -- the live panel (terminals only) ----------------------------------------------------
    def _show_panel(self) -> None:
        from rich.live import Live

        with self._lock:
            if not self.live or self._panel is not None:
                return
            self._panel = Live(get_renderable=self._render, console=self.console, refresh_per_second=2,
                               transient=True, redirect_stdout=False, redirect_stderr=False)
            self._panel.start()
        if not getattr(self, "_closes_at_exit", False):
            atexit.register(self.close)  # an interrupted search must not leave the cursor hidden
            self._closes_at_exit = True

    def _hide_panel(self) -> None:
        if self._panel is not None:
            self._panel.stop()
            self._panel = None

    def _render(self):
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 1))
        for _ in range(5):
            grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True, overflow="ellipsis")  # latest validation metrics: cut, never folded
        total = f"/{self.total}" if self.total else ""
        for trial in list(self.running.values()):
            shown = max(trial.running_epoch, trial.epoch)
            if trial.step and trial.step != "train":
                epoch = STEP_WORDS.get(trial.step, trial.step)
            elif not shown:
                epoch = "starting training"  # e.g. a pretrained backbone's features being cached
            else:
                epoch = f"epoch {shown}/{trial.epochs}" if trial.epochs else "epoch -"
                if trial.batches and trial.running_epoch > trial.epoch:
                    epoch += f" batch {trial.batch}/{trial.batches}"
            logs = " ".join(f"{k}={v:.4g}" for k, v in trial.logs.items() if k.startswith("val_"))
            grid.add_row(Text(f"trial {trial.number}{total}", style="bold"), Text(f"{trial.model} #{trial.trial_id}"),
                         Text(epoch), ProgressBar(total=max(trial.epochs, 1), completed=trial.epoch, width=20),
                         Text(_clock(time.monotonic() - trial.started), style="dim"), Text(logs, style="dim"))
        standing = self._standing().removeprefix("  | ")
        return Group(grid, Text(standing or "no trial finished yet", style="cyan"))
