"""Page ``book/forgetting.md``, claim C8: can a model lose what it has read, and does it use what it keeps?

Two halves, each with its own decision table. (1) *Cannot forget* (architecture): copying N random tokens,
with the amount to remember swept past what a recurrent state of a given size can hold (the state size is
swept too), for GRUs and LSTMs against a tiny transformer whose cache grows with the input; beside it, as
evidence outside the table, multi-query associative recall (MQAR) with the number of key-value pairs swept
past a small GRU's state. (2) *Uses what it keeps* (practice): SmolLM2-135M reading back a planted fact as its
distance, its position and the number of look-alike distractor facts grow, with the attention each layer pays
to the fact.
"""
from __future__ import annotations

import math
import random

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..lab import numbers, stats, tasks, tiny, train
from ..lab.train import IGNORE
from ..machinery.rules import Rule, Ruling, always, decide

VOCAB = 32  # token 0 separates the tokens from their copy; 1..31 are content
BITS_PER_TOKEN = math.log2(VOCAB - 1)
FLOAT_BITS = 32  # a float32 number takes 2**32 values at most: the hard ceiling on what one state float holds
TRANSFORMER = dict(d_model=64, depth=2, heads=4)
EMBED = 32  # recurrent models read tokens through an embedding of this width, whatever their state size
LEARNING_RATE = 3e-3  # the transformer's
RECURRENT_LR = 1e-2  # recurrent models learn copying slowly; at 3e-3 they stayed near chance on one token

RECALL_HIGH = 0.9  # accuracy at or above this counts as "solved" (chance is 1/31)
FORGET_GAP = 0.3  # a recurrent model "forgot" if it sits this far below the transformer, beyond both intervals
USE_FLOOR = 0.8  # SmolLM2 "uses" what it holds if retrieval is at least this among distractors (a miss in five is
#                  not the commenter's "always be there for the taking")


# --- experiment 1: copying past the capacity of a recurrent state ---------------------------------------

class StateRNN(nn.Module):
    """Embedding → one GRU or LSTM layer of ``width`` units → linear read-out: a state of fixed size.

    The embedding and read-out do not grow with the state, so sweeping ``width`` sweeps the memory alone."""

    def __init__(self, width: int, cell: str = "gru", seed: int = 0, vocab: int = VOCAB, embed: int = EMBED):
        super().__init__()
        torch.manual_seed(seed)
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell](embed, width, batch_first=True)
        self.out = nn.Linear(width, vocab)
        self.cell, self.width = cell, width

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.rnn(self.embed(ids))
        return self.out(hidden)

    def state_floats(self) -> int:
        """Numbers carried from one token to the next (an LSTM carries a hidden and a cell vector)."""
        return self.width * (2 if self.cell == "lstm" else 1)


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
    return StateRNN(width, arch, seed=seed)


def train_recall_model(arch: str, seed: int, lengths: list[int], steps: int, width: int = 0, batch: int = 64,
                       device: str = "cpu"):
    model = build_model(arch, seed, width).to(device)
    lr = LEARNING_RATE if arch == "transformer" else RECURRENT_LR
    log = train.train(model, mixed_copy(batch, lengths), steps, seed=seed, lr=lr, log_every=25)
    return model, log


@torch.no_grad()
def answer_cross_entropy_bits(model, batch) -> float:
    """Mean cross-entropy, in bits, of the model's distribution over the true token at the scored positions."""
    ids, targets = batch
    out = tiny.logits(model, ids.to(tiny.device_of(model))).cpu()
    nats = F.cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1), ignore_index=IGNORE).item()
    return nats / math.log(2)


def bits_recalled(n: int, cross_entropy_bits: float) -> float:
    """Lower bound on the bits about the N stored tokens that the model can read back.

    Per copied token, I(token; model state) >= H(token) - cross-entropy = log2(31) - CE; times N tokens.
    """
    return n * max(0.0, BITS_PER_TOKEN - cross_entropy_bits)


