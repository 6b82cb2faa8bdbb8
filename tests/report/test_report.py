"""report.html from run folders: complete, missing files, malformed files, detection; `zazu report` errors."""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from fake_runs import CLASSES, PARETO, referenced_pngs, section, table_rows
from PIL import Image

from zazu.atomic_io import atomic_write_json
from zazu.cli import cli
from zazu.config import resolve_config, save_config
from zazu.report import write_report

REPO = Path(__file__).resolve().parents[2]


def _assert_pngs_exist(run: Path, html: str) -> list[str]:
    sources = referenced_pngs(html)
    for src in sources:
        assert src.startswith("report/") and src.endswith(".png"), src
        with Image.open(run / src) as image:
            assert image.format == "PNG" and min(image.size) >= 100, (src, image.size)
    return sources


def test_full_classification_run_has_every_section(classification_run):
    run = classification_run
    path = write_report(run)
    assert path == run / "report.html"
    html = path.read_text(encoding="utf-8")

    sources = _assert_pngs_exist(run, html)
    assert sorted(sources) == sorted([
        "report/pareto.png", "report/curves-tiny_cnn-0.png", "report/curves-tiny_cnn-1.png",
        "report/curves-small_resnet-0.png", "report/hp-tiny_cnn.png", "report/hp-small_resnet.png",
        "report/confusion-int8.png", "report/predictions.png"])
    assert sorted(p.name for p in (run / "report").iterdir()) == sorted(Path(s).name for s in sources)
    # the only thing missing is the failed trial's history
    assert html.count("Not available") == 1
    assert "Not available: no history.csv for small_resnet #1" in html

    leaderboard = table_rows(section(html, "leaderboard"))
    assert [(r[1], r[2], r[3]) for r in leaderboard] == [
        ("small_resnet", "0", "COMPLETED"), ("tiny_cnn", "0", "COMPLETED"), ("tiny_cnn", "1", "COMPLETED"),
        ("small_resnet", "1", "FAILED")]
    assert '<tr class="failed">' in section(html, "leaderboard")

    cost = table_rows(section(html, "cost"))
    assert {r[0] for r in cost[:3] if r[4] == "yes"} == PARETO
    assert {r[0] for r in cost[:3]} == PARETO | {"tiny_cnn #1"}
    assert [(r[0], r[5]) for r in cost[3:]] == [("small_resnet-0", "shipped"), ("tiny_cnn-0", "")]

    export = section(html, "export")
    variants = [r[0] for r in table_rows(export)[:3]]
    assert variants == ["keras", "float16", "int8"]  # metrics table in the documented order
    assert "share of MACs mappable" in export and "edgetpu_compiler not on PATH" in export
    assert "{" not in "".join(c for r in table_rows(export) for c in r)  # no raw JSON in a cell

    # int8 confusion [[3,0,0],[1,2,0],[0,1,1]] (rows true); keras predicts all 8 right
    per_class = {r[0]: r[1:] for r in table_rows(section(html, "classes"))}
    assert list(per_class) == CLASSES
    assert per_class["circle"] == ["3", "1", "1", "0.75", "1"]   # support, P/R keras, P/R int8
    assert per_class["cross"] == ["3", "1", "1", "0.6667", "0.6667"]
    assert per_class["square"] == ["2", "1", "1", "1", "0.5"]
    assert "keras 1.0000, int8 0.7500" in section(html, "classes")


