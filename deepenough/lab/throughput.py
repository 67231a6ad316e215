"""How much of this machine's arithmetic a training run uses: its FLOP/s against a large matrix product's.

A tiny model spends much of each step outside matrix products (optimiser, normalisation, Python), so it
reaches a fraction of what one thread can do on a 1024 x 1024 product. The chapters that train measure that
rate in the same run, on one thread (what each training process has), and report their share of it.
"""
from __future__ import annotations

import statistics
import time

import torch

from . import numbers

SIZE = 1024


def matmul_rate(size: int = SIZE, repeats: int = 20) -> float:
    """FLOP/s of a ``size`` x ``size`` float32 matrix product on one thread: the best of ``repeats``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        a @ b  # warm-up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return 2 * size ** 3 / best


def summary(rates: list[float], matmul: float) -> dict:
    """Training runs' achieved FLOP/s (median and range) and the median's share of the matmul rate."""
    median = statistics.median(rates)
    return {"median": median, "low": min(rates), "high": max(rates), "matmul": matmul, "share": median / matmul}


def sentence(rates: list[float], matmul: float) -> str:
    """'training ran at 15 GFLOP/s (median of 24 runs; 11 to 17), 27% of the 56 GFLOP/s ...'"""
    s = summary(rates, matmul)
    giga = lambda x: f"{x / 1e9:.0f}"  # noqa: E731
    return (f"training ran at {giga(s['median'])} GFLOP/s per process (median of {len(rates)} runs; "
            f"{giga(s['low'])} to {giga(s['high'])}), {numbers.percent(s['share'])} of the {giga(matmul)} GFLOP/s "
            f"that one thread of this machine reaches on a {SIZE} x {SIZE} matrix product, measured in the same run")
