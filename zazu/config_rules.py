"""What a config value must be, as data: a `Rule` per key, and one check that reads a table of them.

Every block of the config (the top level, `data`, `export`, `target`, `augmentation`) states its keys
in a table `{dotted key: Rule}`; `check_rules` walks it and stops at the first value a rule does not
accept, with one message in the form every config error takes:

    `export.profile_runs` must be an integer >= 1. Received: profile_runs=0

Values are never coerced: a rule accepts a value as written, or the run stops (`1.0` is not an
integer, `"true"` is not true). What a single key cannot say (val_split + test_split < 1, a list
of export formats given as one comma-separated string) stays beside the table that needs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from zazu.errors import ConfigError
from zazu.suggest import did_you_mean


@dataclass(frozen=True)
class Rule:
    expected: str  # completes "`key` must be ..."
    accepts: Callable[[Any], bool]
    choices: tuple = ()  # a misspelt choice gets "Did you mean ...?"


def is_number(value: Any) -> bool:
    """A finite int or float; bool is not a number here."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def nullable(rule: Rule) -> Rule:
    return Rule(f"{rule.expected} or null", lambda v: v is None or rule.accepts(v), rule.choices)


def text() -> Rule:
    return Rule("a non-empty string", lambda v: isinstance(v, str) and bool(v.strip()))


def choice(values: tuple, suggest: bool = False) -> Rule:
    return Rule(f"one of {', '.join(values)}", lambda v: isinstance(v, str) and v in values,
                tuple(values) if suggest else ())


def integer(minimum: int) -> Rule:
    return Rule(f"an integer >= {minimum}", lambda v: is_integer(v) and v >= minimum)


def positive() -> Rule:
    return Rule("a positive number", lambda v: is_number(v) and v > 0)


def number_from(minimum: float) -> Rule:
    return Rule(f"a number >= {minimum:g}", lambda v: is_number(v) and v >= minimum)


def boolean() -> Rule:
    return Rule("true or false", lambda v: isinstance(v, bool))


def check_rules(block: dict[str, Any], rules: dict[str, Rule | tuple[Rule, ...]], prefix: str = "") -> None:
    """Raise ConfigError for the first key of `rules` (dotted within `block`) whose value a rule does
    not accept; a key with several rules is checked in their order (a choice is first checked to be
    text, so `task: [x]` is told it must be a string). `prefix` is the block's own place in the
    config (e.g. "export.")."""
    for dotted, key_rules in rules.items():
        value = block
        for part in dotted.split("."):
            value = value[part]
        rule = next((r for r in (key_rules if isinstance(key_rules, tuple) else (key_rules,))
                     if not r.accepts(value)), None)
        if rule is not None:
            key = dotted.rpartition(".")[2]
            hint = did_you_mean(value, rule.choices) if rule.choices and isinstance(value, str) else ""
            raise ConfigError(f"`{prefix}{dotted}` must be {rule.expected}. Received: {key}={value!r}{hint}")
