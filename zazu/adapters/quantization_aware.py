"""Quantization-aware fine-tuning of a trained trial: a short training of its model with the int8 rounding of
every stored activation simulated (`zazu.nn.fake_quant`), so the weights learn to work with the steps the int8
model will have. Run by the search when post-training quantization cost the objective more than the task's
bar (`Task.int8_drop_bar`).

The simulation is a copy of the model's graph made of the same layers: training it trains the model itself,
which is then converted as every model is (calibrated post-training quantization), so the shipped file has the
same ops and maps to the Edge TPU as before. Every layer learns, a frozen backbone's too (the error rounding
carries through it only its own weights can undo), but not the batch norms' statistics (they stay the ones the
float model was scored with).
"""

from __future__ import annotations

from typing import Any

# the fine-tuning learning rate, as a share of the trial's last phase's: a nudge, not a new training (a tenth moved the
# CI-sized segmenter's float down 0.06 mask mAP in 2 epochs; a hundredth raised it, and its int8 with it)
LEARNING_RATE_SHARE = 0.01


def fine_tune(adapter, epochs: int, deadline: float | None = None) -> dict[str, Any]:
    """Train `adapter.model` for `epochs` epochs on its `train_ds` with simulated int8 activations, in place.

    The first epoch runs whatever the `deadline`: a trial over the int8 bar is one the search would otherwise
    ship degraded, and the default jobs' budgets are usually spent by the time a trial's int8 is scored (the
    classification job's 2 minutes by its first trial); the epochs after it stop at the deadline. One epoch
    is what the budget may be overrun by.

    Returns what was run: {"epochs": epochs run, "learning_rate", "simulated_tensors", "loss", "past_budget"}."""
    import keras

    from zazu.adapters import fitting
    from zazu.adapters.deadline import deadline_callbacks, past_deadline
    from zazu.data.pipeline import endless
    from zazu.interrupts import interrupt_callback
    from zazu.nn.fake_quant import with_activation_quantizers
    from zazu.nn.layers import all_layers

    model = adapter.model
    learning_rate = fitting.training_phases(adapter)[-1].learning_rate * LEARNING_RATE_SHARE
    nested = [layer for layer in all_layers(model) if isinstance(layer, keras.Model)]
    layers = [layer for layer in all_layers(model) if not isinstance(layer, keras.Model)]
    saved = [(layer, layer.trainable) for layer in [*nested, *layers]]  # models first: setting one sets its layers
    simulated, quantizers = with_activation_quantizers(model)
    for layer in nested:
        layer.trainable = True
    for layer in layers:  # every weight may move to fit the rounding, but not the batch norms' statistics
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    try:
        adapter.model = simulated
        adapter.compile_for(learning_rate)
        train, steps = endless(adapter.train_ds)
        past_budget = past_deadline(deadline)
        losses = []
        for epoch in range(epochs):  # one fit call an epoch: the first without the deadline (see above)
            if epoch > 0 and past_deadline(deadline):
                break
            fitted = simulated.fit(train, steps_per_epoch=steps, initial_epoch=epoch, epochs=epoch + 1, verbose=0,
                                   shuffle=False, callbacks=[keras.callbacks.TerminateOnNaN(), interrupt_callback(),
                                                             *(deadline_callbacks(deadline) if epoch else [])])
            losses += fitted.history.get("loss", [])
            if simulated.stop_training:
                break
    finally:
        adapter.model = model
        for layer, trainable in saved:
            layer.trainable = trainable
    return {"epochs": len(losses), "learning_rate": learning_rate, "simulated_tensors": len(quantizers),
            "loss": [round(float(v), 6) for v in losses], "past_budget": past_budget}

