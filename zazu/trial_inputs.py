"""What goes into an adapter: `TrialInputs`, the typed form of ZazuML's `model_specs`.

The search builds one per trial (`zazu.search.tuner`) and passes it as the adapter's first argument.
It is a read-only `Mapping` too, so the ZazuML contract stands: an adapter written against the plain
dict (`model_specs["data"]["home_path"]`, `model_specs.get("trial_dir")`) reads it unchanged. An unset
field is absent from the mapping, as it was from the dict. `trial.json` keeps it as JSON
(`to_json()`); `from_mapping` reads that back, from run folders of any age, or a hand-made dict.

Callbacks (the search's per-epoch progress) travel with it, passed in explicitly as keras-tuner passes
its callbacks, and are not part of the JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class _ReadOnlyFields(Mapping):
    """A frozen dataclass read as a mapping of its set (not None) JSON fields."""

    _not_json: tuple[str, ...] = ()

    def _names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self) if f.name not in self._not_json]

    def __getitem__(self, key: str) -> Any:
        if key not in self._names() or getattr(self, key) is None:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._names() if getattr(self, name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class TrialData(_ReadOnlyFields):
    """Where the trial's data is, and how it is augmented."""

    home_path: str
    annotation_type: str = "auto"
    split: str | None = None  # the run's split.json; None: the adapter splits the data itself
    records: str | None = None  # the run's dataset.json (checked records); None: read and check home_path
    augmentation: dict | None = None  # the run's augmentation block, resolved

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "TrialData":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class TrialInputs(_ReadOnlyFields):
    """One trial's inputs: the model, its data, its folders, its seed and schedule, and what the run asks
    of the model it ships (`export`, `target`)."""

    name: str | None = None  # the zoo entry
    task: str | None = None
    data: TrialData | None = None
    run_dir: str | None = None
    trial_dir: str | None = None  # where the adapter writes; None: nowhere (inference only)
    seed: int = 0
    epochs: int | None = None
    deadline: float | None = None  # time.time() at which the search's time budget ends
    export: dict | None = None  # the run's export block
    target: dict | None = None  # the run's device budget
    model_space: dict | None = None
    training_configs: dict | None = None
    callbacks: tuple = field(default=(), compare=False)  # Keras callbacks every model.fit adds (progress)

    _not_json = ("callbacks",)

    @classmethod
    def from_mapping(cls, specs: Mapping[str, Any] | None) -> "TrialInputs":
        """From a `model_specs` mapping: a TrialInputs as is, a trial.json's dict, a hand-made one (keys this
        class does not know are left out)."""
        if isinstance(specs, TrialInputs):
            return specs
        specs = dict(specs or {})
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in specs.items() if k in known}
        if isinstance(values.get("data"), Mapping):
            values["data"] = TrialData.from_mapping(values["data"])
        if values.get("seed") is None:
            values.pop("seed", None)
        return cls(**values)

    def replace(self, **changes) -> "TrialInputs":
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The plain dict trial.json keeps (and that older run folders hold)."""
        return {k: (dict(v) if isinstance(v, TrialData) else v) for k, v in self.items()}