def test_every_missing_input_is_said_not_available(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    save_config(resolve_config(overrides={"task": "classification", "output": str(run)}), run / "config.yaml")
    trial = run / "trials" / "tiny_cnn-0"
    trial.mkdir(parents=True)
    atomic_write_json(trial / "trial.json", {"model": "tiny_cnn", "trial_id": "0", "status": "RUNNING",
                                             "hyperparameters": {"filters": 16}, "metrics": {}})

    html = write_report(run).read_text(encoding="utf-8")

    assert referenced_pngs(html) == []
    expected = {
        "summary": "best_trial.json not found",
        "leaderboard": "leaderboard.csv not found",
        "export": "export/export.json not found",
        "cost": "no completed trial has an int8 profile",
        "curves": "no trial has a history.csv",
        "hyperparameters": "no completed trial",
        "classes": "export/val_predictions.json not found",
        "predictions": "export/val_predictions.json not found",
    }
    for anchor, reason in expected.items():
        assert f"Not available: {reason}" in section(html, anchor), anchor
    assert "could not be drawn" not in html


def test_todays_export_json_and_no_trial_profiles(classification_run):
    """export.json as the search writes it today ("float"/"int8" metrics, no profile); no profile.json files."""
    run = classification_run
    for profile in run.glob("trials/*/profile.json"):
        profile.unlink()
    (run / "export" / "val_predictions.json").unlink()
    export = json.loads((run / "export" / "export.json").read_text())
    export = {k: v for k, v in export.items() if k not in ("profile", "edgetpu")}
    export["metrics"] = {"float": {"val_accuracy": 0.9}, "int8": {"val_accuracy": 0.875}}
    atomic_write_json(run / "export" / "export.json", export)

    html = write_report(run).read_text(encoding="utf-8")

    assert [r[:2] for r in table_rows(section(html, "export"))[:2]] == [["float", "0.9"], ["int8", "0.875"]]
    assert "Not available: export.json has no `profile`" in html
    assert "Not available: no completed trial has an int8 profile" in section(html, "cost")
    assert "Not available: export/val_predictions.json not found" in section(html, "classes")
    _assert_pngs_exist(run, html)


def test_relative_image_paths_resolve_against_dataset_json_when_the_config_has_no_data_folder(classification_run):
    run = classification_run
    config = (run / "config.yaml").read_text(encoding="utf-8")
    dataset = str(json.loads((run / "dataset.json").read_text())["root"])
    (run / "config.yaml").write_text(config.replace(f"home_path: {dataset}", "home_path: null"), encoding="utf-8")
    assert "home_path: null" in (run / "config.yaml").read_text()

    html = write_report(run).read_text(encoding="utf-8")

    assert "report/predictions.png" in section(html, "predictions")
    assert "Not available" not in section(html, "predictions")
    shutil.rmtree(dataset)  # and when the images are gone, the report says which
    assert "Not available: images not found: " in section(write_report(run).read_text(encoding="utf-8"),
                                                          "predictions")


def test_exported_trial_falls_back_to_the_profile_in_export_json(classification_run):
    run = classification_run
    for profile in run.glob("trials/*/profile.json"):
        profile.unlink()

    html = write_report(run).read_text(encoding="utf-8")

    cost = section(html, "cost")
    assert [(r[0], r[5]) for r in table_rows(cost) if " #" in r[0]] == [("small_resnet #0", "export/export.json")]
    assert "Not available: no int8 profile for tiny_cnn #0, tiny_cnn #1" in cost


def test_the_choice_is_by_int8_metric_and_the_report_shows_the_front_it_came_from(classification_run):
    """Today's run folder: each trial's profile.json holds its int8 metrics, best_trial.json names the metric
    that chose it, pareto.json the front and rule. small_resnet #0 is the float leader but quantizes badly."""
    run = classification_run
    int8_accuracy = {"tiny_cnn-0": 0.79, "tiny_cnn-1": 0.78, "small_resnet-0": 0.60}
    for name, accuracy in int8_accuracy.items():
        path = run / "trials" / name / "profile.json"
        profile = json.loads(path.read_text())
        atomic_write_json(path, {"int8": {**profile, "metrics": {"val_accuracy": accuracy}}})
    best = json.loads((run / "trials" / "tiny_cnn-0" / "trial.json").read_text())
    target = {"device": "cpu", "max_latency_ms": None, "max_model_kb": 100, "max_ram_kb": None,
              "edgetpu_full": False}
    atomic_write_json(run / "best_trial.json", {**best, "int8_metrics": {"val_accuracy": 0.79},
                                                "chosen_by": "int8 val_accuracy", "target": target})
    atomic_write_json(run / "pareto.json", {
        "rule": "front trials within 0.01 of the best int8 val_accuracy are equally accurate; ...",
        "priorities": [1.0, 0.5, 0.5], "chosen": "tiny_cnn-0",
        "trials": [{"model": "tiny_cnn", "trial_id": "0", "val_accuracy": 0.79, "latency_ms": 1.0,
                    "model_kb": 48.8, "latency_source": "measured: LiteRT"}]})

    html = write_report(run).read_text(encoding="utf-8")

    summary = section(html, "summary")
    assert "Chosen by its int8 val_accuracy (what ships), within the budget cpu, max_model_kb 100" in summary
    assert ["val_accuracy", "0.8", "0.79"] in table_rows(summary)  # float beside int8
    cost = section(html, "cost")
    rows = table_rows(cost)
    # by int8 metric tiny_cnn #0 beats small_resnet #0 on every axis; by float it would share the front
    assert {r[0] for r in rows[:3] if r[4] == "yes"} == {"tiny_cnn #0"}
    assert {r[0]: r[1] for r in rows[:3]}["small_resnet #0"] == "0.6000 (int8)"
    assert rows[3] == ["tiny_cnn-0", "0.79", "1", "measured: LiteRT", "48.8", "shipped"]
    assert "Rule: front trials within 0.01" in cost


def test_malformed_files_are_reported_not_raised(classification_run):
    run = classification_run
    (run / "export" / "export.json").write_text("{not json", encoding="utf-8")
    predictions = json.loads((run / "export" / "val_predictions.json").read_text())
    predictions["records"][0]["predicted"]["int8"] = 7  # no such class
    atomic_write_json(run / "export" / "val_predictions.json", predictions)
    (run / "trials" / "tiny_cnn-1" / "trial.json").write_text("[1, 2]", encoding="utf-8")
    (run / "best_trial.json").write_bytes(b"\xff\xfe\x00")

    html = write_report(run).read_text(encoding="utf-8")

    assert "Not available: export/export.json is not valid JSON (line 1" in section(html, "export")
    assert ("Not available: trial records left out: trials/tiny_cnn-1/trial.json: expected a JSON dict, found a list"
            in section(html, "summary"))
    assert "Not available: best_trial.json unreadable (UnicodeDecodeError" in section(html, "summary")
    classes = section(html, "classes")
    assert "could not be drawn" in classes and "label=0, predicted=7" in classes
    assert "curves-tiny_cnn-1.png" not in html  # its record is unreadable, so it is not a trial
    _assert_pngs_exist(run, html)


def test_detection_run_of_an_older_zazu_draws_its_prediction_images_and_per_class_ap(tmp_path):
    """Its per_class_ap.json is {class: AP} and its metrics have no AP by size: the report still builds."""
    run = tmp_path / "run"
    (run / "trials" / "retinanet-0").mkdir(parents=True)
    save_config(resolve_config(overrides={"task": "detection", "output": str(run)}), run / "config.yaml")
    record = {"model": "retinanet", "trial_id": "0", "status": "COMPLETED", "hyperparameters": {"anchor_ratios": [1.0]},
              "metrics": {"val_mAP": 0.31, "val_mAP50": 0.6}}
    atomic_write_json(run / "trials" / "retinanet-0" / "trial.json", record)
    atomic_write_json(run / "best_trial.json", record)
    atomic_write_json(run / "trials" / "retinanet-0" / "per_class_ap.json", {"circle": 0.4, "square": 0.22})
    (run / "export" / "predictions").mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (96, 96), (40 * i, 90, 200)).save(run / "export" / "predictions" / f"{i:05d}.png")

    html = write_report(run).read_text(encoding="utf-8")

    classes = section(html, "classes")
    assert table_rows(classes) == [["square", "0.22"], ["circle", "0.4"]]  # worst first
    assert "AP50 and object counts: trials/retinanet-0/per_class_ap.json was written by an older Zazu" in classes
    assert "Not available: the best trial&#x27;s metrics have no AP by object size" in classes
    assert "report/predictions.png" in section(html, "predictions")
    assert "report/hp-retinanet.png" in section(html, "hyperparameters")  # a list-valued choice, as a category
    _assert_pngs_exist(run, html)


