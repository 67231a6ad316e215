"""Unit tests of the depth-versus-width machinery (deepenough/depth_width.py)."""
import math
from types import SimpleNamespace

import pytest
import torch

from deepenough.chapters import depth_width
from deepenough.lab import tiny, train


def test_parameter_formula_matches_built_model():
    for depth, width in [(1, 8), (3, 12)]:
        model = depth_width.build_model(depth_width.Shape(depth, width), vocab=5, seed=0)
        assert tiny.count_params(model, embeddings=False) == depth_width.body_params(depth, width)


def test_family_holds_budget_and_trades_width_for_depth():
    family = depth_width.family(25_000, [1, 2, 4])
    widths = [s.width for s in family]
    assert widths == sorted(widths, reverse=True)
    assert all(s.width % depth_width.WIDTH_STEP == 0 for s in family)
    for s in family:
        assert abs(depth_width.body_params(s.depth, s.width) - 25_000) / 25_000 < 0.15


def test_looped_model_has_one_block_of_parameters_and_loops_of_flops():
    one = depth_width.build_model(depth_width.Shape(1, 8), vocab=2, seed=0)
    looped = depth_width.build_model(depth_width.Shape(1, 8, loops=3), vocab=2, seed=0)
    assert tiny.count_params(looped) == tiny.count_params(one)
    assert tiny.flops_per_token(looped, 16) > 2.5 * tiny.flops_per_token(one, 16)
    assert depth_width.Shape(1, 8, loops=3).passes == 3
    with pytest.raises(ValueError):
        depth_width.build_model(depth_width.Shape(2, 8, loops=2), vocab=2, seed=0)


def test_fact_table_has_distinct_names_and_valid_attributes():
    table = depth_width.fact_table(200, alphabet=8, n_attributes=4, seed=1)
    assert table.names.shape == (200, depth_width.NAME_LENGTH)
    assert len({tuple(n) for n in table.names.tolist()}) == 200
    assert int(table.names.max()) < 8 and 0 <= int(table.attributes.min()) and int(table.attributes.max()) < 4
    assert table.bits == 200 * 2
    with pytest.raises(ValueError):
        depth_width.fact_table(8 ** 3 + 1, alphabet=8, n_attributes=4)


def test_fact_batches_score_only_the_attribute():
    table = depth_width.fact_table(50, alphabet=8, n_attributes=4, seed=0)
    ids, targets = depth_width.fact_batches(table, 32)(torch.Generator().manual_seed(0))
    assert (targets[:, :-1] == train.IGNORE).all()
    lookup = {tuple(n): int(a) for n, a in zip(table.names.tolist(), table.attributes)}
    assert all(int(t) - table.alphabet == lookup[tuple(n)] for n, t in zip(ids.tolist(), targets[:, -1]))


class FixedLogits(torch.nn.Module):
    """A stand-in model that returns the same logits for every name, or the right answer with certainty."""

    def __init__(self, table, perfect):
        super().__init__()
        self.table, self.perfect = table, perfect

    def forward(self, ids):
        out = torch.zeros(*ids.shape, self.table.vocab)
        if self.perfect:
            out[:, -1, self.table.alphabet + self.table.attributes] = 0.0
            out[torch.arange(len(ids)), -1, self.table.alphabet + self.table.attributes] = 50.0
        return out


def test_bits_stored_is_table_bits_when_perfect_and_zero_when_guessing():
    table = depth_width.fact_table(64, alphabet=8, n_attributes=16, seed=0)
    assert depth_width.bits_stored(FixedLogits(table, perfect=True), table) == pytest.approx(table.bits, rel=1e-4)
    assert depth_width.bits_stored(FixedLogits(table, perfect=False), table) == pytest.approx(0.0, abs=1e-3)


def test_small_model_memorises_a_small_table():
    table = depth_width.fact_table(32, alphabet=4, n_attributes=8, seed=0)
    result = depth_width.run_storage(depth_width.Shape(1, 16), table, steps=200, batch=64, seed=0, lr=1e-2)
    assert result["bits"] > 0.5 * table.bits
    assert result["bits_per_param"] == pytest.approx(result["bits"] / result["params"])


