"""Unit tests for deepenough/chapters/information_lost.py on small constructed inputs (no SmolLM2 download or load)."""
import numpy as np
import pytest
import torch

from deepenough.chapters import information_lost
from deepenough.machinery import rules


@pytest.fixture(scope="module")
def tiny_llama(random_llama):
    return random_llama()


@pytest.fixture(scope="module")
def tiny_capture(tiny_llama):
    ids = torch.randint(0, 50, (3, 12), generator=torch.Generator().manual_seed(1))
    return information_lost.capture(tiny_llama, ids)


def test_capture_shapes(tiny_capture):
    assert len(tiny_capture.hidden) == 3 and len(tiny_capture.resid) == 4
    assert tiny_capture.hidden[0].shape == (3, 12, 80)
    assert tiny_capture.keys[1].shape == (3, 12, 2 * 8)
    assert tiny_capture.ffn_in[2].shape == (3, 12, 32)


def test_hidden_is_gate_times_up(tiny_capture):
    expected = torch.nn.functional.silu(tiny_capture.gate[1]) * tiny_capture.up[1]
    torch.testing.assert_close(tiny_capture.hidden[1], expected)


def test_recompute_is_bit_identical_and_one_token_within_rounding(tiny_llama, tiny_capture):
    same = information_lost.recompute_error(tiny_llama, tiny_capture, 0)
    assert same["max_abs"] == 0.0 and same["bit_identical"] == 1.0
    alone = information_lost.recompute_error(tiny_llama, tiny_capture, 0, one_token=True)
    assert alone["max_rel"] < information_lost.ROUNDING_TOLERANCE


def test_recompute_detects_a_changed_activation(tiny_llama, tiny_capture):
    tampered = information_lost.Capture(**{**tiny_capture.__dict__, "hidden": [h + 1.0 for h in tiny_capture.hidden]})
    assert information_lost.recompute_error(tiny_llama, tampered, 0)["max_abs"] == pytest.approx(1.0, rel=1e-5)


def test_null_space_share_of_row_space_and_null_space_vectors():
    torch.manual_seed(0)
    w = torch.randn(4, 10)
    basis = information_lost.row_space_basis(w)
    assert basis.shape == (10, 4)
    torch.testing.assert_close(basis.T @ basis, torch.eye(4, dtype=torch.float64), atol=1e-9, rtol=0)
    in_row_space = (torch.randn(5, 4) @ w).double()
    assert information_lost.null_space_share(in_row_space, basis) == pytest.approx(0.0, abs=1e-9)
    null_vectors = torch.randn(5, 10).double()
    null_vectors -= (null_vectors @ basis) @ basis.T
    assert information_lost.null_space_share(null_vectors, basis) == pytest.approx(1.0, abs=1e-9)


def test_random_activation_loses_the_isotropic_share():
    torch.manual_seed(0)
    basis = information_lost.row_space_basis(torch.randn(40, 100))
    share = information_lost.null_space_share(torch.randn(4000, 100), basis)
    assert share == pytest.approx(information_lost.isotropic_null_share(100, 40), abs=0.01)
    assert information_lost.isotropic_null_share(1536, 576) == pytest.approx(0.625)
    assert information_lost.isotropic_null_share(1000, 1) == pytest.approx(0.999)


def test_rank_deficient_down_projection_has_a_smaller_basis():
    w = torch.randn(6, 20)
    w[5] = w[0] + w[1]
    assert information_lost.row_space_basis(w).shape[1] == 5


def test_previous_token_pairs_drop_the_last_and_first_positions():
    source = torch.arange(2 * 10 * 1, dtype=torch.float32).reshape(2, 10, 1)
    x, y = information_lost.previous_token_pairs(source, source)
    assert x.shape == (2, 10 - information_lost.FIRST_SCORED_POSITION - 1, 1)
    assert x[0, 0, 0] == information_lost.FIRST_SCORED_POSITION and x[0, -1, 0] == 8


