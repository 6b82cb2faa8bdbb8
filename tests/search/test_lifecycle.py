"""run_lifecycle / check_metrics: the ZazuML call order and the checks on get_metrics()."""

from __future__ import annotations

import pytest

from zazu.adapters.lifecycle import STEPS, check_metrics, run_lifecycle
from zazu.errors import TrialFailed

OBJECTIVE = "val_accuracy"
MODEL = object()


class Recorder:
    """Duck-typed adapter with every lifecycle method; records the calls."""

    def __init__(self, metrics=None):
        self.calls: list[str] = []
        self.metrics = {OBJECTIVE: 0.9, "val_loss": 0.3} if metrics is None else metrics

    def reformat(self):
        self.calls.append("reformat")

    def data_loader(self):
        self.calls.append("data_loader")

    def preprocess(self):
        self.calls.append("preprocess")

    def build(self):
        self.calls.append("build")
        return MODEL

    def train(self):
        self.calls.append("train")
        assert self.model is MODEL  # build()'s return value is in place before train()

    def get_metrics(self):
        self.calls.append("get_metrics")
        return self.metrics


class Minimal:
    """Only the mandatory methods."""

    def __init__(self):
        self.calls: list[str] = []

    def train(self):
        self.calls.append("train")

    def get_metrics(self):
        self.calls.append("get_metrics")
        return {OBJECTIVE: 0.5}


def test_methods_run_in_zazuml_order():
    adapter = Recorder()
    run_lifecycle(adapter, OBJECTIVE)
    assert adapter.calls == ["reformat", "data_loader", "preprocess", "build", "train", "get_metrics"]
    assert STEPS == tuple(adapter.calls)


def test_returns_the_checked_metrics_as_floats():
    metrics = run_lifecycle(Recorder({OBJECTIVE: 1, "val_loss": 0.25}), OBJECTIVE)
    assert metrics == {OBJECTIVE: 1.0, "val_loss": 0.25}
    assert all(type(v) is float for v in metrics.values())


def test_build_return_value_is_stored_as_model():
    adapter = Recorder()
    run_lifecycle(adapter, OBJECTIVE)
    assert adapter.model is MODEL


def test_build_returning_none_keeps_the_model_the_adapter_set():
    class SetsItsOwnModel(Minimal):
        def build(self):
            self.model = "own"

    adapter = SetsItsOwnModel()
    run_lifecycle(adapter, OBJECTIVE)
    assert adapter.model == "own"


def test_missing_optional_methods_are_skipped_and_logged():
    adapter = Minimal()
    messages: list[str] = []
    assert run_lifecycle(adapter, OBJECTIVE, log=messages.append) == {OBJECTIVE: 0.5}
    assert adapter.calls == ["train", "get_metrics"]
    assert not hasattr(adapter, "model")
    skipped = [m for m in messages if "skipped" in m]
    assert [m.split(":")[0] for m in skipped] == ["reformat", "data_loader", "preprocess", "build"]


def test_missing_mandatory_method_fails_the_trial():
    class NoTrain:
        def get_metrics(self):
            return {OBJECTIVE: 1.0}

    with pytest.raises(TrialFailed, match=r"`AdaptModel.train\(\)` is missing"):
        run_lifecycle(NoTrain(), OBJECTIVE)


def test_steps_up_to_preprocess_stop_early():
    adapter = Recorder()
    metrics = run_lifecycle(adapter, OBJECTIVE, steps=("reformat", "data_loader", "preprocess"))
    assert adapter.calls == ["reformat", "data_loader", "preprocess"]
    assert metrics == {}
    assert not hasattr(adapter, "model")


def test_an_exception_in_a_step_propagates_and_stops_the_lifecycle():
    class Crashes(Recorder):
        def preprocess(self):
            raise ValueError("bad pipeline")

    adapter = Crashes()
    with pytest.raises(ValueError, match="bad pipeline"):
        run_lifecycle(adapter, OBJECTIVE)
    assert adapter.calls == ["reformat", "data_loader"]


def test_get_metrics_returning_none():
    with pytest.raises(TrialFailed) as info:
        run_lifecycle(_returns(None), OBJECTIVE)
    assert "The return value of `AdaptModel.get_metrics()` is None" in str(info.value)
    assert OBJECTIVE in str(info.value)


def _returns(value):
    class Adapter(Minimal):
        def get_metrics(self):
            return value

    return Adapter()


@pytest.mark.parametrize("value", [0.93, [0.93], "0.93", (OBJECTIVE, 0.93)])
def test_get_metrics_returning_a_non_dict(value):
    with pytest.raises(TrialFailed) as info:
        check_metrics(value, OBJECTIVE)
    msg = str(info.value)
    assert f"is a {type(value).__name__}" in msg
    assert OBJECTIVE in msg


def test_get_metrics_without_the_objective():
    with pytest.raises(TrialFailed) as info:
        check_metrics({"accuracy": 0.9, "loss": 0.1}, OBJECTIVE)
    msg = str(info.value)
    assert f"has no `{OBJECTIVE}`" in msg
    assert "['accuracy', 'loss']" in msg


@pytest.mark.parametrize("value", ["high", None, [0.9], {"top1": 0.9}])
def test_get_metrics_with_a_non_numeric_value(value):
    with pytest.raises(TrialFailed) as info:
        check_metrics({OBJECTIVE: 0.9, "val_loss": value}, OBJECTIVE)
    msg = str(info.value)
    assert "non-numeric `val_loss`" in msg
    assert repr(value) in msg


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_objective_fails_the_trial(value):
    with pytest.raises(TrialFailed, match="not finite"):
        check_metrics({OBJECTIVE: value}, OBJECTIVE)


def test_nan_objective_through_the_lifecycle():
    with pytest.raises(TrialFailed, match=f"{OBJECTIVE}=nan"):
        run_lifecycle(_returns({OBJECTIVE: float("nan")}), OBJECTIVE)


def test_numpy_scalars_are_accepted():
    import numpy as np

    assert check_metrics({OBJECTIVE: np.float32(0.5), "n": np.int64(3)}, OBJECTIVE) == {OBJECTIVE: 0.5, "n": 3.0}


def test_objective_name_is_taken_from_the_argument():
    assert check_metrics({"val_mAP": 0.4}, "val_mAP") == {"val_mAP": 0.4}
    with pytest.raises(TrialFailed, match="has no `val_mAP`"):
        check_metrics({OBJECTIVE: 0.4}, "val_mAP")
