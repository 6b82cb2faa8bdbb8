"""`hp_search_space` (ZazuML format) <-> `keras_tuner.HyperParameters`.

keras-tuner's `hp.Choice` takes scalars of one type only. `values` lists that are
not (e.g. anchor ratios `[[0.5, 1, 2], [1, 2]]`, or `[null, 3]`) are encoded as
JSON strings for the oracle and decoded back before the adapter sees them (so are
booleans, which keras-tuner would turn into 1 and 0). Lists
mixing ints and floats become floats. Ranges ({min, max, step, sampling}) become
`hp.Int` when min, max and step are integers, `hp.Float` otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

TUNER_PREFIX = "tuner/"  # keras-tuner's own bookkeeping values (Hyperband)


def _kind(values: list[Any]) -> str:
    # bools are JSON-encoded too: keras-tuner's Choice turns True into 1
    if any(isinstance(v, bool) for v in values):
        return "json"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float"
    if all(isinstance(v, str) for v in values):
        return "str"
    return "json"


@dataclass
class SpaceCodec:
    """Builds the HyperParameters and decodes a trial's values for the adapter."""

    entries: list[dict[str, Any]]
    encoded: set[str] = field(default_factory=set)

    def hyperparameters(self):
        import keras_tuner

        hp = keras_tuner.HyperParameters()
        self.encoded = set()
        for entry in self.entries:
            name, sampling = entry["name"], entry.get("sampling")
            if "values" in entry:
                values = entry["values"]
                kind = _kind(values)
                default = entry.get("default", values[0])
                if kind == "json":
                    self.encoded.add(name)
                    values = [json.dumps(v) for v in values]
                    default = json.dumps(default)
                elif kind == "float":
                    values = [float(v) for v in values]
                    default = float(default)
                hp.Choice(name, values, default=default, ordered=kind in ("int", "float"))
                continue
            lo, hi, step = entry["min"], entry["max"], entry.get("step")
            kwargs = {"sampling": sampling or "linear"}
            if "default" in entry:
                kwargs["default"] = entry["default"]
            if all(isinstance(v, int) for v in (lo, hi)) and (step is None or isinstance(step, int)):
                hp.Int(name, lo, hi, step=step, **kwargs)
            else:
                hp.Float(name, float(lo), float(hi), step=step, **kwargs)
        return hp

    def decode(self, values: dict[str, Any]) -> dict[str, Any]:
        """A trial's values as the adapter should see them (tuner/* bookkeeping dropped)."""
        out = {}
        for name, value in values.items():
            if name.startswith(TUNER_PREFIX):
                continue
            out[name] = json.loads(value) if name in self.encoded else value
        return out
