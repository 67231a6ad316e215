"""Page ``book/kv_cache.md``, claim C1: is the KV cache "just an optimization"?

Cached decoding (prefill once, then one token at a time) against recomputing the whole prefix at every
step, on SmolLM2-135M in float64, float32 and bfloat16; the same kind of difference from shape changes
with no cache at all; and what the cache costs in memory and buys in time.
"""
from __future__ import annotations

import random
import time

import numpy as np
import pyjokes
import torch

from ..lab import numbers, stats
from ..machinery.rules import Rule, Ruling, always, decide

# The float64 path is float64 except for one thing: transformers computes the rotary angles' cos and sin in
# float32 whatever the model's dtype, and a vectorised cos over a different number of positions can round
# differently by one unit in the last place (~6e-8 relative), which reaches the logits at about that size
# (seen: 4.6e-8). 1e-6 sits over an order of magnitude above that and five below any real difference
# (a wrong position or mask changes logits by whole units, ~1e-1 relative).
THEORY_RELATIVE_TOLERANCE = 1e-6
# Quantile of the per-step logit disagreement (steps without a fork) taken as "the noise" of a
# precision; a fork needs the two leading logits to move by the gap between them, which rounding of
# size `noise` can do when gap <= ROUNDING_GAP_FACTOR * noise (each logit moves by up to `noise`).
NOISE_QUANTILE = 0.99
ROUNDING_GAP_FACTOR = 2.0
# "The same kind of difference": the cache's logit difference is within this factor of the largest
# difference that a cache-free change of shape makes in the same precision (an order of magnitude;
# a real change of computation would be many orders above rounding).
SAME_SCALE_FACTOR = 10.0
# "The cache changes nothing in practice" would need near-ties (steps where rounding of the measured size
# can flip the greedy token) to be rarer than one per thousand tokens: at most one chance in a
# thousand-token answer, the anchor's setting. Fewer steps than that cannot show it.
NEAR_TIE_RATE_BOUND = 1e-3
SHAPE_ONLY_CHANGES = ("batch", "length", "chunks")
PROMPT_WORDS = 12


