"""Names that several modules must agree on are tied here, so one cannot drift from the others: the tasks'
tables, the search methods and their oracles, the annotation formats and their readers, the split names."""

from __future__ import annotations

import ast
from pathlib import Path

ZAZU = Path(__file__).resolve().parents[1] / "zazu"


def test_every_task_table_has_exactly_the_tasks():
    from zazu.adapters import TASK_BASES
    from zazu.data.synthetic import WRITERS
    from zazu.scaffold import TEMPLATES
    from zazu.tasks import TASKS

    assert set(WRITERS) == set(TEMPLATES) == set(TASK_BASES) == set(TASKS)
    assert all(TASK_BASES[name].objective == task.objective for name, task in TASKS.items())


def test_search_methods_are_the_oracles():
    from zazu.config import SEARCH_METHODS
    from zazu.search.oracles import BASES

    assert set(SEARCH_METHODS) == set(BASES)


def test_annotation_types_are_auto_and_the_readers_formats():
    from zazu.config import ANNOTATION_TYPES
    from zazu.data.readers import FORMATS

    assert ANNOTATION_TYPES == ("auto", *FORMATS)


def test_split_names_are_written_only_in_records():
    """A tuple, list or set literal holding "train" and "val" (or "val" and "test") spells the splits again."""
    home = "zazu/data/records.py"
    offenders = []
    for path in sorted(ZAZU.rglob("*.py")):
        rel = path.relative_to(ZAZU.parent).as_posix()
        if rel == home:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                words = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if {"train", "val"} <= words or {"val", "test"} <= words:
                    offenders.append(f"{rel}:{node.lineno}")
    assert offenders == [], f"use SPLIT_NAMES / TRAIN, VAL, TEST from {home}"
