"""Hyperparameter search: the space codec, the adapter lifecycle, the tuner and the driver."""