def prompts(count: int, seed: int) -> list[str]:
    """``count`` joke openings (first PROMPT_WORDS words) from pyjokes, drawn without replacement by seed."""
    jokes = sorted({j for j in pyjokes.get_jokes("en", "all") if len(j.split()) >= PROMPT_WORDS // 2})
    chosen = random.Random(seed).sample(jokes, count)
    return [" ".join(j.split()[:PROMPT_WORDS]) for j in chosen]


def encode(tokenizer, text: str) -> torch.Tensor:
    return tokenizer(text, return_tensors="pt").input_ids


@torch.no_grad()
def recomputed_last_logits(model, ids: torch.Tensor) -> torch.Tensor:
    """Logits for the next token from a forward pass over the whole prefix, no cache."""
    return model(ids, use_cache=False).logits[0, -1]


@torch.no_grad()
def cached_logits(model, ids: torch.Tensor, prefill: int) -> torch.Tensor:
    """Next-token logits after each of positions prefill-1 .. n-1: prefill once, then one token per step."""
    out = model(ids[:, :prefill], use_cache=True)
    rows, cache = [out.logits[0, -1]], out.cache
    for t in range(prefill, ids.shape[1]):
        out = model(ids[:, t:t + 1], cache=cache, use_cache=True)
        rows.append(out.logits[0, -1])
        cache = out.cache
    return torch.stack(rows)


def recomputed_logits(model, ids: torch.Tensor, prefill: int) -> torch.Tensor:
    """The same rows as ``cached_logits``, each from a fresh forward pass over its whole prefix."""
    return torch.stack([recomputed_last_logits(model, ids[:, :t]) for t in range(prefill, ids.shape[1] + 1)])


def teacher_forced_differences(model, tokenizer, texts: list[str], prefill: int) -> list[float]:
    """Per text, the relative cached-vs-recomputed logit difference along the text's own tokens."""
    out = []
    for text in texts:
        ids = encode(tokenizer, text)
        out.append(relative_difference(cached_logits(model, ids, prefill), recomputed_logits(model, ids, prefill)))
    return out


def relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest absolute difference, relative to the largest logit magnitude."""
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def top2_gap(logits: torch.Tensor) -> float:
    top = logits.double().topk(2).values
    return float(top[0] - top[1])


@torch.no_grad()
def greedy_until_fork(model, prompt_ids: torch.Tensor, new_tokens: int) -> dict:
    """Greedy decoding with the cache and by recomputation, in lock-step, until they pick different tokens.

    Returns the per-step max |logit difference| and top-2 gap (before any fork), and the fork step with
    its top-2 gap (in the recomputed logits) or ``None`` if the continuations agree throughout.
    """
    out = model(prompt_ids, use_cache=True)
    cached, cache, ids = out.logits[0, -1], out.cache, prompt_ids
    differences, gaps = [], []
    for step in range(new_tokens):
        recomputed = recomputed_last_logits(model, ids)
        token_cached, token_recomputed = int(cached.argmax()), int(recomputed.argmax())
        if token_cached != token_recomputed:
            return {"differences": differences, "gaps": gaps, "fork": step, "fork_gap": top2_gap(recomputed),
                    "fork_difference": float((cached.double() - recomputed.double()).abs().max())}
        differences.append(float((cached.double() - recomputed.double()).abs().max()))
        gaps.append(top2_gap(recomputed))
        ids = torch.cat([ids, torch.tensor([[token_cached]])], dim=1)
        out = model(ids[:, -1:], cache=cache, use_cache=True)
        cached, cache = out.logits[0, -1], out.cache
    return {"differences": differences, "gaps": gaps, "fork": None, "fork_gap": None, "fork_difference": None}


def compare_decoding(model, tokenizer, texts: list[str], new_tokens: int) -> list[dict]:
    return [greedy_until_fork(model, encode(tokenizer, t), new_tokens) for t in texts]


def noise_level(differences: list[float]) -> float:
    return float(np.quantile(differences, NOISE_QUANTILE)) if differences else 0.0


def near_ties(gaps: list[float], noise: float, forks: int) -> dict:
    """Share of greedy steps at which rounding of size ``noise`` can flip the token (forks count as such steps),
    with a Wilson interval over steps."""
    ties = sum(g <= ROUNDING_GAP_FACTOR * noise for g in gaps) + forks
    return stats.proportion_ci(ties, len(gaps) + forks)


def forks_are_rounding(fork_gaps: list[float], noise: float) -> bool:
    """True when every fork happened at a near-tie that rounding of size ``noise`` can flip."""
    return all(gap <= ROUNDING_GAP_FACTOR * noise for gap in fork_gaps)


@torch.no_grad()
def shape_changes(model, tokenizer, texts: list[str], chunk: int = 4) -> dict[str, float]:
    """Max |logit difference| against a batch-of-1, one-chunk forward, for changes of shape only.

    ``batch``: the prompt right-padded inside a batch with the other texts (right padding keeps the
    positions; the causal mask keeps padding out of the real tokens). ``length``: the prompt's logits
    computed inside a forward over the prompt plus the next prompt. ``chunks``: prefill in chunks of
    ``chunk`` tokens through the cache. ``rerun``: the reference computed again. ``cache``, for
    comparison: the prompt fed one token at a time through the cache.
    """
    encoded = [encode(tokenizer, t)[0] for t in texts]
    width = max(len(e) for e in encoded)
    batch = torch.full((len(encoded), width), tokenizer.pad_token_id or 0)
    mask = torch.zeros_like(batch)
    for i, e in enumerate(encoded):
        batch[i, :len(e)], mask[i, :len(e)] = e, 1
    batched = model(batch, attention_mask=mask, use_cache=False).logits
    worst = {"batch": 0.0, "length": 0.0, "chunks": 0.0, "rerun": 0.0, "cache": 0.0}
    for i, e in enumerate(encoded):
        ids = e[None]
        reference = model(ids, use_cache=False).logits[0]
        longer = torch.cat([ids, encoded[(i + 1) % len(encoded)][None]], dim=1)
        variants = {
            "batch": batched[i, :len(e)],
            "length": model(longer, use_cache=False).logits[0, :len(e)],
            "chunks": chunked_prefill_logits(model, ids, chunk),
            "rerun": model(ids, use_cache=False).logits[0],
            "cache": cached_logits(model, ids, prefill=1),
        }
        for name, logits in variants.items():
            worst[name] = max(worst[name], float((logits.double() - reference.double()).abs().max()))
    return worst


def cache_like_shape_change(worst: dict[str, float]) -> bool:
    """True when the cache moves logits no more than SAME_SCALE_FACTOR x what a shape change alone does."""
    return worst["cache"] <= SAME_SCALE_FACTOR * max(worst[k] for k in SHAPE_ONLY_CHANGES)


@torch.no_grad()
def chunked_prefill_logits(model, ids: torch.Tensor, chunk: int) -> torch.Tensor:
    cache, rows = None, []
    for start in range(0, ids.shape[1], chunk):
        out = model(ids[:, start:start + chunk], cache=cache, use_cache=True)
        rows.append(out.logits[0])
        cache = out.cache
    return torch.cat(rows)


def cache_bytes(cache) -> int:
    return sum(layer.keys.nbytes + layer.values.nbytes for layer in cache.layers)


def predicted_cache_bytes_per_token(config, bytes_per_value: int) -> int:
    head_dim = config.hidden_size // config.num_attention_heads
    return 2 * config.num_hidden_layers * config.num_key_value_heads * head_dim * bytes_per_value


def matmul_parameters(config) -> int:
    """Weights used once per token in matrix products: attention and FFN projections plus the output head."""
    d, head_dim = config.hidden_size, config.hidden_size // config.num_attention_heads
    attention = d * d * 2 + 2 * d * config.num_key_value_heads * head_dim  # q, o; k, v
    ffn = 3 * d * config.intermediate_size  # gate, up, down (SwiGLU)
    return config.num_hidden_layers * (attention + ffn) + d * config.vocab_size


def token_flops(config, context: int) -> float:
    """Forward FLOPs for one token attending to ``context`` positions: 2 per weight, plus QK^T and AV."""
    return 2.0 * matmul_parameters(config) + 4.0 * config.num_hidden_layers * context * config.hidden_size


def step_flops(config, length: int, cached: bool) -> float:
    """FLOPs to produce the next token at sequence length ``length``, with the cache or by recomputation."""
    if cached:
        return token_flops(config, length)
    return sum(token_flops(config, t) for t in range(1, length + 1))


@torch.no_grad()
def time_per_token(model, length: int, cached: bool, repeats: int, seed: int) -> list[float]:
    """Wall seconds for one next-token forward at sequence length ``length``, ``repeats`` times."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, model.config.vocab_size, (1, length), generator=generator)
    cache = model(ids[:, :-1], use_cache=True).cache if cached else None
    times = []
    for _ in range(repeats + 1):  # the first call warms up and is dropped
        start = time.perf_counter()
        if cached:
            model(ids[:, -1:], cache=cache, use_cache=True)
            cache.crop(-1)  # drop the token just added, so every repeat sees the same cache
        else:
            model(ids, use_cache=False)
        times.append(time.perf_counter() - start)
    return times[1:]


def fit_cost_model(flops: list[float], seconds: list[float]) -> tuple[float, float]:
    """Least-squares fit of seconds = overhead + flops / throughput; returns (overhead_s, flop_per_s)."""
    slope, intercept = np.polyfit(np.asarray(flops), np.asarray(seconds), 1)
    return float(max(intercept, 0.0)), float(1.0 / slope)


@torch.no_grad()
def completions_by_batch(model, tokenizer, prompt: str, companions: list[str], batch_sizes: list[int],
                         new_tokens: int, seed: int) -> list[tuple[int, ...]]:
    """Greedy completions of one prompt as only the batch around it changes (the anchor's measure).

    For each batch size, the prompt is decoded beside ``size - 1`` companion prompts drawn by ``seed``,
    left-padded so every row ends at the same position. The prompt's own tokens and positions never
    change; only the shape of the computation does.
    """
    rng = random.Random(seed)
    tokenizer.padding_side = "left"
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    found = []
    for size in batch_sizes:
        texts = [prompt] + rng.sample(companions, size - 1)
        batch = tokenizer(texts, return_tensors="pt", padding=True)
        out = model.generate(**batch, max_new_tokens=new_tokens, do_sample=False, pad_token_id=pad,
                             min_new_tokens=new_tokens)
        found.append(tuple(out[0, batch.input_ids.shape[1]:].tolist()))
    return found


# The decision table for C1, tried top to bottom. The author's claim has two halves: the cache loses no
# information (the float64 test) and the output is a deterministic function of the input tokens. Radford
# Neal's qualifier is that the second holds in theory, not always in practice.
C1_RULES = (
    Rule("refuted", f"in float64 the cached and recomputed logits differ by more than {THEORY_RELATIVE_TOLERANCE:g} "
         "(relative): the cache changes the computation, not only its speed",
         lambda v: v["float64_relative"] > THEORY_RELATIVE_TOLERANCE),
    Rule("refuted", f"a greedy fork happened where the top two logits were more than {ROUNDING_GAP_FACTOR:g} times "
         "the rounding noise apart: the cache changed a clear decision",
         lambda v: not v["forks_rounding"]),
    Rule("refuted", "rerunning one fixed computation changed its logits: not even one fixed computation is "
         "deterministic here", lambda v: not v["reruns_identical"]),
    Rule("nuanced", f"the cache moved logits more than {SAME_SCALE_FACTOR:g} times as much as any cache-free change "
         "of shape, though its forks stay at near-ties", lambda v: not v["cache_like_shape"]),
    Rule("nuanced", "float64 agrees (nothing is lost) and one fixed computation is deterministic, but in finite "
         "precision the greedy output changes with the shape of the computation (the cache, or only the batch "
         "around the prompt) at near-ties, and near-ties occur: deterministic in theory, not always in practice",
         lambda v: v["forks"] > 0 or v["distinct_completions"] > 1 or v["near_tie_low"] > 0),
    Rule("inconclusive", "float64 agrees and nothing forked, but too few steps were decoded to show near-ties rarer "
         f"than {NEAR_TIE_RATE_BOUND:g} per token; more and longer continuations would decide",
         lambda v: v["near_tie_high"] > NEAR_TIE_RATE_BOUND),
    Rule("supported", "float64 agrees, reruns are bit-identical, no change of cache or batch changed a greedy token, "
         f"and near-ties are rarer than {NEAR_TIE_RATE_BOUND:g} per token", always),
)


def c1_verdict(float64_relative: float, forks: int, forks_rounding: bool, cache_like_shape: bool,
               reruns_identical: bool, distinct_completions: int, near_tie: dict, evidence: str = "") -> Ruling:
    """C1 from the float64 agreement, the forks, the shape controls, the reruns, the batch anchor and the
    share of near-tie steps (an interval over steps, in the precision with the most)."""
    values = dict(float64_relative=float64_relative, forks=forks, forks_rounding=forks_rounding,
                  cache_like_shape=cache_like_shape, reruns_identical=reruns_identical,
                  distinct_completions=distinct_completions, near_tie_low=near_tie["low"],
                  near_tie_high=near_tie["high"])
    return decide(C1_RULES, values, evidence)


# --- Prose built from the results (each branch is unit-tested) ---

# The anchor (Thinking Machines Lab): 1,000 temperature-0 completions of one prompt gave 80 distinct outputs.
ANCHOR_DISTINCT, ANCHOR_RUNS = 80, 1000
# The cached step "stays nearly flat" when its time at the longest length is within this factor of the shortest.
FLAT_FACTOR = 1.5


def logit_size(x: float) -> str:
    """A logit difference as printed: 'exactly zero' for 0, else three significant figures."""
    return "exactly zero" if x == 0 else numbers.value(x)


def forked_phrase(forks: int, runs: int, share: dict, precision: str) -> str:
    """'none of 9 float32 continuations forked, 0% (95% CI 0% to 30% over continuations)'."""
    return (f"{numbers.fraction(forks, runs)} {precision} continuations forked, "
            f"{numbers.percent_interval(share, 'continuations')}")


def exact_sentence(theory_worst: float) -> str:
    """What the float64 difference means, against the tolerance."""
    if theory_worst <= THEORY_RELATIVE_TOLERANCE:
        return ("That is rounding: the cache stores exactly the keys and values the recomputation would "
                "produce again.")
    return ("That is more than rounding: the cached path computed something other than the recomputation, "
            "which the rest of this page does not explain.")


def fork_sentence(forks: int, all_rounding: bool, near_tie: dict) -> str:
    """The caption's finding for the fork scatter plot (four cases)."""
    if forks and all_rounding:
        return (f"{'The fork sits' if forks == 1 else f'All {numbers.count(forks)} forks sit'} left of the dashed "
                "line: the top two tokens were tied to within rounding.")
    if forks:
        return (f"At least one fork happened at a top-2 gap larger than {ROUNDING_GAP_FACTOR:g} times the rounding "
                "noise, to the right of the dashed line.")
    if near_tie["mean"] > 0:
        return (f"No continuation forked in this run, but {numbers.percent(near_tie['mean'])} of steps in the "
                "precision with the most were within rounding of a tie (left of the dashed line), where a fork "
                "could have happened.")
    return "No continuation forked in this run, and no step came within rounding of a tie."


def shape_conclusion(same_scale: bool, reruns_identical: bool) -> str:
    """What the shape controls say about the cached/recomputed differences."""
    if same_scale and reruns_identical:
        return ("So the cached/recomputed differences above are the ordinary consequence of summing the same "
                "numbers in a different order, which any change of shape causes; the computation on the same "
                "shape is deterministic.")
    if reruns_identical:
        return ("So the cache does more than reorder sums: its differences are larger than any change of shape "
                "alone makes, though one fixed shape still gives the same logits every time.")
    if same_scale:
        return ("The cache's differences are of the size a change of shape makes, but one fixed shape did not "
                "give the same logits twice, so not even the computation on one shape is deterministic here.")
    return ("The cache's differences are larger than a change of shape makes, and one fixed shape did not give "
            "the same logits twice: neither control holds here.")


def shape_sentence(same_scale: bool) -> str:
    """The shape figure's finding: is the cache's difference of the size a change of shape makes?"""
    if same_scale:
        return (f"Within each precision the cache moves the logits by at most {SAME_SCALE_FACTOR:g} times what a "
                "change of shape without any cache does.")
    return "In at least one precision the cache moves the logits far more than the shape changes without a cache do."


def rerun_phrase(reruns_identical: bool) -> str:
    """How reruns of one fixed shape came out."""
    return "bit-identical" if reruns_identical else "not bit-identical"


def rerun_caption(reruns_identical: bool) -> str:
    if reruns_identical:
        return "Reruns of one shape are bit-identical (a difference of exactly zero, so not drawn)."
    return "Reruns of one shape differed (not drawn); see the text."


def cost_sentence(speedup: float, flop_ratio: float, overhead_s: float, flop_per_s: float) -> str:
    """Why the measured speed-up differs from the FLOP ratio, from the fitted overhead and throughput."""
    fit = (f"a fit of time = overhead + FLOPs / throughput to all points gives "
           f"{numbers.value(overhead_s * 1e3, 1 if overhead_s * 1e3 < 10 else 0)} ms of overhead and "
           f"{numbers.value(flop_per_s / 1e9, 1 if flop_per_s < 1e10 else 0)} GFLOP/s")
    if speedup >= flop_ratio:
        return (f"The measured speed-up is at least the FLOP ratio, so fixed per-forward overhead does not "
                f"explain any gap here ({fit}).")
    if overhead_s <= 0:
        return (f"The gap is not fixed per-forward overhead: {fit}, the intercept clipped at zero, so the "
                "cached step is slower than its FLOPs suggest for some other reason (memory traffic, "
                "small-matrix inefficiency).")
    return (f"The gap is fixed per-forward overhead: {fit}, and a single-token step is mostly overhead and "
            "weight reads on this machine.")


def time_caption(lengths: list[int], cached_seconds: list[float]) -> str:
    """How the cached step's time moved from the shortest to the longest length."""
    ratio = cached_seconds[-1] / cached_seconds[0]
    span = f"from {numbers.count(lengths[0])} to {numbers.count(lengths[-1])} tokens"
    if ratio < FLAT_FACTOR:
        return f"the cached step stays nearly flat {span} (×{numbers.value(ratio, 2)})."
    return f"the cached step grows {numbers.value(ratio, 1)}-fold {span}."


def hardware(environment: dict) -> str:
    """'one NVIDIA H100 GPU' or 'a CPU with 2 cores (1 torch thread)' from the results' environment."""
    if environment.get("gpu"):
        return f"one {environment['gpu']} GPU"
    threads = environment.get("torch_threads")
    return (f"a CPU with {numbers.plural(environment.get('cpu_count') or 1, 'core')}"
            + (f" ({numbers.plural(threads, 'torch thread')})" if threads else ""))


def samples_limitation(profile: str, runs: dict[str, int], new_tokens: int, shares: dict[str, dict]) -> str:
    """The small-samples limitation, from the profile and the widest fork-share interval."""
    widest = max(shares.values(), key=lambda s: s["high"] - s["low"])
    width = widest["high"] - widest["low"]
    decoded = listing([f"{numbers.count(n)} {name}" for name, n in runs.items()])
    head = (f"This {profile} run decodes {decoded} continuations of {numbers.plural(new_tokens, 'token')}, so "
            f"the widest fork-share interval is {numbers.count(100 * width)} percentage points wide")
    tail = ("; forks become more likely the longer the continuation, since each step is another chance of a "
            "near-tie.")
    if profile == "quick":
        return head + tail + (" The full profile decodes more continuations over more seeds and times longer "
                              "sequences.")
    return head + tail


def listing(items) -> str:
    return numbers.listing(list(items))


def anchor_sentence(distinct: dict[str, int], runs: int, near_ties: dict[str, dict]) -> str:
    """How the like-for-like batch test compares with the anchor, and what the precisions showed.

    ``distinct``: distinct completions per precision, each over ``runs`` batch runs."""
    most = max(distinct.values())
    anchor = (f"the anchor's {numbers.count(ANCHOR_DISTINCT)} distinct in {numbers.count(ANCHOR_RUNS)}, on a model "
              "far larger with far longer answers")
    if most > 1:
        found = listing([f"{numbers.plural(k, 'distinct completion')} in {name}" for name, k in distinct.items()])
        head = (f"The like-for-like test reproduces the anchor's effect in kind: as only the batch around one "
                f"prompt changed, greedy decoding gave {found}, each over {numbers.plural(runs, 'run')} "
                f"(against {anchor}).")
    else:
        head = (f"The like-for-like test shows the mechanism but not the anchor's spread: as only the batch around "
                f"one prompt changed, greedy decoding gave the same completion in {numbers.fraction(runs, runs)} "
                f"runs in {listing(distinct)} (against {anchor}); what varies here, as there, is the order of "
                "floating-point sums, which matters only at near-ties.")
    f32, b16 = near_ties.get("float32"), near_ties.get("bfloat16")
    if f32 and b16:
        if b16["low"] > f32["high"]:
            head += " Near-ties were more common in bfloat16 than in float32 (the intervals do not overlap)."
        elif f32["low"] > b16["high"]:
            head += " Near-ties were more common in float32 than in bfloat16 (the intervals do not overlap)."
        else:
            head += " Near-ties in bfloat16 and float32 were not told apart at this sample size."
    return head


def evidence_text(theory_worst: float, median32: float, median16: float, forks: int, runs: int,
                  all_rounding: bool, same_scale: bool, reruns_identical: bool, sizes: int, distinct: int,
                  batch_runs: int, near_tie: dict) -> str:
    """The evidence sentence the verdict's reason starts with, in words."""
    if forks == 0:
        fork_part = f"{numbers.fraction(forks, runs)} greedy continuations forked"
    else:
        where = ("all at top-2 gaps within rounding" if all_rounding and forks > 1 else
                 "at a top-2 gap within rounding" if all_rounding else "not all at top-2 gaps within rounding")
        fork_part = f"{numbers.fraction(forks, runs)} greedy continuations forked, {where}"
    return (f"In float64 cached and recomputed logits agree to {numbers.value(theory_worst)} relative "
            f"({'within' if theory_worst <= THEORY_RELATIVE_TOLERANCE else 'beyond'} the tolerance of one part "
            f"in {numbers.count(1 / THEORY_RELATIVE_TOLERANCE)}); in float32 and bfloat16 they differ by "
            f"{logit_size(median32)} and {logit_size(median16)} logits (medians), and {fork_part}; the cache's "
            f"differences are {'within' if same_scale else 'more than'} {SAME_SCALE_FACTOR:g} times those of "
            f"cache-free shape changes; reruns are {rerun_phrase(reruns_identical)}; one prompt decoded greedily "
            f"in batches of {numbers.plural(sizes, 'size')} gave {numbers.plural(distinct, 'distinct completion')} "
            f"in {numbers.plural(batch_runs, 'run')}; the share of near-tie steps (steps rounding can flip) was "
            f"{numbers.percent_interval(near_tie, 'steps')}")