def test_cheapest_reaching_picks_the_cheapest_shape_over_target():
    a, b, c = depth_width.Shape(1, 8), depth_width.Shape(2, 8), depth_width.Shape(4, 8)
    acc = {a: {"mean": 0.6, "low": 0.55}, b: {"mean": 0.8, "low": 0.75}, c: {"mean": 0.95, "low": 0.9}}
    flops = {a: 10.0, b: 20.0, c: 40.0}
    assert depth_width.cheapest_reaching([a, b, c], acc, flops, target=0.7) == 20.0
    assert math.isinf(depth_width.cheapest_reaching([a], acc, flops, target=0.7))


def test_a_mean_over_the_target_with_an_interval_below_it_does_not_count():
    a, b = depth_width.Shape(1, 8), depth_width.Shape(2, 8)
    acc = {a: {"mean": 0.8, "low": 0.3}, b: {"mean": 0.9, "low": 0.8}}
    assert depth_width.cheapest_reaching([a, b], acc, {a: 10.0, b: 20.0}, target=0.7) == 20.0


def test_storage_spread():
    assert depth_width.storage_spread([0.5, 0.5, 0.5]) == 0.0
    assert depth_width.storage_spread([2.0, 1.0]) == pytest.approx(0.5)
    assert depth_width.storage_spread([0.0, 0.0]) == 0.0


def ci(mean, half):
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": 3}


def test_c7_verdict_logic():
    assert depth_width.c7_verdict(ci(0.03, 0.02), ci(0.1, 0.05))[0] == "refuted"       # a real gain is ruled out
    ruling, reason = depth_width.c7_verdict(ci(0.05, 0.6), ci(0.1, 0.05))              # seeds disagree
    assert ruling == "nuanced" and reason.startswith("inconclusive")
    assert depth_width.c7_verdict(ci(0.3, 0.05), ci(0.1, 0.05))[0] == "supported"     # width buys little
    assert depth_width.c7_verdict(ci(0.3, 0.05), ci(0.6, 0.1))[0] == "nuanced"        # width buys storage
    # a large spread in depth's favour is not "width buys storage"
    assert depth_width.c7_verdict(ci(0.3, 0.05), ci(-0.6, 0.1))[0] == "supported"
    # a large but unreliable width advantage is not either
    assert depth_width.c7_verdict(ci(0.3, 0.05), ci(0.3, 0.5))[0] == "supported"


def test_route_target_always_asks_for_an_improvement_on_the_start():
    assert depth_width.route_target(0.5) == depth_width.TARGET_ACCURACY
    assert depth_width.route_target(0.8) == pytest.approx(0.8 + depth_width.SERIAL_GAIN)
    assert depth_width.route_target(0.95) == 0.99


def test_width_advantage_is_relative_and_signed():
    assert depth_width.width_advantage(0.2, 0.1) == pytest.approx(0.5)
    assert depth_width.width_advantage(0.1, 0.2) == pytest.approx(-0.5)
    assert depth_width.width_advantage(0.0, 0.0) == 0.0


def test_c10_verdict_logic_and_untestable_plateau():
    assert depth_width.c10_verdict(math.inf, 100.0)[0] == "supported"
    assert depth_width.c10_verdict(300.0, 100.0)[0] == "supported"
    assert depth_width.c10_verdict(150.0, 100.0)[0] == "nuanced"
    assert depth_width.c10_verdict(90.0, 100.0)[0] == "refuted"
    ruling, reason = depth_width.c10_verdict(math.inf, math.inf)
    assert ruling == "not testable here" and "plateau" in reason


def test_levine_threshold():
    assert depth_width.levine_threshold(27) == pytest.approx(3.0)
    assert 5 < depth_width.levine_threshold(576) < 6


def test_c7_does_not_read_a_storage_spread_made_of_noise():
    noise = [{"mean": 0.003, "low": -0.02, "high": 0.03}, {"mean": 0.007, "low": -0.07, "high": 0.08}]
    assert not depth_width.storage_measured(noise)
    ruling, reason = depth_width.c7_verdict(ci(0.3, 0.05), ci(0.77, 0.1), measured=False)
    assert ruling == "nuanced" and "not decided" in reason and "77%" not in reason
    assert depth_width.storage_measured([{"mean": 0.5, "low": 0.4, "high": 0.6}])


def test_storage_that_fills_the_table_is_not_a_measurement_of_shape():
    assert not depth_width.storage_measured([{"mean": 0.5, "low": 0.4, "high": 0.6}, {"mean": 0.97, "low": 0.95, "high": 0.99}])
