"""The status a Zazu trial record carries (`trials/<model>-<id>/trial.json`, `leaderboard.csv`).

A `StrEnum`, so a record written as JSON holds the plain name ("COMPLETED") and a record read back from
an older run folder compares equal to the member. keras-tuner's own `TrialStatus` describes its oracle's
trials; this one describes Zazu's records of them, which add OVER_BUDGET.
"""

from __future__ import annotations

import enum


class TrialStatus(enum.StrEnum):
    RUNNING = "RUNNING"  # started; a record left in it by a killed process is run again on resume
    COMPLETED = "COMPLETED"  # trained and scored: its metrics (and int8 metrics) are in the record
    OVER_BUDGET = "OVER_BUDGET"  # measured before training and over the device budget: never trained
    FAILED = "FAILED"  # raised, timed out or its worker died: the error is in the record
    INTERRUPTED = "INTERRUPTED"  # stopped by Ctrl-C or a signal: run again on resume


# a trial in one of these is not run again on resume
FINAL_STATUSES = (TrialStatus.COMPLETED, TrialStatus.OVER_BUDGET, TrialStatus.FAILED)
# a trial with a measured cost: completed, or refused by the budget before training
MEASURED_STATUSES = (TrialStatus.COMPLETED, TrialStatus.OVER_BUDGET)