def _detection_run(run: Path, task: str = "detection", objective: str = "val_mAP") -> Path:
    """A finished run whose best trial finds large objects well, medium ones half the time, small ones never."""
    from zazu.run_records import write_leaderboard

    (run / "trials" / "centernet-0").mkdir(parents=True)
    save_config(resolve_config(overrides={"task": task, "output": str(run)}), run / "config.yaml")
    sizes = {f"{objective}_small": 0.0, f"{objective}_medium": 0.5, f"{objective}_large": 0.9}
    record = {"model": "centernet", "trial_id": "0", "status": "COMPLETED", "hyperparameters": {"lr": 0.01},
              "metrics": {objective: 0.31, f"{objective}50": 0.6, **sizes},
              "int8_metrics": {objective: 0.3, f"{objective}50": 0.58,
                               **{k: max(0.0, v - 0.05) for k, v in sizes.items()}}}
    atomic_write_json(run / "trials" / "centernet-0" / "trial.json", record)
    atomic_write_json(run / "best_trial.json", record)
    atomic_write_json(run / "trials" / "centernet-0" / "per_class_ap.json", {
        "per_class_AP": {"circle": {"AP": 0.4, "AP50": 0.7, "instances": 12},
                         "square": {"AP": 0.22, "AP50": 0.5, "instances": 3}},
        "AP_by_size": {"small": {"instances": 4, "area": [0, 1024], "AP": 0.0},
                       "medium": {"instances": 5, "area": [1024, 9216], "AP": 0.5},
                       "large": {"instances": 10, "area": [9216, None], "AP": 0.9}}})
    write_leaderboard(run, [record], objective)
    return run


