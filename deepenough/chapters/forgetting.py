"""Page ``book/forgetting.md``, claim C8: can a model lose what it has read, and does it use what it keeps?

Two halves, each with its own decision table, combined by a third. (1) *Cannot forget* (architecture): a tiny
transformer and GRUs, each trained on copying up to the same N and compared there, where the recurrent model the
rule reads could hold every token in its state; the state-capacity line and Fano's ceiling are drawn as bounds and
never read by a rule. Beside it, as evidence outside the tables, multi-query associative recall (MQAR). (2) *Uses
what it keeps* (practice): SmolLM2-135M reading back a planted fact with and without look-alike distractor facts,
with the attention each layer pays to it. ``TABLES["C8"]`` turns the raw measurements (each model's copying
accuracy per seed and N, each prompt's hit) into the verdict, and its worlds give the power of every outcome at each
profile's design.
"""
from __future__ import annotations

import math
import random

import numpy as np
import torch
from torch import nn

from ..lab import numbers, stats, tasks, tiny, train
from ..lab.train import IGNORE, LEARNED
from ..machinery.power import Table, World
from ..machinery.rules import Rule, always, decide

VOCAB = 32  # token 0 separates the tokens from their copy; 1..31 are content
BITS_PER_TOKEN = math.log2(VOCAB - 1)
CHANCE = 1 / (VOCAB - 1)
FLOAT_BITS = 32  # a float32 number takes 2**32 values at most: the hard ceiling on what one state float holds
TRANSFORMER = dict(d_model=64, depth=2, heads=4)
EMBED = 32  # recurrent models read tokens through an embedding of this width, whatever their state size
LEARNING_RATE = 3e-3  # the transformer's
RECURRENT_LR = 1e-2  # recurrent models learn copying slowly; at 3e-3 they stayed near chance on one token
EVAL_BATCH = 256  # held-out sequences per model, seed and N

RECALL_HIGH = 0.9  # accuracy at or above this (lower end) counts as keeping the tokens (chance is 1/31)
FORGET_GAP = 0.3  # a recurrent model "forgot" if it sits this far below the transformer, beyond both intervals
USE_FLOOR = 0.8  # SmolLM2 "uses" what it holds if retrieval is at least this among distractors (a miss in five is
#                  not the commenter's "always be there for the taking")
MIN_LEARNED = 3  # learned seeds a model needs before the rule reads it: a t interval needs three values
PROBE = ("gru", 64)  # the recurrent model the rule reads, fixed before any run: its 2,048-bit state holds the
#                      159 bits of 32 tokens 13 times over, so no capacity bound decides its comparison
PROBE_KEY = f"{PROBE[0].upper()} {PROBE[1]}"
# N each copying model trains on: both mixtures end at COMPARE_N, the N the rule reads; each model's shortest N is
# its positive control. The transformer learns short copies at once (with 2 and 4 added, 2 of 3 scratch seeds stalled
# near 0.65 at N >= 16 within 800 steps); recurrent models need the shortest strings to learn to copy at all.
TF_LENGTHS = [8, 16, 32]
RNN_LENGTHS = [2, 4, 8, 16, 32]
COMPARE_N = 32
CONTROL_N = {"transformer": TF_LENGTHS[0], PROBE_KEY: RNN_LENGTHS[0]}
MOST_DISTRACTORS = 6

# Every profile-dependent setting, in one place; the page reads SETTINGS[profile] and the designs derive from it.
SETTINGS = {
    # GRU 4 (128 bits) cannot hold 32 tokens: it shows Fano's ceiling as a bound
    "quick": dict(seeds=3, tf_steps=800, rnn_steps=1500, rnn_models=[("gru", 4), PROBE],
                  mqar_steps=50, depths=[0.0, 0.5, 1.0], sentences=[8, 24], items={0: 3, MOST_DISTRACTORS: 5}),
    # full: 300 six-distractor prompts decide the 0.80 floor in each outcome's world
    "full": dict(seeds=5, tf_steps=1000, rnn_steps=1500, rnn_models=[("gru", 4), PROBE],
                 mqar_steps=400, depths=[0.0, 0.25, 0.5, 0.75, 1.0], sentences=[8, 24],
                 items={0: 5, MOST_DISTRACTORS: 30}),
}


def design_of(settings: dict) -> dict:
    """The independent units a profile draws: seeds per copying model, prompts with and without distractors."""
    cells = len(settings["depths"]) * len(settings["sentences"])
    return {"seeds": settings["seeds"], "prompts_without": cells * settings["items"][0],
            "prompts_with": cells * settings["items"][MOST_DISTRACTORS], "eval_batch": EVAL_BATCH,
            "tf_control_n": CONTROL_N["transformer"], "rnn_control_n": CONTROL_N[PROBE_KEY], "compare_n": COMPARE_N}


def control_n(design: dict, key: str) -> int:
    """The N at which model ``key``'s seeds must pass their positive control: the shortest it trained on."""
    return design["tf_control_n"] if key == "transformer" else design["rnn_control_n"]


def lengths_of(arch: str) -> list[int]:
    return TF_LENGTHS if arch == "transformer" else RNN_LENGTHS


# --- experiment 1: copying past the capacity of a recurrent state ---------------------------------------

def state_rnn(width: int, cell: str = "gru", seed: int = 0, vocab: int = VOCAB) -> tiny.RecurrentLM:
    """One GRU or LSTM layer of ``width`` units between an embedding and a read-out of fixed size: sweeping
    ``width`` sweeps the memory alone."""
    return tiny.RecurrentLM(vocab, width, cell=cell, seed=seed, embed=EMBED)


