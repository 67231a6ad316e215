"""run_all: every job once, results in the order of the jobs, in processes when there are threads for them."""
import os

import torch

from deepenough.lab import parallel


def where(seed: int) -> tuple[int, int, int]:
    return seed, os.getpid(), torch.get_num_threads()


def test_results_come_back_in_job_order_from_other_processes_of_one_thread(monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    done = parallel.run_all(where, [dict(seed=s) for s in range(4)], cost=lambda job: job["seed"])
    assert [seed for seed, _, _ in done] == [0, 1, 2, 3]
    assert os.getpid() not in {pid for _, pid, _ in done} and {threads for _, _, threads in done} == {1}


def test_with_one_thread_the_jobs_run_here(monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    assert parallel.run_all(lambda **job: (job["x"], os.getpid()), [dict(x=1), dict(x=2)]) == [(1, os.getpid()),
                                                                                             (2, os.getpid())]