def test_detection_report_shows_ap_ap50_and_objects_per_class_and_ap_by_size(tmp_path):
    run = _detection_run(tmp_path / "run")

    html = write_report(run).read_text(encoding="utf-8")

    classes = section(html, "classes")
    assert table_rows(classes) == [
        ["square", "0.22", "0.5", "3"], ["circle", "0.4", "0.7", "12"],  # per class, worst first
        ["small", "0-1024", "4", "0", "0"],
        ["medium", "1024-9216", "5", "0.5", "0.45"],
        ["large", "> 9216", "10", "0.9", "0.85"],
    ]
    assert "COCO box AP per class" in classes and "Not available" not in classes
    # the detail stays out of the summary and leaderboard tables (leaderboard.csv keeps it)
    assert [r[0] for r in table_rows(section(html, "summary"))
            if r[0].startswith("val_")] == ["val_mAP", "val_mAP50"]
    leaderboard = section(html, "leaderboard")
    assert "_small" not in leaderboard and "and 6 AP-by-size columns;" in leaderboard
    assert "int8_val_mAP_small" in (run / "leaderboard.csv").read_text().splitlines()[0]


def test_detection_report_says_what_was_fitted_to_the_data_and_why(tmp_path):
    run = _detection_run(tmp_path / "run")
    atomic_write_json(run / "data_fit.json", {
        "box_stats": {"classes": [{"name": "car", "count": 120, "median_px": 39.0, "p10_px": 31.5},
                                  {"name": "person", "count": 80, "median_px": 102.0, "p10_px": 70.0}],
                      "images": 205, "mean_per_image": 13.4, "max_per_image": 30, "same_class_overlap_p99": 0.57,
                      "median_long_side": 640.0},
        "models": {"centernet": {"notes": ["input 512 px (entry: 320; searched: 512): class `car` ..."],
                                 "warnings": ["centernet: boxes no anchor reaches ... `car` 12%"]},
                   "other": {"notes": [], "warnings": []}}})

    fitted = section(write_report(run).read_text(encoding="utf-8"), "data_fit")

    assert table_rows(fitted) == [["car", "120", "39", "31.5"], ["person", "80", "102", "70"]]
    assert "up to 30" in fitted and "IoU up to 0.57" in fitted
    assert "<li>input 512 px (entry: 320; searched: 512)" in fitted and "<li>warning: centernet: boxes" in fitted
    assert "entry used as written" in fitted  # the model nothing was fitted for
    assert "Not available" in section(write_report(_detection_run(tmp_path / "old")).read_text(encoding="utf-8"),
                                      "data_fit")  # a run from before data fitting


def test_segmentation_report_says_mask_ap_and_a_size_without_objects_has_none(tmp_path):
    run = _detection_run(tmp_path / "run", "instance_segmentation", "val_mask_mAP")
    best = json.loads((run / "best_trial.json").read_text())
    for key in ("metrics", "int8_metrics"):  # as coco_metrics writes them: no key for a size without objects
        del best[key]["val_mask_mAP_small"]
    atomic_write_json(run / "best_trial.json", best)
    details_file = run / "trials" / "centernet-0" / "per_class_ap.json"
    details = json.loads(details_file.read_text())
    details["AP_by_size"]["small"] = {"instances": 0, "area": [0, 1024]}
    atomic_write_json(details_file, details)

    classes = section(write_report(run).read_text(encoding="utf-8"), "classes")

    assert "COCO mask AP per class" in classes and "masks sized by mask area" in classes
    assert ["small", "0-1024", "0", "n/a (no objects)", "n/a (no objects)"] in table_rows(classes)


