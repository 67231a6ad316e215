"""Independent training runs side by side: one process of one thread per thread the caller was given.

A model of a few hundred thousand parameters trains faster as one process per core than as one process
whose matrix products are split over the cores, so a kernel given two threads trains two models at a time.
Every job seeds itself, so which process runs it does not change what it draws.
"""
from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import torch


def run_all(work: Callable, jobs: list[dict], cost: Callable[[dict], float] = lambda job: 0.0) -> list:
    """``work(**job)`` for every job, in the order of ``jobs``; the costliest start first, so that the last
    to finish is a short one. With one thread, or one job, everything runs here, one after another."""
    workers = min(torch.get_num_threads(), len(jobs))
    if workers <= 1:
        return [work(**job) for job in jobs]
    context = multiprocessing.get_context("spawn")   # fork would copy the kernel's torch thread pool
    with ProcessPoolExecutor(workers, mp_context=context, initializer=torch.set_num_threads, initargs=(1,)) as pool:
        started = {i: pool.submit(work, **jobs[i]) for i in sorted(range(len(jobs)), key=lambda i: -cost(jobs[i]))}
        return [started[i].result() for i in range(len(jobs))]
