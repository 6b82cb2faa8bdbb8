"""The zoo registry: `models.json` plus `zoo/<name>/adapter.py`, checked when loaded.

Every entry is validated before anything runs (pluggy's rule: check extension
points when they are registered, not when they are called). Adapters are imported
from the zoo folder only, under a private package name, so relative imports
inside a model's folder work and nothing else on `sys.path` is consulted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import json
import os
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zazu.config_rules import is_number
from zazu.adapter_contract import MANDATORY_METHODS, OPTIONAL_STEPS, Capabilities
from zazu.errors import ConfigError, RegistryError
from zazu.suggest import did_you_mean
from zazu.tasks import TASKS
from zazu.unique_keys import DuplicateKeyError, loads_json

RATINGS = ("accuracy_rating", "speed_rating", "memory_rating")
MEASURED_RATINGS = ("speed_rating", "memory_rating")  # what `zazu zoo calibrate` measures
CALIBRATION_FILE = "calibration.json"  # beside models.json, written by `zazu zoo calibrate`
HP_KEYS = ("name", "values", "sampling", "min", "max", "step", "default")
SAMPLINGS = (None, "linear", "log", "reverse_log")
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")  # a folder name: at most 100 characters


@dataclass(frozen=True)
class ModelSpec:
    """One validated `models.json` entry and its adapter class."""

    name: str
    task: str
    model_space: dict[str, float]
    hp_search_space: list[dict[str, Any]]
    training_configs: dict[str, Any]
    adapter_path: Path
    adapter_class: type = field(repr=False)
    entry: dict[str, Any] = field(repr=False)
    measured: dict[str, float] | None = None  # speed and memory ratings from calibration.json, if measured
    # what the adapter class can do beyond ZazuML's contract, read once when it is loaded (None: not imported)
    capabilities: Capabilities | None = field(default=None, repr=False)

    @property
    def zoo_root(self) -> Path:
        """The zoo folder the entry comes from (holding its `models.json` and `zoo/<name>/`)."""
        return self.adapter_path.parents[2]

    @property
    def ratings(self) -> tuple[float, float, float]:
        """(accuracy, speed, memory) as the ranking uses them: measured where calibrated, else declared."""
        return tuple(float((self.measured or {}).get(r, self.model_space[r])) for r in RATINGS)

    @property
    def declared_ratings(self) -> tuple[float, float, float]:
        return tuple(float(self.model_space[r]) for r in RATINGS)


BUILTIN_ZOO = "builtin"  # in `zoo:` / `--zoo` / $ZAZU_ZOO, the zoo shipped with Zazu


def builtin_zoo_root() -> Path:
    """The zoo shipped with Zazu: installed beside the package (`zazu/builtin_zoo/`, put there by the
    wheel's build), else the repository's own `models.json` and `zoo/` (a source checkout)."""
    package = Path(__file__).resolve().parent
    installed = package / "builtin_zoo"
    return installed if (installed / "models.json").is_file() else package.parent


def is_installed_builtin(root: Path) -> bool:
    """Whether `root` is the copy of the built-in zoo inside an installed package (not a checkout to edit)."""
    return Path(root).resolve() == (Path(__file__).resolve().parent / "builtin_zoo")


def zoo_roots(zoo: str | Path | list | tuple | None = None) -> list[Path]:
    """The zoo folders to load, in order: `zoo` (one folder or a list; `builtin` names Zazu's own),
    else `$ZAZU_ZOO` (folders separated by the path separator), else the built-in zoo alone."""
    if zoo is None:
        env = os.environ.get("ZAZU_ZOO")
        zoo = [part for part in env.split(os.pathsep) if part] if env else [BUILTIN_ZOO]
    items = [zoo] if isinstance(zoo, (str, Path)) else list(zoo)
    roots = [builtin_zoo_root() if str(item) == BUILTIN_ZOO else Path(item) for item in items]
    return list(dict.fromkeys(roots))  # one folder named twice is loaded once


def default_zoo_root() -> Path:
    """The one folder a zoo tool writes into when none is given: the first of `$ZAZU_ZOO`, else the
    built-in zoo."""
    return zoo_roots()[0]


class Registry:
    def __init__(self, root: Path, models: dict[str, ModelSpec], roots: list[Path] | None = None):
        self.root = root  # the first zoo folder (the only one, unless several are combined)
        self.roots = roots or [root]
        self.models = models

    @classmethod
    def load(cls, zoo: str | Path | list | tuple | None = None, import_code: bool = True) -> "Registry":
        """Every entry of each zoo folder (`zoo_roots`), validated; a model name in two folders is a
        RegistryError naming both (a zoo beside the built-in one adds models, it never replaces one).
        `import_code=False` reads models.json only (listing and ranking run no adapter code)."""
        roots = zoo_roots(zoo)
        models: dict[str, ModelSpec] = {}
        for root in roots:
            loaded = {name: validate_entry(root, name, entry, import_code)
                      for name, entry in read_entries(root).items()}
            measured = read_calibration(root)
            for name, spec in loaded.items():
                if name in models:
                    raise RegistryError(
                        f"Zoo model `{name}` is in two zoo folders: {models[name].zoo_root} and "
                        f"{root}. Expected each name once across the zoos searched together; rename one "
                        "(its `models.json` key and its `zoo/<name>/` folder).")
                models[name] = dataclasses.replace(spec, measured=measured[name]) if name in measured else spec
        resolved = [root.resolve() for root in roots]
        return cls(resolved[0], models, resolved)

    def for_task(self, task: str) -> list[ModelSpec]:
        return [m for m in self.models.values() if m.task == task]

    def get(self, name: str) -> ModelSpec:
        if name not in self.models:
            raise ConfigError(
                f"Unknown zoo model `{name}`.{did_you_mean(name, self.models)} "
                f"Known models: {', '.join(self.models) or '(none)'}."
            )
        return self.models[name]


def read_entries(root: Path, hint: str = "") -> dict[str, Any]:
    """The raw entries of `root/models.json` (not validated); RegistryError naming the file otherwise."""
    models_json = Path(root) / "models.json"
    if not models_json.is_file():
        raise RegistryError(f"{models_json}: file not found. Expected the zoo registry `models.json` in {root}{hint}.")
    try:
        entries = loads_json(models_json.read_text(encoding="utf-8"))
    except DuplicateKeyError as e:
        raise RegistryError(f"{models_json}: {e}.") from None
    except json.JSONDecodeError as e:
        raise RegistryError(f"{models_json}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}.") from None
    if not isinstance(entries, dict):
        raise RegistryError(f"{models_json}: expected an object mapping model names to entries.")
    return entries


def read_calibration(root: Path) -> dict[str, dict[str, float]]:
    """{model: {speed_rating, memory_rating}} from `root/calibration.json` ({} when there is none);
    RegistryError naming the file and field when it is malformed."""
    path = Path(root) / CALIBRATION_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RegistryError(f"{path}: not valid JSON ({e}). Expected the file `zazu zoo calibrate` writes; delete "
                            "it or run the command again.") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise RegistryError(f"{path}: expected an object with `models`. Received: {type(data).__name__}")
    measured = {}
    for name, figures in models.items():
        values = {r: figures.get(r) for r in MEASURED_RATINGS} if isinstance(figures, dict) else {}
        if not values or not all(is_number(v) and 0 <= v <= 10 for v in values.values()):
            raise RegistryError(f"{path}: models.{name}: expected speed_rating and memory_rating in [0, 10]. "
                                f"Received: {figures!r}")
        measured[name] = values
    return measured


def _fail(name: str, field_: str, expected: str, received: Any = inspect.Parameter.empty) -> RegistryError:
    got = "" if received is inspect.Parameter.empty else f" Received: {received!r}"
    return RegistryError(f"models.json entry `{name}`, field `{field_}`: expected {expected}.{got}")



def validate_entry(root: Path, name: str, entry: Any, import_code: bool = True) -> ModelSpec:
    """One models.json entry checked (key, task, ratings, search space, adapter); RegistryError naming the field.
    `import_code=False` checks the adapter file exists but does not import it (`adapter_class` is None)."""
    if not NAME_PATTERN.match(name):
        raise RegistryError(f"models.json entry `{name[:120]}`: the key must be a folder name made of letters, digits "
                            "and _, at most 100 characters.")
    _check_entry_keys(name, entry)
    task = entry["task"]
    if task not in TASKS:
        raise _fail(name, "task", f"one of {', '.join(TASKS)}", task)
    _check_model_space(name, entry["model_space"])
    _check_hp_space(name, entry["hp_search_space"])
    if not isinstance(entry["training_configs"], dict):
        raise _fail(name, "training_configs", "an object of fixed values", entry["training_configs"])
    adapter_path = _adapter_path(root, name)
    adapter_class = _load_adapter_class(root, name, adapter_path) if import_code else None
    return ModelSpec(
        name=name,
        task=task,
        model_space={r: entry["model_space"][r] for r in RATINGS},
        hp_search_space=entry["hp_search_space"],
        training_configs=entry["training_configs"],
        adapter_path=adapter_path,
        adapter_class=adapter_class,
        entry=entry,
        capabilities=Capabilities.of(adapter_class) if adapter_class is not None else None,
    )


ENTRY_KEYS = ("task", "model_space", "hp_search_space", "training_configs")  # required; "description" optional


def _check_entry_keys(name: str, entry: Any) -> None:
    if not isinstance(entry, dict):
        raise _fail(name, "(entry)", f"an object with {', '.join(ENTRY_KEYS)}", entry)
    for key in ENTRY_KEYS:
        if key not in entry:
            raise RegistryError(f"models.json entry `{name}`: missing key `{key}`.")
    unknown = set(entry) - {*ENTRY_KEYS, "description"}
    if unknown:
        key = sorted(unknown)[0]
        raise RegistryError(f"models.json entry `{name}`: unknown key `{key}`."
                            f"{did_you_mean(key, (*ENTRY_KEYS, 'description'))}")


def _check_model_space(name: str, space: Any) -> None:
    if not isinstance(space, dict):
        raise _fail(name, "model_space", f"an object with {', '.join(RATINGS)}", space)
    for rating in RATINGS:
        if rating not in space:
            raise _fail(name, f"model_space.{rating}", "a number in [0, 10]; it is missing")
        if not (is_number(space[rating]) and 0 <= space[rating] <= 10):
            raise _fail(name, f"model_space.{rating}", "a number in [0, 10]", space[rating])
    extra = set(space) - set(RATINGS)
    if extra:
        raise _fail(name, "model_space", f"only {', '.join(RATINGS)}", sorted(extra))


def _check_hp_space(name: str, hp_space: Any) -> None:
    if not isinstance(hp_space, list):
        raise _fail(name, "hp_search_space", "a list of {name, values, sampling} or {name, min, max, step, sampling}", hp_space)
    seen = set()
    for i, hp in enumerate(hp_space):
        _validate_hp(name, i, hp)
        if hp["name"] in seen:
            raise _fail(name, f"hp_search_space[{i}].name", "a name used once", hp["name"])
        seen.add(hp["name"])


def _adapter_path(root: Path, name: str) -> Path:
    folder = root / "zoo" / name
    adapter_path = folder / "adapter.py"
    if not folder.is_dir():
        raise RegistryError(f"models.json entry `{name}`: folder {folder} not found. Expected zoo/{name}/adapter.py.")
    if not adapter_path.is_file():
        raise RegistryError(f"models.json entry `{name}`: {adapter_path} not found. Expected a file defining class AdaptModel.")
    return adapter_path


def _validate_hp(name: str, i: int, hp: Any) -> None:
    where = f"hp_search_space[{i}]"
    if not isinstance(hp, dict):
        raise _fail(name, where, "an object like {\"name\": ..., \"values\": [...], \"sampling\": null}", hp)
    for key in hp:
        if key not in HP_KEYS:
            raise _fail(name, f"{where}.{key}", f"one of the keys {', '.join(HP_KEYS)}{did_you_mean(key, HP_KEYS)}")
    hp_name = hp.get("name")
    if not (isinstance(hp_name, str) and NAME_PATTERN.match(hp_name)):
        raise _fail(name, f"{where}.name", "an identifier-like string", hp_name)
    where = f"hp_search_space[{hp_name}]"
    sampling = hp.get("sampling")
    if sampling not in SAMPLINGS:
        raise _fail(name, f"{where}.sampling", "null, \"linear\", \"log\" or \"reverse_log\"", sampling)
    has_values = "values" in hp
    has_range = "min" in hp or "max" in hp
    if has_values == has_range:
        raise _fail(name, where, "either `values` (a list) or `min` and `max` (a range), not both or neither")
    if has_values:
        if not (isinstance(hp["values"], list) and hp["values"]):
            raise _fail(name, f"{where}.values", "a non-empty list", hp["values"])
        if "step" in hp:
            raise _fail(name, f"{where}.step", "no `step` with `values` (step belongs to min/max ranges)")
        # the first trial trains the defaults: one outside the space would fail every search's first trial
        if "default" in hp and hp["default"] not in hp["values"]:
            raise _fail(name, f"{where}.default", f"one of `values` {hp['values']!r}", hp["default"])
        return
    for key in ("min", "max"):
        if not is_number(hp.get(key)):
            raise _fail(name, f"{where}.{key}", "a number", hp.get(key))
    if hp["min"] >= hp["max"]:
        raise _fail(name, where, "min < max", (hp["min"], hp["max"]))
    step = hp.get("step")
    if step is not None and not (is_number(step) and step > 0):
        raise _fail(name, f"{where}.step", "a positive number", step)
    if step is not None and sampling in ("log", "reverse_log") and step <= 1:
        raise _fail(name, f"{where}.step", f"a multiplier > 1 with sampling={sampling!r}", step)
    if sampling in ("log", "reverse_log") and hp["min"] <= 0:
        raise _fail(name, f"{where}.min", f"a positive number with sampling={sampling!r}", hp["min"])
    if "default" in hp and not (is_number(hp["default"]) and hp["min"] <= hp["default"] <= hp["max"]):
        raise _fail(name, f"{where}.default", f"a number from min {hp['min']!r} to max {hp['max']!r}", hp["default"])


def _zoo_package(root: Path) -> str:
    """A private package whose __path__ is the zoo folder and nothing else."""
    zoo_dir = (root / "zoo").resolve()
    package = "zazu_zoo_" + hashlib.sha1(str(zoo_dir).encode()).hexdigest()[:10]
    if package not in sys.modules:
        module = types.ModuleType(package)
        module.__path__ = [str(zoo_dir)]
        sys.modules[package] = module
    return package


def _load_adapter_class(root: Path, name: str, adapter_path: Path) -> type:
    zoo_dir = (root / "zoo").resolve()
    if zoo_dir not in adapter_path.resolve().parents:
        raise RegistryError(f"models.json entry `{name}`: {adapter_path} resolves outside the zoo folder {zoo_dir}.")
    module_name = f"{_zoo_package(root)}.{name}.adapter"
    try:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
    except Exception as e:  # the adapter's own code failed to import: report it, do not crash
        first_line = (str(e).splitlines() or [""])[0]
        raise RegistryError(f"{adapter_path}: import failed: {type(e).__name__}: {first_line}") from e
    except SystemExit as e:  # sys.exit() at import would end Zazu silently with the adapter's code
        sys.modules.pop(module_name, None)
        raise RegistryError(f"{adapter_path}: import failed: the adapter called sys.exit({e.code!r}) while "
                            "being imported. Expected a module that defines AdaptModel.") from None
    cls = getattr(module, "AdaptModel", None)
    if not inspect.isclass(cls):
        raise RegistryError(f"{adapter_path}: expected a class named `AdaptModel`; none is defined.")
    if cls.__init__ is object.__init__:
        raise RegistryError(f"{adapter_path}: `AdaptModel.__init__` must take (model_specs, hp_values); "
                            "the class defines no __init__.")
    try:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        params = []
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_varargs = any(p.kind == p.VAR_POSITIONAL for p in params)
    required = [p for p in positional if p.default is p.empty]
    if not takes_varargs and (len(positional) < 2 or len(required) > 2):
        raise RegistryError(
            f"{adapter_path}: `AdaptModel.__init__` must take (model_specs, hp_values). "
            f"Received: __init__(self, {', '.join(str(p) for p in params)})"
        )
    for method in MANDATORY_METHODS:
        if not callable(getattr(cls, method, None)):
            raise RegistryError(f"{adapter_path}: `AdaptModel` must define the method `{method}()`; it is missing.")
    for method in OPTIONAL_STEPS:
        if hasattr(cls, method) and not callable(getattr(cls, method)):
            raise RegistryError(f"{adapter_path}: `AdaptModel.{method}` must be a method.")
    return cls
