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