def test_null_projector_is_idempotent_and_orthogonal_to_the_row_space():
    torch.manual_seed(0)
    w = torch.randn(6, 20).double()
    projector = information_lost.null_projector(w)
    torch.testing.assert_close(projector @ projector, projector, atol=1e-10, rtol=0)
    torch.testing.assert_close(projector, projector.T, atol=1e-12, rtol=0)
    torch.testing.assert_close(w @ projector, torch.zeros(6, 20, dtype=torch.float64), atol=1e-10, rtol=0)
    assert torch.trace(projector).item() == pytest.approx(20 - 6)
    h = torch.randn(50, 20).double()
    torch.testing.assert_close((h @ projector) @ w.T, torch.zeros(50, 6, dtype=torch.float64), atol=1e-9, rtol=0)


def test_held_out_r2_recovers_a_linear_map_and_shuffle_does_not():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 60, 5))
    y = x @ rng.normal(size=(5, 3)) + 0.01 * rng.normal(size=(8, 60, 3))
    scores = information_lost.held_out_r2_per_chunk(x, y, folds=4, seed=0)
    assert scores.shape == (8,) and scores.min() > 0.99
    assert information_lost.held_out_r2_per_chunk(x, y, folds=4, seed=0, shuffle=True).max() < 0.1


def test_chunk_folds_partition_the_chunks():
    folds = information_lost.chunk_folds(10, 4, seed=3)
    assert sorted(np.concatenate(folds)) == list(range(10)) and len(folds) == 4


def test_shuffled_gate_keeps_the_marginals_and_breaks_the_pairing():
    torch.manual_seed(0)
    gate = torch.randn(200, 16)
    shuffled = information_lost.shuffled_gate(gate, seed=1)
    assert torch.equal(shuffled.sort(0).values, gate.sort(0).values)  # every unit keeps its values
    assert torch.equal(shuffled.sum(1).sort().values, gate.sum(1).sort().values)  # rows move whole
    assert not torch.equal(shuffled, gate)


def test_gate_erasure_sees_a_gate_that_closes_where_up_is_large():
    gen = torch.Generator().manual_seed(0)
    small = torch.rand(400, 64, generator=gen) < 0.5
    up = torch.where(small, torch.tensor(0.0), 2.0 * torch.sign(torch.randn(400, 64, generator=gen)))
    shut = ~small & (torch.rand(400, 64, generator=gen) < 0.5)  # the gate shuts half of the large units
    selective = torch.where(shut, torch.tensor(-30.0), torch.tensor(3.0))
    erasing = information_lost.gate_erasure(selective, up, seed=0)
    assert erasing["hidden"] > erasing["shuffled"] + information_lost.ERASE_MARGIN
    independent = information_lost.gate_erasure(torch.randn(400, 64, generator=gen), up, seed=0)
    assert abs(independent["hidden"] - independent["shuffled"]) < 0.02


def test_near_zero_share():
    values = torch.tensor([[0.0, 0.0, 10.0, -10.0]])
    assert information_lost.near_zero_share(values) == 0.5


def test_swiglu_structure_is_read_from_the_modules(tiny_llama, tiny_capture):
    structure = information_lost.swiglu_structure(tiny_llama, tiny_capture)
    assert structure["parallel"] and structure["gating"] and structure["hidden_width"] == 80
    assert structure["projections_in"] == 2


def test_q4_1_rounding_has_sixteen_levels_per_block_and_bounded_error():
    torch.manual_seed(0)
    w = torch.randn(4, 64)
    q = information_lost.quantize_q4_1(w)
    blocks, qb = w.reshape(4, 2, 32), q.reshape(4, 2, 32)
    assert all(len(torch.unique(b)) <= 16 for b in qb.reshape(-1, 32))
    step = (blocks.max(-1).values - blocks.min(-1).values) / 15
    assert ((qb - blocks).abs() <= step[..., None] / 2 + 1e-6).all()
    torch.testing.assert_close(information_lost.quantize_q4_1(q), q, atol=1e-5, rtol=0)  # same grid: no change
    again = information_lost.quantize_q4_1(q, offset=16)  # a shifted grid rounds again, by a matched amount
    assert (again - q).abs().max() > 0 and (again - q).abs().max() <= step.max() / 2 + (q - w).abs().max() + 1e-6


