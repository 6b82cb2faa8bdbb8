"""The user's device budget: trials over it are measured, never trained; the winner is what ships best.

Real conversions and LiteRT runs on tiny models (32 px, a few epochs), so a wrong size, a budget check
after training or a winner chosen by its float score fails here."""

from __future__ import annotations

import csv
import json
import shutil
import textwrap
from pathlib import Path

import pytest

from zazu.config import resolve_config
from zazu.errors import ConfigError, ZazuError
from zazu.registry import Registry

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')

REPO = Path(__file__).resolve().parents[2]
QUIET_EXPORT = {"formats": ["keras", "int8"], "profile_runs": 1, "edgetpu_compiler": False}


@pytest.fixture(scope="module")
def digits_300(tmp_path_factory) -> Path:
    """scikit-learn's digits, 10 classes x 30 at 32 px (90 validation images with val_split 0.3): a tiny CNN
    learns them in a few epochs."""
    from digit_pngs import write_digit_pngs

    return write_digit_pngs(tmp_path_factory.mktemp("digits300"), n_class=10, per_class=30, upscale=4)


def _zoo(root: Path, entries: dict[str, dict], adapters: dict[str, str]) -> Path:
    """A zoo whose models are Zazu's own tiny_cnn adapter or the adapter text given."""
    for name in entries:
        (root / "zoo" / name).mkdir(parents=True)
        if name in adapters:
            (root / "zoo" / name / "adapter.py").write_text(textwrap.dedent(adapters[name]))
        else:
            shutil.copy(REPO / "zoo" / "tiny_cnn" / "adapter.py", root / "zoo" / name / "adapter.py")
    (root / "models.json").write_text(json.dumps(entries))
    return root


def _entry(space: list[dict], **configs) -> dict:
    return {"task": "classification", "model_space": {"accuracy_rating": 5, "speed_rating": 5, "memory_rating": 5},
            "hp_search_space": space,
            "training_configs": {"input_size": 32, "batch_size": 16, "augment": False, "learning_rate": 0.003,
                                 "depth": 3, **configs}}


def _search(zoo: Path, data: Path, output: Path, **overrides):
    from zazu.console import Reporter
    from zazu.search.driver import run_search

    config = resolve_config(overrides={"zoo": str(zoo), "data": {"home_path": str(data)}, "output": str(output),
                                       "export": QUIET_EXPORT, "time_budget": None, "val_split": 0.3,
                                       **overrides})
    return run_search(config, Reporter(quiet=True), registry=Registry.load(zoo))


# -- the config ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("target, message", [
    ({"device": "tpu"}, "`target.device` must be one of cpu, edgetpu. Received: device='tpu'"),
    ({"max_model_kb": 0}, "`target.max_model_kb` must be a positive number or null. Received: max_model_kb=0"),
    ({"max_latency_ms": "fast"}, "`target.max_latency_ms` must be a positive number or null"),
    ({"max_ram_kb": True}, "`target.max_ram_kb` must be a positive number or null"),
    ({"edgetpu_full": "yes"}, "`target.edgetpu_full` must be true or false"),
    ({"max_size_kb": 5}, "unknown config key `target.max_size_kb`"),
])
def test_a_bad_target_is_one_clear_error(target, message):
    with pytest.raises(ConfigError, match=None) as caught:
        resolve_config(overrides={"target": target})
    assert message in str(caught.value)


def test_the_budget_flags_reach_the_config_and_the_run_folder(tmp_path):
    from click.testing import CliRunner

    from zazu.cli import cli

    # --models names a model that does not exist, so the run stops right after the config is resolved
    result = CliRunner().invoke(cli, ["search", "--device", "edgetpu", "--max-latency-ms", "5", "--max-model-kb",
                                      "300", "--max-ram-kb", "9000", "--edgetpu-full", "--max-model-kb", "-1"])
    assert result.exit_code == 2 and "`target.max_model_kb` must be a positive number" in result.output
    config = resolve_config(overrides={"target": {"device": "edgetpu", "max_latency_ms": 5.0, "edgetpu_full": True}})
    assert config["target"] == {"device": "edgetpu", "max_latency_ms": 5.0, "max_model_kb": None,
                                "max_ram_kb": None, "edgetpu_full": True}


# -- ranking --------------------------------------------------------------------------------------------

def _record(trial, status="COMPLETED", float_=None, int8=None, kb=None):
    record = {"model": "m", "trial_id": trial, "status": status, "metrics": {}}
    if float_ is not None:
        record["metrics"] = {"val_accuracy": float_}
    if int8 is not None:
        record["int8_metrics"] = {"val_accuracy": int8}
    if kb is not None:
        cost = {"model_kb": kb, "ram_kb": 1.0, "latency_ms": 1.0, "edgetpu_ops_mapped": True}
        record["cost_before_training" if status == "OVER_BUDGET" else "cost"] = cost
    return record


