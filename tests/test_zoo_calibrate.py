"""`zazu zoo calibrate`: measured ratings replace a contributor's claims in the ranking."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from zazu.cli import cli
from zazu.errors import RegistryError
from zazu.registry import Registry

REPO = Path(__file__).resolve().parents[1]


def _entry(filters: int, speed: float, memory: float) -> dict:
    return {"task": "classification",
            "model_space": {"accuracy_rating": 5, "speed_rating": speed, "memory_rating": memory},
            "hp_search_space": [{"name": "filters", "values": [filters], "sampling": None}],
            "training_configs": {"input_size": 32, "batch_size": 8, "depth": 3}}


@pytest.fixture
def claiming_zoo(tmp_path) -> Path:
    """Two copies of tiny_cnn whose declared ratings are upside down: the 4-filter one claims to be the
    slow, heavy one, the 64-filter one (about 60x the weights) the fast, light one."""
    for name in ("narrow", "wide"):
        (tmp_path / "zoo" / name).mkdir(parents=True)
        shutil.copy(REPO / "zoo" / "tiny_cnn" / "adapter.py", tmp_path / "zoo" / name / "adapter.py")
    (tmp_path / "models.json").write_text(json.dumps({"narrow": _entry(4, 1, 1), "wide": _entry(64, 9, 9)}))
    return tmp_path


def _rank(zoo: Path) -> list[str]:
    from zazu.ranking import rank_models

    return [r.spec.name for r in rank_models(Registry.load(zoo), "classification", [5, 10, 10])]


def test_calibrate_measures_each_model_and_the_ranking_follows_the_measurement(claiming_zoo):
    assert _rank(claiming_zoo) == ["wide", "narrow"]  # by the claims
    result = CliRunner().invoke(cli, ["zoo", "calibrate", "--zoo", str(claiming_zoo)])
    assert result.exit_code == 0, result.output
    assert "speed declared -> measured" in result.output and "narrow" in result.output

    calibration = json.loads((claiming_zoo / "calibration.json").read_text())
    narrow, wide = calibration["models"]["narrow"], calibration["models"]["wide"]
    assert wide["model_kb"] > 10 * narrow["model_kb"]
    for m in (narrow, wide):  # the scale the README states, computed here from the measured figures
        assert m["memory_rating"] == pytest.approx(min(10, max(0, 10 - 2.5 * math.log10(m["model_kb"] / 10))), abs=0.05)
        assert m["speed_rating"] == pytest.approx(min(10, max(0, 10 - 2.5 * math.log10(m["latency_ms"] / 0.1))), abs=0.05)
        assert m["latency_source"].startswith("measured")
    assert narrow["memory_rating"] > wide["memory_rating"]
    assert narrow["declared"]["memory_rating"] == 1  # the claim is kept beside the measurement

    assert _rank(claiming_zoo) == ["narrow", "wide"]  # by the measurement
    listed = CliRunner().invoke(cli, ["zoo", "list"], env={"ZAZU_ZOO": str(claiming_zoo)})
    assert f"1 / {narrow['memory_rating']:g}" in listed.output


def test_a_broken_calibration_file_is_one_clear_error(claiming_zoo):
    (claiming_zoo / "calibration.json").write_text(json.dumps({"models": {"narrow": {"speed_rating": 12}}}))
    with pytest.raises(RegistryError, match=r"calibration.json: models.narrow: expected speed_rating and "
                                            r"memory_rating in \[0, 10\]"):
        Registry.load(claiming_zoo)
    (claiming_zoo / "calibration.json").write_text("{not json")
    with pytest.raises(RegistryError, match="calibration.json: not valid JSON"):
        Registry.load(claiming_zoo)
