"""Page ``book/kv_cache.md``, claim C1: is the KV cache "just an optimization"?

Cached decoding (prefill once, then one token at a time) against recomputing the whole prefix, on
SmolLM2-135M in float64, float32 and bfloat16; the same kind of difference from shape changes with no
cache at all; and what the cache costs in memory and buys in time. ``TABLES["C1"]`` is the decision table
with the summary the page runs on its raw measurements and, for power, a world for each outcome.
"""
from __future__ import annotations

import random
import time

import numpy as np
import pyjokes
import torch

from ..lab import numbers, stats
from ..machinery.power import Table, World, unreachable
from ..machinery.rules import Rule, always

# The float64 path is float64 except for one thing: transformers computes the rotary angles' cos and sin in
# float32 whatever the model's dtype, and a vectorised cos over a different number of positions can round
# differently by one unit in the last place (~6e-8 relative), which reaches the logits at about that size.
# 1e-6 sits over an order of magnitude above that and five below any real difference (a wrong position or
# mask changes logits by whole units, ~1e-1 relative).
THEORY_RELATIVE_TOLERANCE = 1e-6
# The noise of a precision: this quantile of the gap shift (how much the two paths move the top-1 minus
# top-2 logit gap) over steps that did not fork. A step is a near-tie when its gap is within the noise:
# at least one shift in a hundred of the measured sizes would flip its greedy token.
NOISE_QUANTILE = 0.99
# A fork is rounding when its gap is within this factor of the noise; a fork needs a shift larger than the
# gap, and forks select the largest shifts, so the factor leaves room for the tail of the shifts.
ROUNDING_GAP_FACTOR = 2.0
# "The same kind of difference": the cache's logit difference is within this factor of the largest
# difference that a cache-free change of shape makes in the same precision (an order of magnitude;
# a real change of computation would be many orders above rounding).
SAME_SCALE_FACTOR = 10.0
# "The cache changes nothing in practice" is read as near-ties rarer than one per thousand tokens: at most
# one chance in a thousand-token answer, the anchor's setting. The rule reads it per continuation (the
# independent unit): the share of continuations that meet a near-tie (or fork), against the share a
# continuation of that length meets at this rate.
NEAR_TIE_RATE_BOUND = 1e-3
SHAPE_ONLY_CHANGES = ("batch", "length", "chunks")
PRECISIONS = ("float32", "bfloat16")
PROMPT_WORDS = 12
PROMPT_TOKENS = 10  # every decoded prompt is cut to this many tokens, so a batch of them needs no padding
DECODE_BATCH = 8  # continuations decoded side by side; the cached and recomputed paths see the same batch

# Every profile-dependent size, in one place: the page runs these and the power analysis draws them.
COMMON = {"float64_texts": 1, "repeats": 3, "batch_sizes": [1, 2, 4, 8], "batch_tokens": 24}
SETTINGS = {
    "quick": {**COMMON, "seeds": 3, "continuations": 40, "new_tokens": 16, "shape_texts": 3,
              "lengths": [16, 64, 256], "batch_precisions": ["float32"]},
    # 208 continuations of 20 tokens: with none meeting a near-tie, the Wilson upper end (1.8%) clears the
    # 2.0% a 20-token continuation meets at one near-tie per thousand tokens, so `supported` can occur.
    "full": {**COMMON, "seeds": 6, "continuations": 208, "new_tokens": 20, "shape_texts": 4,
             "lengths": [16, 64, 256, 512], "batch_precisions": ["float32", "bfloat16"]},
}


def design(settings: dict) -> dict:
    """The independent units a profile draws: continuations per precision (each its own prompt), their
    length, float64 seeds, and the batch anchor's runs."""
    return {"continuations": settings["continuations"], "new_tokens": settings["new_tokens"],
            "precisions": list(PRECISIONS), "float64_seeds": settings["seeds"],
            "batch_runs": settings["seeds"] * len(settings["batch_sizes"]), "batch_tokens": settings["batch_tokens"],
            "batch_precisions": list(settings["batch_precisions"])}


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


