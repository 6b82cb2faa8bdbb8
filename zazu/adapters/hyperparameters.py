"""A task base's hyperparameters, declared once: name, default and what it means.

`BaseAdapter.hyperparameters` and each task base's table are the only place a default is written: an
adapter's `self.hp` is that table's defaults updated with the model's models.json entry
(`training_configs` and the values sampled from its `hp_search_space`), so code reads `self.hp[name]`
and never carries a default of its own. `zazu train --hp` accepts these names (and the entry's own) and
checks a value against its `bounds`; `zazu zoo hyperparameters TASK` prints the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    default: Any  # None: not set (the code that reads it says what absence means)
    meaning: str
    # (kind, lowest, highest) a value fixed by hand must have (`zazu train --hp`, `fixed_hyperparameters`): a
    # 100000-px input would run out of memory a minute into training instead of being refused before it
    bounds: tuple[type, float, float] | None = None


def declare(inherited: tuple[Hyperparameter, ...], *added: Hyperparameter) -> tuple[Hyperparameter, ...]:
    """`inherited` with `added` appended; an added name already inherited replaces it in place (a task
    base changing a default)."""
    by_name = {h.name: h for h in added}
    kept = tuple(by_name.pop(h.name, h) for h in inherited)
    return kept + tuple(h for h in added if h.name in by_name)


class DeclaredNames:
    """`known_hyperparameters` on an adapter class: the names of its `hyperparameters` table, read from
    whichever class it is asked on (a task base's own table, not the base's)."""

    def __get__(self, instance, owner) -> tuple[str, ...]:
        return tuple(h.name for h in owner.hyperparameters)


def defaults(table: tuple[Hyperparameter, ...]) -> dict[str, Any]:
    return {h.name: h.default for h in table}


class MissingHyperparameter(KeyError):
    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


class HyperparameterValues(dict):
    """`self.hp`: the trial's values (the task base's declared defaults, updated with the models.json
    entry's training_configs, the values sampled from its hp_search_space, and `epochs`). A zoo model
    reads each by name; one neither declared nor in its entry is an error that says where it belongs."""

    def __init__(self, values: dict[str, Any], model: str | None, declared: tuple[Hyperparameter, ...] = ()):
        super().__init__({**defaults(declared), **values})
        self.model = model
        self.given = tuple(sorted(values))  # what the entry (and the search) set, for the error below

    def __missing__(self, key):
        raise MissingHyperparameter(
            f"hyperparameter `{key}` is not in the models.json entry of {self.model or 'this model'}. Expected it "
            f"in the entry's training_configs or hp_search_space. Received: {', '.join(self.given) or 'none'}")
