"""What an adapter class can do is read once from its methods (zazu.adapter_contract), not probed at each use."""

from __future__ import annotations

from zazu.adapter_contract import Capabilities


class PlainZazuML:
    def __init__(self, model_specs, hp_values):
        pass

    def train(self):
        pass

    def get_metrics(self):
        return {"val_accuracy": 0.5}


class ExportsWithLogOnly(PlainZazuML):
    def export(self, trial_dir, out_dir, log=None):
        return {}

    save = None  # an attribute named like a method is not the method


def test_a_plain_zazuml_adapter_only_trains_and_reports():
    assert Capabilities.of(PlainZazuML) == Capabilities()


def test_an_export_method_and_the_options_it_accepts_are_read_from_its_signature():
    capabilities = Capabilities.of(ExportsWithLogOnly)
    assert capabilities.exports and capabilities.export_options == frozenset({"log"})
    assert not capabilities.saves and not capabilities.predicts


def test_a_task_base_adapter_can_do_everything():
    from zazu.adapters import DetectionAdapter

    capabilities = Capabilities.of(DetectionAdapter)
    assert capabilities == Capabilities(saves=True, exports=True, export_options=frozenset({"options", "log"}),
                                        reloads_checkpoints=True, predicts=True, profiles_int8=True,
                                        fine_tunes_int8=True)


def test_fine_tuning_for_int8_needs_the_task_compile_as_well_as_int8_profiling():
    class ProfilesOnly:
        def for_inference(self, metadata): ...
        def inference_input(self, image): ...
        def decode_outputs(self, outputs, context): ...
        def prediction_json(self, prediction): ...
        def score_records(self, predictions, records): ...
        def representative_images(self, limit=100): ...
        def val_image_paths(self): ...

    class AndCompiles(ProfilesOnly):
        def compile_for(self, learning_rate): ...
        def fit_callbacks(self): ...

    assert Capabilities.of(ProfilesOnly).profiles_int8 and not Capabilities.of(ProfilesOnly).fine_tunes_int8
    assert Capabilities.of(AndCompiles).fine_tunes_int8


def test_the_registry_reads_them_when_it_loads_an_entry():
    from zazu.registry import Registry

    assert Registry.load().get("tiny_cnn").capabilities.profiles_int8