def prompt_ids(tokenizer, count: int, seed: int) -> torch.Tensor:
    """``count`` distinct joke openings of exactly PROMPT_TOKENS tokens from pyjokes, drawn by seed (jokes
    that open alike, as many Chuck Norris facts do, count once)."""
    jokes = sorted(set(pyjokes.get_jokes("en", "all")))
    openings = sorted({tuple(ids[:PROMPT_TOKENS]) for ids in (tokenizer(j).input_ids for j in jokes)
                       if len(ids) >= PROMPT_TOKENS})
    return torch.tensor(random.Random(seed).sample(openings, count))


@torch.no_grad()
def decode_both_ways(model, prompts: torch.Tensor, new_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy decoding of a batch of equal-length prompts with the cache, and the same continuations
    recomputed without it: one forward over each whole sequence, whose row t sees only the prefix up to t
    (the causal mask). Returns both paths' next-token logits per step, each (batch, new_tokens, vocab)."""
    out = model(prompts, use_cache=True)
    rows, cache, ids = [out.logits[:, -1]], out.cache, prompts
    for _ in range(new_tokens - 1):
        ids = torch.cat([ids, rows[-1].argmax(-1, keepdim=True)], dim=1)
        out = model(ids[:, -1:], cache=cache, use_cache=True)
        rows.append(out.logits[:, -1])
        cache = out.cache
    recomputed = model(ids, use_cache=False).logits[:, prompts.shape[1] - 1:]
    return torch.stack(rows, dim=1), recomputed


def gap_steps(cached: torch.Tensor, recomputed: torch.Tensor) -> dict:
    """One continuation, step by step until the paths pick different tokens: the recomputed top-1 minus top-2
    gap, its shift (the same two logits' gap on the cached path, minus it) and whether the step forked."""
    gaps, shifts, forks = [], [], []
    for c, r in zip(cached.double(), recomputed.double()):
        top = r.topk(2)
        first, second = top.indices.tolist()
        gaps.append(float(top.values[0] - top.values[1]))
        shifts.append(float(c[first] - c[second]) - gaps[-1])
        forks.append(int(c.argmax()) != first)
        if forks[-1]:
            break
    return {"gap": gaps, "shift": shifts, "fork": forks}


def decode_steps(model, prompts: torch.Tensor, new_tokens: int) -> dict:
    """The raw measurement per step over every continuation: gap, shift, fork and the continuation it is in."""
    runs = []
    for batch in prompts.split(DECODE_BATCH):
        cached, recomputed = decode_both_ways(model, batch, new_tokens)
        runs += [gap_steps(c, r) for c, r in zip(cached, recomputed)]
    return {"gap": np.array([g for r in runs for g in r["gap"]]),
            "shift": np.array([x for r in runs for x in r["shift"]]),
            "fork": np.array([f for r in runs for f in r["fork"]], dtype=bool),
            "continuation": np.array([i for i, r in enumerate(runs) for _ in r["gap"]])}


def noise_level(shifts) -> float:
    """The NOISE_QUANTILE quantile of the absolute gap shifts (0 with none)."""
    shifts = np.abs(np.asarray(shifts, dtype=float))
    return float(np.quantile(shifts, NOISE_QUANTILE)) if shifts.size else 0.0


def near_tie_line(new_tokens: int) -> float:
    """The share of continuations of ``new_tokens`` tokens that meet a near-tie at NEAR_TIE_RATE_BOUND per token."""
    return 1 - (1 - NEAR_TIE_RATE_BOUND) ** new_tokens


def per_token(share: float, new_tokens: int) -> float:
    """The per-token rate at which a continuation of ``new_tokens`` tokens meets a near-tie with chance ``share``."""
    return 1 - (1 - share) ** (1 / new_tokens)


def tie_summary(steps: dict, continuations: int) -> dict:
    """One precision: the noise, forks, whether they are rounding, and the share of continuations that met a
    near-tie or forked (Wilson over continuations, the independent unit; steps within one are correlated)."""
    fork = steps["fork"]
    noise = noise_level(steps["shift"][~fork])
    tie = (steps["gap"] <= noise) | fork
    met = np.bincount(steps["continuation"], weights=tie, minlength=continuations) > 0
    forked = np.bincount(steps["continuation"], weights=fork, minlength=continuations) > 0
    return {"noise": noise, "forks": int(fork.sum()), "met": int(met.sum()), "continuations": continuations,
            "forks_rounding": bool(np.all(steps["gap"][fork] <= ROUNDING_GAP_FACTOR * noise)),
            "near_ties": stats.proportion_ci(int(met.sum()), continuations),
            "forked": stats.proportion_ci(int(forked.sum()), continuations)}


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
    Rule("refuted", f"in float64 the cached and recomputed logits differ by more than one part in "
         f"{numbers.count(1 / THEORY_RELATIVE_TOLERANCE)} "
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
         "precision the greedy output changes with the shape of the computation at near-ties, and they are common: "
         f"in some precision continuations meet near-ties more often than at {NEAR_TIE_RATE_BOUND:g} per token (the "
         "lower end of the share that met one is above the line): deterministic in theory, not always in practice",
         lambda v: v["near_tie_low"] > v["line"]),
    Rule("nuanced", "float64 agrees (nothing is lost), one fixed computation is deterministic and near-ties are not "
         "shown to be common, but one prompt's greedy completion changed with only the batch around it: "
         "deterministic in theory, not always in practice", lambda v: v["distinct_completions"] > 1),
    Rule("supported", "float64 agrees, reruns are bit-identical, no change of batch changed a greedy token, and in "
         f"every precision near-ties are rarer than {NEAR_TIE_RATE_BOUND:g} per token (the upper end of the share of "
         "continuations that met one is below the line)", lambda v: v["near_tie_high"] < v["line"]),
    Rule("inconclusive", "float64 agrees, but the share of continuations that met a near-tie cannot be told from "
         f"the line of {NEAR_TIE_RATE_BOUND:g} per token at this many continuations (its interval straddles it); more "
         "continuations would decide", always),
)


