"""Page ``book/serial_depth.md``, claim C5: does following a chain of k dependent steps need depth that grows with k?

The task is the group ladder of ``lab.tasks`` (running products of random elements of Z2, S3 and A5, a
label at every position) trained through ``lab.ladder``: one trained model gives its accuracy at every
chain length k, so sweeping depth gives depth against k. The routes beside the transformers are a GRU
(the author's comparison: a state that builds up token by token), a one-layer transformer that writes its
state as tokens (chain of thought, the second commenter's unhidden state), one with as many filler
tokens, and in ``full`` a looped and a feedback transformer. On the pretrained model, a variable-binding
prompt family (``a=7, b=a, ...``) measures accuracy per hop and the layer where the answer becomes
decodable at the last position (logit lens, with a control label).
"""
from __future__ import annotations

import random

import numpy as np
import scipy.stats
import torch

from ..lab import ladder, numbers
from ..lab.stats import proportion_ci
from ..machinery.rules import Rule, Ruling, always, decide

TRACKED = ladder.TRACKED  # a chain of length k is tracked when accuracy at it is at least this
# The author's picture (token t+1 reads token t's layer-n feature only at layer n+1) predicts about one
# more tracked step per added layer; half of that is the smallest growth we would call "depth lengthens
# the chain" rather than noise around a flat line.
GROWTH_MIN = 0.5
# The slope decides between flat (0) and growth (GROWTH_MIN) only when its 95% interval is at most half as
# wide as that gap (half-width GROWTH_MIN / 4): a wider interval can reach across a threshold from one
# set of seeds to the next (the quick profile's did, at seeds 11, 22 and 33).
SLOPE_PRECISION = GROWTH_MIN / 4
FIT_MARGIN = 1.5       # one growth law must have this many times lower residual error to be preferred
# SmolLM2's hop experiment counts only hop counts the model answers above chance: the lower end of the
# Wilson interval of its accuracy among the candidates must clear chance (1 / candidates).
HOP_CHAINS = 2         # chains per prompt: the answer is one of this many root digits
HOP_SHOTS = 30         # worked examples of the same hop count before the question (in scratch runs, 30
                       # lifted the zero-hop lookup well above what 3 to 10 gave)
HOP_GROWTH_MIN = 0.5   # layers per hop: half of the one layer per hop the author's picture predicts
LETTERS = "abcdefghjkmnpqrstuvwxyz"


# --- k* against depth ------------------------------------------------------------------------------

def growth_per_layer(points: list[tuple[int, int]]) -> dict:
    """Least-squares slope of k* on depth (steps per added layer) over (depth, k*) points, one per seed and
    depth, with a 95% t interval; nan when under three points or a single depth."""
    depths = np.array([p[0] for p in points], dtype=float)
    chains = np.array([p[1] for p in points], dtype=float)
    if len(depths) < 3 or len(set(depths)) < 2:
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan"), "n": len(depths)}
    fit = scipy.stats.linregress(depths, chains)
    half = scipy.stats.t.ppf(0.975, len(depths) - 2) * fit.stderr
    return {"mean": float(fit.slope), "low": float(fit.slope - half), "high": float(fit.slope + half),
            "n": len(depths)}


def fit_rms(depths, chains, law: str) -> float:
    """RMS residual, in steps of k*, of k* = a (flat), k* = a + b·depth (linear: depth ∝ k) or
    log2 k* = a + b·depth (log: depth ∝ log k)."""
    depths, chains = np.asarray(depths, dtype=float), np.asarray(chains, dtype=float)
    if law == "flat":
        return float(np.sqrt(np.mean((chains - chains.mean()) ** 2)))
    b, a = np.polyfit(depths, np.log2(np.maximum(chains, 1)) if law == "log" else chains, 1)
    fitted = a + b * depths
    return float(np.sqrt(np.mean(((2 ** fitted if law == "log" else fitted) - chains) ** 2)))


