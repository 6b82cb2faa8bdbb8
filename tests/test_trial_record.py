"""TrialRecord names every key a trial.json holds, so a key the tuner starts writing must be typed there too."""

from __future__ import annotations

import json
from pathlib import Path

from zazu.trial_record import TrialRecord

FIXTURE_RUN = Path(__file__).resolve().parent / "fixtures" / "run_before_trial_inputs" / "run"


def test_every_key_of_a_recorded_trial_is_typed():
    records = [json.loads(p.read_text()) for p in sorted(FIXTURE_RUN.glob("trials/*/trial.json"))]
    assert {r["status"] for r in records} == {"COMPLETED", "RUNNING"}  # a finished and a started record
    typed = set(TrialRecord.__annotations__)
    assert [sorted(set(r) - typed) for r in records] == [[], []]


def test_what_the_tuner_adds_for_int8_is_typed():
    from zazu.search.int8_shipping import int8_quality
    from zazu.tasks import TASKS

    added = int8_quality({"val_accuracy": 0.9}, {"val_accuracy": 0.9}, TASKS["classification"])
    assert set(added) <= set(TrialRecord.__annotations__)