def summarise(raw: dict, design: dict) -> dict:
    """The values the C1 rules read, from the raw measurements: float64 differences per seed, shape changes
    and reruns per precision, decoded steps per precision, and the batch anchor's completions."""
    ties = {name: tie_summary(steps, design["continuations"]) for name, steps in raw["decoding"].items()}
    per_precision = {f"{name}_{key}": t[key] for name, t in ties.items() for key in ("forks", "met", "noise")}
    per_precision |= {f"{name}_near_tie_{end}": t["near_ties"][end] for name, t in ties.items()
                      for end in ("low", "high")}
    return {
        "float64_relative": float(max(raw["float64"])),
        "forks_rounding": all(t["forks_rounding"] for t in ties.values()),
        "reruns_identical": all(worst["rerun"] == 0.0 for worst in raw["shapes"].values()),
        "cache_like_shape": all(cache_like_shape_change(worst) for worst in raw["shapes"].values()),
        "distinct_completions": max(len(set(found)) for found in raw["completions"].values()),
        "continuations": design["continuations"],
        "line": near_tie_line(design["new_tokens"]),
        "near_tie_low": max(t["near_ties"]["low"] for t in ties.values()),
        "near_tie_high": max(t["near_ties"]["high"] for t in ties.values()),
        **per_precision,
    }


# --- Worlds for power: raw measurements drawn where each outcome is the truth ---

# A world is the spread of the gap shift per precision. Top-1 minus top-2 gaps are exponential with mean
# GAP_SCALE logits, so near-ties (gaps within the noise, NORMAL_Q99 spreads for a normal shift) come at
# about NORMAL_Q99 * spread / GAP_SCALE per token.
GAP_SCALE = 2.0
NORMAL_Q99 = 2.576
FLOAT32_SPREAD = 1e-5  # logits: about what SmolLM2's float32 paths show
BFLOAT16_SPREAD = 0.1  # logits: about what its bfloat16 paths show
ROUNDED = 1.5e-15  # float64 relative difference of rounding alone
SKIPPED_POSITION = 0.1  # float64 relative difference of a cache that skipped a position (see the tests)


def spread_for(tie_rate: float) -> float:
    """The gap-shift spread at which near-ties come at ``tie_rate`` per token."""
    return tie_rate * GAP_SCALE / NORMAL_Q99


