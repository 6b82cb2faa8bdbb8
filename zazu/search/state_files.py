"""The search state a resume continues from, checked before anything runs.

keras-tuner keeps a model's search in `tuner/<model>/oracle.json` (which trials ran, which are
ongoing, the sampler's state) and `tuner/<model>/trial_*/trial.json`; Zazu keeps its trial records in
`trials/*/trial.json` and per-epoch resume points in `trials/*/resume/state.json`. Every one is
written atomically, so a kill never leaves half a file; a file broken some other way (a full disk,
an edit, a copy cut short) used to surface as an exception inside the search, which then counted
the model as searched and lost its remaining trials for good.

So a resume first reads every state file. A broken `oracle.json` is restored from the copy kept
beside it at every save (`oracle.last-good.json`); anything else broken is a RunFolderError naming
the file, raised before a single file is changed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from zazu.atomic_io import atomic_write_text, read_json
from zazu.errors import RunFolderError

ORACLE = "oracle.json"
LAST_GOOD = "oracle.last-good.json"


def save_oracle_state(path: str | Path, text: str) -> None:
    """Write keras-tuner's oracle state, then the copy a resume falls back on."""
    path = Path(path)
    atomic_write_text(path, text)
    atomic_write_text(path.with_name(LAST_GOOD), text)


def _problem(path: Path) -> RunFolderError | None:
    """None when `path` parses as JSON; otherwise read_json's error naming it."""
    try:
        read_json(path)
    except RunFolderError as error:
        return error
    return None


def check_resumable(run_dir: str | Path) -> list[str]:
    """Read every search state file of `run_dir`. Returns notes on what was restored; raises
    RunFolderError naming the first file that is broken and cannot be restored."""
    run_dir = Path(run_dir)
    notes = []
    broken = []
    for oracle in sorted((run_dir / "tuner").glob(f"*/{ORACLE}")):
        problem = _problem(oracle)
        if problem is None:
            continue
        backup = oracle.with_name(LAST_GOOD)
        if not (backup.is_file() and _problem(backup) is None):
            raise RunFolderError(f"{problem} There is no good copy beside it ({LAST_GOOD}): the search cannot "
                                 "be resumed from it.")
        broken.append((oracle, backup))
    patterns = ("*/trial_*/trial.json", "*/tuner_*.json")
    state_files = [p for pattern in patterns for p in sorted((run_dir / "tuner").glob(pattern))]
    state_files += sorted((run_dir / "trials").glob("*/trial.json"))
    state_files += sorted((run_dir / "trials").glob("*/resume/state.json"))
    for path in state_files:
        problem = _problem(path)
        if problem is not None:
            raise problem
    for oracle, backup in broken:  # only once every other file is known good
        shutil.copyfile(backup, oracle)
        notes.append(f"{oracle} was corrupt or truncated; restored from {backup.name}")
    return notes