def test_requantize_rounds_every_projection(tiny_llama):
    import copy
    model = copy.deepcopy(tiny_llama)
    blocks = information_lost.QUANT_BLOCK
    expected = sum(isinstance(m, torch.nn.Linear) and m.in_features % blocks == 0 for m in model.model.layers.modules())
    assert information_lost.requantize(model) == expected == 3 * 6  # down_proj's 80 inputs are not whole blocks
    assert not torch.equal(model.model.layers[0].mlp.up_proj.weight, tiny_llama.model.layers[0].mlp.up_proj.weight)


class WordTokenizer:
    """One token per word or punctuation mark, with a growing vocabulary."""

    def __init__(self):
        self.vocab = {}

    def __call__(self, text, add_special_tokens=False):
        import re
        from types import SimpleNamespace
        words = re.findall(r"\w+|[^\w\s]", text)
        return SimpleNamespace(input_ids=[self.vocab.setdefault(w, len(self.vocab)) for w in words])


def test_capital_prompts_keep_the_city_and_balance_every_token():
    table = information_lost.capitals()
    assert len(table) == len(set(table.country)) == len(set(table.capital))
    tokenizer = WordTokenizer()
    prompts = information_lost.capital_prompts(tokenizer, table, [0, 1])
    for p in prompts:
        assert p.true.shape == p.false.shape
        assert torch.equal(p.true[:, p.source], p.false[:, p.source])  # the city token is the same
        assert torch.equal(p.true[:, p.source + 1:], p.false[:, p.source + 1:])  # so is the suffix
        differs = (p.true != p.false).any(0)
        assert differs.sum() == 1  # only the country differs
        country = int(np.flatnonzero(differs.numpy())[0])
        assert sorted(p.true[:, country].tolist()) == sorted(p.false[:, country].tolist())  # each country once each
        for row, b in enumerate(p.block):  # the false country comes from the same block
            twin = int(np.flatnonzero((p.true[:, country] == p.false[row, country]).numpy())[0])
            assert p.block[twin] == b


def test_block_folds_never_train_on_a_test_block():
    rng = np.random.default_rng(0)
    block = np.repeat(np.arange(4), 10)
    true_x, false_x = rng.normal(size=(40, 5)) + 2, rng.normal(size=(40, 5)) - 2
    accuracy = information_lost.probe_accuracy(true_x, false_x, block)
    assert accuracy["mean"] > 0.95 and accuracy["n"] == 80
    same = rng.normal(size=(40, 5))
    assert abs(information_lost.probe_accuracy(same, same, block)["mean"] - 0.5) < 1e-9  # identical rows: chance


def test_ratio_ci_is_a_ratio_of_sums():
    share = information_lost.ratio_ci(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 8.0]))
    assert share["mean"] == pytest.approx(0.5) and share["low"] == pytest.approx(0.5)


def interval(mean, low=None, high=None):
    return {"mean": mean, "low": mean if low is None else low, "high": mean if high is None else high, "n": 16}


@pytest.mark.parametrize("recompute, ratios, expected", [
    (1e-3, [interval(0.5)], "supported"),
    (0.0, [interval(0.97, 0.93, 1.0), interval(1.1, 0.95, 1.2)], "refuted"),
    (0.0, [interval(0.97, 0.93, 1.0), interval(0.6, 0.5, 0.7)], "nuanced"),
    (0.0, [interval(0.9, 0.8, 1.0), interval(0.95, 0.85, 1.05)], "inconclusive"),
])
def test_every_c2_outcome_is_reachable(recompute, ratios, expected):
    ruling = information_lost.c2_verdict(recompute, ratios)
    assert ruling.verdict == expected and ruling.rule == rules.digest(information_lost.C2_RULES)
    assert set(rules.outcomes(information_lost.C2_RULES)) == {"supported", "refuted", "nuanced", "inconclusive"}