def drawn_steps(rng: np.random.Generator, continuations: int, new_tokens: int, spread: float) -> dict:
    """Steps of ``continuations`` greedy continuations: exponential gaps, normal gap shifts, a fork where the
    shift closes the gap, nothing after it."""
    shape = (continuations, new_tokens)
    gap = rng.exponential(GAP_SCALE, shape)
    shift = rng.normal(0, spread, shape)
    fork = gap + shift < 0
    kept = (np.cumsum(fork, axis=1) - fork) == 0
    unit = np.broadcast_to(np.arange(continuations)[:, None], shape)
    return {"gap": gap[kept], "shift": shift[kept], "fork": fork[kept], "continuation": unit[kept]}


def drawn_completions(rng: np.random.Generator, runs: int, tokens: int, spread: float) -> list[tuple[int]]:
    """The batch anchor: one prompt's completion in ``runs`` batches; where one of its gaps is within the
    noise, each run falls on either side of it."""
    if rng.exponential(GAP_SCALE, tokens).min() > NORMAL_Q99 * spread:
        return [(0,)] * runs
    return [(int(side),) for side in rng.integers(0, 2, runs)]


def world(spreads: dict[str, float], float64: float = ROUNDED):
    """A world with gap shifts of ``spreads`` per precision, float64 differences of ``float64``, bit-identical
    reruns and a cache that moves logits like any change of shape."""
    def draw(rng: np.random.Generator, design: dict) -> dict:
        return {
            "float64": [float64] * design["float64_seeds"],
            "shapes": {name: {"batch": spreads[name], "length": spreads[name], "chunks": spreads[name],
                              "rerun": 0.0, "cache": 3 * spreads[name]} for name in design["precisions"]},
            "decoding": {name: drawn_steps(rng, design["continuations"], design["new_tokens"], spreads[name])
                         for name in design["precisions"]},
            "completions": {name: drawn_completions(rng, design["batch_runs"], design["batch_tokens"], spreads[name])
                            for name in design["batch_precisions"]},
        }
    return draw


EXACT = {"float32": FLOAT32_SPREAD, "bfloat16": FLOAT32_SPREAD}
TABLES = {"C1": Table(
    "C1", C1_RULES, summarise,
    (World("refuted", "a cache that skips a position: float64 logits differ by a tenth of their size",
           world(EXACT, float64=SKIPPED_POSITION)),
     World("nuanced", "gap shifts of 1e-5 logits in float32 and 0.1 in bfloat16 (about SmolLM2's), so bfloat16 "
           "meets near-ties at about 13% per token", world({"float32": FLOAT32_SPREAD, "bfloat16": BFLOAT16_SPREAD})),
     World("supported", "gap shifts of 1e-5 logits in both precisions: near-ties at about 1e-5 per token",
           world(EXACT)),
     World("inconclusive", f"bfloat16's gap shifts put near-ties at {NEAR_TIE_RATE_BOUND:g} per token, on the line",
           world({"float32": FLOAT32_SPREAD, "bfloat16": spread_for(NEAR_TIE_RATE_BOUND)}))),
    designs={profile: design(settings) for profile, settings in SETTINGS.items()})}


# --- Prose built from the results (each branch is unit-tested) ---

# The anchor (Thinking Machines Lab): 1,000 temperature-0 completions of one prompt gave 80 distinct outputs.
ANCHOR_DISTINCT, ANCHOR_RUNS = 80, 1000
# The cached step "stays nearly flat" when its time at the longest length is within this factor of the shortest.
FLAT_FACTOR = 1.5


def logit_size(x: float) -> str:
    """A logit difference as printed: 'exactly zero' for 0, else three significant figures."""
    return "exactly zero" if x == 0 else numbers.value(x)


def fork_gaps_phrase(gaps) -> str:
    """'none', or '23 forks, the widest at a gap of 0.125, 14 at an exact tie' (gaps in logit units)."""
    gaps = np.asarray(gaps, dtype=float)
    if not gaps.size:
        return "none"
    ties = int((gaps == 0).sum())
    return (f"{numbers.plural(gaps.size, 'fork')}, the widest at a gap of {logit_size(gaps.max())}"
            + (f", {numbers.count(ties)} at an exact tie" if ties else ""))


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
    """The caption's finding for the fork scatter plot (four cases); ``near_tie`` is the share of continuations
    that met a near-tie, in the precision with the most."""
    if forks and all_rounding:
        return (f"{'The fork sits' if forks == 1 else f'All {numbers.count(forks)} forks sit'} left of the dotted "
                "line: the top two tokens were tied to within rounding.")
    if forks:
        return (f"At least one fork happened at a top-2 gap larger than {ROUNDING_GAP_FACTOR:g} times the rounding "
                "noise, to the right of the dotted line.")
    if near_tie["mean"] > 0:
        return (f"No continuation forked in this run, but {numbers.percent(near_tie['mean'])} of continuations in "
                "the precision with the most met a near-tie (left of the dashed line), where a fork could have "
                "happened.")
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


