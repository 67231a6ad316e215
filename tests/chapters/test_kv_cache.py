"""Unit tests for deepenough/kv_cache.py on a tiny random Llama (no SmolLM2 load) and constructed inputs."""
import pytest
import torch
from transformers import BatchEncoding, LlamaConfig, LlamaForCausalLM

from deepenough.chapters import kv_cache
from deepenough.machinery import rules

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


def test_greedy_in_float64_never_forks(tiny64, ids):
    result = kv_cache.greedy_until_fork(tiny64, ids[:, :6], new_tokens=8)
    assert result["fork"] is None and result["fork_gap"] is None
    assert len(result["differences"]) == len(result["gaps"]) == 8
    assert max(result["differences"]) < 1e-10
    assert min(result["gaps"]) >= 0


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
    times = kv_cache.time_per_token(tiny64, length=12, cached=True, repeats=3, seed=0)
    assert len(times) == 3 and all(t > 0 for t in times)


def test_fit_cost_model_recovers_overhead_and_throughput():
    flops = [1e9, 2e9, 5e9, 1e10]
    seconds = [0.01 + f / 1e11 for f in flops]
    overhead, throughput = kv_cache.fit_cost_model(flops, seconds)
    assert overhead == pytest.approx(0.01) and throughput == pytest.approx(1e11)


def test_noise_and_rounding_forks():
    assert kv_cache.noise_level([]) == 0.0
    noise = kv_cache.noise_level(list(range(101)))
    assert noise == pytest.approx(99.0)
    assert kv_cache.forks_are_rounding([], noise)
    assert kv_cache.forks_are_rounding([kv_cache.ROUNDING_GAP_FACTOR * noise], noise)
    assert not kv_cache.forks_are_rounding([0.1, kv_cache.ROUNDING_GAP_FACTOR * noise * 1.01], noise)


NO_TIES = {"mean": 0.0, "low": 0.0, "high": 0.0005, "n": 10_000}
AGREES = dict(float64_relative=1e-15, forks=0, forks_rounding=True, cache_like_shape=True, reruns_identical=True,
              distinct_completions=1, near_tie=NO_TIES)


@pytest.mark.parametrize("change, expected", [
    ({}, "supported"),
    ({"forks": 2}, "nuanced"),                              # forks at near-ties only
    ({"near_tie": {"mean": 0.05, "low": 0.02, "high": 0.1, "n": 200}}, "nuanced"),   # near-ties occur
    ({"near_tie": {"mean": 0.0, "low": 0.0, "high": 0.02, "n": 200}}, "inconclusive"),  # too few steps to tell
    ({"float64_relative": 5e-8}, "supported"),              # float32 rotary angles: within the tolerance
    ({"distinct_completions": 3}, "nuanced"),               # the batch alone changed the output
    ({"cache_like_shape": False}, "nuanced"),
    ({"forks": 1, "forks_rounding": False}, "refuted"),     # a fork at a clear margin
    ({"reruns_identical": False}, "refuted"),
    ({"float64_relative": 1e-3}, "refuted"),
])
def test_every_c1_outcome_is_reachable(change, expected):
    ruling = kv_cache.c1_verdict(**{**AGREES, **change})
    assert ruling.verdict == expected and ruling.rule == rules.digest(kv_cache.C1_RULES)
    assert {"supported", "nuanced", "inconclusive", "refuted"} == set(rules.outcomes(kv_cache.C1_RULES))


def test_near_ties_count_steps_that_rounding_can_flip_and_the_forks():
    share = kv_cache.near_ties([0.001, 0.5, 3.0, 0.002], noise=0.001, forks=1)
    assert share["mean"] == 3 / 5 and share["low"] < 0.6 < share["high"] <= 1.0


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
    assert kv_cache.logit_size(3.5e-05) == "3.5e-05"
    assert kv_cache.logit_size(0.265625) == "0.266"


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
    (3, True, TIES, "All 3 forks sit left of the dashed line"),
    (1, True, TIES, "The fork sits left"),
    (2, False, TIES, "At least one fork happened at a top-2 gap larger than 2 times"),
    (0, True, TIES, "No continuation forked in this run, but 58% of steps"),
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


def test_hardware_from_the_environment():
    assert kv_cache.hardware({"gpu": "NVIDIA H100", "cpu_count": 16}) == "one NVIDIA H100 GPU"
    assert kv_cache.hardware({"gpu": None, "cpu_count": 2, "torch_threads": 1}) == "a CPU with 2 cores (1 torch thread)"
    assert kv_cache.hardware({"gpu": None, "cpu_count": 8}) == "a CPU with 8 cores"


def test_samples_limitation_by_profile():
    shares = {"float32": {"mean": 0.0, "low": 0.0, "high": 0.3, "n": 9},
              "bfloat16": {"mean": 0.67, "low": 0.3, "high": 0.9, "n": 6}}
    quick = kv_cache.samples_limitation("quick", {"float32": 9, "bfloat16": 6}, 16, shares)
    assert quick.startswith("This quick run decodes 9 float32 and 6 bfloat16 continuations of 16 tokens")
    assert "is 60 percentage points wide" in quick and "The full profile" in quick
    full = kv_cache.samples_limitation("full", {"float32": 24, "bfloat16": 18}, 20, shares)
    assert full.startswith("This full run") and "The full profile" not in full


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


@pytest.mark.parametrize("forks, rounding, part", [
    (0, True, "none of 15 greedy continuations forked;"),
    (1, True, "1 of 15 greedy continuations forked, at a top-2 gap within rounding"),
    (4, True, "4 of 15 greedy continuations forked, all at top-2 gaps within rounding"),
    (4, False, "not all at top-2 gaps within rounding"),
])
def test_evidence_reads_as_prose(forks, rounding, part):
    text = kv_cache.evidence_text(1.4e-15, 3.5e-5, 0.27, forks, 15, rounding, True, True, 4, 1, 12, TIES)
    assert part in text
    assert text.startswith("In float64 cached and recomputed logits agree to 1.4e-15 relative (within the "
                           "tolerance of one part in 1,000,000)")
    assert "1 distinct completion in 12 runs" in text and "(s)" not in text and "True" not in text
    assert "58% (95% CI 45% to 70% over steps)" in text
    other = kv_cache.evidence_text(1e-3, 0.0, 0.27, 0, 15, True, False, False, 4, 3, 12, TIES)
    assert "beyond the tolerance" in other and "exactly zero and 0.27 logits" in other
    assert "more than 10 times" in other and "not bit-identical" in other and "3 distinct completions" in other
