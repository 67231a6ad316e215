"""Unit tests for deepenough/chapters/information_lost.py on small constructed inputs (no SmolLM2 download or load)."""
import numpy as np
import pytest
import torch

from deepenough.chapters import information_lost
from deepenough.lab import stats
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


def test_q4_1_rounding_is_ggmls_with_sixteen_levels_per_block():
    from gguf import GGMLQuantizationType, quants

    torch.manual_seed(0)
    w = torch.randn(4, 64)
    q = information_lost.quantize_q4_1(w)
    blocks, qb = w.reshape(4, 2, 32), q.reshape(4, 2, 32)
    assert all(len(torch.unique(b)) <= 16 for b in qb.reshape(-1, 32))
    step = (blocks.max(-1).values - blocks.min(-1).values) / 15
    assert ((qb - blocks).abs() <= step[..., None] / 2 + 1e-3).all()  # the float16 scale and minimum round too
    packed = quants.quantize(w.numpy(), GGMLQuantizationType.Q4_1)
    assert packed.shape == (4, 2 * (2 + 2 + 16))  # per block: float16 scale, float16 minimum, 32 nibbles
    torch.testing.assert_close(information_lost.quantize_q4_1(q), q, atol=1e-5, rtol=0)  # same grid: no change
    again = information_lost.quantize_q4_1(q, offset=16)  # a shifted grid rounds again, by a matched amount
    assert (again - q).abs().max() > 0 and (again - q).abs().max() <= step.max() / 2 + (q - w).abs().max() + 1e-3


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


@pytest.mark.parametrize("relation", information_lost.RELATIONS, ids=lambda r: r.name)
def test_relation_prompts_keep_the_value_and_need_the_pair(relation):
    table = information_lost.countries()
    assert len(table) == len(set(table.country)) == len(set(table.capital))
    tokenizer = WordTokenizer()
    prompts = information_lost.relation_prompts(tokenizer, table, relation, [0, 1])
    for p in prompts:
        assert p.true.shape == p.false.shape
        assert torch.equal(p.true[:, p.source], p.false[:, p.source])  # the value token is the same
        assert torch.equal(p.true[:, p.source + 1:], p.false[:, p.source + 1:])  # so is the suffix
        differs = (p.true != p.false).any(0)
        assert differs.sum() == 1  # only the subject differs
        subject = int(np.flatnonzero(differs.numpy())[0])
        words = {i: w for w, i in tokenizer.vocab.items()}
        for row, b in enumerate(p.block):  # the false subject: same block, a value other than the true one
            twin = table[table[relation.subject] == words[int(p.false[row, subject])]].iloc[0]
            assert twin.block == b and twin[relation.value] != table.iloc[row][relation.value]
        assert len(set(p.true[:, subject].tolist())) == len(table)  # every subject once true


def test_a_block_with_one_value_has_no_false_twin():
    table = information_lost.countries().head(3).assign(language="French", block=0)
    with pytest.raises(ValueError, match="same language"):
        information_lost.relation_prompts(WordTokenizer(), table, information_lost.RELATIONS[1], [0])


def test_block_folds_never_train_on_a_test_block():
    rng = np.random.default_rng(0)
    block, country = np.repeat(np.arange(4), 10), np.arange(40)
    true_x, false_x = rng.normal(size=(40, 5)) + 2, rng.normal(size=(40, 5)) - 2
    accuracy = information_lost.probe_accuracy(true_x, false_x, block, country)
    assert accuracy["mean"] > 0.95 and accuracy["n"] == 40 and accuracy["high"] <= 1
    same = rng.normal(size=(40, 5))
    assert abs(information_lost.probe_accuracy(same, same, block, country)["mean"] - 0.5) < 1e-9  # identical: chance


def test_the_cluster_ratio_is_a_ratio_of_sums_that_resamples_clusters():
    share = information_lost.cluster_ratio_ci(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 8.0]),
                                              np.arange(4))
    assert share["mean"] == pytest.approx(0.5) and share["low"] == pytest.approx(0.5) and share["n"] == 4
    rng = np.random.default_rng(0)
    clusters = np.repeat(np.arange(12), 8)
    hits = (rng.random(12)[clusters] + 0.3 * rng.random(96)) > 0.6
    ours = information_lost.cluster_ratio_ci(hits, np.ones(96), clusters)
    lab = stats.cluster_bootstrap_ci(hits.astype(float), clusters)
    assert ours["n"] == lab["n"] == 12 and ours["mean"] == pytest.approx(lab["mean"])
    assert ours["low"] == pytest.approx(lab["low"], abs=0.04) and ours["high"] == pytest.approx(lab["high"], abs=0.04)


