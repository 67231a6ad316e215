"""Unit tests for deepenough/kv_cache.py on a tiny random Llama (no SmolLM2 load) and constructed inputs."""
import numpy as np
import pytest
import torch
from transformers import BatchEncoding, LlamaConfig, LlamaForCausalLM

from deepenough.chapters import kv_cache
from deepenough.lab import stats
from deepenough.machinery import paths, power, results, rules

SMOLLM2 = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                      num_attention_heads=9, num_key_value_heads=3)


class CharTokenizer:
    """Just enough of a tokenizer for kvcache: one id per character, 0 for padding."""
    pad_token_id = 0

    def __call__(self, text, return_tensors="pt"):
        return type("Encoded", (), {"input_ids": torch.tensor([[1 + ord(c) % 60 for c in text]])})


def tiny(dtype):
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=80, num_hidden_layers=3,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
    return LlamaForCausalLM(config).eval().to(dtype)


@pytest.fixture(scope="module")
def tiny64():
    return tiny(torch.float64)


@pytest.fixture(scope="module")
def ids():
    return torch.randint(1, 64, (1, 20), generator=torch.Generator().manual_seed(3))


def test_cached_and_recomputed_rows_line_up_and_agree_in_float64(tiny64, ids):
    cached = kv_cache.cached_logits(tiny64, ids, prefill=5)
    recomputed = kv_cache.recomputed_logits(tiny64, ids, prefill=5)
    assert cached.shape == recomputed.shape == (20 - 5 + 1, 64)
    assert kv_cache.relative_difference(cached, recomputed) < kv_cache.THEORY_RELATIVE_TOLERANCE
    # the last row predicts the token after the whole sequence
    full = tiny64(ids, use_cache=False).logits[0, -1]
    assert torch.allclose(cached[-1], full, rtol=0, atol=1e-12)


def test_a_wrong_cache_is_caught_by_the_tolerance(tiny64, ids):
    """A cache that skipped a position (a real bug) must exceed the float64 tolerance.

    Shifting every position by the same amount would not do: rotary positions are relative, so that
    changes nothing but rounding."""
    recomputed = kv_cache.recomputed_logits(tiny64, ids, prefill=5)
    skipped = torch.cat([torch.arange(0, 10), torch.arange(11, 21)])[None]  # the 11th token one place late
    with torch.no_grad():
        wrong = tiny64(ids, position_ids=skipped, use_cache=False).logits[0, 4:]
    assert kv_cache.relative_difference(wrong, recomputed) > 1e3 * kv_cache.THEORY_RELATIVE_TOLERANCE


def test_decoding_both_ways_in_float64_never_forks_and_rows_line_up(tiny64, ids):
    cached, recomputed = kv_cache.decode_both_ways(tiny64, ids[:, :6].repeat(3, 1), new_tokens=8)
    assert cached.shape == recomputed.shape == (3, 8, 64)
    assert (cached - recomputed).abs().max() < 1e-10
    steps = kv_cache.gap_steps(cached[0], recomputed[0])
    assert len(steps["gap"]) == 8 and not any(steps["fork"]) and min(steps["gap"]) >= 0
    assert max(abs(x) for x in steps["shift"]) < 1e-10


def test_a_fork_ends_its_continuation_and_its_shift_closes_the_gap():
    recomputed = torch.tensor([[3.0, 1.0, 0.0], [2.0, 1.9, 0.0], [5.0, 0.0, 0.0]])
    cached = torch.tensor([[3.0, 1.1, 0.0], [1.8, 1.95, 0.0], [5.0, 0.0, 0.0]])
    steps = kv_cache.gap_steps(cached, recomputed)
    assert steps["fork"] == [False, True]
    assert steps["gap"] == pytest.approx([2.0, 0.1]) and steps["shift"] == pytest.approx([-0.1, -0.25])


