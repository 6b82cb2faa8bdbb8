"""`zazu export RUN_DIR` and `zazu profile MODEL`: what ships, and what it costs."""

from __future__ import annotations

from pathlib import Path

import click

from zazu.cli._base import TRUST_OPTION, cli, fails_cleanly, quiet_tensorflow
from zazu.nn.int8_weights import WEIGHT_ROUNDINGS


@cli.command("export")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--trial", default=None, help="Trial folder name (e.g. tiny_cnn-0). Default: the run's best trial.")
@click.option("--formats", default=None,
              help="Comma-separated: keras,saved_model,float32,float16,dynamic,int8,onnx. Default: the run config's "
                   "export.formats.")
@click.option("--output", default=None, type=click.Path(file_okay=False),
              help="Folder. Default: RUN_DIR/export (best trial) or RUN_DIR/export-<trial>.")
@click.option("--bias-correction/--no-bias-correction", "bias_correction", default=None,
              help="Correct the int8 model's biases for its weights' rounding (or not). Default: the run config's "
                   "export.bias_correction.")
@click.option("--weight-rounding", "weight_rounding", type=click.Choice(WEIGHT_ROUNDINGS), default=None,
              help="How the int8 model's weights are rounded: calibrated (each up or down, whichever lowers its "
                   "layer's output error on the calibration images) or nearest. Default: the run config's "
                   "export.weight_rounding.")
@click.option("--explain-int8", "explain", is_flag=True,
              help="Instead of exporting: where the trial's int8 model loses against its float self, layer by layer "
                   "(TensorFlow Lite's quantization debugger), worst first; written to <trial>/int8_layers.json.")
@TRUST_OPTION
@fails_cleanly
def export_command(run_dir, trial, formats, output, bias_correction, weight_rounding, explain, trust_run_code):
    """Export a trained trial in every format, score each variant on the run's val split,
    profile the .tflite files and check the int8 one for the Edge TPU."""
    from zazu.config import resolve_config
    from zazu.export.from_run import trial_record

    run = Path(run_dir)
    record = trial_record(run, trial)  # also: is this a run folder at all
    overrides = {"export": {}}
    if formats:
        overrides["export"]["formats"] = [f.strip() for f in formats.split(",") if f.strip()]
    if bias_correction is not None:
        overrides["export"]["bias_correction"] = bias_correction
    if weight_rounding is not None:
        overrides["export"]["weight_rounding"] = weight_rounding
    config = resolve_config(run / "config.yaml", overrides)
    quiet_tensorflow("export")
    from zazu.console import Reporter
    from zazu.export.from_run import export_trial

    reporter = Reporter()
    if explain:
        _explain_int8(run, record, config["export"], reporter, trust_run_code)
        return
    out_dir = Path(output) if output else run / ("export" if trial is None else f"export-{trial}")
    from zazu.library_log import follow_run
    from zazu.run_lock import command_line, hold_run

    with hold_run(run, command_line()):  # not while a search or another export writes this run
        follow_run(run)
        reporter.message(f"Exporting {record['model']} #{record['trial_id']} from {run} into {out_dir}")
        with reporter.working("exporting: converting, scoring and timing each format"):
            info = export_trial(run, record, config["export"], out_dir=out_dir,
                                log=lambda m: reporter.message(f"  {m}"), trust_code=trust_run_code)
    if info is None:
        raise click.ClickException("the trial's adapter has no export() method")
    print_export_summary(reporter.console, info)


EXPLAINED_LAYERS = 12


