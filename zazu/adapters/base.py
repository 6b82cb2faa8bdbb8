"""The adapter contract, spelled out.

Zazu drives an adapter through `reformat -> data_loader -> preprocess -> build ->
train -> get_metrics` (the ZazuML order). Only `__init__`, `train` and
`get_metrics` are mandatory for a duck-typed `AdaptModel`; the task base classes
implement everything except `build()`. Two optional methods let Zazu ship the
winner: `save(trial_dir)` after a trial and `export(trial_dir, out_dir)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class BaseAdapter:
    """Common state: `model_specs` (what and where) and `hp` (this trial's values).

    `model_specs` keys: name, task, model_space, training_configs, data
    ({home_path, annotation_type, split}), run_dir, trial_dir, seed, epochs.
    `hp_values`: the model's `training_configs` updated with the values the
    oracle sampled for this trial, and `epochs`.
    """

    task: str = ""

    def __init__(self, model_specs: dict[str, Any], hp_values: dict[str, Any]):
        self.model_specs = dict(model_specs)
        self.hp = dict(hp_values)
        self.seed = int(self.model_specs.get("seed", 0))
        trial_dir = self.model_specs.get("trial_dir")
        self.trial_dir = Path(trial_dir) if trial_dir else None
        self.model = None

    def reformat(self) -> None:
        """Convert annotations into what the model reads. Zazu's data layer reads
        the supported formats directly, so the base class has nothing to do."""

    def data_loader(self) -> None:
        """Read the dataset and this run's train/val split."""
        raise NotImplementedError

    def preprocess(self) -> None:
        """Build the input pipelines (resize, augment, batch)."""
        raise NotImplementedError

    def build(self):
        """Return an uncompiled `keras.Model`; Zazu stores it as `self.model`.

        This is the one method a zoo adapter must write. Read its
        hyperparameters from `self.hp`.
        """
        raise NotImplementedError(f"{type(self).__name__}.build() must return a keras.Model.")

    def train(self) -> None:
        """Train `self.model` for `self.hp['epochs']` epochs."""
        raise NotImplementedError

    def get_metrics(self) -> dict[str, float]:
        """Return a dict of floats holding the task's objective (e.g. `val_accuracy`)."""
        raise NotImplementedError

    # -- shared helpers -------------------------------------------------------
    def hp_value(self, name: str, default: Any = None) -> Any:
        return self.hp.get(name, default)

    @property
    def input_size(self) -> tuple[int, int]:
        """`input_size` hyperparameter: an int (square) or [height, width]."""
        size = self.hp.get("input_size", 64)
        if isinstance(size, (list, tuple)):
            return int(size[0]), int(size[1])
        return int(size), int(size)

    def load_split(self):
        """(dataset, {"train": [records], "val": [records], ...}) for this run.

        In a search, the records the driver checked and the split it wrote
        (`model_specs["data"]["records"]`, `["split"]`); used on its own, the
        adapter reads, checks and splits `data.home_path` itself."""
        from zazu.data.check import check_dataset
        from zazu.data.readers import read_dataset
        from zazu.data.records import dataset_from_json
        from zazu.data.split import read_split, split_dataset
        from zazu.runs import read_json

        data = self.model_specs.get("data", {})
        if data.get("records") and data.get("split"):
            dataset = dataset_from_json(read_json(Path(data["records"])))
            split = read_split(data["split"])
        else:
            dataset = check_dataset(read_dataset(data["home_path"], data.get("annotation_type", "auto"))).dataset
            split = split_dataset(dataset, 0.2, self.seed)
        by_path = {r.path: r for r in dataset.records}
        sides = {name: [by_path[p] for p in split[name]] for name in ("train", "val", "test") if name in split}
        return dataset, sides

    def augmentation(self) -> dict | None:
        """The run's augmentation settings when this trial's `augment` hp is true, else None."""
        from zazu.data.augment import resolve_augmentation

        if not self.hp.get("augment", True):
            return None
        return resolve_augmentation(self.model_specs.get("data", {}).get("augmentation"))

    def require_trial_dir(self) -> Path:
        if self.trial_dir is None:
            raise ValueError("model_specs['trial_dir'] is not set; the adapter has nowhere to write.")
        self.trial_dir.mkdir(parents=True, exist_ok=True)
        return self.trial_dir
