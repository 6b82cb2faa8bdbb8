"""The zoo contract, run over every entry in models.json through the same checks `zazu zoo check` runs
(`zazu.zoo_check.entry_checks`), with data: the adapter's search space converts, it reads only its
entry's hyperparameters, builds, trains one epoch on tiny images, returns its task's objective, and its
int8 export maps fully to the Edge TPU."""

from __future__ import annotations

import pytest

from zazu.registry import Registry
from zazu.zoo_check import ZooCheckFailed, entry_checks, hyperparameter_reads

REGISTRY = Registry.load()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REGISTRY.models))
def test_zoo_entry_meets_every_check(name, task_datasets, tmp_path):
    """(One test per entry, so each is built and traced once.)"""
    spec = REGISTRY.models[name]
    ran = []
    for label, check in entry_checks(spec, data=task_datasets[spec.task], folder=tmp_path):
        check()  # raises ZooCheckFailed with what is wrong
        ran.append(label)
    # the training and export checks ran too: data was given
    assert ran[-2:] == ["trains one epoch and reports its objective", "int8 export maps fully to the Edge TPU"]


def test_the_quick_checks_are_what_zoo_check_runs(tmp_path):
    """Without data the generator yields no training check: `zazu zoo check` runs in seconds."""
    spec = REGISTRY.models["tiny_cnn"]
    labels = [label for label, _ in entry_checks(spec)]
    assert labels == ["search space converts to keras-tuner", "hyperparameters read from the entry alone",
                      "builds at 32 px"]


def test_an_adapter_reading_a_name_its_entry_lacks_fails_its_check(tmp_path):
    import dataclasses

    spec = REGISTRY.models["tiny_cnn"]
    source = spec.adapter_path.read_text(encoding="utf-8").replace('self.hp["depth"]', 'self.hp["depht"]')
    assert source != spec.adapter_path.read_text(encoding="utf-8")
    (tmp_path / "adapter.py").write_text(source, encoding="utf-8")
    broken = dataclasses.replace(spec, adapter_path=tmp_path / "adapter.py")
    checks = dict(entry_checks(broken))
    with pytest.raises(ZooCheckFailed, match="depht"):
        checks["hyperparameters read from the entry alone"]()


def test_hyperparameter_reads_finds_subscripts_and_gets_with_defaults():
    names, with_defaults = hyperparameter_reads(
        "class A:\n def f(self):\n  return self.hp['a'], self.hp.get('b'), self.hp.get('c', 3), other['d']\n")
    assert names == {"a", "b", "c"} and with_defaults == ["c"]