def bits_to_remember(n: int) -> float:
    """Information in N uniform random content tokens: N log2 31 bits."""
    return n * BITS_PER_TOKEN


def state_bits(floats: int) -> int:
    """The most bits a state of ``floats`` float32 numbers can hold, however it is trained."""
    return floats * FLOAT_BITS


def transformer_cache_floats(n: int, d_model: int = TRANSFORMER["d_model"], depth: int = TRANSFORMER["depth"]) -> int:
    """Keys and values the transformer holds when it starts the copy (N tokens and the separator)."""
    return 2 * depth * d_model * (n + 1)


def binary_entropy(p: float) -> float:
    return 0.0 if p <= 0 or p >= 1 else -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def accuracy_ceiling(n: int, capacity_bits: float, symbols: int = VOCAB - 1) -> float:
    """Fano's bound: the best mean per-token accuracy any reader of a ``capacity_bits`` state can reach on
    a copy of N uniform tokens out of ``symbols``.

    The copy must recover N log2(symbols) bits from the state; what the state cannot hold, at least
    N log2(symbols) - capacity bits, stays uncertain, and Fano's inequality (summed over tokens, by concavity)
    turns that into an error rate e with h(e) + e log2(symbols - 1) >= log2(symbols) - capacity / N.
    """
    missing = math.log2(symbols) - capacity_bits / n
    if missing <= 0:
        return 1.0
    fano = lambda e: binary_entropy(e) + e * math.log2(symbols - 1)
    low, high = 0.0, 1 - 1 / symbols  # fano rises from 0 to log2(symbols) on this range
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if fano(mid) < missing else (low, mid)
    return 1 - high


def mixed_copy(batch: int, lengths: list[int]):
    """Copy batches whose length N is drawn per batch from ``lengths`` (one model for the whole sweep)."""
    makers = [tasks.copy(batch, n, VOCAB) for n in lengths]

    def make(gen: torch.Generator):
        return makers[torch.randint(len(makers), (1,), generator=gen).item()](gen)

    return make


def build_model(arch: str, seed: int, width: int = 0) -> nn.Module:
    """``transformer`` (the tiny Llama), or ``gru``/``lstm`` with a state of ``width`` units."""
    if arch == "transformer":
        return tiny.llama(VOCAB, seed=seed, max_len=1024, **TRANSFORMER)
    return state_rnn(width, arch, seed=seed)


def train_recall_model(arch: str, seed: int, lengths: list[int], steps: int, width: int = 0, batch: int = 64,
                       device: str = "cpu"):
    model = build_model(arch, seed, width).to(device)
    lr = LEARNING_RATE if arch == "transformer" else RECURRENT_LR
    log = train.train(model, mixed_copy(batch, lengths), steps, seed=seed, lr=lr, log_every=25)
    return model, log


@torch.no_grad()
def sequence_accuracies(model, batch) -> list[float]:
    """Per sequence, the share of its scored tokens predicted exactly (sequences are the evaluation items)."""
    ids, targets = batch
    mask = targets != IGNORE
    hits = (train.predictions(model, ids) == targets) & mask
    return (hits.sum(1) / mask.sum(1)).tolist()