@torch.no_grad()
def sequence_accuracies(model, batch) -> list[float]:
    """Per sequence, the share of its N copied tokens predicted exactly (sequences are the evaluation items)."""
    ids, targets = batch
    mask = targets != IGNORE
    hits = (train.predictions(model, ids) == targets) & mask
    return (hits.sum(1) / mask.sum(1)).tolist()


def recall_curve(model, lengths: list[int], seed: int, batch: int = 256) -> dict[int, dict]:
    """Accuracy (with its interval over evaluation sequences) and bits recalled at each N, on fresh sequences."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    curve = {}
    for n in lengths:
        data = tasks.copy(batch, n, VOCAB)(gen)
        per_sequence = sequence_accuracies(model, data)
        curve[n] = {"accuracy": float(np.mean(per_sequence)),
                    "per_sequence": per_sequence,
                    "bits": bits_recalled(n, answer_cross_entropy_bits(model, data))}
    return curve


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
    """The copying chapter's transformer or a ``StateRNN`` (``arch`` ``gru``/``lstm``), on MQAR's vocabulary."""
    vocab = MQAR_KEYS + MQAR_VALUES
    if arch == "transformer":
        model = tiny.llama(vocab, seed=seed, max_len=1024, **TRANSFORMER)
    else:
        model = StateRNN(width, arch, seed=seed, vocab=vocab)
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


def mqar_learned(curves: list[dict[int, dict]], pairs: int, bar: float = RECALL_HIGH) -> list[bool]:
    """Per seed, whether it learned MQAR: recall at or above ``bar`` at ``pairs`` (the most it was trained on)."""
    return [c[pairs]["accuracy"] >= bar for c in curves]


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


def capacity_items(capacity_bits: float) -> float:
    """The N at which N tokens carry as many bits as ``capacity_bits``."""
    return capacity_bits / BITS_PER_TOKEN


# --- prose built from the copying results -----------------------------------------------------------------

AT_LIMIT = 0.05  # a recurrent model within this of Fano's ceiling (its upper end) falls at the state's hard limit


def ceiling_gaps(accuracy: dict[str, dict[int, dict]], floats: dict[str, int], solved_bar: float = 0.99) -> list:
    """Per model and N where a recurrent model falls short (upper end below ``solved_bar``): (model, N, how far
    its upper end sits below Fano's ceiling for its state)."""
    return [(key, n, accuracy_ceiling(n, state_bits(floats[key])) - accuracy[key][n]["high"])
            for key in accuracy for n in accuracy[key] if accuracy[key][n]["high"] < solved_bar]


def ceiling_sentence(gaps: list) -> str:
    """Where the recurrent models fall, against the ceiling their state allows: none short, all far below it,
    or some at the hard limit itself."""
    if not gaps:
        return ("No recurrent model falls short of near-perfect copying at any N tried, so none comes near the "
                "ceiling its state allows.")
    closest = min(gaps, key=lambda g: g[2])
    if closest[2] > AT_LIMIT:
        return (f"Wherever a recurrent model falls short, its upper end sits at least {numbers.value(closest[2], 2)} "
                "below the ceiling its state allows: the fall comes before the hard limit, so what a state of floats "
                "can hold and what training put in it are different numbers, and the curves below show both.")
    return (f"{closest[0]} at N = {numbers.count(closest[1])} falls to within {numbers.value(max(closest[2], 0), 2)} "
            "of the ceiling its state allows: there the fall is the state's hard limit, which no training could "
            "lift.")


def probe_phrase(probe: str, solved: list[str]) -> str:
    """How the page names the recurrent model the verdict reads."""
    if solved:
        return f"{probe}, the smallest state that solved one token"
    return f"{probe}, the largest state (no recurrent model solved one token)"


def probe_sentence(probe: str, solved: list[str], models: int, floats: int) -> str:
    """Which recurrent models solved their smallest copy, and which one the verdict reads (with its state)."""
    opening = (f"{numbers.fraction(len(solved), models).capitalize()} recurrent models solved their smallest copy "
               "(one token).")
    state = f"({numbers.plural(floats, 'float')}, at most {numbers.count(state_bits(floats))} bits)"
    if solved:
        return f"{opening} The verdict reads the smallest state that did, {probe} {state}."
    return (f"{opening} The verdict reads the largest state, {probe} {state}, and its first rule makes the "
            "architecture half inconclusive: a fall at large N would be the training budget, not capacity.")


def capacity_limitation(ratios: dict[str, float], solved: list[str], largest_n: int, gaps: list) -> str:
    """The limitation on trained against hard capacity, from how far past its state each model that solved one
    token was pushed at the largest N (``ratios``: bits to remember there over state bits) and from where the
    models fell against Fano's ceiling (``gaps``, as :func:`ceiling_gaps`)."""
    pushed = [k for k in solved if ratios[k] > 1]
    n = numbers.count(largest_n)
    if not pushed:
        lead = (f"No recurrent model that solved one token is pushed past {FLOAT_BITS} bits per float within "
                f"these lengths (N up to {n}): their fall is what this training put in their state, not the "
                "state's limit, so the architecture half shows a trained fixed state losing what a trained cache "
                "keeps, not that no training could do better.")
    else:
        most = max(pushed, key=ratios.get)
        lead = (f"{numbers.listing(pushed)} solved one token and {'is' if len(pushed) == 1 else 'are'} pushed past "
                f"{FLOAT_BITS} bits per float by N = {n} ({most} to {numbers.value(ratios[most], 1)} times what its "
                "state can hold): there no training could keep the whole string.")
        rest = [k for k in ratios if k not in pushed]
        if rest:
            lead += (f" {numbers.listing(rest)} stay{'s' if len(rest) == 1 else ''} under that line or never solved "
                     "one token; there a fall is what this training put in the state.")
    closest = min((g[2] for g in gaps), default=None)
    if closest is None:
        tail = ""
    elif closest > AT_LIMIT:
        tail = (" Collins et al. found that carefully trained recurrent networks store about one real number per "
                "hidden unit; ours fall before even the hard ceiling, so better "
                "training could move their curves.")
    else:
        tail = (" Where a model reaches Fano's ceiling the fall is the state's limit, however it is trained "
                "(Collins et al. measured what trained recurrent networks store).")
    return lead + tail


def profile_note(profile: str) -> str:
    """What the other profile changes, said only on the quick page."""
    if profile == "full":
        return ""
    return (" The full profile trains longer, on longer strings for the recurrent models, with more seeds, state "
            "sizes and planted-fact prompts, and trains MQAR long enough for an induction head to form (the quick "
            "profile's few MQAR steps only check that the experiment runs).")


def replication_comparable(architecture: str) -> str:
    """The Jelassi et al. row's last cell, from the architecture half's verdict."""
    rest = "tiny models, RoPE, GRU and LSTM rather than Mamba"
    if architecture == "supported":
        return f"in direction; {rest}"
    if architecture == "refuted":
        return f"no: our transformer lost tokens it held; {rest}"
    return f"undecided here (the architecture half is inconclusive); {rest}"


def recall_caption(tf_large: dict, largest: int, probe: str, solved: list[str], probe_large: dict, rnn_largest: int,
                   ratio: float, ceiling: float) -> str:
    return (f"At N = {numbers.count(largest)} the transformer copies {numbers.percent(tf_large['mean'])} of the "
            f"tokens; {probe_phrase(probe, solved)}, copies {numbers.percent(probe_large['mean'])} at N = "
            f"{numbers.count(rnn_largest)}, where the bits to remember are {numbers.value(ratio, 2)} times its "
            f"state's float32 capacity (Fano ceiling {numbers.percent(ceiling)}).")


def retrieval_caption(cells: dict[tuple, dict], without: dict, with_most: dict, most: int, peak_layer: int,
                      peak_ratio: float) -> str:
    """The retrieval figure's caption: the spread over cells (or that every cell was perfect), then the layer that
    looks at the fact most."""
    means = [c["mean"] for c in cells.values()]
    if min(means) == 1:
        spread = (f"Every one of the {numbers.count(len(means))} cells retrieved every planted fact, with or "
                  f"without {plural_distractors(most)}")
    else:
        spread = (f"Exact retrieval ranges from {numbers.percent(min(means))} to {numbers.percent(max(means))} "
                  f"across cells ({numbers.percent(without['mean'])} without distractors, "
                  f"{numbers.percent(with_most['mean'])} with {plural_distractors(most)})")
    return (f"{spread}; layer {peak_layer} looks at the fact most, {numbers.value(peak_ratio, 1)} times a uniform "
            "share.")


def plural_distractors(k: int) -> str:
    return numbers.plural(k, "distractor")


def architecture_evidence(tf_small: dict, smallest: int, tf_large: dict, largest: int, probe: str, rnn_small: dict,
                          rnn_large: dict, rnn_largest: int, ratio: float) -> str:
    return (f"the transformer copies {numbers.percent(tf_small['mean'])} at N = {numbers.count(smallest)} and "
            f"{numbers.percent_interval(tf_large, 'seeds')} at N = {numbers.count(largest)}; {probe} copies "
            f"{numbers.percent(rnn_small['mean'])} at one token and "
            f"{numbers.percent_interval(rnn_large, 'evaluation sequences')} at N = {numbers.count(rnn_largest)}, "
            f"{numbers.value(ratio, 2)} times its state's capacity")


def practice_evidence(hard: dict, most: int, worst_cell: tuple, worst: dict) -> str:
    return (f"with {plural_distractors(most)} SmolLM2 retrieves {numbers.percent_interval(hard, 'prompts')} of "
            f"{numbers.count(hard['n'])} prompts (its worst single cell, {worst_cell[0]} sentences at depth "
            f"{worst_cell[2]:g}, {numbers.fraction(round(worst['mean'] * worst['n']), worst['n'])})")


# --- the architecture half: "cannot forget" --------------------------------------------------------------
# Values: tf_small, tf_large (intervals over seeds of the transformer's accuracy at the smallest and largest
# trained N), rnn_small and rnn_large (intervals over evaluation sequences of one recurrent model's accuracy at
# the smallest and the largest N: the smallest state that solved its smallest copy, else the largest state).

C8_ARCHITECTURE_RULES = (
    Rule("inconclusive", f"the transformer did not solve the smallest copy (lower end below {RECALL_HIGH:.2f}), "
         "or the smallest-state recurrent model did not solve its smallest copy: a fall at large N would be the "
         "training budget, not capacity; more steps would decide",
         lambda v: v["tf_small"]["low"] < RECALL_HIGH or v["rnn_small"]["low"] < RECALL_HIGH),
    Rule("supported", f"the transformer stays at or above {RECALL_HIGH:.2f} (lower end) at the largest N, and the "
         f"smallest-state recurrent model that solved its smallest copy sits at least {FORGET_GAP:.2f} below it "
         "there (its upper end against the transformer's lower end): the fixed state lost what the growing cache kept",
         lambda v: v["tf_large"]["low"] >= RECALL_HIGH and v["rnn_large"]["high"] <= v["tf_large"]["low"] - FORGET_GAP),
    Rule("refuted", f"the transformer, having solved the small copies, falls below {RECALL_HIGH:.2f} (upper end) at "
         "the largest trained N: it loses tokens it holds in its cache as a fixed state would",
         lambda v: v["tf_large"]["high"] < RECALL_HIGH),
    Rule("inconclusive", "the intervals overlap the thresholds: more seeds or evaluation sequences would decide",
         always),
)


def architecture_verdict(tf_small: dict, tf_large: dict, rnn_small: dict, rnn_large: dict,
                         evidence: str = "") -> Ruling:
    values = dict(tf_small=tf_small, tf_large=tf_large, rnn_small=rnn_small, rnn_large=rnn_large)
    return decide(C8_ARCHITECTURE_RULES, values, evidence)


# --- the practice half: "uses what it keeps" ---------------------------------------------------------------
# Value: with_distractors, the Wilson interval (over prompts) of SmolLM2's exact retrieval over every prompt whose
# notes hold the most look-alike facts, pooled over lengths and depths. One pre-declared condition, not the worst
# of many small cells: the minimum of a dozen six-prompt cells falls below any floor by chance alone.

C8_PRACTICE_RULES = (
    Rule("supported", f"with the most distractors in the notes, SmolLM2 retrieves the planted fact at least "
         f"{USE_FLOOR:.2f} of the time (lower end): what is kept is used",
         lambda v: v["with_distractors"]["low"] >= USE_FLOOR),
    Rule("refuted", f"with the most distractors, retrieval stays below {USE_FLOOR:.2f} even at its upper end: the fact "
         "is in the context, yet the model does not read it back", lambda v: v["with_distractors"]["high"] < USE_FLOOR),
    Rule("inconclusive", f"the interval straddles {USE_FLOOR:.2f}: more prompts would decide", always),
)


def practice_verdict(with_distractors: dict, evidence: str = "") -> Ruling:
    return decide(C8_PRACTICE_RULES, dict(with_distractors=with_distractors), evidence)


# --- one verdict for C8 -------------------------------------------------------------------------------------
# The commenter's claim is the architecture half ("cannot forget"); he grants that the model "might never access
# it again", so the practice half can only qualify a supported architecture half, and only when it is decided:
# a demonstrated failure to use what is kept (Radford Neal's caveat) makes the verdict nuanced.

C8_RULES = (
    Rule("refuted", "the architecture half is refuted", lambda v: v["architecture"] == "refuted"),
    Rule("inconclusive", "the architecture half is inconclusive", lambda v: v["architecture"] == "inconclusive"),
    Rule("nuanced", "the architecture half is supported, but SmolLM2 demonstrably fails to use a fact it holds in "
         "some cell (Radford Neal's caveat): kept, not always taken", lambda v: v["practice"] == "refuted"),
    Rule("supported", "the architecture half is supported, and no failure to use what is kept is demonstrated (the "
         "practice half is supported, or undecided and reported as such)", always),
)


def c8_verdict(architecture: Ruling, practice: Ruling) -> Ruling:
    """One verdict for C8 from the two halves' rulings; the reason carries both halves' reasons."""
    evidence = (f"cannot forget (architecture): {architecture.verdict}, because {architecture.reason}. "
                f"Uses what it keeps (practice): {practice.verdict}, because {practice.reason}")
    return decide(C8_RULES, dict(architecture=architecture.verdict, practice=practice.verdict), evidence)


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


def retrieval_grid(model, tokenizer, depths: list[float], lengths: list[int], distractors: list[int], items: int,
                   seed: int) -> list[dict]:
    """Every (length, distractors, depth) cell read ``items`` times, each with its own name, number and notes."""
    rows, rng = [], random.Random(seed)
    for sentences in lengths:
        for k in distractors:
            for depth in depths:
                for _ in range(items):
                    name, value = rng.choice(NAMES), str(rng.randint(1000, 9999))
                    prompt = planted_prompt(tokenizer, name, value, depth, sentences, rng, distractors=k)
                    rows.append({"sentences": sentences, "distractors": k, "depth": depth,
                                 "tokens": prompt["ids"].shape[1], **read_planted_fact(model, prompt)})
    return rows


def cell_accuracy(rows: list[dict]) -> dict[tuple, dict]:
    """Wilson interval (over prompts) of retrieval accuracy in each (length, distractors, depth) cell."""
    cells = {}
    for row in rows:
        cells.setdefault((row["sentences"], row["distractors"], row["depth"]), []).append(row["correct"])
    return {cell: stats.proportion_ci(sum(hits), len(hits)) for cell, hits in sorted(cells.items())}


def attention_by_layer(rows: list[dict]) -> np.ndarray:
    """Mean attention mass on the fact per layer, relative to a uniform spread over the prefix."""
    return np.mean([np.array(r["fact_mass"]) / r["uniform_mass"] for r in rows], axis=0)
