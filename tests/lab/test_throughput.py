import pytest
import torch

from deepenough.lab import throughput


def test_the_matmul_rate_is_measured_on_one_thread_and_leaves_the_threads_as_they_were():
    threads = torch.get_num_threads()
    rate = throughput.matmul_rate(size=128, repeats=3)
    assert torch.get_num_threads() == threads
    assert 1e7 < rate < 1e13  # FLOP/s: between a very slow core and far more than one thread can do


def test_the_summary_reads_the_median_run_against_the_matmul_rate():
    s = throughput.summary([10e9, 30e9, 20e9], matmul=50e9)
    assert (s["median"], s["low"], s["high"]) == (20e9, 10e9, 30e9)
    assert s["share"] == pytest.approx(0.4)
    text = throughput.sentence([10e9, 30e9, 20e9], 50e9)
    assert "20 GFLOP/s" in text and "median of 3 runs; 10 to 30" in text and "40% of the 50 GFLOP/s" in text
