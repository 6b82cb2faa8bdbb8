"""What a trained trial ships in int8: its post-training model's cost to the objective against the task's bar
(`Task.int8_drop_bar`), where it loses layer by layer when over the bar, and quantization-aware fine-tuning
(`zazu.adapters.quantization_aware`) kept when its int8 model scores better (`export.quantization_aware`).

The tuner calls `Int8Shipping.settle` once a trial's int8 model has been profiled; what it returns are fields of
the trial's record (`zazu.trial_record.TrialRecord`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from zazu.atomic_io import atomic_write_with
from zazu.run_records import CHECKPOINT
from zazu.tasks import Task

POST_TRAINING = "post-training"
QUANTIZATION_AWARE = "quantization-aware"  # fine-tuned with simulated int8, then converted as post-training is
WORST_LAYERS_SHOWN = 3  # in trial.json; int8_layers.json holds them all


def int8_quality(metrics: dict[str, float], int8_metrics: dict[str, float], task: Task,
                 method: str = POST_TRAINING) -> dict[str, Any]:
    """What int8 cost the objective (its float value minus its int8 one, of the same model), how the int8
    model was made, and whether the cost is over the task's bar: kept in trial.json and shown in the
    leaderboard."""
    drop = metrics[task.objective] - int8_metrics[task.objective]
    if task.direction == "min":
        drop = -drop
    return {"int8_method": method, "int8_drop": round(drop, 6), "int8_over_bar": drop > task.int8_drop_bar}


@dataclass(frozen=True)
class Int8Shipping:
    task: Task
    options: dict[str, Any]  # the run's export block
    device: str
    deadline: float | None
    can_fine_tune: bool  # the adapter's `Capabilities.fine_tunes_int8`

    def settle(self, adapter, folder: Path, metrics: dict, shipped: dict, on_step: Callable[[str], None],
               log: Callable[[str], None]) -> dict[str, Any]:
        """The record's int8 fields for a trial whose post-training int8 profile is `shipped`: cost, int8
        metrics, what the oracle is told, the quality; over the bar, the worst layers; when fine-tuned, what
        was tried and, if it ships, the fine-tuned model's float metrics."""
        if not shipped.get("metrics"):
            return {"cost": shipped["cost"]}
        fields: dict[str, Any] = {}
        quality = int8_quality(metrics, shipped["metrics"], self.task)
        if quality["int8_over_bar"]:
            fields["int8_worst_layers"] = self.explain(adapter, folder, on_step, log)
        if self.wants_fine_tune(quality):
            shipped, quality, metrics = self.fine_tune(adapter, folder, metrics, shipped, quality, on_step, log)
            fields["metrics"] = metrics
        return {**fields, "cost": shipped["cost"], "int8_metrics": shipped["metrics"],
                "reported": {self.task.objective: shipped["metrics"][self.task.objective]}, **quality}

    def wants_fine_tune(self, quality: dict[str, Any]) -> bool:
        when = self.options.get("quantization_aware", "never")
        return self.can_fine_tune and (when == "always" or (when == "auto" and quality["int8_over_bar"]))

    def explain(self, adapter, folder: Path, on_step, log) -> list[dict] | str:
        """Where the post-training int8 model loses, layer by layer (`zazu export --explain-int8`'s comparison,
        written to the trial's int8_layers.json): the worst layers, for trial.json. A debugger that fails (an op
        it cannot compare) leaves its error there instead of failing the trial."""
        from zazu.export.from_run import explain_trained

        on_step("int8 layer by layer")
        try:
            rows = explain_trained(adapter, folder, self.options)
        except OSError:
            raise  # a full disk stops the search (run_trial), it is not a debugger's failure
        except Exception as error:  # the explanation is a diagnosis: the trial stands without it
            log(f"int8 debugger failed: {type(error).__name__}: {error}")
            return f"the debugger failed: {type(error).__name__}: {error}"
        # a fused op's tensor is named after each layer folded into it, ";"-joined: the first names it
        worst = [{"op": r.op, "tensor": r.tensor.split(";")[0], "relative": round(r.relative, 4),
                  "steps": round(r.steps, 2)} for r in rows[:WORST_LAYERS_SHOWN]]
        log("int8 over the bar; worst layers: " + "; ".join(f"{w['tensor']} {w['relative']}" for w in worst))
        return worst

    def fine_tune(self, adapter, folder: Path, metrics: dict, shipped: dict, quality: dict,
                  on_step, log) -> tuple[dict, dict, dict]:
        """Fine-tune the trained model with simulated int8 activations, convert and score it again, and keep
        whichever int8 model scores better. The fine-tuned one replaces the trial's checkpoint (what the export
        converts), and its own float metrics become the trial's, so that float and int8 describe one model;
        otherwise the checkpoint, profile.json and metrics stay the post-training ones. Either way trial.json
        says what was tried (`int8_fine_tune`). Returns (the int8 profile kept, its quality, the float metrics)."""
        from zazu.adapters import quantization_aware
        from zazu.adapters.deadline import past_deadline
        from zazu.adapters.evaluation import evaluate_on_val
        from zazu.export.bundle import keras_predict_fn, profile_trial, write_profile

        objective = self.task.objective
        if past_deadline(self.deadline):
            log("quantization-aware fine-tuning: the time budget is spent; one epoch past it")
        on_step("quantization-aware fine-tuning")
        started = time.perf_counter()
        ran = quantization_aware.fine_tune(adapter, int(self.options["quantization_aware_epochs"]), self.deadline)
        tuned = profile_trial(adapter, folder, self.options, self.device)
        scored, _ = evaluate_on_val(adapter, keras_predict_fn(adapter.model))
        # the trained model's other figures (epochs_trained) stay; its val_ ones are replaced or, when evaluation
        # does not give them (val_loss), dropped: they would describe the model before fine-tuning
        float_tuned = {**{k: v for k, v in metrics.items() if not k.startswith("val_")},
                       **{k: float(v) for k, v in scored.items()}}
        after = int8_quality(float_tuned, tuned["metrics"], self.task, QUANTIZATION_AWARE)
        gain = tuned["metrics"][objective] - shipped["metrics"][objective]
        kept = (gain if self.task.direction == "max" else -gain) > 0
        record = {**ran, "seconds": round(time.perf_counter() - started, 1),
                  "float_post_training": round(float(metrics[objective]), 6),
                  "int8_post_training": round(float(shipped["metrics"][objective]), 6),
                  "int8_drop_post_training": quality["int8_drop"],
                  "float_fine_tuned": round(float(float_tuned[objective]), 6),
                  "int8_fine_tuned": round(float(tuned["metrics"][objective]), 6),
                  "int8_drop_fine_tuned": after["int8_drop"], "kept": kept}
        log(f"quantization-aware fine-tuning: {ran['epochs']} epochs; {objective} float / int8 "
            f"{record['float_post_training']:.4f} / {record['int8_post_training']:.4f} post-training, "
            f"{record['float_fine_tuned']:.4f} / {record['int8_fine_tuned']:.4f} fine-tuned: "
            f"{'kept' if kept else 'not kept (post-training stays)'}")
        if not kept:
            write_profile(folder, shipped)
            return shipped, {**quality, "int8_fine_tune": record}, metrics
        atomic_write_with(folder / CHECKPOINT, adapter.model.save, suffix=".keras")  # a crash keeps the old one
        return tuned, {**after, "int8_fine_tune": record}, float_tuned
