"""Experiments that are not batches of tasks (placeholder until the experiments package is written)."""