def which_law(points: list[tuple[int, int]], length: int, margin: float = FIT_MARGIN) -> str:
    """'flat' when the slope's interval reaches zero, else 'linear' or 'log' when one fit's RMS is ``margin``
    times lower than the other's, else 'indistinguishable'. Censored points (k* = length) are left out."""
    kept = [(d, k) for d, k in points if k < length]
    growth = growth_per_layer(kept)
    if np.isnan(growth["mean"]):
        return "indistinguishable"
    if growth["low"] <= 0:
        return "flat"
    d, k = zip(*kept)
    lin, log = fit_rms(d, k, "linear"), fit_rms(d, k, "log")
    if lin >= margin * log:
        return "log"
    if log >= margin * lin:
        return "linear"
    return "indistinguishable"


def minimal_depth(k_by_depth: dict[int, list[int]], k: int) -> int | None:
    """The smallest depth tried whose k* reaches ``k`` in every seed (None if no depth does)."""
    return next((d for d in sorted(k_by_depth) if min(k_by_depth[d]) >= k), None)


# --- SmolLM2: variable binding over hops -----------------------------------------------------------
# The prompt format. Every variable is written with a space before it, so its name is the same token
# where it is defined and where it is used (``b=a`` without spaces makes the ``a`` of a use a different
# token from the `` a`` of its definition); the question ends with ``Then c = `` so that the answer digit
# is the next token, as after every worked example. An earlier format (no spaces, question ``c?``) put
# SmolLM2 at chance even with no hop at all.

def hop_prompt(hops: int, rng: random.Random, chains: int = HOP_CHAINS) -> tuple[str, int, list[int]]:
    """One item: ``chains`` root digits, each passed along ``hops`` variables (``b = a``), the statements of
    each level shuffled across chains; the question asks the last variable of one chain. Returns the text
    (ending before the answer digit), the answer digit and the candidate digits (every chain's root)."""
    roots = rng.sample(range(10), chains)
    names = rng.sample(LETTERS, chains * (hops + 1))
    chain = [names[i * (hops + 1):(i + 1) * (hops + 1)] for i in range(chains)]
    order, statements = list(range(chains)), []
    rng.shuffle(order)
    statements += [f"{chain[c][0]} = {roots[c]}" for c in order]
    for level in range(1, hops + 1):
        rng.shuffle(order)
        statements += [f"{chain[c][level]} = {chain[c][level - 1]}" for c in order]
    asked = rng.randrange(chains)
    return "Let " + ", ".join(statements) + f". Then {chain[asked][hops]} = ", roots[asked], roots


def hop_shots(hops: int, rng: random.Random, shots: int = HOP_SHOTS) -> str:
    """The worked examples of one hop count, one per line, each followed by its answer."""
    return "".join(f"{q}{a}\n" for q, a, _ in (hop_prompt(hops, rng) for _ in range(shots)))


def hop_text(hops: int, rng: random.Random) -> tuple[str, int, list[int]]:
    """HOP_SHOTS worked examples of the same hop count, one per line, then the question."""
    shots = hop_shots(hops, rng)
    question, answer, candidates = hop_prompt(hops, rng)
    return shots + question, answer, candidates


def settle_layer(candidate_logits: torch.Tensor, target: int) -> int | None:
    """First layer from which ``target`` stays the top candidate through the last layer (None if it is not
    top at the last layer). ``candidate_logits``: (layers + 1, candidates), row 0 the embeddings."""
    top = candidate_logits.argmax(1) == target
    if not top[-1]:
        return None
    below = torch.nonzero(~top).flatten()
    return int(below[-1]) + 1 if below.numel() else 0


