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


@dataclass(frozen=True)
class Phase:
    name: str  # "train" (no pretrained backbone), "frozen" or "fine_tune"
    end_epoch: int  # the phase trains up to this epoch count
    learning_rate: float
    fine_tune_blocks: int | None  # backbone blocks that learn; None: the whole network learns


def plan_phases(hp: dict[str, Any], pretrained: bool) -> list[Phase]:
    """The phases of one trial's training, from its hyperparameters."""
    epochs = int(hp["epochs"])
    learning_rate = float(hp.get("learning_rate", 1e-3))
    if not pretrained:
        return [Phase("train", epochs, learning_rate, None)]
    blocks = int(hp.get("fine_tune_blocks", 0))
    freeze = epochs if blocks <= 0 else max(0, min(int(hp.get("freeze_epochs", epochs // 2)), epochs))
    phases = [Phase("frozen", freeze, learning_rate, 0)] if freeze > 0 else []
    if freeze < epochs:
        phases.append(Phase("fine_tune", epochs, float(hp.get("fine_tune_lr", learning_rate / 10)), blocks))
    return phases


def pretrained_backbone(model, hp: dict[str, Any]):
    """(the nested backbone model, its registry entry) when this trial starts from pretrained weights,
    else None."""
    from zazu.nn.backbones import BACKBONE_LAYER, get_backbone

    if hp.get("weights") in (None, "", False):
        return None
    entry = get_backbone(str(hp.get("backbone", "")))
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
