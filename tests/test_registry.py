"""Registry.load(): models.json plus zoo/<name>/adapter.py, validated when loaded."""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path

import pytest

from zazu.errors import RegistryError
from zazu.registry import ModelSpec, Registry, default_zoo_root

VALID_ADAPTER = """
class AdaptModel:
    def __init__(self, model_specs, hp_values):
        self.model_specs = model_specs
        self.hp = hp_values

    def train(self):
        pass

    def get_metrics(self):
        return {"val_accuracy": 1.0}
"""

VALID_ENTRY = {
    "task": "classification",
    "description": "a test model",
    "model_space": {"accuracy_rating": 5, "speed_rating": 6, "memory_rating": 7},
    "hp_search_space": [
        {"name": "learning_rate", "values": [0.01, 0.001], "sampling": "log"},
        {"name": "depth", "min": 2, "max": 4, "step": 1, "sampling": None},
    ],
    "training_configs": {"input_size": 32},
}

NAME = "my_model"


def entry(**changes) -> dict:
    e = copy.deepcopy(VALID_ENTRY)
    e.update(changes)
    return e


def write_zoo(root: Path, entries: dict, adapters: dict[str, str] | None = None) -> Path:
    """Write models.json and, for every name in `adapters`, zoo/<name>/adapter.py."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "models.json").write_text(json.dumps(entries, indent=2), encoding="utf-8")
    for name, source in (adapters or {}).items():
        folder = root / "zoo" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "adapter.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return root


def load_one(tmp_path: Path, e: dict, adapter: str = VALID_ADAPTER) -> Registry:
    return Registry.load(write_zoo(tmp_path, {NAME: e}, {NAME: adapter}))


def load_error(tmp_path: Path, e: dict, adapter: str = VALID_ADAPTER) -> str:
    with pytest.raises(RegistryError) as info:
        load_one(tmp_path, e, adapter)
    return str(info.value)


# --- valid zoos ---------------------------------------------------------------


def test_valid_duck_typed_adapter_loads(tmp_path):
    registry = load_one(tmp_path, entry())
    spec = registry.get(NAME)
    assert isinstance(spec, ModelSpec)
    assert spec.task == "classification"
    assert spec.ratings == (5.0, 6.0, 7.0)
    assert [hp["name"] for hp in spec.hp_search_space] == ["learning_rate", "depth"]
    assert spec.training_configs == {"input_size": 32}
    assert spec.adapter_path == tmp_path / "zoo" / NAME / "adapter.py"
    assert spec.adapter_class.__name__ == "AdaptModel"
    instance = spec.adapter_class({"name": NAME}, {"learning_rate": 0.01})
    assert instance.get_metrics() == {"val_accuracy": 1.0}


def test_registry_root_is_resolved_and_for_task_filters(tmp_path):
    registry = load_one(tmp_path, entry())
    assert registry.root == tmp_path.resolve()
    assert [m.name for m in registry.for_task("classification")] == [NAME]
    assert registry.for_task("detection") == []


def test_adapter_with_varargs_init_is_accepted(tmp_path):
    adapter = """
    class AdaptModel:
        def __init__(self, *args, **kwargs):
            pass
        def train(self):
            pass
        def get_metrics(self):
            return {}
    """
    assert NAME in load_one(tmp_path, entry(), adapter).models


def test_relative_import_inside_a_zoo_model_folder_works(tmp_path):
    adapter = """
    from .helper import Base, WIDTH

    class AdaptModel(Base):
        width = WIDTH
    """
    helper = """
    WIDTH = 42

    class Base:
        def __init__(self, model_specs, hp_values):
            pass
        def train(self):
            pass
        def get_metrics(self):
            return {"val_accuracy": 0.5}
    """
    write_zoo(tmp_path, {NAME: entry()}, {NAME: adapter})
    (tmp_path / "zoo" / NAME / "helper.py").write_text(textwrap.dedent(helper), encoding="utf-8")
    spec = Registry.load(tmp_path).get(NAME)
    assert spec.adapter_class.width == 42
    assert spec.adapter_class({}, {}).get_metrics() == {"val_accuracy": 0.5}


def test_two_zoos_with_the_same_model_name_load_their_own_adapters(tmp_path):
    a = Registry.load(write_zoo(tmp_path / "a", {NAME: entry()}, {NAME: VALID_ADAPTER + "\nAdaptModel.marker = 'a'\n"}))
    b = Registry.load(write_zoo(tmp_path / "b", {NAME: entry()}, {NAME: VALID_ADAPTER + "\nAdaptModel.marker = 'b'\n"}))
    assert a.get(NAME).adapter_class.marker == "a"
    assert b.get(NAME).adapter_class.marker == "b"


def test_real_zoo_loads_with_models_for_classification_and_detection(monkeypatch):
    monkeypatch.delenv("ZAZU_ZOO", raising=False)
    registry = Registry.load()
    assert registry.root == Path(__file__).resolve().parents[1]
    assert set(registry.models) >= {"tiny_cnn", "small_resnet", "mobilenet_v2", "resnet50_v2", "centernet", "retinanet"}
    assert {spec.task for spec in registry.for_task("detection")} == {"detection"}
    assert len(registry.for_task("detection")) >= 2


def test_default_zoo_root_follows_zazu_zoo_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ZAZU_ZOO", str(tmp_path))
    assert default_zoo_root() == tmp_path


def test_get_unknown_model_suggests_the_near_name(tmp_path):
    from zazu.errors import ConfigError

    registry = load_one(tmp_path, entry())
    with pytest.raises(ConfigError, match="Did you mean `my_model`"):
        registry.get("my_modle")


# --- models.json entry errors --------------------------------------------------


def test_missing_task_key_names_entry_and_key(tmp_path):
    e = entry()
    del e["task"]
    msg = load_error(tmp_path, e)
    assert f"`{NAME}`" in msg
    assert "missing key `task`" in msg


def test_unknown_entry_key_suggests_near_key(tmp_path):
    e = entry()
    e["trainig_configs"] = {}
    msg = load_error(tmp_path, e)
    assert f"`{NAME}`" in msg
    assert "unknown key `trainig_configs`" in msg
    assert "Did you mean `training_configs`" in msg


def test_wrong_task_names_entry_field_and_value(tmp_path):
    msg = load_error(tmp_path, entry(task="segmentation"))
    assert f"`{NAME}`" in msg
    assert "field `task`" in msg
    assert "classification" in msg  # what was expected
    assert "'segmentation'" in msg  # what was received


@pytest.mark.parametrize("bad", [11, -1, 10.5, "high", True, None])
def test_rating_out_of_range_or_not_a_number(tmp_path, bad):
    e = entry()
    e["model_space"]["speed_rating"] = bad
    msg = load_error(tmp_path, e)
    assert f"`{NAME}`" in msg
    assert "field `model_space.speed_rating`" in msg
    assert "a number in [0, 10]" in msg
    assert f"Received: {bad!r}" in msg


@pytest.mark.parametrize("ok", [0, 10, 7.5])
def test_rating_bounds_are_inclusive(tmp_path, ok):
    e = entry()
    e["model_space"]["memory_rating"] = ok
    assert load_one(tmp_path, e).get(NAME).model_space["memory_rating"] == ok


def test_missing_rating_names_the_rating(tmp_path):
    e = entry()
    del e["model_space"]["accuracy_rating"]
    msg = load_error(tmp_path, e)
    assert f"`{NAME}`" in msg
    assert "model_space.accuracy_rating" in msg
    assert "missing" in msg


def test_extra_model_space_key_is_rejected(tmp_path):
    e = entry()
    e["model_space"]["latency_rating"] = 3
    msg = load_error(tmp_path, e)
    assert "field `model_space`" in msg
    assert "latency_rating" in msg


def test_model_folder_missing(tmp_path):
    write_zoo(tmp_path, {NAME: entry()}, adapters={})
    with pytest.raises(RegistryError) as info:
        Registry.load(tmp_path)
    msg = str(info.value)
    assert f"`{NAME}`" in msg
    assert str(tmp_path / "zoo" / NAME) in msg
    assert "not found" in msg


def test_adapter_py_missing(tmp_path):
    write_zoo(tmp_path, {NAME: entry()}, adapters={})
    (tmp_path / "zoo" / NAME).mkdir(parents=True)
    (tmp_path / "zoo" / NAME / "model.py").write_text("x = 1\n")
    with pytest.raises(RegistryError) as info:
        Registry.load(tmp_path)
    msg = str(info.value)
    assert f"`{NAME}`" in msg
    assert str(tmp_path / "zoo" / NAME / "adapter.py") in msg
    assert "AdaptModel" in msg


def test_models_json_missing(tmp_path):
    with pytest.raises(RegistryError, match="models.json"):
        Registry.load(tmp_path)


def test_invalid_json_in_models_json(tmp_path):
    (tmp_path / "models.json").write_text('{"m": {"task": "classification",}}\n', encoding="utf-8")
    with pytest.raises(RegistryError) as info:
        Registry.load(tmp_path)
    msg = str(info.value)
    assert "models.json" in msg
    assert "invalid JSON at line 1" in msg


def test_models_json_that_is_not_an_object(tmp_path):
    (tmp_path / "models.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(RegistryError, match="expected an object"):
        Registry.load(tmp_path)


# --- adapter errors ------------------------------------------------------------


def adapter_path_text(tmp_path: Path) -> str:
    return str(tmp_path / "zoo" / NAME / "adapter.py")


def test_adapter_without_train(tmp_path):
    adapter = """
    class AdaptModel:
        def __init__(self, model_specs, hp_values):
            pass
        def get_metrics(self):
            return {}
    """
    msg = load_error(tmp_path, entry(), adapter)
    assert adapter_path_text(tmp_path) in msg  # names the entry's file
    assert "`train()`" in msg


def test_adapter_without_get_metrics(tmp_path):
    adapter = """
    class AdaptModel:
        def __init__(self, model_specs, hp_values):
            pass
        def train(self):
            pass
    """
    msg = load_error(tmp_path, entry(), adapter)
    assert adapter_path_text(tmp_path) in msg
    assert "`get_metrics()`" in msg


def test_adapter_without_adaptmodel_class(tmp_path):
    adapter = """
    class Model:
        def __init__(self, model_specs, hp_values):
            pass
        def train(self):
            pass
        def get_metrics(self):
            return {}
    """
    msg = load_error(tmp_path, entry(), adapter)
    assert adapter_path_text(tmp_path) in msg
    assert "class named `AdaptModel`" in msg


def test_adaptmodel_that_is_not_a_class(tmp_path):
    msg = load_error(tmp_path, entry(), "AdaptModel = 3\n")
    assert "class named `AdaptModel`" in msg


@pytest.mark.parametrize(
    ("signature", "received"),
    [("self", "__init__(self, )"), ("self, model_specs", "__init__(self, model_specs)"),
     ("self, a, b, c", "__init__(self, a, b, c)"), ("self, **kwargs", "__init__(self, **kwargs)")],
)
def test_adaptmodel_init_with_wrong_signature(tmp_path, signature, received):
    adapter = f"""
    class AdaptModel:
        def __init__({signature}):
            pass
        def train(self):
            pass
        def get_metrics(self):
            return {{}}
    """
    msg = load_error(tmp_path, entry(), adapter)
    assert adapter_path_text(tmp_path) in msg
    assert "(model_specs, hp_values)" in msg
    assert f"Received: {received}" in msg


def test_optional_method_that_is_not_callable(tmp_path):
    adapter = VALID_ADAPTER + "\nAdaptModel.build = 5\n"
    msg = load_error(tmp_path, entry(), adapter)
    assert "`AdaptModel.build` must be a method" in msg


def test_adapter_that_raises_on_import_names_the_file(tmp_path):
    adapter = """
    raise RuntimeError("boom at import")
    """
    msg = load_error(tmp_path, entry(), adapter)
    assert adapter_path_text(tmp_path) in msg
    assert "import failed" in msg
    assert "RuntimeError: boom at import" in msg


def test_adapter_that_exits_on_import_is_reported_by_name_not_an_exit(tmp_path):
    adapter = """
    import sys
    sys.exit(3)
    """
    msg = load_error(tmp_path, entry(), adapter)
    assert adapter_path_text(tmp_path) in msg
    assert "called sys.exit(3) while being imported" in msg


def test_adapter_with_syntax_error_names_the_file(tmp_path):
    msg = load_error(tmp_path, entry(), "class AdaptModel(:\n")
    assert adapter_path_text(tmp_path) in msg
    assert "SyntaxError" in msg


def test_entry_name_that_is_not_a_folder_name(tmp_path):
    write_zoo(tmp_path, {"my-model": entry()})
    with pytest.raises(RegistryError, match="`my-model`"):
        Registry.load(tmp_path)


# --- hp_search_space errors ----------------------------------------------------


def test_hp_with_both_values_and_range(tmp_path):
    e = entry(hp_search_space=[{"name": "lr", "values": [0.1], "min": 0.01, "max": 0.1}])
    msg = load_error(tmp_path, e)
    assert f"`{NAME}`" in msg
    assert "hp_search_space[lr]" in msg
    assert "not both" in msg


def test_hp_with_neither_values_nor_range(tmp_path):
    msg = load_error(tmp_path, entry(hp_search_space=[{"name": "lr", "sampling": None}]))
    assert "hp_search_space[lr]" in msg
    assert "neither" in msg


def test_hp_unknown_key_suggests_near_key(tmp_path):
    msg = load_error(tmp_path, entry(hp_search_space=[{"name": "lr", "valuse": [0.1, 0.01]}]))
    assert f"`{NAME}`" in msg
    assert "hp_search_space[0].valuse" in msg
    assert "Did you mean `values`" in msg


def test_duplicate_hp_names(tmp_path):
    e = entry(hp_search_space=[
        {"name": "lr", "values": [0.1]},
        {"name": "lr", "min": 0.01, "max": 0.1},
    ])
    msg = load_error(tmp_path, e)
    assert f"`{NAME}`" in msg
    assert "hp_search_space[1].name" in msg
    assert "'lr'" in msg


@pytest.mark.parametrize("sampling", ["log", "reverse_log"])
@pytest.mark.parametrize("low", [0, -0.5])
def test_log_sampling_needs_positive_min(tmp_path, sampling, low):
    e = entry(hp_search_space=[{"name": "lr", "min": low, "max": 0.1, "sampling": sampling}])
    msg = load_error(tmp_path, e)
    assert f"`{NAME}`" in msg
    assert "hp_search_space[lr].min" in msg
    assert "positive" in msg
    assert f"Received: {low!r}" in msg


def test_unknown_sampling(tmp_path):
    msg = load_error(tmp_path, entry(hp_search_space=[{"name": "lr", "values": [0.1], "sampling": "logarithmic"}]))
    assert "hp_search_space[lr].sampling" in msg
    assert "'logarithmic'" in msg


def test_range_with_min_not_below_max(tmp_path):
    msg = load_error(tmp_path, entry(hp_search_space=[{"name": "depth", "min": 4, "max": 4}]))
    assert "hp_search_space[depth]" in msg
    assert "min < max" in msg


@pytest.mark.parametrize("hp, expected", [
    ({"name": "filters", "values": [16, 32], "default": 64}, "one of `values` [16, 32]"),
    ({"name": "lr", "min": 0.001, "max": 0.01, "sampling": "log", "default": 0.1}, "from min 0.001 to max 0.01"),
    ({"name": "lr", "min": 0.001, "max": 0.01, "default": "0.005"}, "a number from min"),
])
def test_a_default_outside_its_space(tmp_path, hp, expected):
    msg = load_error(tmp_path, entry(hp_search_space=[hp]))
    assert f"hp_search_space[{hp['name']}].default" in msg
    assert expected in msg
    assert f"Received: {hp['default']!r}" in msg


def test_empty_values_list(tmp_path):
    msg = load_error(tmp_path, entry(hp_search_space=[{"name": "lr", "values": []}]))
    assert "hp_search_space[lr].values" in msg
    assert "non-empty list" in msg


def test_step_with_values_is_rejected(tmp_path):
    msg = load_error(tmp_path, entry(hp_search_space=[{"name": "lr", "values": [1, 2], "step": 1}]))
    assert "hp_search_space[lr].step" in msg


@pytest.mark.parametrize("step", [0, -1, "1"])
def test_non_positive_or_non_numeric_step(tmp_path, step):
    msg = load_error(tmp_path, entry(hp_search_space=[{"name": "depth", "min": 1, "max": 4, "step": step}]))
    assert "hp_search_space[depth].step" in msg
    assert "positive number" in msg


def test_hp_name_must_be_an_identifier(tmp_path):
    msg = load_error(tmp_path, entry(hp_search_space=[{"name": "learning rate", "values": [0.1]}]))
    assert "hp_search_space[0].name" in msg
    assert "'learning rate'" in msg


def test_hp_search_space_must_be_a_list(tmp_path):
    msg = load_error(tmp_path, entry(hp_search_space={"lr": [0.1]}))
    assert "field `hp_search_space`" in msg


def test_training_configs_must_be_an_object(tmp_path):
    msg = load_error(tmp_path, entry(training_configs=[1, 2]))
    assert "field `training_configs`" in msg


def test_adaptmodel_without_init_is_rejected(tmp_path):
    # object.__init__ has a (*args, **kwargs) signature but takes no arguments
    adapter = """
    class AdaptModel:
        def train(self):
            pass
        def get_metrics(self):
            return {}
    """
    msg = load_error(tmp_path, entry(), adapter)
    assert adapter_path_text(tmp_path) in msg
    assert "(model_specs, hp_values)" in msg
    assert "no __init__" in msg


def test_adaptmodel_inheriting_a_valid_init_is_accepted(tmp_path):
    adapter = """
    class Base:
        def __init__(self, model_specs, hp_values):
            self.hp = hp_values

    class AdaptModel(Base):
        def train(self):
            pass
        def get_metrics(self):
            return {}
    """
    spec = load_one(tmp_path, entry(), adapter).get(NAME)
    assert spec.adapter_class({}, {"lr": 1}).hp == {"lr": 1}


@pytest.mark.parametrize(("low", "high", "step"), [(8, 64, 1), (1e-4, 1e-1, 0.01)])
def test_log_sampling_with_step_not_above_one_is_rejected(tmp_path, low, high, step):
    e = entry(hp_search_space=[{"name": "x", "min": low, "max": high, "step": step, "sampling": "log"}])
    msg = load_error(tmp_path, e)
    assert "hp_search_space[x].step" in msg