def test_a_bounded_carried_share_never_leaves_zero_to_one():
    change = np.ones(30)
    carried = information_lost.carried_share(np.r_[np.full(15, 1.2), np.full(15, 0.9)], change, np.arange(30) // 2)
    assert 0 <= carried["low"] <= carried["mean"] <= carried["high"] <= 1 and carried["n"] == 15


def test_designs_count_what_the_settings_draw():
    for profile, settings in information_lost.SETTINGS.items():
        tables = {claim: table.designs[profile] for claim, table in information_lost.TABLES.items()}
        traced = {"countries": len(information_lost.countries()), "templates": len(settings["templates"]),
                  "features": len(information_lost.RELATIONS)}
        assert tables["C2"] == tables["C6"] == traced
        assert tables["C3"] == {"chunks": settings["chunks"]}
        assert tables["C4"] == {"chunks": settings["chunks"], "layers": information_lost.LAYERS}
        assert tables["C3-width"] == {"seeds": settings["sweep_seeds"], "widths": len(settings["sweep_widths"])}


@pytest.mark.parametrize("claim", list(information_lost.TABLES))
def test_every_outcome_is_reached_from_raw_data_drawn_in_its_world(claim):
    table = information_lost.TABLES[claim]
    assert set(rules.outcomes(table.rules)) == {w.outcome for w in table.worlds}
    for world in table.worlds:
        raw = world.draw(np.random.default_rng(0), table.designs["full"])
        assert table.decide(raw, "full").verdict == world.outcome, (claim, world.story)


def test_c4_chooses_the_layer_on_half_the_chunks_and_measures_it_on_the_other():
    excess = np.zeros((8, 30))
    excess[0::2, 3] = 0.5  # a layer that looks erasing only on the chunks it is chosen on
    values = information_lost.c4_summary({"excess": excess}, {})
    assert values["layer"] == 3 and values["excess_high"] == 0.0 and values["measured_on"] == 4
    assert information_lost.TABLES["C4"].decide({"excess": excess}, "quick").verdict == "nuanced"


def trace_feature(share: float, embedding: float = 0.5, countries: int = 12):
    country = np.tile(np.arange(countries), 2)
    change = np.ones(len(country))
    right = int(2 * len(country) * embedding)
    hits = np.r_[np.ones(right), np.zeros(2 * len(country) - right)]
    return {"name": f"share {share}", "embedding_hits": hits, "later_hits": np.ones(2 * len(country)),
            "moved": share * change, "ffn_moved": share * change, "change": change, "country": country}


def test_the_scoped_verdict_leaves_out_untestable_features_and_names_the_rest():
    table = information_lost.TABLES["C6"]
    read = [trace_feature(0.97), trace_feature(0.99)]
    assert table.decide({"features": read}, "quick").verdict == "refuted"
    with_leaky = {"features": read + [trace_feature(0.1, embedding=0.9)]}  # its embedding tells it: left out
    ruling = table.decide(with_leaky, "quick")
    assert ruling.verdict == "refuted" and ruling.values["testable"] == 2
    mixed = {"features": read + [trace_feature(0.1)]}
    assert table.decide(mixed, "quick").verdict == "nuanced"
    assert table.decide({"features": [trace_feature(0.5, embedding=0.9)]}, "quick").verdict == "not testable here"


def test_c2_reads_the_ffn_swap_not_the_whole_state():
    feature = {**trace_feature(0.97), "ffn_moved": np.full(24, 0.1)}
    assert information_lost.TABLES["C6"].decide({"features": [feature]}, "quick").verdict == "refuted"
    assert information_lost.TABLES["C2"].decide({"features": [feature]}, "quick").verdict == "supported"


def test_the_reading_lag_runs_from_emergence_to_where_patches_stop_carrying():
    countries = 10
    country = np.arange(countries)
    accuracy = np.array([0.5, 0.5, 0.6, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95])  # decodable (0.8) from index 3
    source_hits = np.stack([np.r_[np.ones(round(2 * countries * a)), np.zeros(2 * countries - round(2 * countries * a))]
                            for a in accuracy])
    from_indices = [0, 2, 4, 6, 8]
    carried = [1.0, 1.0, 0.9, 0.3, 0.0]  # under one half from index 6
    moved = np.stack([np.full(countries, c) for c in carried])
    lag = information_lost.reading_lag(source_hits, moved, np.ones(countries), country, from_indices)
    assert (lag["emerged"], lag["read"], lag["mean"]) == (3, 6, 3)
    assert lag["low"] <= 3 <= lag["high"] and lag["n"] == countries
    never = information_lost.reading_lag(source_hits, np.ones((5, countries)), np.ones(countries), country,
                                         from_indices)
    assert np.isnan(never["mean"]) and never["defined"] == 0


def test_c3_reads_the_lean_against_isotropic_not_the_dimension_count():
    raw = {"share": np.full(8, 0.587) + np.linspace(-1e-3, 1e-3, 8), "requantized": np.full(8, 0.591),
           "isotropic": 0.625}
    ruling = information_lost.TABLES["C3"].decide(raw, "quick")
    assert ruling.verdict == "nuanced" and ruling.values["line"] == pytest.approx(0.615)


def sweep_rows(recalled: dict, k_star: dict, seeds=(0, 1, 2), s3_learned=True):
    return [{"d_ff": w, "seed": s, "recalled": recalled[w][i], "k_star": k_star[w][i],
             "storage_learned": recalled[w][i] >= information_lost.STORED, "s3_learned": s3_learned}
            for w in recalled for i, s in enumerate(seeds)]


def width_verdict(rows):
    return information_lost.TABLES["C3-width"].decide(rows, "quick")


@pytest.mark.parametrize("narrow, wide, k_narrow, k_wide, expected", [
    ([0.97, 0.98, 0.99], [1.0, 1.0, 1.0], [8, 8, 8], [8, 8, 8], "not testable here"),
    ([0.5, 0.55, 0.6], [0.9, 0.95, 0.97], [8, 8, 8], [8, 8, 8], "supported"),
    ([0.5, 0.55, 0.6], [0.9, 0.95, 0.97], [1, 1, 1], [2, 2, 2], "supported"),  # the first product is storage
    ([0.5, 0.55, 0.6], [0.9, 0.95, 0.97], [4, 4, 4], [8, 8, 8], "nuanced"),
    ([0.5, 0.55, 0.6], [0.52, 0.56, 0.6], [8, 8, 8], [8, 8, 8], "refuted"),
    ([0.5, 0.55, 0.6], [0.5, 0.75, 0.9], [8, 8, 8], [8, 8, 8], "inconclusive"),
    ([0.2, 0.1, 0.1], [0.9, 0.95, 0.97], [8, 8, 8], [8, 8, 8], "inconclusive"),  # narrow storage models did not take
])
def test_every_width_outcome_is_reachable(narrow, wide, k_narrow, k_wide, expected):
    ruling = width_verdict(sweep_rows({2: narrow, 128: wide}, {2: k_narrow, 128: k_wide}))
    assert ruling.verdict == expected and ruling.rule == rules.digest(information_lost.WIDTH_RULES)


def test_an_untrained_s3_model_cannot_move_the_width_verdict_off_inconclusive():
    vocab = information_lost.tasks.group_vocab("s3")
    untrained = information_lost.tiny.llama(vocab, 16, 1, seed=0, max_len=24, d_ff=128)
    control = information_lost.s3_control(untrained, length=8)
    assert control["learned"] is False
    # storage clears its line; the serial-step gain these rows claim would read as "nuanced" if learned
    rows = sweep_rows({2: [0.5, 0.55, 0.6], 128: [0.9, 0.95, 0.97]}, {2: [1, 1, 1], 128: [8, 8, 8]},
                      s3_learned=control["learned"])
    ruling = width_verdict(rows)
    assert ruling.verdict == "inconclusive" and "did not learn" in ruling.reason
    assert width_verdict(sweep_rows({2: [0.5, 0.55, 0.6], 128: [0.9, 0.95, 0.97]},
                                    {2: [1, 1, 1], 128: [8, 8, 8]})).verdict == "nuanced"


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


def test_width_runs_train_and_report():
    stored = information_lost.storage_run(8, 4, seed=0, steps=2, batch=16)
    assert 0 <= stored["recalled"] <= 1 and stored["facts"] == information_lost.FACT_FIRST * information_lost.FACT_LAST
    computed = information_lost.computation_run(8, 4, seed=0, steps=2, length=4)
    assert len(computed["accuracy"]) == 4 and 0 <= computed["k_star"] <= 4


def test_sweep_summary_counts_learned_models_and_keeps_intervals_in_range():
    summary = information_lost.sweep_summary(
        sweep_rows({2: [0.5, 0.6, 0.7], 64: [0.8, 0.9, 1.0]}, {2: [1, 1, 2], 64: [2, 4, 3]}), length=8)
    assert summary["widths"] == [2, 64] and summary["storage_learned"] == [3, 3]
    assert summary["serial"][0]["mean"] == 0 and summary["k_star"][0]["mean"] == pytest.approx(4 / 3)
    assert summary["recalled"][1]["high"] <= 1.0


def test_width_gains_pair_by_seed_over_models_that_learned():
    rows = sweep_rows({2: [0.5, 0.6, 0.7, 0.1], 64: [0.8, 0.9, 1.0, 0.9]}, {2: [1, 1, 2, 1], 64: [2, 4, 3, 1]},
                      seeds=(0, 1, 2, 3))
    values = information_lost.width_summary(rows, {})
    assert values["storage_pairs"] == 3  # seed 3's narrowest model recalls under twice chance
    assert values["storage_low"] == values["storage_high"] == pytest.approx(0.3)
    assert values["computation_pairs"] == 4 and values["computation_mean"] == pytest.approx(0.75)


@pytest.mark.parametrize("narrow, wide, k_narrow, k_wide, says", [
    ([0.5, 0.55, 0.6], [0.9, 0.95, 0.97], [8, 8, 8], [8, 8, 8], ("at least 0.1", "under 1")),
    ([0.5, 0.55, 0.6], [0.52, 0.56, 0.6], [4, 4, 4], [8, 8, 8], ("under 0.1", "at least 1")),
    ([0.5, 0.55, 0.6], [0.5, 0.75, 0.9], [1, 1, 1], [1, 2, 3], ("too uncertain", "too uncertain")),
])
def test_sweep_caption_follows_the_intervals(narrow, wide, k_narrow, k_wide, says):
    rows = sweep_rows({2: narrow, 128: wide}, {2: k_narrow, 128: k_wide})
    caption = information_lost.sweep_caption(information_lost.sweep_summary(rows, length=8),
                                             information_lost.width_summary(rows, {}))
    assert all(s in caption for s in says) and caption[0].isupper()


def test_gain_sentence_says_when_too_few_models_learned():
    rows = sweep_rows({2: [0.5, 0.55, 0.6], 128: [0.9, 0.95, 0.97]}, {2: [1, 1, 1], 128: [1, 1, 1]}, s3_learned=False)
    sentence = information_lost.gain_sentence(information_lost.width_summary(rows, {}))
    assert "facts recalled rise by 0.39" in sentence and "serial steps cannot be compared" in sentence


def test_narrow_storage_sentence_follows_the_interval():
    above = information_lost.sweep_summary(sweep_rows({2: [0.5, 0.55, 0.6], 8: [0.9, 0.9, 0.9]},
                                                      {2: [1, 1, 1], 8: [1, 1, 1]}), length=8)
    at_chance = information_lost.sweep_summary(sweep_rows({2: [0.1, 0.12, 0.15], 8: [0.9, 0.9, 0.9]},
                                                          {2: [1, 1, 1], 8: [1, 1, 1]}), length=8)
    assert "more than chance" in information_lost.narrow_storage_sentence(above, 0.125)
    assert "no more than chance" in information_lost.narrow_storage_sentence(at_chance, 0.125)


def fake_trace(model, null_signal: float, seed: int = 0):
    """Residuals that tell the label weakly, and FFN hidden activations whose null-space part tells it with
    strength ``null_signal``; 4 blocks of 6 countries, one template."""
    rng = np.random.default_rng(seed)
    items, layers = 24, len(model.model.layers)
    projector = information_lost.null_projector(model.model.layers[0].mlp.down_proj.weight.detach()).numpy()
    direction = projector @ rng.normal(size=80)
    direction /= np.linalg.norm(direction)

    def states(sign):
        resid = rng.normal(size=(layers + 1, items, 32))
        resid[..., 0] += sign * 0.7
        hidden = rng.normal(size=(layers, items, 80)) * 0.1 + sign * null_signal * direction
        return resid, hidden

    (source, hidden), (source_cf, hidden_cf) = states(1.0), states(-1.0)
    return {"source": source, "source_cf": source_cf, "hidden": hidden, "hidden_cf": hidden_cf,
            "block": np.repeat(np.arange(4), 6), "country": np.arange(items)}


def test_the_incremental_probe_finds_what_only_the_discarded_part_tells(tiny_llama):
    found = information_lost.incremental_probe({"toy": fake_trace(tiny_llama, 3.0)}, [0], tiny_llama)
    assert found["candidates"] == 1 and found["layer"] == 0 and found["gain"]["low"] > 0
    assert found["both"]["mean"] > 0.95 and found["gain"]["n"] == 12  # measured on the two held-out blocks
    nothing = information_lost.incremental_probe({"toy": fake_trace(tiny_llama, 0.0)}, [0], tiny_llama)
    assert abs(nothing["gain"]["mean"]) < 0.2


def test_the_incremental_probe_skips_features_at_ceiling(tiny_llama):
    traced = fake_trace(tiny_llama, 0.0)
    traced["source"] += 3.0  # every residual dimension tells the label: nothing left to add
    assert information_lost.incremental_probe({"toy": traced}, [0], tiny_llama) == {"candidates": 0}