def copy_controls(model, lengths: list[int], seed: int, batch: int = EVAL_BATCH) -> dict[int, dict]:
    """Per N, the positive control on fresh held-out sequences: accuracy, chance and ``learned`` (at least
    ``train.LEARNED``); the rule reads the accuracy at the shortest N as the control and at the longest as data."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    return {n: train.positive_control(model, tasks.copy(batch, n, VOCAB)(gen), CHANCE, at=f"N = {n}")
            for n in lengths}


# --- experiment 1b: multi-query associative recall (Arora et al. 2023), evidence beside copying -------------

MQAR_KEYS = 16  # key ids 0..15, distinct within a sequence (so up to 16 pairs)
MQAR_VALUES = 16  # value ids 16..31, drawn with repeats: log2(16) = 4 bits per pair
MQAR_QUERIES = 8  # keys asked again after the pairs, each answer scored (dense supervision)
MQAR_LR = 1e-3  # the transformer's; in scratch runs its induction head did not form at 3e-3 within 1,500 steps
MQAR_BATCH = 256  # in scratch runs at batch 64 the induction head took 1,400 steps or more; at 256, 200 to 350
MQAR_STOP_LOSS = 0.05  # training stops once the logged loss is under this (nats): the task is learned


def mqar_bits(pairs: int) -> float:
    """What MQAR asks a model to remember: one value out of ``MQAR_VALUES`` per pair, pairs x log2(values) bits
    (the keys' identities come on top, so this is a lower bound)."""
    return pairs * math.log2(MQAR_VALUES)


def mixed_recall(batch: int, pairs: list[int]):
    """MQAR batches whose number of pairs is drawn per batch from ``pairs`` (one model for the whole sweep)."""
    makers = [tasks.associative_recall(batch, p, MQAR_QUERIES, MQAR_KEYS, MQAR_VALUES) for p in pairs]

    def make(gen: torch.Generator):
        return makers[torch.randint(len(makers), (1,), generator=gen).item()](gen)

    return make


def train_mqar_model(arch: str, seed: int, pairs: list[int], steps: int, width: int = 0, batch: int = MQAR_BATCH,
                     device: str = "cpu"):
    """The copying chapter's transformer or a ``state_rnn`` (``arch`` ``gru``/``lstm``), on MQAR's vocabulary."""
    vocab = MQAR_KEYS + MQAR_VALUES
    if arch == "transformer":
        model = tiny.llama(vocab, seed=seed, max_len=1024, **TRANSFORMER)
    else:
        model = state_rnn(width, arch, seed=seed, vocab=vocab)
    model = model.to(device)
    lr = MQAR_LR if arch == "transformer" else RECURRENT_LR
    log = train.train(model, mixed_recall(batch, pairs), steps, seed=seed, lr=lr, log_every=25,
                      target_loss=MQAR_STOP_LOSS)
    return model, log


def mqar_curve(model, pairs: list[int], seed: int, batch: int = 256) -> dict[int, dict]:
    """Recall accuracy (and per evaluation sequence) at each number of pairs, on fresh sequences."""
    gen = torch.Generator().manual_seed(20_000 + seed)
    curve = {}
    for p in pairs:
        per_sequence = sequence_accuracies(model, tasks.associative_recall(batch, p, MQAR_QUERIES, MQAR_KEYS,
                                                                           MQAR_VALUES)(gen))
        curve[p] = {"accuracy": float(np.mean(per_sequence)), "per_sequence": per_sequence}
    return curve


def mqar_control(model, pairs: int, seed: int, batch: int = EVAL_BATCH) -> dict:
    """The positive control on MQAR: recall on fresh held-out sequences at the pairs the model trained on."""
    gen = torch.Generator().manual_seed(30_000 + seed)
    data = tasks.associative_recall(batch, pairs, MQAR_QUERIES, MQAR_KEYS, MQAR_VALUES)(gen)
    return train.positive_control(model, data, 1 / MQAR_VALUES, at=f"{pairs} pairs")


def mqar_transformer_sentence(learned: list[bool], steps: int, largest: int, learned_mean: float | None,
                              all_seeds: dict) -> str:
    """How many transformer seeds learned MQAR, and what they recall at the most pairs."""
    k, n = sum(learned), len(learned)
    at = f"{numbers.count(largest)} pairs"
    if k == 0:
        return (f"None of the {numbers.count(n)} transformer seeds learned MQAR within {numbers.count(steps)} "
                f"steps: at {at} they recall {numbers.percent(all_seeds['mean'])} of the answers (chance is "
                f"{numbers.percent(1 / MQAR_VALUES)}), the plateau before an induction head forms.")
    lead = ("Every one of the" if k == n else f"{numbers.fraction(k, n).capitalize()}")
    seeds = f"{numbers.count(n)} transformer seeds" if k == n else "transformer seeds"
    tail = "" if k == n else (f"; the others stayed on the plateau, so the mean over all seeds is "
                              f"{numbers.percent_interval(all_seeds, 'seeds')}")
    return (f"{lead} {seeds} learned MQAR within {numbers.count(steps)} steps, recalling "
            f"{numbers.percent(learned_mean)} of the answers at {at}{tail}.")


def mqar_recurrent_sentence(rnn_at: dict[str, dict], state: dict[str, int], largest: int,
                            transformer_learned: bool) -> str:
    """What each recurrent model recalls at the most pairs, against what its state can hold and against the
    transformer."""
    bits = mqar_bits(largest)
    ratio = {key: bits / state_bits(state[key]) for key in rnn_at}
    parts = [f"{key} (at most {numbers.count(state_bits(state[key]))} bits of state; the values are "
             f"{numbers.value(ratio[key], 2)} times that) recalls {numbers.percent(rnn_at[key]['mean'])}"
             for key in rnn_at]
    lead = f"At {numbers.count(largest)} pairs ({numbers.count(bits)} bits to remember) {'; '.join(parts)}."
    if not transformer_learned:
        return lead + " With no transformer seed past its plateau, this run does not compare the two."
    short = [key for key in rnn_at if rnn_at[key]["high"] < RECALL_HIGH]
    if len(short) < len(rnn_at):
        return lead + " A recurrent state keeps up with attention here, unlike in copying."
    roomy = [key for key in short if ratio[key] < 1]
    one = len(roomy) == 1
    holder = "its state" if one else "their states"
    tail = (f" {numbers.listing(roomy)} fall{'s' if one else ''} short although {holder} could hold every value: "
            "the loss is what training put in the state, not its hard limit."
            if roomy else " Every one of them is past its state's hard capacity there.")
    return lead + " The recurrent states fall short where attention recalls, as in copying." + tail


def mqar_beyond_sentence(largest: int, tf_all: dict, rnn_at: dict[str, dict], state: dict[str, int]) -> str:
    """The far end of the sweep, past the pairs the models were trained on: where the small state is overfilled,
    and whether attention's recall carries over."""
    bits = mqar_bits(largest)
    parts = [f"{key} {numbers.percent(rnn_at[key]['mean'])} ({numbers.value(bits / state_bits(state[key]), 2)} "
             "times what its state holds)" for key in rnn_at]
    lead = (f"At {numbers.count(largest)} pairs, more than any model was trained on ({numbers.count(bits)} bits to "
            f"remember), the transformer recalls {numbers.percent(tf_all['mean'])} and {numbers.listing(parts)}")
    if tf_all["mean"] >= RECALL_HIGH:
        return lead + ": attention's recall carries over to more pairs than it was trained on."
    return (lead + ": past its training attention's recall falls too, so that end of the sweep measures how an "
            "induction head generalises to more pairs and longer inputs, not memory alone (as copying at twice "
            "its length did).")


def mqar_caption(learned: list[bool], largest: int, tf_all: dict, rnn_at: dict[str, dict]) -> str:
    """The MQAR figure's caption: seeds that learned, then the best recurrent model at the most pairs."""
    best = max(rnn_at, key=lambda key: rnn_at[key]["mean"])
    return (f"{numbers.fraction(sum(learned), len(learned)).capitalize()} transformer seeds learned; at "
            f"{numbers.count(largest)} pairs the transformer recalls {numbers.percent(tf_all['mean'])} over all "
            f"seeds and the best recurrent model, {best}, {numbers.percent(rnn_at[best]['mean'])}.")


def mqar_limitation(learned: list[bool], steps: int) -> str:
    """The limitation on MQAR: it learns late and seed by seed, so it stays outside the decision table."""
    k, n = sum(learned), len(learned)
    if k == n:
        count = f"Here every one of {numbers.count(n)} seeds learned within {numbers.count(steps)} steps"
    elif k == 0:
        count = (f"Here none of {numbers.count(n)} seeds learned within {numbers.count(steps)} steps, too few for the "
                 "plateau to end, so this run cannot compare attention with a recurrent state on MQAR")
    else:
        count = (f"Here {numbers.fraction(k, n)} seeds learned within {numbers.count(steps)} steps, and each that did "
                 "not pulls the mean down and widens its interval")
    return f"{count}. MQAR is therefore reported beside copying, as evidence, and does not enter the decision table."


def arora_ours(learned: list[bool], largest: int, tf_all: dict, rnn_at: dict[str, dict]) -> str:
    """The Arora et al. row's "Ours" cell."""
    best = max(rnn_at, key=lambda key: rnn_at[key]["mean"])
    return (f"{numbers.fraction(sum(learned), len(learned))} transformer seeds learned; at "
            f"{numbers.count(largest)} pairs transformer {numbers.percent(tf_all['mean'])}, {best} "
            f"{numbers.percent(rnn_at[best]['mean'])}")


def arora_comparable(learned: list[bool], rnn_at: dict[str, dict]) -> str:
    """The Arora et al. row's last cell: shape only, and only once a transformer seed learned."""
    rest = "tiny models trained briefly on one number of pairs, a GRU rather than gated convolutions"
    if not any(learned):
        return f"not here: no transformer seed learned within this budget; {rest}"
    if all(r["high"] < RECALL_HIGH for r in rnn_at.values()):
        return f"shape only: attention solves MQAR, the recurrent state does not; {rest}"
    return f"shape only, and not in direction: a recurrent state kept up; {rest}"


# --- prose built from the copying results -----------------------------------------------------------------

AT_LIMIT = 0.05  # a recurrent model within this of Fano's ceiling (its upper end) falls at the state's hard limit


def ceiling_gaps(accuracy: dict[str, dict[int, dict]], floats: dict[str, int], solved_bar: float = 0.99) -> list:
    """Per model and N where a recurrent model falls short (upper end below ``solved_bar``): (model, N, how far
    its upper end sits below Fano's ceiling for its state, its state floats)."""
    return [(key, n, accuracy_ceiling(n, state_bits(floats[key])) - accuracy[key][n]["high"], floats[key])
            for key in accuracy for n in accuracy[key] if accuracy[key][n]["high"] < solved_bar]


def ceiling_sentence(gaps: list) -> str:
    """Where the recurrent models fall, against the ceiling their state allows: none short, all far below it,
    or some at a ceiling under 100%, where the bound itself fixes the fall."""
    if not gaps:
        return ("No recurrent model falls short of near-perfect copying at any N tried, so none comes near the "
                "ceiling its state allows.")
    capped = [g for g in gaps if accuracy_ceiling(g[1], state_bits(g[3])) < 1 and g[2] <= AT_LIMIT]
    if capped:
        key, n, gap, _ = min(capped, key=lambda g: g[2])
        return (f"{key} at N = {numbers.count(n)} falls to within {numbers.value(max(gap, 0), 2)} of the ceiling its "
                "state allows: there the fall is the state's hard limit, which no training could lift, so that "
                "point is a bound, not a finding.")
    closest = min(g[2] for g in gaps)
    return (f"Wherever a recurrent model falls short, its upper end sits at least {numbers.value(closest, 2)} below "
            "the ceiling its state allows (100% wherever the state has room): the fall comes before any hard limit, "
            "so what a state of floats can hold and what training put in it are different numbers, and the curves "
            "below show both.")


def bound_sentence(floats: dict[str, int], n: int = COMPARE_N) -> str:
    """What the bounds say at the compared N, before any training: which states could hold every token there."""
    bits = bits_to_remember(n)
    capped = [key for key in floats if accuracy_ceiling(n, state_bits(floats[key])) < 1]
    lead = (f"At N = {numbers.count(n)} the tokens carry {numbers.count(bits)} bits. {PROBE_KEY}'s state holds at "
            f"most {numbers.count(state_bits(floats[PROBE_KEY]))}, so no bound stops it from copying every token "
            "there: whatever it loses, training lost.")
    if not capped:
        return lead
    ceilings = [f"{key} {numbers.percent(accuracy_ceiling(n, state_bits(floats[key])))}" for key in capped]
    return (lead + f" For {numbers.listing(capped)} Fano's inequality caps the accuracy any reader of the state can "
            f"reach ({numbers.listing(ceilings)}): a fall there is fixed by arithmetic before any data, so it is "
            "drawn as a bound and no rule reads it.")


def learned_table(controls: dict[str, list[dict[int, dict]]]) -> str:
    """Markdown: per model and N it trained on, how many seeds passed the positive control there and their mean
    accuracy; a dash where the model did not train on that N."""
    lengths = sorted({n for seeds in controls.values() for n in seeds[0]})
    lines = ["| model | " + " | ".join(f"N = {n}" for n in lengths) + " |", "|---|" + "---|" * len(lengths)]
    for key, seeds in controls.items():
        cells = [f"{sum(s[n]['learned'] for s in seeds)} of {len(seeds)} "
                 f"({numbers.percent(np.mean([s[n]['accuracy'] for s in seeds]))})" if n in seeds[0] else "–"
                 for n in lengths]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def profile_note(profile: str) -> str:
    """What the other profile changes, said only on the quick page."""
    if profile == "full":
        return ""
    return (" The full profile trains more seeds, the transformer for longer, reads enough six-distractor prompts "
            "to decide the use floor, and trains MQAR long enough for an induction head to form (the quick "
            "profile's few MQAR steps only check that the experiment runs).")


def replication_comparable(architecture: str) -> str:
    """The Jelassi et al. row's last cell, from the architecture half's verdict."""
    rest = "tiny models, RoPE, GRUs rather than Mamba"
    if architecture == "supported":
        return f"in direction; {rest}"
    if architecture == "nuanced":
        return f"no: our recurrent model kept what the transformer kept; {rest}"
    return f"undecided here (the architecture half is inconclusive); {rest}"


def recall_caption(tf_at: dict, probe_at: dict, ceiling_floats: dict[str, int]) -> str:
    return (f"At N = {numbers.count(COMPARE_N)}, the longest string every model trained on, the transformer copies "
            f"{numbers.percent(tf_at['mean'])} of the tokens and {PROBE_KEY} {numbers.percent(probe_at['mean'])}, "
            f"although its state could hold every token; {bound_phrase(ceiling_floats)}.")


def bound_phrase(floats: dict[str, int]) -> str:
    smallest = min(floats, key=floats.get)
    ceiling = accuracy_ceiling(COMPARE_N, state_bits(floats[smallest]))
    return f"Fano's ceiling for the smallest state, {smallest}, is {numbers.percent(ceiling)} there"


def retrieval_caption(cells: dict[tuple, dict], without: dict, with_most: dict, peak_layer: int,
                      peak_ratio: float) -> str:
    """The retrieval figure's caption: the spread over cells (or that every cell was perfect), then the layer that
    looks at the fact most."""
    means = [c["mean"] for c in cells.values()]
    if min(means) == 1:
        spread = (f"Every one of the {numbers.count(len(means))} cells retrieved every planted fact, with or "
                  f"without {plural_distractors(MOST_DISTRACTORS)}")
    else:
        spread = (f"Exact retrieval ranges from {numbers.percent(min(means))} to {numbers.percent(max(means))} "
                  f"across cells ({numbers.percent(without['mean'])} without distractors, "
                  f"{numbers.percent(with_most['mean'])} with {plural_distractors(MOST_DISTRACTORS)})")
    return (f"{spread}; layer {peak_layer} looks at the fact most, {numbers.value(peak_ratio, 1)} times a uniform "
            "share.")


def plural_distractors(k: int) -> str:
    return numbers.plural(k, "distractor")


# --- the architecture half: "cannot forget" --------------------------------------------------------------
# Raw: per model, one dict per seed of {N: positive control} (accuracy and learned on held-out sequences). A seed
# enters only if it learned its control, copying the shortest string it trained on (CONTROL_N): a model that
# never learned to copy is no evidence. Both models trained on the same lengths and are compared at the same N,
# the longest; the probe's state holds those tokens with room to spare, so no capacity bound fixes the outcome.
# There is no refuted row: the cache holds every token by construction, so a transformer that fails to copy at a
# length it trained on has not learned (or not read) it, which is inconclusive, not forgetting.

C8_ARCHITECTURE_RULES = (
    Rule("inconclusive", f"fewer than {MIN_LEARNED} transformer seeds or fewer than {MIN_LEARNED} {PROBE_KEY} seeds "
         f"learned their control (at least {LEARNED:.2f} of the tokens copied on the shortest string each trained on: "
         f"N = {CONTROL_N['transformer']} for the transformer, N = {CONTROL_N[PROBE_KEY]} for {PROBE_KEY}): a model "
         "that did not learn to copy is no evidence; longer training would decide",
         lambda v: v["transformer"] is None or v["recurrent"] is None),
    Rule("supported", f"at N = {COMPARE_N}, where both trained, the learned transformer seeds copy at least "
         f"{RECALL_HIGH:.2f} (lower end) and the learned {PROBE_KEY} seeds, whose state could hold every token, sit "
         f"at least {FORGET_GAP:.2f} below them (upper end against lower end): the trained fixed state lost what the "
         "cache kept",
         lambda v: v["transformer"]["low"] >= RECALL_HIGH
         and v["recurrent"]["high"] <= v["transformer"]["low"] - FORGET_GAP),
    Rule("nuanced", f"at N = {COMPARE_N} both the transformer and {PROBE_KEY} copy at least {RECALL_HIGH:.2f} (lower "
         "ends): the cache keeps the tokens, but so does the trained fixed state, so the contrast the claim draws "
         "does not appear at this N",
         lambda v: v["transformer"]["low"] >= RECALL_HIGH and v["recurrent"]["low"] >= RECALL_HIGH),
    Rule("inconclusive", f"otherwise: an interval straddles a threshold, or the transformer itself copies under "
         f"{RECALL_HIGH:.2f} at N = {COMPARE_N} although it learned the short copies (its training fell short, since "
         "its cache holds every token): more seeds or training would decide", always),
)


def learned_accuracies(seeds: list[dict[int, dict]], design: dict, key: str) -> list[float]:
    """Accuracy at the compared N of each seed of model ``key`` that passed its control at its shortest N."""
    return [s[design["compare_n"]]["accuracy"] for s in seeds if s[control_n(design, key)]["learned"]]


def over_learned(values: list[float]) -> dict | None:
    """Interval over learned seeds at the compared N, or None when fewer than MIN_LEARNED learned."""
    return stats.mean_ci(values, bounds=(0, 1)) if len(values) >= MIN_LEARNED else None


def architecture_values(copying: dict[str, list[dict[int, dict]]], design: dict) -> dict:
    tf = learned_accuracies(copying["transformer"], design, "transformer")
    rnn = learned_accuracies(copying[PROBE_KEY], design, PROBE_KEY)
    return {"transformer": over_learned(tf), "recurrent": over_learned(rnn), "transformer_learned": len(tf),
            "recurrent_learned": len(rnn), "seeds": design["seeds"]}


def architecture_evidence(v: dict) -> str:
    learned = (f"{v['transformer_learned']} of {v['seeds']} transformer seeds and {v['recurrent_learned']} of "
               f"{v['seeds']} {PROBE_KEY} seeds learned their control")
    if v["transformer"] is None or v["recurrent"] is None:
        return learned
    return (f"{learned}; at N = {COMPARE_N} the transformer copies "
            f"{numbers.percent_interval(v['transformer'], 'learned seeds')} and {PROBE_KEY} "
            f"{numbers.percent_interval(v['recurrent'], 'learned seeds')}")


# --- the practice half: "uses what it keeps" ---------------------------------------------------------------
# Raw: one hit (exact retrieval) per prompt, without and with MOST_DISTRACTORS look-alike facts. The rule reads one
# pre-declared pool, every six-distractor prompt over lengths and depths (Wilson interval over prompts), not the
# worst of many small cells, whose minimum falls below any floor by chance alone.

C8_PRACTICE_RULES = (
    Rule("supported", f"with {MOST_DISTRACTORS} distractors in the notes, SmolLM2 retrieves the planted fact at least "
         f"{USE_FLOOR:.2f} of the time (lower end): what is kept is used",
         lambda v: v["with_distractors"]["low"] >= USE_FLOOR),
    Rule("refuted", f"with {MOST_DISTRACTORS} distractors, retrieval stays below {USE_FLOOR:.2f} even at its upper "
         "end: the fact is in the context, yet the model fails to use it",
         lambda v: v["with_distractors"]["high"] < USE_FLOOR),
    Rule("inconclusive", f"the interval straddles {USE_FLOOR:.2f}: more prompts would decide", always),
)


def practice_values(hits: dict[str, list[bool]]) -> dict:
    return {key: stats.proportion_ci(int(np.sum(hits[arm])), len(hits[arm]))
            for key, arm in (("without_distractors", "without"), ("with_distractors", "with"))}


def practice_evidence(v: dict) -> str:
    return (f"SmolLM2 retrieves the planted fact in {numbers.percent_interval(v['without_distractors'], 'prompts')} "
            f"of {numbers.count(v['without_distractors']['n'])} prompts without distractors and "
            f"{numbers.percent_interval(v['with_distractors'], 'prompts')} of "
            f"{numbers.count(v['with_distractors']['n'])} with {plural_distractors(MOST_DISTRACTORS)}")


# --- one verdict for C8 -------------------------------------------------------------------------------------
# The commenter's claim is the architecture half ("cannot forget", in contrast to a recurrent state); he grants that
# the model "might never access it again", so the practice half can only qualify a supported architecture half, and
# only when it is decided: a demonstrated failure to use what is kept (Radford Neal's caveat) makes it nuanced.
# No row refutes C8: the architecture half has no refuted row (see above).

C8_RULES = (
    Rule("inconclusive", "the architecture half is inconclusive", lambda v: v["architecture"] == "inconclusive"),
    Rule("nuanced", "the architecture half is nuanced: the recurrent state kept what the cache kept",
         lambda v: v["architecture"] == "nuanced"),
    Rule("nuanced", "the architecture half is supported, but SmolLM2 demonstrably fails to use a fact it holds "
         "among distractors (Radford Neal's caveat): kept, not always used", lambda v: v["practice"] == "refuted"),
    Rule("supported", "the architecture half is supported, and SmolLM2 used what it held among distractors (the "
         "practice half is supported)", lambda v: v["practice"] == "supported"),
    Rule("supported", "the architecture half is supported, and no failure to use what is kept is demonstrated: the "
         "practice half is undecided, and is reported as such", always),
)


def halves(raw: dict, design: dict, explain: bool = False):
    """The two halves' rulings on the raw measurements, each through its own table (with the numbers it read in
    the reason when ``explain``)."""
    arch = architecture_values(raw["copying"], design)
    practice = practice_values(raw["retrieval"])
    return (decide(C8_ARCHITECTURE_RULES, arch, architecture_evidence(arch) if explain else ""),
            decide(C8_PRACTICE_RULES, practice, practice_evidence(practice) if explain else ""))


def summarise(raw: dict, design: dict) -> dict:
    """What C8's rules read: each half's verdict, with the values and row it came from."""
    architecture, practice = halves(raw, design)
    return {"architecture": architecture.verdict, "practice": practice.verdict,
            "architecture_row": architecture.row, "practice_row": practice.row,
            "architecture_values": architecture.values, "practice_values": practice.values}


def c8_evidence(raw: dict, design: dict) -> str:
    """The reason's evidence: each half's verdict and its own reason (with the numbers it read)."""
    architecture, practice = halves(raw, design, explain=True)
    return (f"cannot forget (architecture): {architecture.verdict}, because {architecture.reason}. "
            f"Uses what it keeps (practice): {practice.verdict}, because {practice.reason}")


# --- worlds: raw measurements where each outcome is the truth -------------------------------------------------

def seed_accuracy(rng, mean: float, spread: float, tokens: int) -> float:
    """One seed's held-out accuracy: its own true rate around ``mean``, then binomial over the scored tokens."""
    rate = float(np.clip(rng.normal(mean, spread), CHANCE, 1.0))
    return rng.binomial(tokens, rate) / tokens


def copying_model(control: float, compare: float, spread: float, learns: float = 1.0):
    """A model whose seeds learn the control with probability ``learns`` (else stay at chance), then copy at
    ``control`` at the shortest N and at a seed's own rate around ``compare`` (seeds differ by ``spread``) at the
    compared N."""
    def draw(rng, design, key):
        seeds = []
        for _ in range(design["seeds"]):
            learned = rng.random() < learns
            rates = {control_n(design, key): (control if learned else CHANCE, 0.0),
                     design["compare_n"]: (compare, spread) if learned else (CHANCE, 0.0)}
            seeds.append({n: control_of(seed_accuracy(rng, mean, sd, design["eval_batch"] * n), n)
                          for n, (mean, sd) in rates.items()})
        return seeds
    return draw


def control_of(accuracy: float, n: int) -> dict:
    return {"accuracy": accuracy, "chance": CHANCE, "threshold": LEARNED, "learned": accuracy >= LEARNED,
            "at": f"N = {n}"}


KEEPS = copying_model(0.999, 0.99, 0.01, learns=0.9)        # the transformer as it trains here
FORGETS = copying_model(0.995, 0.45, 0.08, learns=0.9)      # a state that keeps under half of 32 tokens
ALSO_KEEPS = copying_model(0.999, 0.97, 0.02, learns=0.9)   # a state that keeps them as the cache does
NEVER_LEARNS = copying_model(CHANCE, CHANCE, 0.0, learns=0.0)
SHORT_TRAINED = copying_model(0.999, 0.75, 0.08, learns=0.9)  # a transformer whose training stops short at N = 32


def retrieval(without: float, with_most: float):
    def draw(rng, design):
        return {"without": list(rng.random(design["prompts_without"]) < without),
                "with": list(rng.random(design["prompts_with"]) < with_most)}
    return draw


USES, FAILS, ON_FLOOR = retrieval(0.99, 0.88), retrieval(0.99, 0.72), retrieval(0.99, USE_FLOOR)


def raw_of(transformer, recurrent, reads):
    return lambda rng, design: {"copying": {"transformer": transformer(rng, design, "transformer"),
                                            PROBE_KEY: recurrent(rng, design, PROBE_KEY)},
                                "retrieval": reads(rng, design)}


DESIGNS = {profile: design_of(settings) for profile, settings in SETTINGS.items()}

ARCHITECTURE = Table("C8", C8_ARCHITECTURE_RULES, lambda raw, design: architecture_values(raw["copying"], design), (
    World("inconclusive", "no model learns to copy two tokens", raw_of(NEVER_LEARNS, NEVER_LEARNS, USES)),
    World("supported", f"the transformer keeps 32 tokens, {PROBE_KEY} 45% of them", raw_of(KEEPS, FORGETS, USES)),
    World("nuanced", f"{PROBE_KEY} keeps the 32 tokens as the transformer does", raw_of(KEEPS, ALSO_KEEPS, USES)),
    World("inconclusive", "the transformer's training stops short: 75% at N = 32",
          raw_of(SHORT_TRAINED, FORGETS, USES)),
), designs=DESIGNS)

PRACTICE = Table("C8", C8_PRACTICE_RULES, lambda raw, design: practice_values(raw["retrieval"]), (
    World("supported", "SmolLM2 retrieves 88% among six distractors", raw_of(KEEPS, FORGETS, USES)),
    World("refuted", "SmolLM2 retrieves 72% among six distractors", raw_of(KEEPS, FORGETS, FAILS)),
    World("inconclusive", "SmolLM2 retrieves exactly 80% among six distractors", raw_of(KEEPS, FORGETS, ON_FLOOR)),
), designs=DESIGNS)

TABLES = {"C8": Table("C8", C8_RULES, summarise, (
    World("inconclusive", "no model learns to copy two tokens", raw_of(NEVER_LEARNS, NEVER_LEARNS, USES)),
    World("inconclusive", "the transformer's training stops short", raw_of(SHORT_TRAINED, FORGETS, USES)),
    World("nuanced", f"{PROBE_KEY} keeps what the transformer keeps", raw_of(KEEPS, ALSO_KEEPS, USES)),
    World("nuanced", "the state forgets, and SmolLM2 retrieves 72% among distractors", raw_of(KEEPS, FORGETS, FAILS)),
    World("supported", "the state forgets, and SmolLM2 retrieves 88% among distractors", raw_of(KEEPS, FORGETS, USES)),
), designs=DESIGNS)}


# --- experiment 2: a planted fact in SmolLM2 --------------------------------------------------------------

NAMES = ["Nadia", "Tomas", "Ingrid", "Kofi", "Priya", "Mateo", "Yuki", "Leila", "Oskar", "Amara", "Dmitri", "Sofia",
         "Hugo", "Zara", "Emil", "Noor", "Felix", "Aiko", "Ravi", "Greta"]
# Filler written for this book: neutral sentences with no numbers and no names.
FILLER = [
    "The river bends twice before it reaches the old mill.",
    "Rain fell all morning, and the streets were quiet.",
    "A small bakery on the corner sells bread before sunrise.",
    "The library keeps its maps in a cabinet near the window.",
    "Most of the orchard was planted with apple trees.",
    "The train to the coast stops at every village on the way.",
    "In winter the lake freezes along its northern shore.",
    "The museum opened a new room for old clocks.",
    "Children played football in the park until dusk.",
    "The hills turn brown at the end of every summer.",
    "A narrow bridge connects the two halves of the town.",
    "The market sells fish, cheese and fresh herbs.",
    "Wind from the sea keeps the harbour cool in the evening.",
    "The school choir practises in the church hall.",
    "Few cars drive on the mountain road after dark.",
    "The garden behind the house is full of roses.",
    "Boats are painted blue and white in this harbour.",
    "The old lighthouse has not been used for many years.",
    "Snow covered the fields for most of the month.",
    "The cafe serves soup with thick slices of bread.",
    "A path through the forest leads to a small waterfall.",
    "The town hall clock chimes once every hour.",
    "Farmers bring their vegetables to the square on weekends.",
    "The valley is known for its long and mild autumns.",
]
INSTRUCTION = "Read the notes below and answer the question at the end.\n\n"


def fact_sentence(name: str, value: str) -> str:
    return f"The secret number of {name} is {value}."


def planted_prompt(tokenizer, name: str, value: str, depth: float, sentences: int, rng: random.Random,
                   distractors: int = 0) -> dict:
    """Token ids of notes with one planted fact at relative ``depth`` (0 = first, 1 = last sentence) among
    ``sentences`` filler sentences and ``distractors`` look-alike facts about other names (at random places),
    followed by the question and the answer; spans of the fact and the answer are returned with them."""
    others = rng.sample([n for n in NAMES if n != name], distractors)
    notes = [rng.choice(FILLER) for _ in range(sentences)]
    for other in others:
        notes.insert(rng.randint(0, len(notes)), fact_sentence(other, str(rng.randint(1000, 9999))))
    where = round(depth * len(notes))
    before = INSTRUCTION + " ".join(notes[:where]) + (" " if where else "")
    after = (" " if where < len(notes) else "") + " ".join(notes[where:])
    question = f"\n\nQuestion: What is the secret number of {name}?\nAnswer: The secret number of {name} is"
    pieces = [before, fact_sentence(name, value), after + question, " " + value]
    ids, spans = [], []
    for piece in pieces:
        new = tokenizer(piece, add_special_tokens=False)["input_ids"]
        spans.append((len(ids), len(ids) + len(new)))
        ids += new
    return {"ids": torch.tensor([ids]), "fact": spans[1], "answer": spans[3]}


@torch.no_grad()
def read_planted_fact(model, prompt: dict) -> dict:
    """Exact-match retrieval (greedy, teacher-forced over the answer tokens) and, per layer, the attention
    mass (mean over heads) from the last question token to the fact sentence."""
    out = model(prompt["ids"].to(tiny.device_of(model)), output_attentions=True)
    start, end = prompt["answer"]
    predicted = out.logits[0, start - 1:end - 1].argmax(-1).cpu()
    correct = bool((predicted == prompt["ids"][0, start:end]).all())
    fact_start, fact_end = prompt["fact"]
    mass = [layer[0, :, start - 1, fact_start:fact_end].sum(-1).mean().item() for layer in out.attentions]
    return {"correct": correct, "fact_mass": mass, "uniform_mass": (fact_end - fact_start) / start,
            "distance": start - fact_end}


def retrieval_grid(model, tokenizer, depths: list[float], lengths: list[int], items: dict[int, int],
                   seed: int) -> list[dict]:
    """Every (length, distractors, depth) cell read ``items[distractors]`` times, each prompt with its own name,
    number and notes."""
    rows, rng = [], random.Random(seed)
    for sentences in lengths:
        for k, count in items.items():
            for depth in depths:
                for _ in range(count):
                    name, value = rng.choice(NAMES), str(rng.randint(1000, 9999))
                    prompt = planted_prompt(tokenizer, name, value, depth, sentences, rng, distractors=k)
                    rows.append({"sentences": sentences, "distractors": k, "depth": depth,
                                 "tokens": prompt["ids"].shape[1], **read_planted_fact(model, prompt)})
    return rows


def retrieval_hits(rows: list[dict]) -> dict[str, list[bool]]:
    """The practice half's raw measurements: one hit per prompt, without and with the most distractors."""
    return {"without": [r["correct"] for r in rows if r["distractors"] == 0],
            "with": [r["correct"] for r in rows if r["distractors"] == MOST_DISTRACTORS]}


def cell_accuracy(rows: list[dict]) -> dict[tuple, dict]:
    """Wilson interval (over prompts) of retrieval accuracy in each (length, distractors, depth) cell."""
    cells = {}
    for row in rows:
        cells.setdefault((row["sentences"], row["distractors"], row["depth"]), []).append(row["correct"])
    return {cell: stats.proportion_ci(sum(hits), len(hits)) for cell, hits in sorted(cells.items())}


def attention_by_layer(rows: list[dict]) -> np.ndarray:
    """Mean attention mass on the fact per layer, relative to a uniform spread over the prefix."""
    return np.mean([np.array(r["fact_mass"]) / r["uniform_mass"] for r in rows], axis=0)


def model_key(arch: str, width: int) -> str:
    return "transformer" if arch == "transformer" else f"{arch.upper()} {width}"
