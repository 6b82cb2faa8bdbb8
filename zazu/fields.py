"""The types a JSON or YAML file's fields must have (annotation files, run.json, trial records...), checked
where the file is read.

A reader describes each kind of entry as a table {field: Kind} and calls `field_errors` on
every entry: a wrong type (a string where a number belongs, a NaN, a list nested one level off)
becomes one message "`field` must be <what>. Received: field=<value>", never an exception deep
in a reader. Whether that message is fatal or only drops the entry is the reader's choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zazu.config_rules import is_integer, is_number


def _numbers(v) -> bool:
    return isinstance(v, list) and all(is_number(x) for x in v)


@dataclass(frozen=True)
class Kind:
    test: Callable[[object], bool]
    expected: str


INTEGER = Kind(is_integer, "an integer")
ID = Kind(lambda v: is_integer(v) or isinstance(v, str), "an integer or a string")
TEXT = Kind(lambda v: isinstance(v, str) and v != "", "a non-empty string")
POSITIVE_NUMBER = Kind(lambda v: is_number(v) and v > 0, "a positive number")
BOX = Kind(lambda v: _numbers(v) and len(v) == 4, "[x, y, width, height]: four finite numbers")
FLAG = Kind(lambda v: v in (0, 1) and not isinstance(v, float), "0 or 1")
SEGMENTATION = Kind(lambda v: (isinstance(v, list) and all(_numbers(p) for p in v))
                    or (isinstance(v, dict) and "counts" in v and "size" in v),
                    "a list of polygons (lists of finite numbers) or an RLE {size, counts}")
LIST = Kind(lambda v: isinstance(v, list), "a list")
OBJECT = Kind(lambda v: isinstance(v, dict), "a JSON object")
COUNT = Kind(lambda v: is_integer(v) and v >= 0, "a non-negative integer")


def field_errors(entry, required: dict[str, Kind], optional: dict[str, Kind] | None = None) -> list[str]:
    """Messages for `entry`'s fields that are missing (required) or of the wrong kind; [] when all fit."""
    if not isinstance(entry, dict):
        return [f"must be a JSON object. Received: {_short(entry)}"]
    errors = []
    for name, kind in required.items():
        if name not in entry:
            errors.append(f"has no `{name}` ({kind.expected})")
        elif not kind.test(entry[name]):
            errors.append(f"`{name}` must be {kind.expected}. Received: {name}={_short(entry[name])}")
    for name, kind in (optional or {}).items():
        if entry.get(name) is not None and not kind.test(entry[name]):
            errors.append(f"`{name}` must be {kind.expected}. Received: {name}={_short(entry[name])}")
    return errors


def class_name_errors(names: list) -> list[str]:
    """Messages for class names that are not a non-empty string or a number (YAML reads `no` as false
    and `~` as null), or that repeat an earlier name (two outputs of the model would carry one label);
    [] when all are fine."""
    errors, first = [], {}
    for i, name in enumerate(names):
        if not (TEXT.test(name) or is_number(name)):
            errors.append(f"class names must be non-empty strings. Received: names[{i}]={_short(name)}"
                          + (" (quote it in YAML)" if isinstance(name, bool) or name is None else ""))
        elif str(name) in first:
            errors.append(f"class names must be unique. Received: {str(name)!r} as class {first[str(name)]} "
                          f"and class {i}")
        else:
            first[str(name)] = i
    return errors


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