@pytest.mark.parametrize("share, gap, shift, expected", [
    (interval(0.59, 0.58, 0.60), 0.0, 0.001, "supported"),
    (interval(0.45, 0.44, 0.46), 0.3, 0.001, "refuted"),
    (interval(0.45, 0.44, 0.46), 0.0, 0.001, "nuanced"),
    (interval(0.59, 0.58, 0.60), 0.3, 0.001, "nuanced"),
    (interval(0.575, 0.56, 0.59), 0.0, 0.001, "inconclusive"),
    (interval(0.59, 0.585, 0.60), 0.0, 0.02, "inconclusive"),
])
def test_every_c3_outcome_is_reachable(share, gap, shift, expected):
    ruling = information_lost.c3_verdict(share, 0.625, gap, shift)
    assert ruling.verdict == expected
    assert set(rules.outcomes(information_lost.C3_RULES)) == {"inconclusive", "refuted", "supported", "nuanced"}


@pytest.mark.parametrize("structure, excess, expected", [
    (True, [interval(0.01, 0.0, 0.02), interval(0.08, 0.06, 0.1)], "supported"),
    (True, [interval(0.01, 0.0, 0.02), interval(0.02, 0.01, 0.03)], "nuanced"),
    (False, [interval(0.08, 0.06, 0.1)], "nuanced"),
    (False, [interval(0.0, -0.01, 0.01)], "refuted"),
    (True, [interval(0.04, 0.02, 0.06)], "inconclusive"),
])
def test_every_c4_outcome_is_reachable(structure, excess, expected):
    assert information_lost.c4_verdict(structure, excess).verdict == expected
    assert set(rules.outcomes(information_lost.C4_RULES)) == {"supported", "nuanced", "refuted", "inconclusive"}


@pytest.mark.parametrize("embedding, later, carried, expected", [
    (0.75, 0.95, interval(0.9, 0.85, 0.95), "not testable here"),
    (0.5, 0.6, interval(0.9, 0.85, 0.95), "not testable here"),
    (0.5, 0.95, interval(0.1, 0.05, 0.15), "supported"),
    (0.5, 0.95, interval(0.9, 0.85, 0.95), "refuted"),
    (0.5, 0.95, interval(0.5, 0.4, 0.6), "nuanced"),
    (0.5, 0.95, interval(0.75, 0.65, 0.85), "inconclusive"),
])
def test_every_c6_outcome_is_reachable(embedding, later, carried, expected):
    assert information_lost.c6_verdict(embedding, later, carried).verdict == expected
    assert set(rules.outcomes(information_lost.C6_RULES)) == {"not testable here", "supported", "refuted", "nuanced",
                                                            "inconclusive"}


def test_fact_table_needs_the_pair_and_scores_only_the_value():
    ids, targets, vocab = information_lost.fact_table(0, first=4, last=5, values=3)
    assert ids.shape == (20, 4) and vocab == 4 + 5 + 3 + 1
    scored = targets != information_lost.IGNORE
    assert scored[:, 2].all() and scored.sum() == 20
    assert torch.equal(targets[:, 2], ids[:, 3]) and ids[:, 3].min() >= 9 and ids[:, 3].max() < 12
    assert len({(int(a), int(b)) for a, b in ids[:, 1:3]}) == 20  # every pair once
    again, _, _ = information_lost.fact_table(0, first=4, last=5, values=3)
    other, _, _ = information_lost.fact_table(1, first=4, last=5, values=3)
    assert torch.equal(ids, again) and not torch.equal(ids, other)


def test_ffn_llama_sets_the_hidden_width_directly():
    model = information_lost.ffn_llama(10, 16, 2, seed=0)
    assert model.model.layers[0].mlp.gate_proj.weight.shape == (2, 16)
    assert model.model.layers[0].mlp.down_proj.weight.shape == (16, 2)


def test_width_runs_train_and_report():
    stored = information_lost.storage_run(8, 4, seed=0, steps=2, batch=16)
    assert 0 <= stored["recalled"] <= 1 and stored["facts"] == information_lost.FACT_FIRST * information_lost.FACT_LAST
    computed = information_lost.computation_run(8, 4, seed=0, steps=2, length=4)
    assert len(computed["accuracy"]) == 4 and 0 <= computed["k_star"] <= 4


def sweep_rows(recalled: dict, k_star: dict, seeds=(0, 1, 2)):
    return [{"d_ff": w, "seed": s, "recalled": recalled[w][i], "k_star": k_star[w][i]}
            for w in recalled for i, s in enumerate(seeds)]