def test_decode_steps_label_each_step_with_its_continuation(tiny64):
    prompts = torch.randint(1, 64, (kv_cache.DECODE_BATCH + 2, 5), generator=torch.Generator().manual_seed(1))
    steps = kv_cache.decode_steps(tiny64, prompts, new_tokens=4)
    assert len(steps["gap"]) == len(steps["shift"]) == len(steps["fork"]) == 4 * len(prompts)
    assert steps["continuation"].tolist() == [i for i in range(len(prompts)) for _ in range(4)]


def test_prompt_ids_are_distinct_jokes_of_equal_length():
    class Tokenizer:
        def __call__(self, text):
            return type("Encoded", (), {"input_ids": [1 + ord(c) % 60 for c in text]})

    first = kv_cache.prompt_ids(Tokenizer(), 30, seed=0)
    assert first.shape == (30, kv_cache.PROMPT_TOKENS)
    assert torch.equal(first, kv_cache.prompt_ids(Tokenizer(), 30, seed=0))
    assert len({tuple(row) for row in first.tolist()}) == 30


def test_shape_changes_without_cache_are_rounding_and_reruns_are_identical(tiny64):
    worst = kv_cache.shape_changes(tiny64, CharTokenizer(), ["a short one", "a longer prompt here", "mid size"])
    assert set(worst) == {"batch", "length", "chunks", "rerun", "cache"}
    assert worst["rerun"] == 0.0
    assert all(value < 1e-10 for value in worst.values())


def test_float32_cache_differs_only_by_rounding():
    model = tiny(torch.float32)
    ids = torch.randint(1, 64, (1, 16), generator=torch.Generator().manual_seed(5))
    cached, recomputed = kv_cache.cached_logits(model, ids, 4), kv_cache.recomputed_logits(model, ids, 4)
    difference = kv_cache.relative_difference(cached, recomputed)
    assert difference < 1e-4


def test_cache_memory_matches_the_formula(tiny64, ids):
    cache = tiny64(ids, use_cache=True).cache
    assert kv_cache.cache_bytes(cache) == 20 * kv_cache.predicted_cache_bytes_per_token(tiny64.config, 8)
    assert kv_cache.predicted_cache_bytes_per_token(SMOLLM2, 4) == 2 * 30 * 3 * 64 * 4


def test_matmul_parameters_counts_the_real_linear_weights(tiny64):
    linear = sum(m.weight.numel() for m in tiny64.modules() if isinstance(m, torch.nn.Linear))
    assert kv_cache.matmul_parameters(tiny64.config) == linear


def test_flops_cached_linear_recompute_quadratic():
    assert kv_cache.token_flops(SMOLLM2, 200) - kv_cache.token_flops(SMOLLM2, 100) == pytest.approx(
        kv_cache.token_flops(SMOLLM2, 300) - kv_cache.token_flops(SMOLLM2, 200))
    assert kv_cache.step_flops(SMOLLM2, 1, cached=False) == kv_cache.step_flops(SMOLLM2, 1, cached=True)
    ratio = [kv_cache.step_flops(SMOLLM2, n, False) / kv_cache.step_flops(SMOLLM2, n, True) for n in (10, 100, 1000)]
    assert ratio[0] < ratio[1] < ratio[2] and ratio[2] > 500


def test_time_per_token_leaves_the_cache_as_it_found_it(tiny64):
    class Spy:  # the model, noting the cache length each timed call sees
        config, seen = tiny64.config, []

        def __call__(self, ids, cache=None, use_cache=False):
            if cache is not None:
                self.seen.append(cache.get_seq_length())
            return tiny64(ids, cache=cache, use_cache=use_cache)

    spy = Spy()
    times = kv_cache.time_per_token(spy, length=12, cached=True, repeats=3, seed=0)
    assert len(times) == 3 and all(t > 0 for t in times)
    assert spy.seen == [11] * 4, "every repeat (and the warm-up) must see the 11-token prefix, not a growing cache"


def test_fit_cost_model_recovers_overhead_and_throughput():
    flops = [1e9, 2e9, 5e9, 1e10]
    seconds = [0.01 + f / 1e11 for f in flops]
    overhead, throughput = kv_cache.fit_cost_model(flops, seconds)
    assert overhead == pytest.approx(0.01) and throughput == pytest.approx(1e11)