def samples_limitation(profile: str, continuations: int, new_tokens: int, shares: dict[str, dict]) -> str:
    """The small-samples limitation, from the profile and the widest near-tie share interval."""
    widest = max(shares.values(), key=lambda s: s["high"] - s["low"])
    head = (f"This {profile} run decodes {numbers.count(continuations)} continuations of "
            f"{numbers.plural(new_tokens, 'token')} in each precision, so the widest near-tie share interval is "
            f"{numbers.count(100 * (widest['high'] - widest['low']))} percentage points wide; forks become more "
            "likely the longer the continuation, since each step is another chance of a near-tie.")
    if profile == "quick":
        return head + " The full profile decodes more continuations, more seeds and times longer sequences."
    return head


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


def precision_clause(name: str, ties: dict, new_tokens: int) -> str:
    """'in bfloat16 12 of 40 continuations of 16 tokens met a near-tie and 5 forked, 30% (95% CI …)'."""
    return (f"in {name} {numbers.fraction(ties['met'], ties['continuations'])} continuations of "
            f"{numbers.plural(new_tokens, 'token')} met a near-tie and {numbers.count(ties['forks'])} forked, "
            f"{numbers.percent_interval(ties['near_ties'], 'continuations')}")


def evidence_text(theory_worst: float, ties: dict[str, dict], new_tokens: int, all_rounding: bool,
                  same_scale: bool, reruns_identical: bool, sizes: int, distinct: int, batch_runs: int) -> str:
    """The evidence sentence the verdict's reason starts with, in words, each precision on its own."""
    forks = sum(t["forks"] for t in ties.values())
    where = ("" if not forks else "; every fork at a top-2 gap within rounding" if all_rounding
             else "; not every fork at a top-2 gap within rounding")
    per_precision = "; ".join(precision_clause(name, t, new_tokens) for name, t in ties.items())
    return (f"In float64 cached and recomputed logits agree to {numbers.value(theory_worst)} relative "
            f"({'within' if theory_worst <= THEORY_RELATIVE_TOLERANCE else 'beyond'} the tolerance of one part "
            f"in {numbers.count(1 / THEORY_RELATIVE_TOLERANCE)}); {per_precision}, against a line of "
            f"{numbers.percent(near_tie_line(new_tokens), 1)} (one near-tie per "
            f"{numbers.count(1 / NEAR_TIE_RATE_BOUND)} tokens){where}; the cache's differences are "
            f"{'within' if same_scale else 'more than'} {SAME_SCALE_FACTOR:g} times those of cache-free shape "
            f"changes; reruns are {rerun_phrase(reruns_identical)}; one prompt decoded greedily in batches of "
            f"{numbers.plural(sizes, 'size')} gave {numbers.plural(distinct, 'distinct completion')} in "
            f"{numbers.plural(batch_runs, 'run')}")


def continuations_needed(new_tokens: int) -> int:
    """The fewest continuations whose Wilson upper end, with none meeting a near-tie, falls below the line."""
    n = 1
    while stats.proportion_ci(0, n)["high"] >= near_tie_line(new_tokens):
        n += 1
    return n


def supported_needs(power_by_profile: dict[str, dict[str, float]], continuations: dict[str, int],
                    new_tokens: dict[str, int]) -> str:
    """For each profile that cannot reach *supported*: the tie-free continuations it needs and those it decodes."""
    said = [f"Under {profile}, supported needs at least {numbers.count(continuations_needed(new_tokens[profile]))} "
            f"continuations of {numbers.plural(new_tokens[profile], 'token')} without a near-tie in each precision, "
            f"and the run decodes {numbers.count(continuations[profile])}."
            for profile, shares in power_by_profile.items() if "supported" in unreachable(shares)]
    return " ".join(said)