def test_rewriting_drops_figures_that_no_longer_apply(classification_run):
    run = classification_run
    write_report(run)
    assert (run / "report" / "curves-tiny_cnn-1.png").is_file()
    shutil.rmtree(run / "trials" / "tiny_cnn-1")

    html = write_report(run).read_text(encoding="utf-8")

    assert not (run / "report" / "curves-tiny_cnn-1.png").exists()
    _assert_pngs_exist(run, html)


def test_zazu_report_cli_writes_the_report_or_says_what_is_missing(classification_run, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["report", str(classification_run)])
    assert ok.exit_code == 0, ok.output
    assert f"Report: {classification_run / 'report.html'}" in ok.output

    for folder, reason in ((tmp_path / "no" / "such" / "run", "folder not found"),
                           (tmp_path / "empty", "not a Zazu run folder")):
        if reason != "folder not found":
            folder.mkdir()
        result = runner.invoke(cli, ["report", str(folder)])
        assert result.exit_code == 2
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output
        assert reason in lines[0] and f"Received: run_dir={folder}" in lines[0]


def test_writing_a_report_does_not_import_tensorflow(classification_run):
    code = ("import sys; from zazu.report import write_report; write_report(sys.argv[1]); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'keras_tuner') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, str(classification_run)], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_zazu_report_open_hands_the_report_to_the_browser(classification_run, tmp_path):
    import stat

    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f"#!/bin/sh\necho \"$1\" > {opened}\n", encoding="utf-8")
    browser.chmod(browser.stat().st_mode | stat.S_IEXEC)
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "BROWSER": str(browser)}
    done = subprocess.run([sys.executable, str(repo / "main.py"), "report", str(classification_run), "--open"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert opened.read_text().strip() == (classification_run / "report.html").resolve().as_uri()
    no_browser = subprocess.run([sys.executable, str(repo / "main.py"), "report", str(classification_run), "--open"],
                                capture_output=True, text=True, env={**env, "BROWSER": str(tmp_path / "missing")},
                                timeout=120)
    assert no_browser.returncode == 0 and "No web browser to open it here" in no_browser.stdout


def test_the_model_card_reads_the_shipped_models_figures(classification_run):
    html = write_report(classification_run).read_text(encoding="utf-8")
    card = section(html, "card")
    tiles = dict(re.findall(r'data-check="tile-(\w+)"><div class="value">([^<]*)</div>', card))
    # export.json of the fake run: int8 0.75 against keras 1.0; int8 file 200,000 bytes; 3 ms at 2 threads;
    # every op mapped; no budget in best_trial.json
    assert tiles["metric"] == "0.750" and "float 1.000, int8 loses 0.250" in card
    assert tiles["size"] == "195 KiB" and tiles["latency"] == "3.00 ms" and "LiteRT, 2 threads, p90 3.60 ms" in card
    assert tiles["edgetpu"] == "100%"
    assert "small_resnet #0" in card and "zazu serve" in card
    assert html.index('id="card"') < html.index('id="predictions"') < html.index('id="leaderboard"')


def test_classification_samples_show_the_mistakes_first(classification_run):
    from zazu.report.run_reader import read_run
    from zazu.report.sections import _classification_samples

    samples, _ = _classification_samples(read_run(classification_run))
    flags = [s.correct for s in samples]
    assert False in flags and flags == sorted(flags)  # every wrong one before every right one


def test_the_leaderboard_leaves_out_columns_empty_in_every_row(classification_run):
    import csv

    with open(classification_run / "leaderboard.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    empty = [c for c in rows[0] if not any(r[c].strip() for r in rows)]
    html = write_report(classification_run).read_text(encoding="utf-8")
    head = re.findall(r"<th>([^<]*)</th>", section(html, "leaderboard"))
    assert empty and not set(empty) & set(head)
