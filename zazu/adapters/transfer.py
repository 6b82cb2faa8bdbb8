"""Transfer learning from a pretrained backbone: a frozen phase, then fine-tuning of its top blocks.

A zoo model whose network holds a nested model named `backbone` (see
`zazu.nn.backbones`) and whose `weights` hyperparameter is set trains in phases:

1. `frozen`: the backbone is frozen, BatchNorm in inference mode, for
   `freeze_epochs` epochs at `learning_rate`; only the heads learn.
2. `fine_tune`: the backbone's top `fine_tune_blocks` blocks (and its head
   convolution) learn too, at `fine_tune_lr` (default learning_rate / 10), for
   the remaining epochs. BatchNorm stays in inference mode: a few hundred
   images would only spoil its ImageNet statistics.

`fine_tune_blocks: 0` keeps the backbone frozen for all epochs. A model with no
pretrained backbone trains in one phase, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zazu.adapters.hyperparameters import Hyperparameter, defaults

# what a task base with pretrained backbones reads (their defaults: the phases below)
TRANSFER_HYPERPARAMETERS = (
    Hyperparameter("freeze_epochs", None, "epochs of the frozen phase; null: half the epochs", (int, 0, 100000)),
    Hyperparameter("fine_tune_blocks", 0, "top backbone blocks that learn after the frozen phase; 0: none",
                   (int, 0, 1000)),
    Hyperparameter("fine_tune_lr", None, "the fine-tuning phase's learning rate; null: learning_rate / 10",
                   (float, 1e-8, 10.0)),
)


@dataclass(frozen=True)
class Phase:
    name: str  # "train" (no pretrained backbone), "frozen" or "fine_tune"
    end_epoch: int  # the phase trains up to this epoch count
    learning_rate: float
    fine_tune_blocks: int | None  # backbone blocks that learn; None: the whole network learns


def plan_phases(hp: dict[str, Any], pretrained: bool) -> list[Phase]:
    """The phases of one trial's training, from its hyperparameters (the transfer ones may be left out)."""
    hp = {**defaults(TRANSFER_HYPERPARAMETERS), **hp}
    epochs = int(hp["epochs"])
    learning_rate = float(hp["learning_rate"])
    if not pretrained:
        return [Phase("train", epochs, learning_rate, None)]
    blocks = int(hp["fine_tune_blocks"])
    frozen = epochs // 2 if hp["freeze_epochs"] is None else int(hp["freeze_epochs"])
    freeze = epochs if blocks <= 0 else max(0, min(frozen, epochs))
    phases = [Phase("frozen", freeze, learning_rate, 0)] if freeze > 0 else []
    if freeze < epochs:
        phases.append(Phase("fine_tune", epochs, learning_rate / 10 if hp["fine_tune_lr"] is None else float(hp["fine_tune_lr"]), blocks))
    return phases


def has_pretrained_backbone(hp: dict[str, Any]) -> bool:
    """Whether these hyperparameters name a backbone that starts from pretrained weights and trains in phases."""
    from zazu.nn.backbones import get_backbone

    entry = get_backbone(str(hp["backbone"]))
    return entry.set_trainable_top_blocks is not None and hp["weights"] not in (None, "", False)


def pretrained_backbone(model, hp: dict[str, Any]):
    """(the nested backbone model, its registry entry) when this trial starts from pretrained weights,
    else None."""
    from zazu.nn.backbones import BACKBONE_LAYER, get_backbone

    if hp["weights"] in (None, "", False):
        return None
    entry = get_backbone(str(hp["backbone"]))
    if entry.set_trainable_top_blocks is None:
        return None
    try:
        layer = model.get_layer(BACKBONE_LAYER)
    except ValueError:
        return None
    return layer, entry


def apply_phase(model, phase: Phase, backbone) -> None:
    """Set what learns in `phase` (`backbone` from `pretrained_backbone`, or None)."""
    model.trainable = True
    if backbone is None or phase.fine_tune_blocks is None:
        return
    layer, entry = backbone
    blocks = min(phase.fine_tune_blocks, entry.blocks())
    entry.set_trainable_top_blocks(layer, blocks)
