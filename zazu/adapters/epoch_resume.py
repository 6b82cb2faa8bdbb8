"""Continue an interrupted training at the epoch it reached.

While a trial trains, after every epoch its weights, the learning rate, the
best monitored value and the per-epoch history are kept in `<trial>/resume/`.
When the same trial is run again after a kill (`zazu search --resume`,
`zazu train --resume`), `fit_keeping_best` starts from there instead of epoch
0. Not carried over: the optimizer's moment estimates and early stopping's
patience count, which start afresh. The folder is removed when training ends,
so a finished trial keeps only its best checkpoint, and its last state without
the weights (`final_state.json`).

A trial Hyperband promotes continues its parent the same way (`continue_from`):
the parent's best checkpoint and final state become the child's resume point,
so it starts at the parent's epoch and weights instead of from scratch.

Each epoch's weights go to a new file before `state.json` (written atomically)
points at it, so a kill at any moment leaves a consistent pair.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

from zazu.atomic_io import atomic_write_json, read_json

FOLDER = "resume"
STATE = "state.json"
FINAL_STATE = "final_state.json"  # a finished trial's last state (no weights: its checkpoint holds them)


def saved_state(trial_dir: Path) -> dict[str, Any] | None:
    """The resume point of a trial folder, or None when there is none (or it is incomplete)."""
    path = Path(trial_dir) / FOLDER / STATE
    if not path.is_file():
        return None
    state = read_json(path)
    if not (Path(trial_dir) / FOLDER / state.get("weights", "")).is_file():
        return None
    return state


def restore(model, trial_dir: Path, state: dict[str, Any]) -> None:
    """Load the saved weights and learning rate into the compiled `model`; rewrite history.csv
    to the epochs the state holds (a kill may have come between the two writes)."""
    model.load_weights(Path(trial_dir) / FOLDER / state["weights"])
    if state.get("learning_rate") is not None:
        model.optimizer.learning_rate.assign(state["learning_rate"])
    write_history(trial_dir, state["history"], state["epochs_done"])


def write_history(trial_dir: Path, history: dict[str, list], epochs: int) -> None:
    """history.csv in CSVLogger's layout (so it can append) for `epochs` epochs. A metric that only
    later phases log (e.g. the learning rate) is blank in the epochs before it."""
    keys = sorted(history)
    with open(Path(trial_dir) / "history.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", *keys])
        for epoch in range(epochs):
            writer.writerow([epoch, *(_at(history[k], epoch, epochs) for k in keys)])


def _at(values: list, epoch: int, epochs: int):
    offset = epochs - len(values)  # a shorter series belongs to the last epochs
    return values[epoch - offset] if epoch >= offset else ""


def resume_callback(trial_dir: Path, keep_best, state: dict[str, Any] | None):
    """A Keras callback that writes the resume point after every epoch. `keep_best` is the
    ModelCheckpoint that keeps the best epoch; its best value so far goes into the state."""
    import keras

    folder = Path(trial_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    history: dict[str, list] = {k: list(v) for k, v in (state or {}).get("history", {}).items()}

    class ResumePoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                history.setdefault(key, []).append(float(value))
            weights = f"epoch-{epoch + 1}.weights.h5"
            self.model.save_weights(folder / weights)
            learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            best = None if keep_best.best is None else float(keep_best.best)
            atomic_write_json(folder / STATE, {"epochs_done": epoch + 1, "weights": weights, "best": best,
                                               "monitor": keep_best.monitor, "learning_rate": learning_rate,
                                               "history": history})
            for old in folder.glob("epoch-*.weights.h5"):
                if old.name != weights:
                    old.unlink(missing_ok=True)

    return ResumePoint()


def finish(trial_dir: Path) -> None:
    """Training ended: keep the last state (what a promoted Hyperband trial continues), drop the weights."""
    state = saved_state(trial_dir)
    if state is not None:
        atomic_write_json(Path(trial_dir) / FINAL_STATE, {k: v for k, v in state.items() if k != "weights"})
    shutil.rmtree(Path(trial_dir) / FOLDER, ignore_errors=True)


def continue_from(parent_dir: Path, trial_dir: Path, checkpoint: str, load_weights_of) -> int | None:
    """Make `parent_dir`'s finished training `trial_dir`'s resume point: its best checkpoint (copied) and
    its final state, with the checkpoint's weights as the state's weights. Returns the epoch the trial
    will continue after, or None when the parent left nothing to continue (then it trains from scratch).
    `load_weights_of(path)` loads a checkpoint file as a Keras model (the task adapter's `load_trained`)."""
    parent_dir, trial_dir = Path(parent_dir), Path(trial_dir)
    final = parent_dir / FINAL_STATE
    if not (final.is_file() and (parent_dir / checkpoint).is_file()):
        return None
    state = read_json(final)
    folder = trial_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(parent_dir / checkpoint, trial_dir / checkpoint)
    weights = f"epoch-{state['epochs_done']}.weights.h5"
    load_weights_of(trial_dir / checkpoint).save_weights(folder / weights)
    atomic_write_json(folder / STATE, {**state, "weights": weights})
    return int(state["epochs_done"])
