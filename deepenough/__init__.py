"""Shared machinery for the chapters of *Deep Enough?*: models, tasks, training, statistics, results."""
