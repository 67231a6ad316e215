import numpy as np
import pytest
import torch

from deepenough.chapters import serial_depth
from deepenough.lab.train import IGNORE


def batch(mode, length=6, size=8):
    """The layout after the start token, which every sequence opens with and which is never scored."""
    ids, targets = serial_depth.parity_task(size, length, mode)(torch.Generator().manual_seed(0))
    assert (ids[:, 0] == serial_depth.START).all() and (targets[:, 0] == IGNORE).all()
    return ids[:, 1:], targets[:, 1:]


def test_plain_labels_are_prefix_parity():
    ids, targets = batch("none")
    assert torch.equal(targets, ids.cumsum(1) % 2)


def test_cot_writes_the_state_after_each_input_and_scores_the_input_position():
    ids, targets = batch("cot")
    x, states = ids[:, 0::2], ids[:, 1::2] - serial_depth.STATE_OFFSET
    assert torch.equal(states, x.cumsum(1) % 2)
    assert torch.equal(targets[:, 0::2], states)
    assert (targets[:, 1::2] == IGNORE).all()


def test_filler_scores_the_filler_position_only():
    ids, targets = batch("filler")
    assert (ids[:, 1::2] == serial_depth.FILLER).all()
    assert torch.equal(targets[:, 1::2], ids[:, 0::2].cumsum(1) % 2)
    assert (targets[:, 0::2] == IGNORE).all()


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError):
        serial_depth.parity_task(2, 4, "pause")


def test_accuracy_by_chain_has_one_value_per_step_in_every_mode():
    net = serial_depth.build_model(1, 16, seed=0)
    for mode in serial_depth.MODES:
        acc = serial_depth.accuracy_by_chain(net, 5, mode, samples=16)
        assert acc.shape == (5,) and ((0 <= acc) & (acc <= 1)).all()


def test_longest_tracked_stops_at_first_failure():
    assert serial_depth.longest_tracked([1.0, 0.95, 0.5, 1.0]) == 2
    assert serial_depth.longest_tracked([0.4, 1.0]) == 0
    assert serial_depth.longest_tracked([1.0, 1.0, 1.0]) == 3


def test_fit_prefers_log_for_exponential_chains_and_linear_for_linear_ones():
    log_like = {1: [2, 2], 2: [4, 4], 3: [8, 8], 4: [16, 16], 5: [32, 31]}
    assert serial_depth.which_fit(log_like, length=64)[0] == "log"
    linear_like = {1: [2, 2], 2: [3, 3], 3: [4, 4], 4: [5, 5], 5: [6, 6]}
    assert serial_depth.which_fit(linear_like, length=64)[0] == "linear"


def test_fit_drops_censored_chains_and_refuses_too_few_points():
    # only two uncensored points remain once k* = length is dropped
    assert serial_depth.which_fit({1: [2], 2: [5], 3: [16, 16]}, length=16)[0] == "indistinguishable"


def test_fit_is_flat_when_depth_does_not_lengthen_the_chain():
    noisy = {1: [7, 9], 2: [13, 2], 4: [5, 11], 6: [13, 10]}
    growth = serial_depth.growth_per_layer(noisy, length=16)
    assert growth["low"] <= 0 <= growth["high"]
    assert serial_depth.which_fit(noisy, length=16)[0] == "flat"


def test_growth_per_layer_recovers_a_known_slope():
    growth = serial_depth.growth_per_layer({1: [3, 3], 2: [5, 5], 3: [7, 7], 4: [9, 9]}, length=32)
    assert growth["mean"] == pytest.approx(2.0) and growth["low"] == pytest.approx(2.0)


def test_verdict_branches():
    grows = {1: [2, 2], 2: [3, 3], 4: [5, 5], 6: [7, 7]}
    growth = serial_depth.growth_per_layer(grows, 16)
    assert serial_depth.c5_verdict("linear", grows, 16, cot_worst=0.6, growth=growth)[0] == "supported"
    assert serial_depth.c5_verdict("linear", grows, 16, cot_worst=1.0, growth=growth)[0] == "nuanced"
    assert serial_depth.c5_verdict("log", {1: [16, 16], 2: [16, 16]}, 16, cot_worst=1.0, growth=growth)[0] == "refuted"
    verdict, reason = serial_depth.c5_verdict("indistinguishable", grows, 16, cot_worst=0.95, growth=growth)
    assert verdict == "nuanced" and "tracks every k" in reason


def test_flat_verdict_names_the_one_layer_chain_and_the_slope():
    noisy = {1: [7, 9], 2: [13, 2], 4: [5, 11], 6: [13, 10]}
    verdict, reason = serial_depth.c5_verdict("flat", noisy, 16, cot_worst=1.0, growth=serial_depth.growth_per_layer(noisy, 16))
    assert verdict == "nuanced"
    assert "already tracks 8.0 steps" in reason and "not what limits" in reason


def test_sweep_is_reproducible_and_shaped_by_seed():
    settings = dict(length=4, steps=3, d_model=16, batch=8)
    first = serial_depth.sweep([("none", 1)], [0, 1], **settings)
    again = serial_depth.sweep([("none", 1)], [0, 1], **settings)
    assert first[("none", 1)].shape == (2, 8)
    np.testing.assert_array_equal(first[("none", 1)], again[("none", 1)])


def test_verdict_says_so_when_no_depth_learned_beyond_the_first_bit():
    longest = {1: [1, 1], 2: [1, 1], 6: [1, 1]}
    assert not serial_depth.learned_beyond_trivial(longest)
    ruling, reason = serial_depth.c5_verdict("indistinguishable", longest, 8, cot_worst=1.0,
                                       growth=serial_depth.growth_per_layer(longest, 8))
    assert ruling == "nuanced" and "not measured" in reason and "more steps" not in reason