@torch.no_grad()
def hop_items(model, tokenizer, hops: int, n: int, seed: int) -> list[dict]:
    """``n`` items at ``hops`` hops, after one set of worked examples shared by the ``n`` questions (computed
    once and kept in the key-value cache, cut back to them after each question): whether the last
    position's logits rank the answer first among the candidate digits, and the logit-lens settle layer of
    the answer and of a control label (a wrong candidate drawn at random: where the lens would put a label
    the model has no reason to settle on)."""
    rng = random.Random(seed * 1000 + hops)
    digits = [tokenizer.encode(str(d))[-1] for d in range(10)]
    norm, head = model.model.norm, model.lm_head
    prefix = tokenizer(hop_shots(hops, rng), return_tensors="pt").input_ids
    shared = model(prefix, use_cache=True).past_key_values
    out = []
    for _ in range(n):
        question, answer, candidates = hop_prompt(hops, rng)
        ids = tokenizer(question, return_tensors="pt").input_ids
        result = model(ids, past_key_values=shared, output_hidden_states=True)
        shared.crop(-ids.shape[1])            # back to the worked examples alone for the next question
        token_ids = [digits[c] for c in candidates]
        # every hidden state but the last goes through the final norm and the head (the logit lens); the
        # last one already has the norm applied, and its logits are the model's own
        lens = [head(norm(h[0, -1]))[token_ids] for h in result.hidden_states[:-1]]
        lens.append(result.logits[0, -1, token_ids])
        lens = torch.stack(lens)
        target = candidates.index(answer)
        control = rng.choice([i for i in range(len(candidates)) if i != target])
        out.append({"hops": hops, "correct": bool(lens[-1].argmax() == target),
                    "greedy": bool(result.logits[0, -1].argmax() == digits[answer]),
                    "settle": settle_layer(lens, target), "control_settle": settle_layer(lens, control),
                    "lens_top": (lens.argmax(1) == target).float().numpy()})
    return out


def hop_summary(items: list[dict], chance: float) -> dict:
    """Accuracy per hop count (Wilson), the hop counts 0, 1, ... answered above chance up to the first that is
    not, and the settle-layer slope over the items answered correctly at those hop counts (least squares,
    95% t interval over items)."""
    hops = sorted({i["hops"] for i in items})
    accuracy = {h: proportion_ci(sum(i["correct"] for i in items if i["hops"] == h),
                                 sum(1 for i in items if i["hops"] == h)) for h in hops}
    # like k*, the hop counts from 0 up to the first one not answered above chance: a pass after a failure
    # is noise around chance, not a model that can follow two hops but not one
    above = []
    for h in hops:
        if accuracy[h]["low"] <= chance:
            break
        above.append(h)
    points = [(i["hops"], i["settle"]) for i in items if i["hops"] in above and i["settle"] is not None]
    slope = growth_per_layer(points) if len({p[0] for p in points}) >= 2 else \
        {"mean": float("nan"), "low": float("nan"), "high": float("nan"), "n": len(points)}
    return {"accuracy": accuracy, "above": above, "slope": slope, "points": points}


HOP_RULES = (
    Rule("not testable here", "SmolLM2 answers fewer than two hop counts (from zero hops up) above chance, so no "
         "layer-per-hop slope "
         "can be measured: where it fails, it fails at binding itself, long before it could run out of layers",
         lambda v: v["above"] < 2),
    Rule("supported", "the 95% interval of the settle-layer slope lies above zero: the answer becomes readable "
         "at a later layer for every added hop, as the author's picture says",
         lambda v: v["low"] > 0),
    Rule("refuted", f"the 95% interval of the settle-layer slope lies below {HOP_GROWTH_MIN} layers per hop: the "
         "answer does not become readable later with each hop, against one layer per hop",
         lambda v: v["high"] < HOP_GROWTH_MIN),
    Rule("inconclusive", f"the 95% interval of the settle-layer slope holds both zero and {HOP_GROWTH_MIN} layers "
         "per hop (or too few items were answered to compute it); about four times the items per hop count "
         "(an interval half as wide) would decide", always),
)


def hop_verdict(hop: dict, evidence: str = "") -> Ruling:
    """The hop-depth part of C5, from ``hop_summary``: how many hop counts SmolLM2 answers above chance and
    the interval of its settle-layer slope."""
    return decide(HOP_RULES, dict(above=len(hop["above"]), low=hop["slope"]["low"], high=hop["slope"]["high"]),
                  evidence)


# --- the verdict -----------------------------------------------------------------------------------

