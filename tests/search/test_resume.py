"""Resume: a search killed with SIGKILL or stopped with Ctrl-C continues from its run folder."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from searchkit import calls, child_env, killed_search, main_py, start_child, trial_status, wait_for, write_config

from zazu.cli import cli
from zazu.config import resolve_config
from zazu.errors import ConfigError, DatasetError
from zazu.registry import Registry

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')


def _leaderboard(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "leaderboard.csv", newline="") as f:
        return list(csv.DictReader(f))


def _killed_in_other_1(duck_zoo, dataset, tmp_path, max_trials: int) -> Path:
    """A duck search of `good` then `other`, killed with SIGKILL while trial other-1 runs; its run folder."""
    return killed_search(duck_zoo, dataset, tmp_path, max_trials, "other-1")


def test_a_search_killed_with_sigkill_resumes_without_rerunning_finished_trials(duck_zoo, shapes_dataset, tmp_path):
    # `good` gets trials 0-2, then the search moves on to `other` and is killed in its second trial.
    run_dir = _killed_in_other_1(duck_zoo, shapes_dataset, tmp_path, max_trials=5)
    finished = {name: json.loads((run_dir / "trials" / name / "trial.json").read_text())
                for name in ("good-0", "good-1", "good-2", "other-0")}
    assert all(record["status"] == "COMPLETED" for record in finished.values())
    assert trial_status(run_dir, "other-1") == "RUNNING"  # killed mid-trial: nothing could record an end

    resumed = subprocess.run(main_py("--resume", str(run_dir)), env=child_env(), capture_output=True, text=True,
                             timeout=240)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    rows = _leaderboard(run_dir)
    assert len(rows) == 5  # max_trials, same shape as an uninterrupted run
    assert sorted((r["model"], r["trial_id"]) for r in rows) == [("good", "0"), ("good", "1"), ("good", "2"),
                                                                 ("other", "0"), ("other", "1")]
    assert all(r["status"] == "COMPLETED" for r in rows)
    for name, before in finished.items():
        row = next(r for r in rows if f"{r['model']}-{r['trial_id']}" == name)
        assert float(row["val_accuracy"]) == before["metrics"]["val_accuracy"]  # random metric: a rerun would differ
        after = json.loads((run_dir / "trials" / name / "trial.json").read_text())
        assert after["started_at"] == before["started_at"]
    ran = [name for name, _ in calls(run_dir)]
    assert all(ran.count(name) == 1 for name in finished)  # finished before the kill: not rerun
    for name in finished:  # ... nor even handed out again: run.json and keras-tuner's oracle state knew them
        assert "finished before the interruption" not in (run_dir / "trials" / name / "log.txt").read_text()
    assert ran.count("other-1") == 2  # running at the kill: rerun
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "finished"
    assert [s["resumed"] for s in manifest["sessions"]] == [False, True]
    assert json.loads((run_dir / "best_trial.json").read_text())["metrics"]["val_accuracy"] == \
        max(float(r["val_accuracy"]) for r in rows)


def test_a_truncated_oracle_json_is_restored_or_refused_never_taken_for_a_finished_search(
        duck_zoo, shapes_dataset, tmp_path):
    run_dir = _killed_in_other_1(duck_zoo, shapes_dataset, tmp_path, max_trials=4)
    oracle = run_dir / "tuner" / "other" / "oracle.json"
    last_good = oracle.with_name("oracle.last-good.json")
    good_copy = last_good.read_bytes()
    assert good_copy == oracle.read_bytes()  # kept beside it at every save
    oracle.write_bytes(oracle.read_bytes()[: len(good_copy) // 2])  # a copy cut short
    last_good.write_bytes(b"")

    # no good copy either: refused, naming the file, and nothing changes
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    refused = subprocess.run(main_py("--resume", str(run_dir)), env=child_env(), capture_output=True, text=True,
                             timeout=240)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    said = " ".join((refused.stdout + refused.stderr).split())
    assert f"{oracle}: corrupt or truncated JSON" in said and "Traceback" not in said
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before

    # with the good copy: restored, and the search goes on to max_trials without rerunning a finished trial
    last_good.write_bytes(good_copy)
    resumed = subprocess.run(main_py("--resume", str(run_dir)), env=child_env(), capture_output=True, text=True,
                             timeout=240)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "restored from oracle.last-good.json" in " ".join((resumed.stdout + resumed.stderr).split())
    rows = _leaderboard(run_dir)
    assert sorted((r["model"], r["trial_id"]) for r in rows) == [("good", "0"), ("good", "1"), ("other", "0"),
                                                                 ("other", "1")]
    assert all(r["status"] == "COMPLETED" for r in rows)
    ran = [name for name, _ in calls(run_dir)]
    assert [ran.count(name) for name in ("good-0", "good-1", "other-0")] == [1, 1, 1]


@pytest.mark.parametrize("stop, code, said", [(signal.SIGINT, 130, "Search interrupted."),
                                               (signal.SIGTERM, 143, "Search stopped by SIGTERM.")])
def test_ctrl_c_or_sigterm_stops_cleanly_says_how_to_resume_and_resume_reruns_the_interrupted_trial(
        duck_zoo, shapes_dataset, tmp_path, stop, code, said):
    from zazu.console import Reporter
    from zazu.search.driver import resume_search

    run_dir = tmp_path / "run"
    config = write_config(tmp_path / "search.yaml", zoo=str(duck_zoo), models=["good"], max_trials=3,
                          data={"home_path": str(shapes_dataset)})
    log = tmp_path / "search.log"
    process = start_child(main_py("--config", str(config), "--output", str(run_dir)), child_env(DUCK_HOLD="good-1"), log)
    try:
        wait_for(lambda: "good-1" in [name for name, _ in calls(run_dir)], 120, "trial good-1 to start", process)
        process.send_signal(stop)
        assert process.wait(60) == code
    finally:
        if process.poll() is None:
            process.kill()
    output = log.read_text()
    assert said in output
    assert f"Resume it with: zazu search --resume {run_dir.resolve()}" in output
    assert "Traceback" not in output
    assert trial_status(run_dir, "good-0") == "COMPLETED"
    assert trial_status(run_dir, "good-1") == "INTERRUPTED"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert [r["status"] for r in _leaderboard(run_dir)] == ["COMPLETED", "INTERRUPTED"]

    result = resume_search(run_dir, Reporter(quiet=True))

    assert [r["status"] for r in result.ranked] == ["COMPLETED"] * 3
    ran = [name for name, _ in calls(run_dir)]
    assert sorted(ran) == ["good-0", "good-1", "good-1", "good-2"]
    log_text = (run_dir / "trials" / "good-1" / "log.txt").read_text()
    assert "INTERRUPTED" in log_text and "rerun" in log_text  # one log per trial, both runs in it


@pytest.fixture
def finished_run(duck_zoo, shapes_dataset, tmp_path):
    """A finished two-trial duck search on a private copy of the dataset."""
    from zazu.console import Reporter
    from zazu.search.driver import run_search

    data = shutil.copytree(shapes_dataset, tmp_path / "data")
    config = resolve_config(overrides={"zoo": str(duck_zoo), "models": ["good", "other"], "max_trials": 2,
                                       "output": str(tmp_path / "run"), "data": {"home_path": str(data)}})
    return run_search(config, Reporter(quiet=True), registry=Registry.load(duck_zoo)), config


def test_the_run_folder_holds_the_manifest_the_models_code_and_keras_tuner_state(finished_run, duck_zoo):
    result, _ = finished_run
    run_dir = result.run_dir
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "finished"
    assert manifest["dataset"]["fingerprint"].startswith("sha256:")
    assert manifest["dataset"]["images"] == sum(manifest["dataset"]["split"].values())
    assert [(m["name"], m["trials"], m["status"]) for m in manifest["models"]] == [("good", 1, "done"),
                                                                                   ("other", 1, "done")]
    for model in manifest["models"]:
        copy = run_dir / model["adapter"]
        assert copy.read_bytes() == (duck_zoo / "zoo" / model["name"] / "adapter.py").read_bytes()
    assert json.loads((run_dir / "models/models.json").read_text()) == \
        json.loads((duck_zoo / "models.json").read_text())
    assert set(Registry.load(run_dir / "models").models) == {"good", "other"}  # a zoo of its own: rerunnable
    for model in ("good", "other"):
        assert (run_dir / "tuner" / model / "oracle.json").is_file()
        folder = run_dir / "trials" / f"{model}-0"
        for name in ("trial.json", "hyperparameters.json", "log.txt", "metrics.json"):
            assert (folder / name).is_file(), name
        record = json.loads((folder / "trial.json").read_text())
        assert record["wall_time_s"] > 0 and record["finished_at"] >= record["started_at"]


def test_a_new_search_refuses_a_folder_that_holds_a_run(finished_run):
    from zazu.search.driver import run_search

    result, config = finished_run
    before = (result.run_dir / "leaderboard.csv").read_text()
    with pytest.raises(ConfigError, match="already holds a run.*--resume"):
        run_search(config)
    assert (result.run_dir / "leaderboard.csv").read_text() == before


def test_resume_refuses_a_finished_run_a_missing_folder_and_other_options(finished_run, tmp_path):
    result, _ = finished_run
    runner = CliRunner()
    for args, expected in [
        (["--resume", str(result.run_dir)], "this search finished; there is nothing to resume"),
        (["--resume", str(tmp_path / "nowhere")], "Run folder not found"),
        (["--resume", str(result.run_dir), "--max-trials", "9"], "Received: --max-trials"),
        (["--resume", str(tmp_path)], "`config.yaml` is missing"),
    ]:
        outcome = runner.invoke(cli, args)
        assert outcome.exit_code == 2, outcome.output
        assert expected in outcome.output
        assert "Traceback" not in outcome.output


def _edit(manifest: dict, place: tuple, value) -> dict:
    """`manifest` with the field at `place` set to `value` (deleted when value is DELETE)."""
    parent = manifest
    for key in place[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[place[-1]]
    else:
        parent[place[-1]] = value
    return manifest


DELETE = object()
HOSTILE_RUN_FILES = [  # (file, place, value, what the error says)
    ("run.json", (), [], "run.json: must be a JSON object. Received: []"),
    ("run.json", ("models",), "good", "run.json: `models` must be a list. Received: models='good'"),
    ("run.json", ("models", 1, "trials"), "1", "run.json: models[1] `trials` must be a non-negative integer. "
                                               "Received: trials='1'"),
    ("run.json", ("models", 0, "status"), DELETE, "run.json: models[0] has no `status`"),
    ("run.json", ("dataset",), [], "run.json: `dataset` must be a JSON object"),
    ("run.json", ("sessions",), DELETE, "run.json: has no `sessions`"),
    ("dataset.json", ("records",), {}, "dataset.json: `records` must be a list. Received: records={}"),
    ("dataset.json", ("records", 0, "path"), None, "dataset.json: records[0] `path` must be a non-empty string"),
    ("dataset.json", ("records", 0, "source"), DELETE, "dataset.json: records[0] (circle/"),
    ("split.json", ("val", 0), "gone.png", "split.json: `val` lists 'gone.png', which is not an image of the run's"),
    ("split.json", ("train",), {}, "split.json: `train` must be a non-empty list of image paths"),
]


def test_a_run_json_or_dataset_json_of_the_wrong_shape_is_one_error_naming_file_and_field(finished_run, tmp_path):
    """run.json is read by --resume and export, dataset.json and split.json by --resume (before any trial, which
    would fail on them and never run again): an edited field is one line, exit 2."""
    result, _ = finished_run
    runner = CliRunner()
    for k, (name, place, value, expected) in enumerate(HOSTILE_RUN_FILES):
        run_dir = shutil.copytree(result.run_dir, tmp_path / f"case{k}")
        manifest = _edit(json.loads((run_dir / "run.json").read_text()), ("status",), "interrupted")
        (run_dir / "run.json").write_text(json.dumps(manifest))
        data = json.loads((run_dir / name).read_text())
        (run_dir / name).write_text(json.dumps(value if place == () else _edit(data, place, value)))
        before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
        for args in (["--resume", str(run_dir)], *([["export", str(run_dir)]] if name == "run.json" else [])):
            outcome = runner.invoke(cli, args)
            where = f"{name} {place}={value!r}, {args[0]}"
            assert outcome.exit_code == 2 and isinstance(outcome.exception, SystemExit), f"{where}: {outcome.output}"
            assert f"error: {run_dir / name}: " in outcome.output and expected in outcome.output, where
            assert "Traceback" not in outcome.output, where
        assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before  # nothing was changed


HOSTILE_TRIAL_RECORDS = [  # (place in best_trial.json, value, what the error says)
    ((), [], "best_trial.json: must be a JSON object. Received: []"),
    (("model",), [], "best_trial.json: `model` must be a non-empty string. Received: model=[]"),
    (("model",), DELETE, "best_trial.json: has no `model`"),
    (("hp_values",), DELETE, "best_trial.json: has no `hp_values`"),
    (("model_specs",), [], "best_trial.json: `model_specs` must be a JSON object"),
    (("model_specs", "run_dir"), DELETE, "best_trial.json: model_specs has no `run_dir`"),
]


def test_an_edited_trial_record_is_one_error_naming_file_and_field_on_export(finished_run, tmp_path):
    result, _ = finished_run
    runner = CliRunner()
    for k, (place, value, expected) in enumerate(HOSTILE_TRIAL_RECORDS):
        run_dir = shutil.copytree(result.run_dir, tmp_path / f"case{k}")
        record = json.loads((run_dir / "best_trial.json").read_text())
        (run_dir / "best_trial.json").write_text(json.dumps(value if place == () else _edit(record, place, value)))
        before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
        outcome = runner.invoke(cli, ["export", str(run_dir)])
        where = f"{place}={value!r}"
        assert outcome.exit_code == 2 and isinstance(outcome.exception, SystemExit), f"{where}: {outcome.output}"
        assert f"error: {run_dir / 'best_trial.json'}: " in outcome.output and expected in outcome.output, where
        assert "Traceback" not in outcome.output, where
        assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("command", ["resume", "export"])
def test_a_run_folder_whose_adapter_changed_is_refused_before_its_code_runs(finished_run, tmp_path, command):
    from zazu.errors import RunFolderError
    from zazu.export.from_run import export_trial, trial_record
    from zazu.run_records import update_manifest
    from zazu.search.driver import resume_search

    result, config = finished_run
    update_manifest(result.run_dir, status="interrupted")
    adapter = result.run_dir / "models" / "zoo" / "other" / "adapter.py"
    marker = tmp_path / "ran"
    adapter.write_text(f"open({str(marker)!r}, 'w').write('x')\n" + adapter.read_text())
    with pytest.raises(RunFolderError, match=r"other/adapter.py: changed since the run recorded it"):
        if command == "resume":
            resume_search(result.run_dir)
        else:
            export_trial(result.run_dir, trial_record(result.run_dir), config["export"])
    assert not marker.exists()  # refused before the import


def test_a_ctrl_c_that_python_swallowed_still_stops_the_search_before_export(duck_zoo, shapes_dataset, tmp_path,
                                                                           monkeypatch):
    """Seen once in four Ctrl-Cs on `zazu train`: the interrupt landed where Python only prints
    "Exception ignored", and the run trained on, exported and exited 0."""
    from zazu.console import Reporter
    from zazu.search.driver import SearchInterrupted, resume_search, run_search

    monkeypatch.setenv("DUCK_SWALLOW_SIGINT", "good-0")
    config = resolve_config(overrides={"zoo": str(duck_zoo), "models": ["good"], "max_trials": 3,
                                       "output": str(tmp_path / "run"), "data": {"home_path": str(shapes_dataset)}})
    with pytest.raises(SearchInterrupted):
        run_search(config, Reporter(quiet=True), registry=Registry.load(duck_zoo))
    run_dir = tmp_path / "run"
    assert [name for name, _ in calls(run_dir)] == ["good-0"]  # no trial started after it
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert not (run_dir / "export").exists() and not (run_dir / "best_trial.json").exists()
    monkeypatch.delenv("DUCK_SWALLOW_SIGINT")
    resumed = resume_search(run_dir, Reporter(quiet=True))  # and it resumes like any interrupted search
    assert len(resumed.ranked) == 3 and [name for name, _ in calls(run_dir)].count("good-0") == 1


def test_resume_refuses_a_dataset_that_changed(finished_run):
    from zazu.run_records import update_manifest
    from zazu.search.driver import resume_search

    result, config = finished_run
    update_manifest(result.run_dir, status="interrupted")
    image = next(Path(config["data"]["home_path"]).rglob("*.png"))
    image.write_bytes(image.read_bytes() + b"\0")
    with pytest.raises(DatasetError, match="the dataset changed since the run started"):
        resume_search(result.run_dir)


def test_a_trial_recorded_complete_but_not_yet_told_to_the_oracle_is_not_rerun(finished_run):
    """The kill can land after a trial wrote its record and before keras-tuner saved its end."""
    from zazu.console import Reporter
    from zazu.atomic_io import read_json
    from zazu.run_records import update_manifest
    from zazu.search.driver import resume_search

    result, _ = finished_run
    run_dir = result.run_dir
    before = json.loads((run_dir / "trials" / "other-0" / "trial.json").read_text())
    oracle_file = run_dir / "tuner" / "other" / "oracle.json"
    state = read_json(oracle_file)
    state.update(ongoing_trials={"tuner0": "0"}, end_order=[])  # keras-tuner's view when the kill came
    oracle_file.write_text(json.dumps(state))
    update_manifest(run_dir, status="interrupted",
                    models=[{**m, "status": "searching" if m["name"] == "other" else m["status"]}
                            for m in read_json(run_dir / "run.json")["models"]])

    resumed = resume_search(run_dir, Reporter(quiet=True))

    assert [name for name, _ in calls(run_dir)].count("other-0") == 1
    assert "finished before the interruption" in (run_dir / "trials" / "other-0" / "log.txt").read_text()
    row = next(r for r in resumed.ranked if r["model"] == "other")
    assert row["metrics"] == before["metrics"] and row["started_at"] == before["started_at"]
    assert len(resumed.ranked) == 2
