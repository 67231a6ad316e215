"""Page ``book/forgetting.md``, claim C8: can a model lose what it has read, and does it use what it keeps?

Two measurements. (1) Copying N random tokens, for a tiny transformer and a GRU of matched parameter
count, trained by the same loop: accuracy against N, and the bits each model demonstrably reads back.
(2) SmolLM2-135M reading a planted fact at varying depth in a longer context: retrieval accuracy, and
the attention each layer pays to the fact from the answer position.
"""
from __future__ import annotations

import math
import random

import numpy as np
import torch
import torch.nn.functional as F

from ..machinery.results import Ruling
from ..lab import stats, tasks, tiny, train
from ..lab.train import IGNORE

VOCAB = 32  # token 0 separates the tokens from their copy; 1..31 are content
BITS_PER_TOKEN = math.log2(VOCAB - 1)
TRANSFORMER = dict(d_model=64, depth=2, heads=4)
GRU_DEPTH = 2
LEARNING_RATE = 3e-3

RECALL_HIGH = 0.9  # accuracy at or above this counts as "near perfect" (and as "this seed learned")
FORGET_GAP = 0.3  # the GRU "forgot" if its accuracy at the largest N is this far below the transformer's
USE_FLOOR = 0.8  # SmolLM2 "uses" what it holds if retrieval is at least this in every depth/length cell


# --- experiment 1: copying under a bounded state --------------------------------------------------------

def gru_params(d_model: int, depth: int = GRU_DEPTH, vocab: int = VOCAB) -> int:
    """Parameters of ``tiny.RecurrentLM``: embedding (tied output) plus per layer 3 gates × (W_ih, W_hh, 2 biases)."""
    return vocab * d_model + depth * (6 * d_model * d_model + 6 * d_model)


def matched_gru_width(target: int, depth: int = GRU_DEPTH, vocab: int = VOCAB) -> int:
    """The GRU width whose parameter count is closest to ``target``."""
    return min(range(4, 1024), key=lambda d: abs(gru_params(d, depth, vocab) - target))


def build_model(arch: str, seed: int) -> torch.nn.Module:
    transformer = tiny.llama(VOCAB, seed=seed, max_len=512, **TRANSFORMER)
    if arch == "transformer":
        return transformer
    width = matched_gru_width(tiny.count_params(transformer))
    return tiny.RecurrentLM(VOCAB, width, depth=GRU_DEPTH, cell="gru", seed=seed)


def mixed_copy(batch: int, lengths: list[int]):
    """Copy batches whose length N is drawn per batch from ``lengths`` (one model for the whole sweep)."""
    makers = [tasks.copy(batch, n, VOCAB) for n in lengths]

    def make(gen: torch.Generator):
        return makers[torch.randint(len(makers), (1,), generator=gen).item()](gen)

    return make


def train_recall_model(arch: str, seed: int, lengths: list[int], steps: int, batch: int = 64):
    model = build_model(arch, seed)
    log = train.train(model, mixed_copy(batch, lengths), steps, seed=seed, lr=LEARNING_RATE, log_every=50)
    return model, log


@torch.no_grad()
def answer_cross_entropy_bits(model, batch) -> float:
    """Mean cross-entropy, in bits, of the model's distribution over the true token at the scored positions."""
    ids, targets = batch
    out = tiny.logits(model, ids)
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1), ignore_index=IGNORE).item() / math.log(2)


def bits_recalled(n: int, cross_entropy_bits: float) -> float:
    """Lower bound on the bits about the N stored tokens that the model can read back.

    Per copied token, I(token; model state) >= H(token) - cross-entropy = log2(31) - CE; times N tokens.
    """
    return n * max(0.0, BITS_PER_TOKEN - cross_entropy_bits)