C5_RULES = (
    Rule("inconclusive", "the one-layer GRU, the check that the task can be learned in this budget, fell short "
         "of the training length in some seed, so a short chain may be slow training rather than too little "
         "depth; longer training (until the GRU tracks the whole length in every seed) would decide",
         lambda v: v["gru_min_k"] < v["length"]),
    Rule("refuted", "a one-layer transformer without written tokens tracked every trained length in every seed: "
         "the chain did not need depth that grows with it",
         lambda v: v["k1_min"] >= v["length"]),
    Rule("inconclusive", f"the 95% interval of the slope of k* over depth is wider than ±{SLOPE_PRECISION} steps per "
         f"layer, half the gap between flat and the {GROWTH_MIN} steps per layer we would call growth, so it cannot "
         "place the slope on one side of either; more seeds at these depths would narrow it",
         lambda v: v["growth_high"] - v["growth_low"] > 2 * SLOPE_PRECISION),
    Rule("nuanced", "depth lengthens the hidden-state chain (slope interval above zero), as the author says, and "
         "one layer that writes its state as tokens tracks every trained length, as the second commenter says",
         lambda v: v["growth_low"] > 0 and v["cot_min_k"] >= v["length"]),
    Rule("supported", "depth lengthens the chain (slope interval above zero), writing the state as tokens does "
         "not rescue one layer, and the hop-depth part is supported: SmolLM2's answer settles at a later layer "
         "for every added hop",
         lambda v: v["growth_low"] > 0 and v["hop_part"] == "supported"),
    Rule("nuanced", "depth lengthens the chain of the tiny models and written state does not rescue one layer, "
         "but the hop-depth part is not supported (refuted, inconclusive or not testable here: see its table), "
         "so the pretrained model does not show one layer per hop",
         lambda v: v["growth_low"] > 0),
    Rule("nuanced", f"the one-layer transformer fell short of the GRU, as the author's mechanism says, but "
         f"adding layers did not lengthen the chain (slope interval under {GROWTH_MIN} steps per layer): the "
         "limit was not one step per layer", always),
)


def c5_verdict(length: int, gru_k: list[int], k_by_depth: dict[int, list[int]], growth: dict, cot_k: list[int],
               hop_part: str, evidence: str = "") -> Ruling:
    """C5 from the ladder (GRU reference, k* per depth, its slope, chain of thought) and the verdict of the
    hop-depth part (``hop_verdict``)."""
    nan_to = lambda x, fill: fill if x is None or np.isnan(x) else x  # noqa: E731
    values = dict(length=length, gru_min_k=min(gru_k), k1_min=min(k_by_depth[min(k_by_depth)]),
                  growth_low=nan_to(growth["low"], 0.0), growth_high=nan_to(growth["high"], float("inf")),
                  cot_min_k=min(cot_k), hop_part=hop_part)
    return decide(C5_RULES, values, evidence)


# --- the sentences the page prints -----------------------------------------------------------------

LAW_WORDS = {
    "flat": "its interval reaches zero, so no growth with depth is detected and the fit reads flat",
    "linear": "the linear law fits best: minimal depth grows in proportion to k",
    "log": "the logarithmic law fits best: minimal depth grows like log k",
    "indistinguishable": f"neither growth law fits {numbers.value(FIT_MARGIN)} times better than the other",
}


def is_measured(stat: dict) -> bool:
    """Whether a fitted slope came out a number (not nan: too few points or a single x)."""
    return bool(np.isfinite(stat["mean"]))


def steps(ci: dict) -> str:
    """k* over seeds: '12 steps in every seed' when the seeds agree, else the mean with its interval."""
    if ci["low"] == ci["high"]:
        return f"{numbers.plural(round(ci['mean']), 'step')} in every seed"
    return numbers.interval(ci, "steps", over="seeds")


def tenths(x: float) -> str:
    """A number of steps to one decimal, whole numbers as they are: '2.3', '12', '0'."""
    return numbers.value(x) if float(x).is_integer() else numbers.value(x, 1)


def mean_of(ci: dict) -> str:
    """A mean k* to one decimal, as the heatmap's cells give it."""
    return tenths(ci["mean"])


