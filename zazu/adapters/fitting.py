"""How a task base adapter trains its model: phase by phase, keeping the best epoch, resumable.

A collaborator of the adapter, not a part of it: these functions take the adapter and use only what the
`Trainable` protocol below names, so a task base's own methods stay its hooks (`compile_for`,
`before_fit`) and its data.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Protocol

from zazu.run_records import CHECKPOINT


class Trainable(Protocol):
    """What fitting reads from an adapter."""

    model: Any
    hp: dict
    train_ds: Any
    val_ds: Any
    reload_compiled: bool
    progress_callbacks: tuple
    model_specs: Any  # TrialInputs: its deadline

    def compile_for(self, learning_rate: float) -> None: ...
    def before_fit(self, initial_epoch: int) -> None: ...
    def fit_callbacks(self) -> list: ...
    def require_trial_dir(self) -> Path: ...
    def load_trained(self, path: Path, compile: bool = True): ...


def training_phases(adapter: Trainable):
    """The phases of this trial's training (`zazu.adapters.transfer`): one for a model trained from scratch;
    frozen backbone, then fine-tuning, for a pretrained one. Keeps the backbone found as `adapter.backbone`."""
    from zazu.adapters import transfer

    adapter.backbone = transfer.pretrained_backbone(adapter.model, adapter.hp)
    return transfer.plan_phases(adapter.hp, adapter.backbone is not None)


def fit_in_phases(adapter: Trainable, monitor: str, mode: str,
                  fit_frozen_on_cache: Callable | None = None) -> None:
    """`fit_keeping_best` over `training_phases()`; with `fit_frozen_on_cache` (phase -> (epochs done, best
    value, history)), the frozen phase trains on cached backbone outputs instead, unless a resume point shows
    it already finished."""
    from zazu.adapters import epoch_resume

    phases = training_phases(adapter)
    start, best, history = 0, None, None
    if phases[0].name == "frozen" and fit_frozen_on_cache is not None:
        state = epoch_resume.saved_state(adapter.require_trial_dir())
        if state is None or state["epochs_done"] < phases[0].end_epoch:
            start, best, history = fit_frozen_on_cache(phases[0])
        phases = phases[1:]
    fit_keeping_best(adapter, monitor, mode, phases, start, best, history)


def fit_keeping_best(adapter: Trainable, monitor: str, mode: str, phases=None, start_epoch: int = 0,
                     best: float | None = None, history: dict | None = None) -> None:
    """Fit `adapter.model` on its `train_ds` / `val_ds`, phase by phase (each sets what learns and compiles at
    its learning rate), with early stopping per phase (`patience`), the learning rate falling by a cosine to the
    phase's end or the deadline (`zazu.adapters.schedule`), a per-epoch CSV log, TensorBoard logs and one
    keep-best checkpoint (`model.keras` in the trial folder), then reload that best epoch: it is what gets
    measured and shipped. `start_epoch`, `best` and `history`: what an earlier phase trained elsewhere (the
    pooled-feature head of a classifier) left, its weights already in the checkpoint.

    A trial interrupted mid-training and run again continues from its last finished epoch
    (`zazu.adapters.epoch_resume`), in the phase that epoch belongs to."""
    import keras

    from zazu.adapters import epoch_resume, transfer
    from zazu.adapters.deadline import deadline_callbacks, past_deadline
    from zazu.adapters.schedule import cosine_to_budget
    from zazu.data.pipeline import endless
    from zazu.interrupts import interrupt_callback

    folder = adapter.require_trial_dir()
    checkpoint = folder / CHECKPOINT
    deadline = adapter.model_specs.deadline
    phases = training_phases(adapter) if phases is None else phases
    patience = int(adapter.hp["patience"])
    state = epoch_resume.saved_state(folder) if checkpoint.exists() else None
    done = state["epochs_done"] if state else start_epoch
    threshold = state["best"] if state else best
    keep_best = keras.callbacks.ModelCheckpoint(checkpoint, monitor=monitor, mode=mode, save_best_only=True,
                                                initial_value_threshold=threshold)
    resume_point = epoch_resume.resume_callback(folder, keep_best, state or (
        {"history": history} if history else None))
    adapter.history = {k: list(v) for k, v in ((state or {}).get("history") or history or {}).items()}
    adapter.resumed_from_epoch = state["epochs_done"] if state else 0
    append = state is not None or start_epoch > 0
    phase_start = start_epoch
    for phase in phases:
        if done >= phase.end_epoch:
            phase_start = phase.end_epoch
            continue
        if checkpoint.exists() and past_deadline(deadline):
            break  # the time budget is spent: keep what the earlier phases reached
        transfer.apply_phase(adapter.model, phase, getattr(adapter, "backbone", None))
        adapter.compile_for(phase.learning_rate)
        if state is not None:
            epoch_resume.restore(adapter.model, folder, state)
            state = None
        adapter.before_fit(max(done, phase_start))
        train, steps = endless(adapter.train_ds)
        callbacks = [
            keras.callbacks.TerminateOnNaN(),
            keep_best,
            keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience),
            cosine_to_budget(phase.learning_rate, phase_start, phase.end_epoch, deadline,
                             warmup_steps=(steps or 0) if phase.name == "fine_tune" else 0),
            *logging_callbacks(folder, append),
            resume_point,  # after keep_best: reads its best value
            *adapter.progress_callbacks,  # per-epoch progress for the search's reporter (passed in)
            *deadline_callbacks(deadline),
            *adapter.fit_callbacks(),
            interrupt_callback(),  # a Ctrl-C Python swallowed is raised at the next batch end
        ]
        fitted = adapter.model.fit(train, steps_per_epoch=steps, validation_data=adapter.val_ds,
                                   epochs=phase.end_epoch, initial_epoch=max(done, phase_start), callbacks=callbacks,
                                   verbose=0, shuffle=False)  # tf.data shuffles
        for key, values in fitted.history.items():
            adapter.history.setdefault(key, []).extend(values)
        done = max(done, phase_start) + len(fitted.history.get("loss", []))
        phase_start = phase.end_epoch
        append = True
    finish_training(adapter, folder, rewrite_history=start_epoch > 0)


def finish_training(adapter: Trainable, folder: Path, rewrite_history: bool) -> None:
    """A failed training (a loss not finite, or no epoch kept) is a TrialFailed; otherwise drop the resume
    point and reload the best epoch. `rewrite_history`: phases trained apart logged different metrics, so
    history.csv is written again as one table for all of them."""
    from zazu.adapters import epoch_resume
    from zazu.errors import TrialFailed

    losses = adapter.history.get("loss", [])
    if any(not math.isfinite(v) for v in losses) or not (folder / CHECKPOINT).exists():
        raise TrialFailed(f"training loss became NaN or infinite (loss per epoch: {losses}).")
    if rewrite_history:
        epoch_resume.write_history(folder, adapter.history, len(losses))
    epoch_resume.finish(folder)
    adapter.model = adapter.load_trained(folder / CHECKPOINT, compile=adapter.reload_compiled)


def logging_callbacks(folder: Path, append: bool) -> list:
    """The per-epoch CSV log (history.csv, appended to when training continues) and TensorBoard's curves."""
    import keras

    return [keras.callbacks.CSVLogger(str(folder / "history.csv"), append=append),
            keras.callbacks.TensorBoard(str(folder / "tensorboard"), write_graph=False)]
