"""`zazu search` (also what `zazu` with no command runs) and `zazu worker`."""

from __future__ import annotations

import signal
import sys

import click

from zazu.budget import DEVICES
from zazu.cli._base import TRUST_OPTION, cli, fails_cleanly, quiet_tensorflow
from zazu.config import SEARCH_METHODS
from zazu.errors import ConfigError
from zazu.interrupts import DiskFull, exit_code, stopping_signal
from zazu.tasks import TASKS


@cli.command()
@click.option("--task", type=click.Choice(list(TASKS)), default=None,
              help="What to learn. Default: classification.")
@click.option("--data", "data", default=None, help="Dataset folder. Default: the embedded synthetic dataset.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None, help="YAML or JSON config file.")
@click.option("--priority", default=None, help="What matters: accuracy=9,speed=3,memory=2 (0-10 each).")
@click.option("--top-k", type=int, default=None, help="How many of the best-ranked models enter the search.")
@click.option("--models", default=None, help="Comma-separated zoo models to search instead of the ranking.")
@click.option("--zoo", "zoos", multiple=True, default=(),
              help="Zoo folder (models.json and zoo/); repeat to combine: --zoo myzoo --zoo builtin. "
                   "Default: Zazu's own (or $ZAZU_ZOO).")
@click.option("--search", "search_method", type=click.Choice(SEARCH_METHODS), default=None,
              help="keras-tuner oracle.")
@click.option("--max-trials", type=int, default=None, help="Trials in total.")
@click.option("--epochs", type=int, default=None, help="Epochs per trial.")
@click.option("--time-budget", type=float, default=None,
              help="Minutes; no trial starts once spent, a running one stops at its best epoch. "
                   "Default: 2 (classification), 6 (detection, segmentation).")
@click.option("--seed", type=int, default=None)
@click.option("--device", type=click.Choice(DEVICES), default=None,
              help="Where the int8 model runs (target.device); edgetpu latency is an estimate. Default: cpu.")
@click.option("--max-latency-ms", type=float, default=None, help="Budget: median latency of one image on the device.")
@click.option("--max-model-kb", type=float, default=None, help="Budget: size of the int8 .tflite file, KiB.")
@click.option("--max-ram-kb", type=float, default=None, help="Budget: peak memory LiteRT takes to run it, KiB.")
@click.option("--edgetpu-full/--no-edgetpu-full", "edgetpu_full", default=None,
              help="Budget: every op must map to the Edge TPU.")
@click.option("--output", default=None, help="Run folder. Default: runs/<timestamp>-<task>.")
@click.option("--parallel", "parallel", type=int, default=None,
              help="Trials at once (max_instances_at_once): a keras-tuner chief and this many worker processes.")
@click.option("--resume", "resume", type=click.Path(file_okay=False), default=None,
              help="Continue the interrupted search in this run folder, with its own config, data and code.")
@TRUST_OPTION
@fails_cleanly
def search(task, data, config_file, priority, top_k, models, zoos, search_method, max_trials, epochs, time_budget, seed,
           device, max_latency_ms, max_model_kb, max_ram_kb, edgetpu_full, output, parallel, resume, trust_run_code):
    """Rank the zoo, search hyperparameters, train, and export the winner as int8 TFLite.

    Ctrl-C stops cleanly; `zazu search --resume RUN_DIR` continues where it stopped.
    """
    from zazu.config import parse_priority, resolve_config

    options = {"--task": task, "--data": data, "--config": config_file, "--priority": priority, "--top-k": top_k,
               "--models": models, "--zoo": zoos or None, "--search": search_method, "--max-trials": max_trials, "--epochs": epochs,
               "--time-budget": time_budget, "--seed": seed, "--device": device, "--max-latency-ms": max_latency_ms,
               "--max-model-kb": max_model_kb, "--max-ram-kb": max_ram_kb, "--edgetpu-full": edgetpu_full,
               "--output": output}
    if resume is not None:
        given = [name for name, value in options.items() if value is not None]
        if given:
            raise ConfigError(f"--resume continues a search with the config saved in its run folder; only "
                              f"--parallel may change. Expected no other search options. Received: {given[0]}")
        quiet_tensorflow("search")
        from zazu.search.driver import resume_search

        finish_search(lambda reporter: resume_search(resume, reporter, max_instances=parallel,
                                                     trust_code=trust_run_code))
        return

    if trust_run_code:
        raise ConfigError("--trust-run-code is for a run folder's code: with --resume RUN_DIR. A new search runs "
                          "your zoo's code. Received: --trust-run-code without --resume")
    overrides = {
        "task": task,
        "data": {"home_path": data},
        "model_priority_space": parse_priority(priority) if priority else None,
        "top_k": top_k,
        "models": [m.strip() for m in models.split(",") if m.strip()] if models else None,
        "zoo": _zoo_flag(zoos),
        "search_method": search_method,
        "max_trials": max_trials,
        "epochs": epochs,
        "time_budget": time_budget,
        "seed": seed,
        "target": {"device": device, "max_latency_ms": max_latency_ms, "max_model_kb": max_model_kb,
                   "max_ram_kb": max_ram_kb, "edgetpu_full": edgetpu_full},
        "output": output,
        "max_instances_at_once": parallel,
    }
    config = resolve_config(config_file, overrides)
    quiet_tensorflow("search")
    from zazu.search.driver import run_search

    finish_search(lambda reporter: run_search(config, reporter))


def _zoo_flag(zoos: tuple[str, ...]) -> str | list[str] | None:
    """`--zoo` given once is one folder (as a config file writes it); repeated, the list."""
    return None if not zoos else zoos[0] if len(zoos) == 1 else list(zoos)


def finish_search(start, resume_command: str = "zazu search --resume") -> None:
    """Run a search (or a `zazu train`); on Ctrl-C say how to resume it."""
    from zazu.console import Reporter
    from zazu.search.driver import SearchInterrupted

    reporter = Reporter()
    try:
        result = start(reporter)
    except SearchInterrupted as e:
        if isinstance(e.stop, DiskFull):
            click.echo(f"error: the disk is full ({e.stop}); the search stopped. Finished trials are kept in "
                       f"{e.run_dir}. Expected free space: make room, then resume with: {resume_command} {e.run_dir}",
                       err=True)
            sys.exit(exit_code(e.stop))
        stopped_by = stopping_signal(e.stop)
        how = "interrupted" if stopped_by == signal.SIGINT else f"stopped by {stopped_by.name}"
        click.echo(f"\nSearch {how}. Finished trials are kept in {e.run_dir}.\n"
                   f"Resume it with: {resume_command} {e.run_dir}", err=True)
        sys.exit(exit_code(e.stop))
    from zazu.tasks import is_size_metric

    metrics = result.best["metrics"]
    reporter.message(f"\nBest: {result.best['model']} #{result.best['trial_id']} "
                     f"({', '.join(f'{k}={v:.4f}' for k, v in metrics.items() if not is_size_metric(k))})")
    by_size = [f"{k.rsplit('_', 1)[-1]} {v:.4f}" for k, v in metrics.items() if is_size_metric(k)]
    if by_size:  # the detail: per class in the trial's per_class_ap.json and the report
        reporter.message(f"  AP by object size: {', '.join(by_size)} (per class: report.html)")
    reporter.message(f"Run folder: {result.run_dir}  (leaderboard.csv, best_trial.json, export/)")


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--tuner-id", default=None, help="Unique worker id (else $KERASTUNER_TUNER_ID).")
@click.option("--threads", type=int, default=None, help="CPU threads for TensorFlow (default: all).")
@click.option("--gpu", default=None, help="GPU index to use (CUDA_VISIBLE_DEVICES), e.g. 0.")
@TRUST_OPTION
@fails_cleanly
def worker(run_dir, tuner_id, threads, gpu, trust_run_code):
    """Join a parallel search as a keras-tuner worker (on this or another machine).

    Needs KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT (the chief's host and base
    port) and KERASTUNER_TUNER_ID (or --tuner-id); RUN_DIR is the chief's run folder,
    seen through a shared disk.
    """
    quiet_tensorflow("worker")
    from zazu.interrupts import WORKER_DISK_FULL
    from zazu.library_log import follow_run

    follow_run(run_dir)  # its library output beside the chief's, in the run's zazu.log
    from zazu.search.worker import run_worker

    try:
        run_worker(run_dir, tuner_id=tuner_id, threads=threads, gpu=gpu, trust_code=trust_run_code)
    except DiskFull as full:  # its trial is recorded INTERRUPTED; the chief stops the search (resumable)
        click.echo(f"error: the disk is full ({full}); this worker stops", err=True)
        sys.exit(WORKER_DISK_FULL)