def share(ci: dict) -> str:
    """A mean accuracy as a percentage, to the precision its interval supports (as ``percent_interval``)."""
    if ci["low"] == ci["high"]:
        return numbers.percent(ci["mean"])
    return numbers.percent(ci["mean"], max(0, numbers.decimals_for(100 * (ci["high"] - ci["low"]))))


def heat_label(ci: dict) -> str:
    """A heatmap cell: the mean over seeds and its interval beneath, or the mean alone when the seeds agree."""
    if ci["low"] == ci["high"]:
        return mean_of(ci)
    return f"{mean_of(ci)}\n[{tenths(ci['low'])}, {tenths(ci['high'])}]"


def slope_text(stat: dict, unit: str, over: str) -> str:
    """A fitted slope with its interval, or 'not measurable'."""
    return numbers.interval(stat, unit, over=over) if is_measured(stat) else "not measurable"


def heat_sentence(group: str, length: int, gru: dict, cot: dict, best_depth: int, best: dict) -> str:
    """The heatmap's finding: the GRU, one layer writing its state, and the best plain transformer against the
    GRU (short of it or beyond it when the intervals over seeds are apart, else level)."""
    if best["high"] < gru["low"]:
        against = "short of the GRU"
    elif best["low"] > gru["high"]:
        against = "beyond the GRU"
    else:
        against = "level with the GRU within the intervals over seeds"
    return (f"On {group} the one-layer GRU tracks {mean_of(gru)} of {length} steps and one layer writing its state "
            f"{mean_of(cot)}; the best plain transformer (depth {best_depth}) tracks {mean_of(best)}, {against}.")


def length_sentence(gru: dict, cot: dict, deep: dict, depth: int) -> str:
    """Mean accuracy beyond the training length of the GRU, chain of thought and the deepest transformer."""
    return (f"Beyond the training length the GRU keeps {share(gru)} mean accuracy, chain of thought {share(cot)} and "
            f"the {depth}-layer transformer {share(deep)}.")


def fit_sentence(growth: dict, law: str) -> str:
    """The slope of k* over depth and the law it picks."""
    if not is_measured(growth):
        return "The slope of k* over depth cannot be measured here (fewer than three points or a single depth)."
    return (f"Each added layer changes k* by {slope_text(growth, 'steps', 'seed-by-depth points')}; "
            f"{LAW_WORDS[law]}.")


def minimal_depths(minimal: dict[int, int | None]) -> str:
    """Minimal depth against chain length, runs of k with the same depth together: 'depth 1 for k = 1 to 3 and
    depth 2 for k = 4'; 'none' when no depth reaches even k = 1."""
    runs: list[list] = []
    for k, depth in sorted(minimal.items()):
        if depth is None:
            continue
        if runs and runs[-1][0] == depth and runs[-1][2] == k - 1:
            runs[-1][2] = k
        else:
            runs.append([depth, k, k])
    spans = [f"depth {d} for k = {a}" + (f" to {b}" if b > a else "") for d, a, b in runs]
    return numbers.listing(spans) if spans else "none"


def hop_counts(above: list[int]) -> str:
    """'0, 1 and 2', or 'none'."""
    return numbers.listing(above) if above else "none"


def at_hops(above: list[int]) -> str:
    """'at h = 0 and 1', or 'at no hop count'."""
    return f"at h = {hop_counts(above)}" if above else "at no hop count"


def hop_accuracies(accuracy: dict[int, dict]) -> str:
    """Accuracy per hop count with its Wilson interval."""
    return numbers.listing(f"h = {h}: {numbers.percent_interval(ci)}" for h, ci in sorted(accuracy.items()))


def settle_means(settle: dict[int, list[int]]) -> str:
    """Mean settle layer per hop count, over the items answered correctly ('none' when none were)."""
    means = [f"h = {h}: layer {numbers.value(float(np.mean(layers)), 1)}" for h, layers in sorted(settle.items())
             if layers]
    return numbers.listing(means) if means else "none"