def test_trials_rank_by_their_int8_metric_within_the_budget_then_over_budget_closest_first():
    from zazu.run_records import rank_trials

    target = {"device": "cpu", "max_latency_ms": None, "max_model_kb": 100, "max_ram_kb": None, "edgetpu_full": False}
    records = [
        _record("float-best", float_=0.99, int8=0.40, kb=50),  # wins on float, loses as it ships
        _record("int8-best", float_=0.90, int8=0.88, kb=60),
        _record("too-big-after", float_=0.95, int8=0.95, kb=150),  # completed, but its cost breaks the budget
        _record("far", status="OVER_BUDGET", kb=400),
        _record("near", status="OVER_BUDGET", kb=120),
        _record("broken", status="FAILED"),
    ]
    ranked = [r["trial_id"] for r in rank_trials(records, "val_accuracy", "max", target)]
    assert ranked == ["int8-best", "float-best", "too-big-after", "near", "far", "broken"]
    no_budget = {**target, "max_model_kb": None}
    assert [r["trial_id"] for r in rank_trials(records, "val_accuracy", "max", no_budget)][:3] == [
        "too-big-after", "int8-best", "float-best"]


# -- the search ----------------------------------------------------------------------------------------

def test_trials_over_the_budget_are_measured_in_seconds_and_never_trained(digits_300, tmp_path):
    # filters 8 -> about 10 KiB of int8, filters 64 -> about 400 KiB; the grid tries both, twice each
    zoo = _zoo(tmp_path / "zoo", {"cnn": _entry([{"name": "filters", "values": [8, 64], "sampling": None},
                                                   {"name": "dropout", "values": [0.1, 0.2], "sampling": None}])}, {})
    result = _search(zoo, digits_300, tmp_path / "run", models=["cnn"], search_method="grid", max_trials=4,
                     epochs=4, target={"max_model_kb": 100})

    by_filters = {}
    for record in result.ranked:
        by_filters.setdefault(record["hyperparameters"]["filters"], []).append(record)
    assert {r["status"] for r in by_filters[8]} == {"COMPLETED"}
    assert {r["status"] for r in by_filters[64]} == {"OVER_BUDGET"}
    for record in by_filters[64]:
        folder = Path(record["trial_dir"])
        assert not (folder / "model.keras").exists() and not (folder / "history.csv").exists()  # never trained
        cost = record["cost_before_training"]
        assert cost["model_kb"] > 100 and cost["model_kb_is_lower_bound"]  # its kernels alone: not converted
        assert record["wall_time_s"] < 15
        assert record["over_budget"][0].startswith("model >= ") and "> max_model_kb 100" in record["over_budget"][0]

    best = json.loads((result.run_dir / "best_trial.json").read_text())
    assert best["hyperparameters"]["filters"] == 8 and best["chosen_by"] == "int8 val_accuracy"
    assert best["int8_metrics"]["val_accuracy"] >= 0.5  # chance is 0.10: the scored int8 model learned
    front = json.loads((result.run_dir / "pareto.json").read_text())
    assert front["chosen"] == f"cnn-{best['trial_id']}" and "fastest" in front["rule"]
    assert {t["trial_id"] for t in front["trials"]} <= {r["trial_id"] for r in by_filters[8]}  # within budget only
    shipped = result.run_dir / "export" / "model_int8.tflite"
    assert shipped.stat().st_size <= 100 * 1024
    with open(result.run_dir / "leaderboard.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED", "OVER_BUDGET", "OVER_BUDGET"]
    assert all(float(row["model_kb"]) > 0 and float(row["ram_kb"]) > 0 and float(row["latency_ms"]) > 0
               for row in rows[:2])
    assert all(float(row["model_kb"]) > 100 and row["ram_kb"] == row["latency_ms"] == "" for row in rows[2:])
    assert all(row["int8_val_accuracy"] for row in rows[:2]) and not any(row["int8_val_accuracy"] for row in rows[2:])