def test_sweep_summary_pairs_gains_by_seed():
    summary = information_lost.sweep_summary(
        sweep_rows({2: [0.5, 0.6, 0.7], 64: [0.8, 0.9, 1.0]}, {2: [1, 1, 2], 64: [2, 4, 3]}), length=8)
    assert summary["widths"] == [2, 64]
    assert summary["storage_gain"]["low"] == summary["storage_gain"]["high"] == pytest.approx(0.3)
    # serial steps are k* beyond the first product: 0, 0, 0 at the narrow width, 0, 2, 1 at the wide one
    assert summary["computation_gain"]["mean"] == pytest.approx(1.0)
    assert summary["serial"][0]["mean"] == 0 and summary["k_star"][0]["mean"] == pytest.approx(4 / 3)
    assert summary["recalled"][1]["high"] <= 1.0


@pytest.mark.parametrize("narrow, wide, k_narrow, k_wide, expected", [
    ([0.97, 0.98, 0.99], [1.0, 1.0, 1.0], [1, 1, 1], [1, 1, 1], "not testable here"),
    ([0.5, 0.55, 0.6], [0.9, 0.95, 0.97], [1, 1, 1], [1, 1, 1], "supported"),
    ([0.5, 0.55, 0.6], [0.9, 0.95, 0.97], [1, 1, 1], [2, 2, 2], "supported"),  # the first product is storage
    ([0.5, 0.55, 0.6], [0.9, 0.95, 0.97], [1, 1, 1], [4, 4, 4], "nuanced"),
    ([0.5, 0.55, 0.6], [0.52, 0.56, 0.6], [1, 1, 1], [3, 3, 4], "refuted"),
    ([0.5, 0.55, 0.6], [0.5, 0.75, 0.9], [1, 1, 1], [1, 1, 1], "inconclusive"),
    ([0.5, 0.55, 0.6], [0.9, 0.95, 0.97], [1, 1, 1], [1, 2, 3], "inconclusive"),
])
def test_every_width_outcome_is_reachable(narrow, wide, k_narrow, k_wide, expected):
    summary = information_lost.sweep_summary(sweep_rows({2: narrow, 128: wide}, {2: k_narrow, 128: k_wide}), length=8)
    ruling = information_lost.width_verdict(summary)
    assert ruling.verdict == expected and ruling.rule == rules.digest(information_lost.WIDTH_RULES)
    assert set(rules.outcomes(information_lost.WIDTH_RULES)) == {"not testable here", "supported", "nuanced",
                                                               "refuted", "inconclusive"}


@pytest.mark.parametrize("narrow, wide, k_narrow, k_wide, says", [
    ([0.5, 0.55, 0.6], [0.9, 0.95, 0.97], [1, 1, 1], [1, 1, 1], ("raises the facts", "stay near")),
    ([0.5, 0.55, 0.6], [0.52, 0.56, 0.6], [1, 1, 1], [3, 3, 3], ("leaves the facts", "raises the serial")),
    ([0.5, 0.55, 0.6], [0.5, 0.75, 0.9], [1, 1, 1], [1, 2, 3], ("too uncertain", "too uncertain")),
])
def test_sweep_caption_follows_the_intervals(narrow, wide, k_narrow, k_wide, says):
    caption = information_lost.sweep_caption(
        information_lost.sweep_summary(sweep_rows({2: narrow, 128: wide}, {2: k_narrow, 128: k_wide}), length=8))
    assert all(s in caption for s in says) and caption[0].isupper()


def test_narrow_storage_sentence_follows_the_interval():
    above = information_lost.sweep_summary(sweep_rows({2: [0.5, 0.55, 0.6], 8: [0.9, 0.9, 0.9]},
                                                      {2: [1, 1, 1], 8: [1, 1, 1]}), length=8)
    at_chance = information_lost.sweep_summary(sweep_rows({2: [0.1, 0.12, 0.15], 8: [0.9, 0.9, 0.9]},
                                                          {2: [1, 1, 1], 8: [1, 1, 1]}), length=8)
    assert "more than chance" in information_lost.narrow_storage_sentence(above, 0.125)
    assert "no more than chance" in information_lost.narrow_storage_sentence(at_chance, 0.125)
