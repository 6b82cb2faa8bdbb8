"""The rules docs/ARCHITECTURE.md states, checked on the source (standard library only): no import circle
among zazu's modules, no import from a layer above, and nothing outside `cli/` and the console prints."""

from __future__ import annotations

import ast
from pathlib import Path

ZAZU = Path(__file__).resolve().parents[1] / "zazu"
# Modules whose standard output is their answer to the process that started them, not a message to a user
PROTOCOL_OUTPUT = {"zazu/export/litert_probe.py"}  # prints its measurement as one JSON line for its parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in ZAZU.rglob("*.py"):
        name = ".".join(path.relative_to(ZAZU.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def import_graph() -> dict[str, dict[str, int]]:
    """{module: {module it imports: line}}, for every import in a module, at its top or inside a function.
    The package facade `zazu` (its __init__, which every `zazu.x` import loads first and which imports the
    search lazily for `zazu.run_search`) is left out: it is the public surface, above everything."""
    modules = _modules()

    def resolve(dotted: str) -> str | None:
        parts = dotted.split(".")
        return next((".".join(parts[:i]) for i in range(len(parts), 0, -1) if ".".join(parts[:i]) in modules), None)

    graph: dict[str, dict[str, int]] = {name: {} for name in modules if name != "zazu"}
    for name in graph:
        for node in ast.walk(ast.parse(modules[name].read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [resolve(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [resolve(f"{node.module}.{alias.name}") for alias in node.names]
            else:
                continue
            for target in targets:
                if target not in (None, name, "zazu"):
                    graph[name].setdefault(target, node.lineno)
    return graph


def circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_no_import_circle_among_zazu_modules():
    graph = import_graph()
    found = circles(graph)
    described = [", ".join(f"{m} (imports {[t for t in graph[m] if t in group]})" for m in group) for group in found]
    assert found == [], "\n".join(described)


def test_the_circle_check_finds_a_circle():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b": 1}, "b": {}}) == []


# docs/ARCHITECTURE.md's layers, top first: a module imports only from its own layer or those below.
LAYERS = [
    ("cli",),
    ("zoo_calibrate", "zoo_check", "scaffold"),
    ("search", "report", "inference"),
    ("config",),
    ("export", "adapters"),
    ("data", "nn", "metrics"),
]  # every other module of zazu/ (errors, runs, registry, budget, defaults, fields...) is the bottom layer


def layer_of(module: str) -> int:
    """0 for the top layer; len(LAYERS) for the bottom one."""
    part = module.split(".")[1] if "." in module else ""
    return next((i for i, names in enumerate(LAYERS) if part in names), len(LAYERS))


def test_no_module_imports_from_a_layer_above_it():
    upward = [f"{module}:{line} imports {target}" for module, targets in sorted(import_graph().items())
              for target, line in targets.items() if layer_of(target) < layer_of(module)]
    assert upward == []


def test_nothing_outside_cli_and_the_console_prints():
    offenders = []
    for path in sorted(ZAZU.rglob("*.py")):
        rel = path.relative_to(ZAZU.parent).as_posix()
        if rel.startswith("zazu/cli/") or rel == "zazu/console.py" or rel in PROTOCOL_OUTPUT:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            called = node.func if isinstance(node, ast.Call) else None
            if isinstance(called, ast.Name) and called.id == "print":
                offenders.append(f"{rel}:{node.lineno} print()")
            elif (isinstance(called, ast.Attribute) and called.attr == "write" and isinstance(called.value, ast.Attribute)
                  and called.value.attr in ("stdout", "stderr")):
                offenders.append(f"{rel}:{node.lineno} sys.{called.value.attr}.write()")
            elif isinstance(node, ast.keyword) and isinstance(node.value, ast.Name) and node.value.id == "print":
                offenders.append(f"{rel}:{node.value.lineno} print passed as a callback")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defaults = [*node.args.defaults, *filter(None, node.args.kw_defaults)]
                offenders += [f"{rel}:{d.lineno} print as a default callback" for d in defaults
                              if isinstance(d, ast.Name) and d.id == "print"]
    assert offenders == []


def test_trial_statuses_are_spelled_only_in_trial_status():
    from zazu.trial_status import TrialStatus

    names = {status.value for status in TrialStatus}
    home = "zazu/trial_status.py"
    offenders = []
    for path in sorted(ZAZU.rglob("*.py")):
        rel = path.relative_to(ZAZU.parent).as_posix()
        if rel == home:
            continue
        offenders += [f"{rel}:{node.lineno} {node.value!r}" for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                      if isinstance(node, ast.Constant) and node.value in names]
    assert offenders == [], f"write TrialStatus.<NAME> (from {home}) instead of the string"


def test_no_hyperparameter_default_is_written_inline():
    """A default lives in the task base's `hyperparameters` table (zazu/adapters/hyperparameters.py), not in
    a `hp.get(name, default)` where it is read: two of those had already drifted from the docs."""
    offenders = []
    for path in sorted(ZAZU.rglob("*.py")):
        rel = path.relative_to(ZAZU.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("get", "setdefault") and len(node.args) == 2):
                continue
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if name in ("hp", "hp_values", "hyperparameters"):
                offenders.append(f"{rel}:{node.lineno} {ast.unparse(node)}")
    assert offenders == []
