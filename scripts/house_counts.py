"""Counts of what issue 31 asked to write once, over a source tree (default: zazu/): trial-status string
literals and where, task-name literals outside zazu/tasks.py, inline hyperparameter defaults
(`hp.get(name, default)` and the like), and the classes with the most methods.

    python scripts/house_counts.py [SOURCE_DIR]
"""

from __future__ import annotations

import ast
import collections
import sys
from pathlib import Path

STATUSES = {"COMPLETED", "FAILED", "RUNNING", "OVER_BUDGET", "INTERRUPTED", "INVALID", "STOPPED", "IDLE"}
TASKS = {"classification", "detection", "instance_segmentation"}
HP_OWNERS = {"hp", "hps", "hp_values", "hyperparameters", "values"}


def main(root: Path) -> None:
    status, tasks, inline, classes = collections.Counter(), collections.Counter(), [], []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                status[rel] += node.value in STATUSES and not rel.endswith("/trial_status.py")
                tasks[rel] += node.value in TASKS and not rel.endswith("/tasks.py")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in ("get", "setdefault") and len(node.args) == 2):
                owner = node.func.value
                if (owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")) in HP_OWNERS:
                    inline.append(f"{rel}:{node.lineno} {ast.unparse(node)}")
            elif isinstance(node, ast.ClassDef):
                methods = sum(isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef)) for b in node.body)
                classes.append((methods, f"{rel}:{node.name}"))
    print(f"status literals outside trial_status.py: {sum(status.values())} in {dict(+status)}")
    print(f"task-name literals outside tasks.py: {sum(tasks.values())} in {dict(+tasks)}")
    print(f"inline hyperparameter defaults: {len(inline)}", *inline, sep="\n  ")
    print("most methods:", ", ".join(f"{name} {n}" for n, name in sorted(classes, reverse=True)[:4]))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "zazu").resolve())
