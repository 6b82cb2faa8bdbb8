"""Continue an interrupted training at the epoch it reached.

While a trial trains, after every epoch its weights, the learning rate, the
best monitored value and the per-epoch history are kept in `<trial>/resume/`.
When the same trial is run again after a kill (`zazu search --resume`,
`zazu train --resume`), `fit_keeping_best` starts from there instead of epoch
0. Not carried over: the optimizer's moment estimates and early stopping's
patience count, which start afresh. The folder is removed when training ends,
so a finished trial keeps only its best checkpoint.

Each epoch's weights go to a new file before `state.json` (written atomically)
points at it, so a kill at any moment leaves a consistent pair.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

from zazu.runs import atomic_write_json, read_json

FOLDER = "resume"
STATE = "state.json"


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
    shutil.rmtree(Path(trial_dir) / FOLDER, ignore_errors=True)