def _explain_int8(run: Path, record: dict, options: dict, reporter, trust_code: bool) -> None:
    from rich.table import Table

    from zazu.export.from_run import INT8_LAYERS_FILE, explain_int8
    from zazu.export.int8_debug import ROUNDING_STEPS
    from zazu.library_log import follow_run
    from zazu.run_lock import command_line, hold_run

    with hold_run(run, command_line()):
        follow_run(run)
        reporter.message(f"Comparing {record['model']} #{record['trial_id']}'s int8 model with its float self, "
                         "layer by layer ...")
        with reporter.working("calibrating, converting and running both models"):
            rows = explain_int8(run, record, options, trust_code=trust_code)
    table = Table(title=f"The {min(EXPLAINED_LAYERS, len(rows))} layers that lose most, of {len(rows)}",
                  title_justify="left")
    for column in ("op", "tensor", "error / the float values' spread", "error in steps", "step"):
        table.add_column(column)
    for r in rows[:EXPLAINED_LAYERS]:
        table.add_row(r.op, r.tensor[-60:], f"{r.relative:.3f}", f"{r.steps:.2f}", f"{r.scale:.4g}")
    reporter.console.print(table)
    reporter.message(f"Error in steps: rounding alone gives {ROUNDING_STEPS:.2f}; more is error carried from the "
                     "layers before. Error / spread: the share of the float values' own variation lost; large where "
                     "small values share a step set by wider ones (bound the layer or train with fake quantization).")
    reporter.message(f"All layers: {Path(record['trial_dir']) / INT8_LAYERS_FILE}")


def print_export_summary(console, info: dict) -> None:
    from rich.table import Table

    objective = info.get("objective") or ""
    profiles = info.get("profile", {})
    table = Table(title=f"{info['model']} #{info['trial_id']}: every variant on the val split "
                        f"({info.get('val_images', '?')} images)", title_justify="left")
    for column in ("variant", objective, "drop vs keras", "file", "latency median / p90", "peak activations"):
        table.add_column(column)
    for variant, metrics in info.get("metrics", {}).items():
        profile = profiles.get(variant, {})
        drop = info.get("drop", {}).get(variant)
        path = info["files"].get(variant)
        size = profile.get("file_size_bytes") or (Path(path).stat().st_size if path and Path(path).is_file() else None)
        table.add_row(
            variant, f"{metrics.get(objective, float('nan')):.4f}",
            "-" if drop is None else f"{drop:+.4f}",
            "-" if size is None else f"{size / 1024:.0f} KiB",
            f"{profile['latency_median_ms']:.2f} / {profile['latency_p90_ms']:.2f} ms ({profile['num_threads']} thr)"
            if profile else "-",
            f"{profile['peak_activation_bytes'] / 1024:.0f} KiB" if profile else "-")
    console.print(table)
    if info.get("edgetpu"):
        console.print(info["edgetpu"]["summary"], soft_wrap=True, markup=False)
    for note in info.get("notes", []):
        console.print(f"note: {note}", soft_wrap=True, markup=False)


@cli.command("profile")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--runs", type=int, default=50, show_default=True, help="Timed runs after the warm-up.")
@click.option("--warmup", type=int, default=5, show_default=True)
@click.option("--threads", type=int, default=None, help="CPU threads. Default: all cores.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@fails_cleanly
def profile_command(model, runs, warmup, threads, as_json):
    """Parameters, MACs, file size, peak activation memory and measured CPU latency of a .tflite
    (LiteRT) or a .keras model; for a .tflite, also Zazu's Edge TPU op check."""
    import json

    from rich.console import Console

    quiet_tensorflow("profile")
    from zazu.export.profile import profile_model

    figures = profile_model(model, runs=runs, warmup=warmup, num_threads=threads)
    console = Console(highlight=False)
    if as_json:
        click.echo(json.dumps(figures, indent=2, default=str))
        return
    from rich.table import Table

    table = Table(title=f"Profile of {model}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value")
    rows = [
        ("runtime", figures["runtime"]),
        ("input", f"{figures['input_shape']} {figures['input_dtype']}"),
        ("parameters", f"{figures['parameters']:,}"),
        ("MACs", f"{figures['macs']:,}" if figures.get("macs") is not None else "n/a"),
        ("file size", f"{figures['file_size_bytes'] / 1024:.1f} KiB"),
        ("peak activation memory", f"{figures['peak_activation_bytes'] / 1024:.1f} KiB (estimate)"
         if figures.get("peak_activation_bytes") is not None else "n/a"),
        ("latency", f"median {figures['latency_median_ms']:.3f} ms, p90 {figures['latency_p90_ms']:.3f} ms "
                    f"({figures['runs']} runs after {figures['warmup']} warm-up, {figures['num_threads']} threads)"),
    ]
    if figures.get("edgetpu"):
        rows.append(("Edge TPU", figures["edgetpu"]))
    for row in rows:
        table.add_row(*row)
    console.print(table)
