"""YAML and JSON parsing that refuses a key written twice in one mapping.

PyYAML and `json` keep the last of two equal keys without a word, so `max_trials: 1` followed by
`max_trials: 999` would run 999 trials. Both parsers here raise `DuplicateKeyError` naming the key
(and, for YAML, its line); callers turn it into their own one-line error naming the file.
"""

from __future__ import annotations

import json
from typing import Any


class DuplicateKeyError(ValueError):
    def __init__(self, key: Any, line: int | None = None):
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"key `{key}` appears twice in one mapping{where}. Expected each key once")
        self.key = key
        self.line = line


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKeyError(key)
        seen[key] = value
    return seen


def loads_json(text: str) -> Any:
    """`json.loads`, refusing a duplicated key (DuplicateKeyError) besides its own JSONDecodeError."""
    return json.loads(text, object_pairs_hook=_unique_pairs)


def _yaml_loader():
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`: its keys may be overridden
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicated = key in seen
                except TypeError:  # an unhashable key: SafeLoader's own error follows
                    break
                if duplicated:
                    raise DuplicateKeyError(key, key_node.start_mark.line + 1)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def loads_yaml(text: str) -> Any:
    """`yaml.safe_load`, refusing a duplicated key (DuplicateKeyError) besides its own YAMLError."""
    import yaml

    return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 (a SafeLoader subclass)