def recall_curve(model, lengths: list[int], seed: int, batch: int = 256) -> dict[int, dict]:
    """Accuracy and bits recalled at each N, on fresh held-out sequences."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    curve = {}
    for n in lengths:
        data = tasks.copy(batch, n, VOCAB)(gen)
        curve[n] = {"accuracy": train.accuracy(model, data),
                    "bits": bits_recalled(n, answer_cross_entropy_bits(model, data))}
    return curve


def capacity_items(capacity_bits: float) -> float:
    """The N at which N tokens carry as many bits as the measured capacity."""
    return capacity_bits / BITS_PER_TOKEN


# --- experiment 2 and 3: a planted fact in SmolLM2 ------------------------------------------------------

NAMES = ["Nadia", "Tomas", "Ingrid", "Kofi", "Priya", "Mateo", "Yuki", "Leila", "Oskar", "Amara", "Dmitri", "Sofia"]
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


def planted_prompt(tokenizer, name: str, value: str, depth: float, sentences: int, rng: random.Random) -> dict:
    """Token ids of notes with one planted fact at relative ``depth`` (0 = first, 1 = last sentence),
    followed by the question and the answer; spans of the fact and the answer are returned with them."""
    filler = [rng.choice(FILLER) for _ in range(sentences)]
    where = round(depth * sentences)
    before = INSTRUCTION + " ".join(filler[:where]) + (" " if where else "")
    after = (" " if where < sentences else "") + " ".join(filler[where:])
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
    out = model(prompt["ids"], output_attentions=True)
    start, end = prompt["answer"]
    predicted = out.logits[0, start - 1:end - 1].argmax(-1)
    correct = bool((predicted == prompt["ids"][0, start:end]).all())
    fact_start, fact_end = prompt["fact"]
    mass = [layer[0, :, start - 1, fact_start:fact_end].sum(-1).mean().item() for layer in out.attentions]
    return {"correct": correct, "fact_mass": mass, "uniform_mass": (fact_end - fact_start) / start,
            "distance": start - fact_end}


def retrieval_grid(model, tokenizer, depths: list[float], lengths: list[int], items: int, seeds: list[int]):
    """Every (length, depth) cell read ``items`` times per seed, each with its own name, number and filler."""
    rows = []
    for seed in seeds:
        rng = random.Random(seed)
        for sentences in lengths:
            for depth in depths:
                for _ in range(items):
                    name, value = rng.choice(NAMES), str(rng.randint(1000, 9999))
                    prompt = planted_prompt(tokenizer, name, value, depth, sentences, rng)
                    rows.append({"seed": seed, "sentences": sentences, "depth": depth,
                                 "tokens": prompt["ids"].shape[1], **read_planted_fact(model, prompt)})
    return rows


def cell_accuracy(rows: list[dict]) -> dict[tuple[int, float], dict]:
    """Wilson interval of retrieval accuracy in each (length, depth) cell."""
    cells = {}
    for row in rows:
        cells.setdefault((row["sentences"], row["depth"]), []).append(row["correct"])
    return {cell: stats.proportion_ci(sum(hits), len(hits)) for cell, hits in sorted(cells.items())}


def attention_by_layer(rows: list[dict]) -> np.ndarray:
    """Mean attention mass on the fact per layer, relative to a uniform spread over the prefix."""
    return np.mean([np.array(r["fact_mass"]) / r["uniform_mass"] for r in rows], axis=0)


# --- verdict ----------------------------------------------------------------------------------------------

def c8_verdict(transformer_recall: float, gru_recall: float, worst_retrieval: float) -> Ruling:
    """C8 has two readings. "Present": the transformer keeps near-perfect recall where the GRU loses it.
    "Used": a real transformer retrieves a planted fact wherever it sits. Both → supported; present but
    not used → nuanced; neither → refuted."""
    present = transformer_recall >= RECALL_HIGH and transformer_recall - gru_recall >= FORGET_GAP
    used = worst_retrieval >= USE_FLOOR
    reason = (f"at the largest N the transformer recalls {transformer_recall:.2f} and the GRU {gru_recall:.2f} "
              f"(present: {present}); SmolLM2's worst planted-fact cell retrieves {worst_retrieval:.2f} (used: {used})")
    if present and used:
        return Ruling("supported", reason)
    if present or used:
        return Ruling("nuanced", reason)
    return Ruling("refuted", reason)
