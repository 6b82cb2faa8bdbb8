"""The types a JSON or YAML file's fields must have (annotation files, run.json, trial records...), checked
where the file is read.

A reader describes each kind of entry as a table {field: Rule} (the `Rule` of
`zazu.config_rules`, which the config's keys use too) and calls `field_errors` on
every entry: a wrong type (a string where a number belongs, a NaN, a list nested one level off)
becomes one message "`field` must be <what>. Received: field=<value>", never an exception deep
in a reader. Whether that message is fatal or only drops the entry is the reader's choice.
"""

from __future__ import annotations

from zazu.config_rules import Rule, is_integer, is_number, positive


def _numbers(v) -> bool:
    return isinstance(v, list) and all(is_number(x) for x in v)


INTEGER = Rule("an integer", is_integer)
ID = Rule("an integer or a string", lambda v: is_integer(v) or isinstance(v, str))
TEXT = Rule("a non-empty string", lambda v: isinstance(v, str) and v != "")
POSITIVE_NUMBER = positive()
BOX = Rule("[x, y, width, height]: four finite numbers", lambda v: _numbers(v) and len(v) == 4)
FLAG = Rule("0 or 1", lambda v: v in (0, 1) and not isinstance(v, float))
SEGMENTATION = Rule("a list of polygons (lists of finite numbers) or an RLE {size, counts}",
                    lambda v: (isinstance(v, list) and all(_numbers(p) for p in v))
                    or (isinstance(v, dict) and "counts" in v and "size" in v))
LIST = Rule("a list", lambda v: isinstance(v, list))
OBJECT = Rule("a JSON object", lambda v: isinstance(v, dict))
COUNT = Rule("a non-negative integer", lambda v: is_integer(v) and v >= 0)


def field_errors(entry, required: dict[str, Rule], optional: dict[str, Rule] | None = None) -> list[str]:
    """Messages for `entry`'s fields that are missing (required) or of the wrong kind; [] when all fit."""
    if not isinstance(entry, dict):
        return [f"must be a JSON object. Received: {_short(entry)}"]
    errors = []
    for name, rule in required.items():
        if name not in entry:
            errors.append(f"has no `{name}` ({rule.expected})")
        elif not rule.accepts(entry[name]):
            errors.append(f"`{name}` must be {rule.expected}. Received: {name}={_short(entry[name])}")
    for name, rule in (optional or {}).items():
        if entry.get(name) is not None and not rule.accepts(entry[name]):
            errors.append(f"`{name}` must be {rule.expected}. Received: {name}={_short(entry[name])}")
    return errors


def class_name_errors(names: list) -> list[str]:
    """Messages for class names that are not a non-empty string or a number (YAML reads `no` as false
    and `~` as null), or that repeat an earlier name (two outputs of the model would carry one label);
    [] when all are fine."""
    errors, first = [], {}
    for i, name in enumerate(names):
        if not (TEXT.accepts(name) or is_number(name)):
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