def test_noise_is_the_quantile_of_the_absolute_shift():
    assert kv_cache.noise_level([]) == 0.0
    assert kv_cache.noise_level([-x for x in range(101)]) == pytest.approx(99.0)


def steps_of(gaps, shifts, forks, continuations):
    return {"gap": np.array(gaps, dtype=float), "shift": np.array(shifts, dtype=float),
            "fork": np.array(forks, dtype=bool), "continuation": np.array(continuations)}


def test_tie_summary_counts_continuations_that_met_a_near_tie_or_forked():
    shifts, gaps = [0.01] * 99 + [0.02], [1.0] * 100
    gaps[3] = 0.005  # a near-tie in continuation 0
    units = [i // 10 for i in range(100)] + [10]
    summary = kv_cache.tie_summary(steps_of(gaps + [0.015], shifts + [-0.03], [False] * 100 + [True], units), 12)
    assert summary["met"] == 2 and summary["forks"] == 1 and summary["forks_rounding"]
    assert summary["near_ties"]["n"] == 12 and summary["near_ties"]["mean"] == pytest.approx(2 / 12)
    late = steps_of(gaps + [0.5], shifts + [-0.6], [False] * 100 + [True], units)
    assert not kv_cache.tie_summary(late, 12)["forks_rounding"]


def test_the_line_and_the_per_token_rate_invert_each_other():
    line = kv_cache.near_tie_line(20)
    assert line == pytest.approx(1 - 0.999 ** 20)
    assert kv_cache.per_token(line, 20) == pytest.approx(kv_cache.NEAR_TIE_RATE_BOUND)
    needed = kv_cache.continuations_needed(20)
    assert stats.proportion_ci(0, needed)["high"] < line <= stats.proportion_ci(0, needed - 1)["high"]


TABLE = kv_cache.TABLES["C1"]
EXACT = {"float32": kv_cache.FLOAT32_SPREAD, "bfloat16": kv_cache.FLOAT32_SPREAD}


def drawn(spreads=EXACT, profile="full", **change):
    return {**kv_cache.world(spreads)(np.random.default_rng(0), TABLE.designs[profile]), **change}


def test_the_settings_are_the_design_the_power_analysis_draws():
    for profile, settings in kv_cache.SETTINGS.items():
        design = TABLE.designs[profile]
        assert design["continuations"] == settings["continuations"]
        assert design["new_tokens"] == settings["new_tokens"]
        assert design["float64_seeds"] == settings["seeds"]
        assert design["batch_runs"] == settings["seeds"] * len(settings["batch_sizes"])
        assert design["batch_precisions"] == settings["batch_precisions"]
    assert "SIZES = kv_cache.SETTINGS[profile]" in (paths.BOOK / "kv_cache.md").read_text()


@pytest.mark.slow  # simulates the decision table's power (seconds)
def test_every_c1_outcome_has_a_world_and_full_reaches_each():
    assert {"supported", "nuanced", "inconclusive", "refuted"} == set(rules.outcomes(kv_cache.C1_RULES))
    assert not power.unreachable(TABLE.power("full"))
    assert power.unreachable(TABLE.power("quick")) == ["supported"]


@pytest.mark.parametrize("change, expected", [
    ({}, "supported"),
    ({"float64": [1e-15, 5e-8]}, "supported"),                 # float32 rotary angles: within the tolerance
    ({"float64": [1e-3]}, "refuted"),
    ({"completions": {"float32": [(1,), (2,), (1,)]}}, "nuanced"),   # the batch alone changed the output
])
def test_c1_outcomes_from_raw_measurements(change, expected):
    ruling = TABLE.decide(drawn(**change), "full")
    assert ruling.verdict == expected and ruling.rule == rules.digest(kv_cache.C1_RULES)


def test_c1_reads_reruns_shapes_and_clear_forks():
    raw = drawn()
    f32 = raw["shapes"]["float32"]
    assert TABLE.decide({**raw, "shapes": {**raw["shapes"], "float32": {**f32, "rerun": 1e-6}}}, "full").row == 2
    assert TABLE.decide({**raw, "shapes": {**raw["shapes"], "float32": {**f32, "cache": 1.0}}}, "full").row == 3
    steps = {key: value.copy() for key, value in raw["decoding"]["float32"].items()}
    steps["gap"][0], steps["fork"][0] = 1.0, True  # a fork at a gap of a whole logit
    assert TABLE.decide({**raw, "decoding": {**raw["decoding"], "float32": steps}}, "full").row == 1


def test_bfloat16_near_ties_decide_nuanced_and_few_continuations_decide_nothing():
    common = drawn({"float32": kv_cache.FLOAT32_SPREAD, "bfloat16": kv_cache.BFLOAT16_SPREAD})
    assert TABLE.decide(common, "full").verdict == "nuanced"
    assert TABLE.decide(drawn(profile="quick"), "quick").verdict == "inconclusive"


def test_the_verdict_records_power_and_refuses_an_edited_ruling(tmp_path):
    run = results.ChapterRun("kv_cache", "quick", 0, tmp_path)
    ruling = TABLE.decide(drawn(profile="quick"), "quick")
    recorded = run.verdict(TABLE, ruling, key="float32_near_tie_share")
    assert set(recorded["power"]) == set(rules.outcomes(kv_cache.C1_RULES)) and recorded["values"]["line"] > 0
    with pytest.raises(ValueError):
        run.verdict(TABLE, ruling._replace(verdict="supported"))


def test_batch_anchor_decodes_the_same_prompt_in_batches_of_each_size():
    class Tokenizer:
        pad_token_id, eos_token_id, padding_side = 0, 0, "right"

        def __call__(self, texts, return_tensors, padding):
            width = max(len(t) for t in texts)
            ids = torch.tensor([[0] * (width - len(t)) + [ord(c) % 50 + 1 for c in t] for t in texts])
            return BatchEncoding({"input_ids": ids, "attention_mask": (ids > 0).long()})

    class Model:
        def generate(self, input_ids, attention_mask, max_new_tokens, **kwargs):
            return torch.cat([input_ids, torch.full((len(input_ids), max_new_tokens), len(input_ids))], 1)

    found = kv_cache.completions_by_batch(Model(), Tokenizer(), "abc", ["de", "fgh", "i"], [1, 2, 4], 3, seed=0)
    assert found == [(1, 1, 1), (2, 2, 2), (4, 4, 4)]


def test_cache_like_shape_change():
    base = {"batch": 1e-5, "length": 2e-5, "chunks": 0.0, "rerun": 0.0}
    assert kv_cache.cache_like_shape_change({**base, "cache": 3e-5})
    assert kv_cache.cache_like_shape_change({**base, "cache": kv_cache.SAME_SCALE_FACTOR * 2e-5})
    assert not kv_cache.cache_like_shape_change({**base, "cache": 1.0})


def test_prompts_are_seeded_distinct_and_short():
    first, again, other = kv_cache.prompts(5, 0), kv_cache.prompts(5, 0), kv_cache.prompts(5, 1)
    assert first == again and first != other
    assert len(set(first)) == 5
    assert all(len(p.split()) <= kv_cache.PROMPT_WORDS for p in first)


# --- prose built from the results: every branch ---

TIES = {"mean": 0.58, "low": 0.45, "high": 0.70, "n": 57}


def test_logit_size_says_exact_zero():
    assert kv_cache.logit_size(0.0) == "exactly zero"
    assert kv_cache.logit_size(3.5e-05) == "3.5 × 10⁻⁵"
    assert kv_cache.logit_size(0.265625) == "0.266"


def test_fork_gaps_phrase_counts_exact_ties():
    assert kv_cache.fork_gaps_phrase([]) == "none"
    assert kv_cache.fork_gaps_phrase([0.125, 0.0, 0.0625]) == "3 forks, the widest at a gap of 0.125, 1 at an exact tie"
    assert kv_cache.fork_gaps_phrase([2e-5]) == "1 fork, the widest at a gap of 2 × 10⁻⁵"


def test_forked_phrase_counts_in_words():
    share = {"mean": 0.0, "low": 0.0, "high": 0.3, "n": 9}
    text = kv_cache.forked_phrase(0, 9, share, "float32")
    assert text.startswith("none of 9 float32 continuations forked, 0% (95% CI 0% to 30%")
    assert kv_cache.forked_phrase(4, 6, {"mean": 2 / 3, "low": 0.3, "high": 0.9, "n": 6}, "bfloat16").startswith(
        "4 of 6 bfloat16")


def test_exact_sentence_follows_the_tolerance():
    assert kv_cache.exact_sentence(1e-15).startswith("That is rounding")
    assert kv_cache.exact_sentence(1e-3).startswith("That is more than rounding")


@pytest.mark.parametrize("forks, rounding, ties, start", [
    (3, True, TIES, "All 3 forks sit left of the dotted line"),
    (1, True, TIES, "The fork sits left"),
    (2, False, TIES, "At least one fork happened at a top-2 gap larger than 2 times"),
    (0, True, TIES, "No continuation forked in this run, but 58% of continuations"),
    (0, True, {"mean": 0.0, "low": 0.0, "high": 0.05, "n": 60}, "No continuation forked in this run, and no step"),
])
def test_fork_sentence_has_four_cases(forks, rounding, ties, start):
    assert kv_cache.fork_sentence(forks, rounding, ties).startswith(start)


@pytest.mark.parametrize("same_scale, identical, start", [
    (True, True, "So the cached/recomputed differences above are the ordinary consequence"),
    (False, True, "So the cache does more than reorder sums"),
    (True, False, "The cache's differences are of the size a change of shape makes, but"),
    (False, False, "The cache's differences are larger than a change of shape makes, and"),
])
def test_shape_conclusion_follows_both_controls(same_scale, identical, start):
    assert kv_cache.shape_conclusion(same_scale, identical).startswith(start)


def test_shape_and_rerun_wording():
    assert kv_cache.shape_sentence(True).startswith("Within each precision the cache moves the logits by at most 10 ")
    assert kv_cache.shape_sentence(False).startswith("In at least one precision")
    assert kv_cache.rerun_phrase(True) == "bit-identical" and kv_cache.rerun_phrase(False) == "not bit-identical"
    assert "exactly zero" in kv_cache.rerun_caption(True) and "differed" in kv_cache.rerun_caption(False)


@pytest.mark.parametrize("speedup, overhead, start", [
    (14.0, 0.02, "The gap is fixed per-forward overhead: a fit"),
    (14.0, 0.0, "The gap is not fixed per-forward overhead"),
    (300.0, 0.02, "The measured speed-up is at least the FLOP ratio"),
])
def test_cost_sentence_cases(speedup, overhead, start):
    text = kv_cache.cost_sentence(speedup, 200.0, overhead, 2e10)
    assert text.startswith(start) and "GFLOP/s" in text


def test_cost_sentence_numbers():
    text = kv_cache.cost_sentence(14.0, 200.0, 0.0234, 2.34e10)
    assert "23 ms of overhead and 23 GFLOP/s" in text
    assert "4.5 ms of overhead and 3.2 GFLOP/s" in kv_cache.cost_sentence(14.0, 200.0, 0.0045, 3.2e9)


def test_time_caption_flat_or_growing():
    assert kv_cache.time_caption([16, 64, 256], [0.020, 0.021, 0.024]) == (
        "the cached step stays nearly flat from 16 to 256 tokens (×1.20).")
    assert kv_cache.time_caption([16, 1024], [0.02, 0.05]) == "the cached step grows 2.5-fold from 16 to 1,024 tokens."


def test_samples_limitation_by_profile():
    shares = {"float32": {"mean": 0.0, "low": 0.0, "high": 0.09, "n": 40},
              "bfloat16": {"mean": 0.5, "low": 0.35, "high": 0.65, "n": 40}}
    quick = kv_cache.samples_limitation("quick", 40, 16, shares)
    assert quick.startswith("This quick run decodes 40 continuations of 16 tokens in each precision")
    assert "is 30 percentage points wide" in quick and "The full profile" in quick
    full = kv_cache.samples_limitation("full", 224, 20, shares)
    assert full.startswith("This full run") and "The full profile" not in full


def test_supported_needs_names_only_the_profiles_that_cannot_reach_it():
    text = kv_cache.supported_needs({"quick": {"refuted": 1.0, "supported": 0.0, "inconclusive": 0.9},
                                     "full": {"refuted": 1.0, "supported": 0.9, "inconclusive": 0.95}},
                                    {"quick": 40, "full": 224}, {"quick": 16, "full": 20})
    assert text == ("Under quick, supported needs at least 239 continuations of 16 tokens without a near-tie in "
                    "each precision, and the run decodes 40.")
    assert kv_cache.supported_needs({"full": {"supported": 0.9}}, {"full": 224}, {"full": 20}) == ""


def test_anchor_sentence_reproduced_or_not():
    ties = {"float32": {"mean": 0.1, "low": 0.05, "high": 0.2, "n": 100},
            "bfloat16": {"mean": 0.6, "low": 0.45, "high": 0.7, "n": 57}}
    one = kv_cache.anchor_sentence({"float32": 1}, 12, ties)
    assert one.startswith("The like-for-like test shows the mechanism but not the anchor's spread")
    assert "every one of 12 runs in float32" in one and "80 distinct in 1,000" in one
    assert one.endswith("Near-ties were more common in bfloat16 than in float32 (the intervals do not overlap).")
    many = kv_cache.anchor_sentence({"float32": 1, "bfloat16": 3}, 24, ties)
    assert "reproduces the anchor's effect in kind" in many
    assert "1 distinct completion in float32 and 3 distinct completions in bfloat16, each over 24 runs" in many
    swapped = {"float32": ties["bfloat16"], "bfloat16": ties["float32"]}
    assert "more common in float32" in kv_cache.anchor_sentence({"float32": 1}, 12, swapped)
    overlapping = {"float32": ties["bfloat16"], "bfloat16": ties["bfloat16"]}
    assert "not told apart" in kv_cache.anchor_sentence({"float32": 1}, 12, overlapping)


F32 = {"met": 0, "forks": 0, "continuations": 40, "near_ties": {"mean": 0.0, "low": 0.0, "high": 0.088, "n": 40}}
B16 = {"met": 12, "forks": 5, "continuations": 40, "near_ties": {"mean": 0.3, "low": 0.18, "high": 0.45, "n": 40}}


@pytest.mark.parametrize("ties, rounding, part", [
    ({"float32": F32}, True, "in float32 none of 40 continuations of 16 tokens met a near-tie and 0 forked, 0% "
                             "(95% CI 0% to 9% over continuations), against a line of 1.6%"),
    ({"float32": F32, "bfloat16": B16}, True, "; in bfloat16 12 of 40 continuations of 16 tokens met a near-tie "
                                              "and 5 forked, 30% (95% CI 18% to 45% over continuations)"),
    ({"bfloat16": B16}, True, "; every fork at a top-2 gap within rounding;"),
    ({"bfloat16": B16}, False, "; not every fork at a top-2 gap within rounding;"),
])
def test_evidence_reads_as_prose(ties, rounding, part):
    text = kv_cache.evidence_text(1.4e-15, ties, 16, rounding, True, True, 4, 1, 12)
    assert part in text
    assert text.startswith("In float64 cached and recomputed logits agree to 1.4 × 10⁻¹⁵ relative (within the "
                           "tolerance of one part in 1,000,000)")
    assert "(one near-tie per 1,000 tokens)" in text
    assert "1 distinct completion in 12 runs" in text and "(s)" not in text and "True" not in text
    other = kv_cache.evidence_text(1e-3, {"float32": F32}, 16, True, False, False, 4, 3, 12)
    assert "beyond the tolerance" in other and "every fork" not in other
    assert "more than 10 times" in other and "not bit-identical" in other and "3 distinct completions" in other