def greedy_sentence(greedy: dict) -> str:
    """How often the greedy next token, over the whole vocabulary, is the answer digit."""
    return ("Over the whole vocabulary, the greedy next token is the answer digit in "
            f"{numbers.percent_interval(greedy, over='items, all hop counts together')}.")


def hop_sentence(above: list[int], slope: dict) -> str:
    """The hop figure's finding: the hop counts answered above chance and the settle-layer slope over them."""
    where = at_hops(above)
    if len(above) < 2:
        return (f"SmolLM2 ranks the answer first above chance {where}: fewer than two hop counts, so no "
                "layer-per-hop slope can be measured.")
    if not is_measured(slope):
        return (f"SmolLM2 ranks the answer first above chance {where}, but too few of those items settle to measure "
                "a layer-per-hop slope.")
    return (f"SmolLM2 ranks the answer first above chance {where}; over those items the settle layer moves "
            f"{slope_text(slope, 'layers per hop', 'items')}.")


def hop_evidence(accuracy: dict[int, dict], above: list[int], slope: dict, items: int) -> str:
    """The hop-depth verdict's evidence: accuracy per hop count, the counts above chance, the slope."""
    shares = numbers.listing(f"h = {h}: {numbers.percent(ci['mean'])}" for h, ci in sorted(accuracy.items()))
    text = (f"SmolLM2 ranked the answer first among {HOP_CHAINS} candidates at {shares} "
            f"({items} questions each); above chance {at_hops(above)}")
    if is_measured(slope):
        text += f"; settle-layer slope {slope_text(slope, 'layers per hop', 'items')}"
    return text


def seeds_needed(growth: dict, seeds: int, precision: float = SLOPE_PRECISION) -> int | None:
    """Seeds at the same depths that would bring the slope's interval to ±``precision`` (the half-width shrinks
    like one over the square root of the seeds); None when the slope is not measurable."""
    if not is_measured(growth):
        return None
    half = (growth["high"] - growth["low"]) / 2
    return int(np.ceil(seeds * (half / precision) ** 2))


def precision_clause(growth: dict, seeds: int) -> str:
    """Whether the slope's interval is narrow enough to decide, and if not how many seeds would make it so."""
    needed = seeds_needed(growth, seeds)
    if needed is None:
        return ""
    if needed <= seeds:
        return f"; that is within ±{numbers.value(SLOPE_PRECISION)}, narrow enough to decide"
    return (f"; narrowing it to ±{numbers.value(SLOPE_PRECISION)} would take about {numbers.plural(needed, 'seed')} "
            "at these depths")


def seed_range(ks: list[int]) -> str:
    """k* over seeds as a range: '12 steps in every seed' or '3 to 5 steps across seeds'."""
    if min(ks) == max(ks):
        return f"{numbers.plural(ks[0], 'step')} in every seed"
    return f"{min(ks)} to {numbers.plural(max(ks), 'step')} across seeds"


def c5_evidence(group: str, length: int, gru_k: list[int], k_by_depth: dict[int, list[int]], growth: dict,
                cot_k: list[int], hop: dict, hop_part: str) -> str:
    """C5's evidence: the GRU control, k* by depth and its slope, chain of thought and the hop-depth part."""
    seeds = len(gru_k)
    means = [tenths(float(np.mean(k_by_depth[d]))) for d in sorted(k_by_depth)]
    return (f"on {group} with chains of {length} over {numbers.plural(seeds, 'seed')}, the one-layer GRU tracked "
            f"{seed_range(gru_k)}; transformers of depth {numbers.listing(sorted(k_by_depth))} tracked "
            f"{numbers.listing(means)} steps on average, a slope of "
            f"{slope_text(growth, 'steps per layer', 'seed-by-depth points')}{precision_clause(growth, seeds)}; "
            f"one layer writing its state tracked {seed_range(cot_k)}; SmolLM2 answered above chance at "
            f"{numbers.plural(len(hop['above']), 'hop count')}, settle-layer slope "
            f"{slope_text(hop['slope'], 'layers per hop', 'items')}, so the hop-depth part is {hop_part}")
