"""Datasets: readers into one record model, splits, synthetic defaults, tf.data pipelines."""