def test_when_no_trial_fits_the_search_says_so_and_names_the_closest(digits_300, tmp_path):
    # a latency budget no model meets: each trial is converted and run before it would train
    zoo = _zoo(tmp_path / "zoo", {"cnn": _entry([{"name": "filters", "values": [8, 32], "sampling": None},
                                                   {"name": "dropout", "values": [0.1, 0.2], "sampling": None}])}, {})
    with pytest.raises(ZazuError) as caught:
        _search(zoo, digits_300, tmp_path / "run", models=["cnn"], search_method="grid", max_trials=4, epochs=1,
                target={"max_latency_ms": 0.001})
    message = str(caught.value)
    assert message.startswith("No trial fits the budget (cpu, max_latency_ms 0.001). Closest: cnn #")
    assert "> max_latency_ms 0.001" in message and "measured: LiteRT on this CPU" in message
    records = [json.loads(p.read_text()) for p in (tmp_path / "run" / "trials").glob("*/trial.json")]
    assert {r["status"] for r in records} == {"OVER_BUDGET"} and len(records) == 4
    named = next(r for r in records if message.startswith(f"No trial fits the budget (cpu, max_latency_ms 0.001). "
                                                           f"Closest: cnn #{r['trial_id']},"))
    assert named["cost_before_training"]["latency_ms"] == min(r["cost_before_training"]["latency_ms"] for r in records)
    assert not (tmp_path / "run" / "export").exists()
    # trials that differ only in their dropout rate share an architecture: measured once, then read
    for filters in (8, 32):
        same = [r for r in records if r["hyperparameters"]["filters"] == filters]
        assert sorted(r["cost_before_training"]["cached"] for r in same) == [False, True]
        assert len({r["cost_before_training"]["model_kb"] for r in same}) == 1


# A classifier whose features pass through one tensor holding a constant 3000 before the head reads them
# back: float is unaffected, but int8 gives that tensor one scale for 0-3000 and the features (0-3) round
# to nothing. (A slice through Reshape + Cropping1D, so no Lambda layer is needed.)
BADLY_QUANTIZED = """
from zazu.adapters import ClassificationAdapter
from zazu.nn.layers import normalize_pixels


class AdaptModel(ClassificationAdapter):
    def build(self):
        import keras
        from keras import layers

        inputs = self.image_input()
        x = normalize_pixels(inputs)
        for block in range(3):
            x = layers.Conv2D(32 * 2**block, 3, padding="same", activation="relu")(x)
            x = layers.MaxPooling2D()(x)
        x = layers.GlobalAveragePooling2D()(x)
        width = x.shape[-1]
        big = layers.Dense(1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(3000.0),
                           trainable=False)(x)
        x = layers.Concatenate()([x, big])
        x = layers.Reshape((width + 1, 1))(x)
        x = layers.Cropping1D((0, 1))(x)
        x = layers.Reshape((width,))(x)
        return keras.Model(inputs, self.classifier_head(x))
"""


def test_the_winner_is_the_best_int8_model_not_the_best_float_one(digits_300, tmp_path):
    zoo = _zoo(tmp_path / "zoo", {
        "fragile": _entry([{"name": "dropout", "values": [0.1], "sampling": None}]),
        "sturdy": _entry([{"name": "filters", "values": [4], "sampling": None}], depth=2),  # too small to match fragile
    }, {"fragile": BADLY_QUANTIZED})
    result = _search(zoo, digits_300, tmp_path / "run", models=["fragile", "sturdy"], max_trials=2, epochs=6)
    records = {r["model"]: r for r in result.ranked}
    fragile, sturdy = records["fragile"], records["sturdy"]
    # the premise: fragile wins on float and loses as int8
    assert fragile["metrics"]["val_accuracy"] > sturdy["metrics"]["val_accuracy"]
    assert fragile["int8_metrics"]["val_accuracy"] < sturdy["int8_metrics"]["val_accuracy"]
    best = json.loads((result.run_dir / "best_trial.json").read_text())
    assert best["model"] == "sturdy" and best["chosen_by"] == "int8 val_accuracy"
    assert json.loads((result.run_dir / "export" / "export.json").read_text())["model"] == "sturdy"


def test_when_the_front_rule_picks_a_tied_faster_trial_it_heads_the_leaderboard(tmp_path):
    from zazu.search.driver import choose_winner, winner_first

    config = resolve_config(overrides={"model_priority_space": [8, 6, 6]})
    cost = {"ram_kb": 9000.0, "edgetpu_ops_mapped": True, "latency_source": "measured"}
    slow = {**_record("slow", float_=1.0, int8=1.0), "trial_dir": "t/slow",
            "cost": {**cost, "model_kb": 3883.0, "latency_ms": 5.02}}
    fast = {**_record("fast", float_=1.0, int8=1.0), "trial_dir": "t/fast",
            "cost": {**cost, "model_kb": 3883.0, "latency_ms": 4.87}}
    best = choose_winner(tmp_path, [slow, fast], "val_accuracy", config)  # ranked by metric: a tie, slow first
    assert best is fast
    assert [r["trial_id"] for r in winner_first([slow, fast], best)] == ["fast", "slow"]
    assert json.loads((tmp_path / "pareto.json").read_text())["chosen"] == "m-fast"
