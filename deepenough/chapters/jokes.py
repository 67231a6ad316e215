"""Page ``book/jokes.md``, claim C9: a joke census of SmolLM2, and luck vs serial compute in a synthetic pun world.

Part 1 samples "Tell me a joke." many times, groups near-duplicates, matches known jokes and classifies
each sample's format. Part 2 trains tiny transformers on a task with a checkable "clever" answer (the
word linked to both of two setups), scores them on setups they were trained on and on new ones, and
compares best-of-n sampling (luck) with depth, looping and a written scratchpad (serial compute) at
equal FLOPs per answer. ``TABLES["C9"]`` is the decision table with the summary the page runs on its raw
samples and seeds and, for power, a world for each outcome.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import torch

from ..lab import numbers, stats, tiny, train
from ..machinery import paths
from ..machinery.power import Table, World
from ..machinery.rules import Rule, always

# --- Part 1: the joke census -------------------------------------------------------------------------

PROMPT = "Tell me a joke."
TOP_GROUPS = 25  # Jentzsch & Kersting (2023) report the share of the 25 most common jokes
NEAR_DUPLICATE_OVERLAP = 0.6  # word-bigram overlap coefficient at or above which two texts are one joke
MIN_BIGRAMS = 3  # texts shorter than this are compared by exact normalised text only
DATA = paths.chapter_data("jokes")

FORMATS = ("knock-knock", "what do you call", "why question + answer", "other question + answer",
           "question without answer", "one-liner", "not a joke")
JOKE_FORMATS = FORMATS[:4] + ("one-liner",)
REFUSAL = re.compile(r"\b(i'm sorry|i am sorry|i can't|i cannot|as an ai|i don't have a joke)\b")
PREAMBLE = re.compile(r"^(sure|okay|ok|here's one|here is one|here's a joke|here is a joke)[^a-z]*", re.I)


def normalise(text: str) -> str:
    """Lower case, letters and digits only, single spaces; apostrophes dropped so "don't" == "dont"."""
    text = text.lower().replace("'", "").replace("\u2019", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def bigrams(text: str) -> set[tuple[str, str]]:
    words = normalise(text).split()
    return set(zip(words, words[1:]))


def overlap(a: str, b: str) -> float:
    """Overlap coefficient of word bigrams, |A∩B| / min(|A|, |B|): a joke wrapped in chatter still matches."""
    ga, gb = bigrams(a), bigrams(b)
    if min(len(ga), len(gb)) < MIN_BIGRAMS:
        return float(normalise(a) == normalise(b))
    return len(ga & gb) / min(len(ga), len(gb))


LINKAGES = ("single", "complete", "average")
LINKAGE = "complete"  # every pair inside a group overlaps at the threshold: no chaining through a third text


def overlap_matrix(texts: list[str]) -> np.ndarray:
    """Pairwise overlap coefficients (symmetric, ones on the diagonal)."""
    grams = [bigrams(t) for t in texts]
    norms = [normalise(t) for t in texts]
    m = np.eye(len(texts))
    for i in range(len(texts)):
        for j in range(i):
            ga, gb = grams[i], grams[j]
            if min(len(ga), len(gb)) < MIN_BIGRAMS:
                m[i, j] = m[j, i] = float(norms[i] == norms[j])
            else:
                m[i, j] = m[j, i] = len(ga & gb) / min(len(ga), len(gb))
    return m


def group_near_duplicates(texts: list[str], threshold: float = NEAR_DUPLICATE_OVERLAP, linkage: str = LINKAGE,
                          similarity: np.ndarray | None = None) -> list[int]:
    """Group id per text (numbered by first appearance), by agglomerative clustering on 1 - overlap.

    ``single`` joins two groups when any one pair overlaps at ``threshold`` (it chains: A~B and B~C put A
    with C); ``complete`` only when every pair does; ``average`` when the mean overlap does."""
    if linkage not in LINKAGES:
        raise ValueError(f"linkage must be one of {LINKAGES}")
    if len(texts) < 2:
        return [0] * len(texts)
    from scipy.cluster.hierarchy import fcluster
    from scipy.cluster.hierarchy import linkage as agglomerate
    from scipy.spatial.distance import squareform

    sim = overlap_matrix(texts) if similarity is None else similarity
    tree = agglomerate(squareform(1.0 - sim, checks=False), method=linkage)
    labels = fcluster(tree, t=1.0 - threshold + 1e-9, criterion="distance")
    order = {label: k for k, label in enumerate(dict.fromkeys(labels))}
    return [order[label] for label in labels]


def load_labelled_pairs() -> list[tuple[str, str, bool]]:
    """The hand-labelled joke pairs (see ``data/jokes/LABELLED_PAIRS_DATASHEET.md``)."""
    import csv

    with open(DATA / "labelled_pairs.csv", newline="") as f:
        return [(row["a"], row["b"], row["same"] == "1") for row in csv.DictReader(f)]


def grouping_check(pairs: list[tuple[str, str, bool]], threshold: float, linkage: str = LINKAGE) -> dict:
    """Precision and recall of the grouping on labelled pairs: all the pairs' texts are grouped together
    (so chaining through a third text can happen, as in a census), then each pair is read off."""
    texts = list(dict.fromkeys([t for a, b, _ in pairs for t in (a, b)]))
    groups = dict(zip(texts, group_near_duplicates(texts, threshold, linkage)))
    together = [groups[a] == groups[b] for a, b, _ in pairs]
    tp = sum(t and same for t, (_, _, same) in zip(together, pairs))
    predicted, actual = sum(together), sum(same for _, _, same in pairs)
    return {"precision": tp / predicted if predicted else 1.0, "recall": tp / actual if actual else 1.0,
            "tp": tp, "predicted": predicted, "actual": actual}


def grouping_clause(check: dict) -> str:
    """'precision 90% (95% CI …) and recall 80% (95% CI …)', Wilson intervals over the pairs each counts."""
    if check["predicted"]:
        precision = numbers.percent_interval(stats.proportion_ci(check["tp"], check["predicted"]),
                                             "the pairs it put together")
    else:
        precision = "undefined (it put no pair together)"
    recall = numbers.percent_interval(stats.proportion_ci(check["tp"], check["actual"]), "the same-joke pairs")
    return f"precision {precision} and recall {recall}"


def known_jokes() -> dict[str, list[str]]:
    """The offline reference set: pyjokes' English jokes and the classic pun jokes in ``data/``."""
    from pyjokes.jokes_en import jokes_en

    classic = [line for line in (DATA / "classic_jokes.txt").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    return {"pyjokes neutral": jokes_en["neutral"], "pyjokes chuck": jokes_en["chuck"], "classic": classic}


def matches_known(text: str, known: list[str], threshold: float = NEAR_DUPLICATE_OVERLAP) -> bool:
    return any(overlap(text, k) >= threshold for k in known)


def classify_format(text: str) -> str:
    """A joke's format by surface rules, checked in the order of ``FORMATS``."""
    low = text.lower().strip()
    body = PREAMBLE.sub("", text.strip()).strip()
    if len(normalise(body).split()) < 4 or REFUSAL.search(low):
        return "not a joke"
    if re.search(r"knock[,.!]?\s+knock", low):
        return "knock-knock"
    question = re.search(r"[^?]*\?", body)
    answer = normalise(body[question.end():]) if question else ""
    if question and len(answer.split()) >= 2:
        asked = normalise(question.group())
        if "what do you call" in asked:
            return "what do you call"
        return "why question + answer" if re.search(r"\bwhy\b", asked) else "other question + answer"
    if question:
        return "question without answer"
    sentences = [s for s in re.split(r"(?<=[.!])\s+|\n+", body) if s.strip()]
    return "one-liner" if len(sentences) <= 2 and len(normalise(body).split()) <= 30 else "not a joke"


@torch.no_grad()
def sample_answers(model, tokenizer, n: int, temperature: float, seed: int, batch: int = 32,
                   max_new_tokens: int = 40) -> tuple[list[str], list[bool]]:
    """``n`` answers to PROMPT through the chat template, pure temperature sampling, batched (left padding),
    and for each whether it ended by itself (an end-of-turn token) within ``max_new_tokens``."""
    tokenizer.padding_side = "left"
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": PROMPT}], tokenize=False,
                                           add_generation_prompt=True)
    torch.manual_seed(seed)
    device = tiny.device_of(model)
    texts, finished = [], []
    for start in range(0, n, batch):
        enc = tokenizer([prompt] * min(batch, n - start), return_tensors="pt", padding=True).to(device)
        out = model.generate(**enc, do_sample=True, temperature=temperature, top_k=0, top_p=1.0,
                             max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id)
        new = out[:, enc.input_ids.shape[1]:].cpu()
        texts += tokenizer.batch_decode(new, skip_special_tokens=True)
        finished += (new == tokenizer.eos_token_id).any(1).tolist()
    return texts, finished


def sample_jokes(model, tokenizer, n: int, temperature: float, seed: int, batch: int = 32,
                 max_new_tokens: int = 40) -> list[str]:
    """The answers of ``sample_answers`` alone."""
    return sample_answers(model, tokenizer, n, temperature, seed, batch, max_new_tokens)[0]


def census(texts: list[str], known: list[str], threshold: float = NEAR_DUPLICATE_OVERLAP,
           similarity: np.ndarray | None = None) -> dict:
    """Concentration of jokes and of formats in one set of samples (one temperature: never pooled)."""
    if not texts:
        raise ValueError("no answer to take a census of: the coherence gate let none through; sample more")
    sim = overlap_matrix(texts) if similarity is None else similarity
    groups = group_near_duplicates(texts, threshold, similarity=sim)
    sizes = Counter(groups).most_common()
    formats = [classify_format(t) for t in texts]
    n = len(texts)
    return {
        "n": n,
        "groups": groups,
        "group_sizes": [s for _, s in sizes],
        "distinct": len(sizes),
        "top_groups_share": sum(s for _, s in sizes[:TOP_GROUPS]) / n,
        "repeated_share": repeated_share([s for _, s in sizes], n),
        "top_group_members": [texts[groups.index(g)] for g, _ in sizes[:5]],
        "known": sum(matches_known(t, known) for t in texts),
        "formats": Counter(formats),
        "format_of": formats,
        "top_format_share": Counter(formats).most_common(1)[0][1] / n,
        "joke_format_share": sum(f in JOKE_FORMATS for f in formats) / n,
    }


def threshold_sweep(texts: list[str], thresholds: list[float], similarity: np.ndarray | None = None) -> dict:
    """The census's headline shares (repeated jokes, top-25 share) at each grouping threshold."""
    sim = overlap_matrix(texts) if similarity is None else similarity
    out = {}
    for threshold in thresholds:
        sizes = sorted(Counter(group_near_duplicates(texts, threshold, similarity=sim)).values(), reverse=True)
        out[threshold] = {"repeated_share": repeated_share(sizes, len(texts)),
                          "top_groups_share": sum(sizes[:TOP_GROUPS]) / len(texts)}
    return out


# --- The coherence gate: only answers that read as English enter the census ---------------------------
# At temperature 1 a 135M model often writes word salad that the surface format classifier still reads as a
# question with an answer. An answer enters the census when its mean log-probability per token, scored as the
# model's own answer to PROMPT at temperature 1, is at least the threshold that best separates hand-labelled
# answers (balanced accuracy); the gate's error rates are measured leave-one-out on those answers.

def load_labelled_coherence() -> tuple[list[str], np.ndarray]:
    """The hand-labelled answers (see ``data/jokes/LABELLED_COHERENCE_DATASHEET.md``) and their labels."""
    import csv

    with open(DATA / "labelled_coherence.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [row["text"] for row in rows], np.array([row["coherent"] == "1" for row in rows])


@torch.no_grad()
def answer_logprobs(model, tokenizer, texts: list[str], batch: int = 16) -> np.ndarray:
    """Mean log-probability per token of each text as the model's answer to PROMPT (its chat template, right
    padding); an empty answer scores minus infinity."""
    prompt = tokenizer(tokenizer.apply_chat_template([{"role": "user", "content": PROMPT}], tokenize=False,
                                                     add_generation_prompt=True), add_special_tokens=False).input_ids
    device = tiny.device_of(model)
    scores = []
    for start in range(0, len(texts), batch):
        answers = [tokenizer(t, add_special_tokens=False).input_ids for t in texts[start:start + batch]]
        width = len(prompt) + max(1, max(len(a) for a in answers))
        ids = torch.full((len(answers), width), tokenizer.pad_token_id or 0)
        mask = torch.zeros_like(ids)
        for row, answer in enumerate(answers):
            ids[row, :len(prompt) + len(answer)] = torch.tensor(prompt + answer)
            mask[row, :len(prompt) + len(answer)] = 1
        logprobs = torch.log_softmax(model(ids.to(device), attention_mask=mask.to(device)).logits.double().cpu(), -1)
        for row, answer in enumerate(answers):
            at = torch.arange(len(prompt) - 1, len(prompt) - 1 + len(answer))
            scores.append(float(logprobs[row, at, torch.tensor(answer)].mean()) if answer else -np.inf)
    return np.array(scores)


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The cut between two neighbouring scores that maximises balanced accuracy (scores at or above it pass);
    where several tie, the middle one, away from both classes."""
    ordered = np.unique(scores[np.isfinite(scores)])
    cuts = np.r_[ordered[0] - 1, (ordered[1:] + ordered[:-1]) / 2, ordered[-1] + 1]
    passed = scores[None, :] >= cuts[:, None]
    balanced = (passed[:, labels].mean(1) + (~passed[:, ~labels]).mean(1)) / 2
    best = cuts[np.isclose(balanced, balanced.max())]
    return float(best[len(best) // 2])


def gate_errors(scores: np.ndarray, labels: np.ndarray) -> dict:
    """Leave-one-out error rates of the gate: each labelled answer judged by a threshold chosen on the others.
    Wilson intervals over the incoherent answers (false accepts) and the coherent ones (false rejects)."""
    keep = np.ones(len(scores), bool)
    passed = np.empty(len(scores), bool)
    for i in range(len(scores)):
        keep[i] = False
        passed[i] = scores[i] >= best_threshold(scores[keep], labels[keep])
        keep[i] = True
    return {"false_accept": stats.proportion_ci(int((passed & ~labels).sum()), int((~labels).sum())),
            "false_reject": stats.proportion_ci(int((~passed & labels).sum()), int(labels.sum()))}


# --- Part 2: the pun world ---------------------------------------------------------------------------
# A fixed world of WORDS words, each a pun on three of SENSES senses; no two words share two senses, so
# a setup of two senses has one punchline. The models learn the world from two-setup questions
# "? a b =" -> word. For a third of the words one of their three setups is held out: those are new
# jokes, whose punchline is a word the model has given before, but never for these two setups.
# The scratchpad route writes, before answering, each word holding the first setup with its other two
# senses and a yes/no check for the second setup, until the first yes: "? a b : w1 c d no w2 b e yes = w2".

SENSES, WORDS = 24, 32
ASK, THINK, ANSWER, YES, NO, PAD = range(SENSES + WORDS, SENSES + WORDS + 6)
VOCAB = PAD + 1
SETUP_LEN = 4  # "? a b =" or "? a b :"


@dataclass(frozen=True)
class PunWorld:
    senses: tuple[tuple[int, int, int], ...]  # the three senses of each word
    held_out: frozenset[tuple[int, int]]  # setups (both orders) never asked in training

    def holders(self, sense: int) -> list[int]:
        return [w for w, senses in enumerate(self.senses) if sense in senses]

    def setups(self, new: bool) -> list[tuple[int, int, int]]:
        """(a, b, word) for every ordered setup: the trained ones, or with ``new`` the held-out ones."""
        return [(a, b, w) for w, senses in enumerate(self.senses) for a in senses for b in senses
                if a != b and ((a, b) in self.held_out) == new]


def make_world(seed: int) -> PunWorld:
    gen = torch.Generator().manual_seed(seed)
    senses, used = [], set()
    while len(senses) < WORDS:
        triple = tuple(sorted(torch.randperm(SENSES, generator=gen)[:3].tolist()))
        pairs = set(combinations(triple, 2))
        if not pairs & used:
            used |= pairs
            senses.append(triple)
    held_out = set()
    for w in torch.randperm(WORDS, generator=gen)[:WORDS // 3].tolist():
        a, b = list(combinations(senses[w], 2))[int(torch.randint(0, 3, (1,), generator=gen))]
        held_out |= {(a, b), (b, a)}
    return PunWorld(tuple(senses), frozenset(held_out))


def scratchpad(world: PunWorld, a: int, b: int) -> list[int]:
    """Each word holding setup ``a``, its other two senses, and whether one is ``b``; it stops at the first yes."""
    written = []
    for word in world.holders(a):
        others = [sense for sense in world.senses[word] if sense != a]
        written += [SENSES + word, *others, YES if b in others else NO]
        if b in others:
            break
    return written


def encode(world: PunWorld, setups: list[tuple[int, int, int]], think: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded token ids and targets; scored are the scratchpad (if ``think``) and the punchline."""
    rows = []
    for a, b, w in setups:
        written = scratchpad(world, a, b) + [ANSWER] if think else []
        ids = [ASK, a, b, THINK if think else ANSWER] + written + [SENSES + w]
        rows.append((ids, [train.IGNORE] * (SETUP_LEN - 1) + written + [SENSES + w]))
    width = max(len(ids) for ids, _ in rows)
    ids = torch.tensor([ids + [PAD] * (width - len(ids)) for ids, _ in rows])
    targets = torch.tensor([t + [train.IGNORE] * (width - len(t)) for _, t in rows])
    return ids, targets


def sampler(bank: tuple[torch.Tensor, torch.Tensor], batch: int):
    """Batch maker for ``train.train``: rows drawn with replacement from a fixed bank of examples."""
    ids, targets = bank

    def make(gen: torch.Generator):
        rows = torch.randint(0, len(ids), (batch,), generator=gen)
        return ids[rows], targets[rows]

    return make


def one_link_baseline(world: PunWorld, setups: list[tuple[int, int, int]]) -> float:
    """Success of a memorised format that knows only the first setup: a random word holding it."""
    return sum(1 / len(world.holders(a)) for a, _, _ in setups) / len(setups)


def flops_per_answer(model, generated: float) -> float:
    """Forward FLOPs for the tokens a route writes, each at the longest context it reaches."""
    return generated * tiny.flops_per_token(model, SETUP_LEN + generated)


@torch.no_grad()
def answer_directly(model, world: PunWorld, setups) -> dict:
    """Greedy accuracy and the probability of the right word when the model answers at once."""
    ids, targets = encode(world, setups, think=False)
    probs = torch.softmax(tiny.logits(model, ids[:, :SETUP_LEN].to(tiny.device_of(model)))[:, -1], -1).cpu()
    right = targets[:, SETUP_LEN - 1]
    return {"accuracy": (probs.argmax(-1) == right).float().mean().item(),
            "p_correct": probs[torch.arange(len(right)), right], "tokens": 1.0}


@torch.no_grad()
def answer_with_scratchpad(model, world: PunWorld, setups) -> dict:
    """Greedy free-running decoding: the model writes its own scratchpad, then the word after ANSWER."""
    ids, _ = encode(world, setups, think=True)
    right = torch.tensor([SENSES + w for _, _, w in setups])
    written, finished = ids[:, :SETUP_LEN], torch.zeros(len(ids), dtype=torch.bool)
    tokens = torch.zeros(len(ids))
    for _ in range(ids.shape[1] - SETUP_LEN):
        nxt = torch.where(finished, PAD, train.predictions(model, written)[:, -1])
        tokens += (~finished).float()
        finished |= written[:, -1] == ANSWER
        written = torch.cat([written, nxt[:, None]], 1)
    has_answer = written == ANSWER
    after = has_answer.float().argmax(1) + 1
    padded = torch.cat([written, torch.full((len(ids), 1), PAD)], 1)
    said = torch.where(has_answer.any(1), padded[torch.arange(len(ids)), after], PAD)
    return {"accuracy": (said == right).float().mean().item(), "tokens": tokens.mean().item()}


def route_models(seed: int, d_model: int, loops: int, depths: tuple[int, ...], device: str = "cpu") -> dict:
    """Direct answers from ``depths`` layers and from one block looped ``loops`` times; a scratchpad on one layer."""
    make = lambda depth: tiny.llama(VOCAB, d_model, depth, heads=4, max_len=64, seed=seed).to(device)
    models = {f"depth {d}": make(d) for d in depths}
    models[f"1 block × {loops} loops"] = tiny.looped(make(1), loops)
    models["scratchpad, 1 layer"] = make(1)
    return models


def train_routes(seed: int, steps: int, d_model: int, loops: int, depths: tuple[int, ...],
                 batch: int = 128, lr: float = 3e-3, device: str = "cpu") -> dict:
    """Train every route on one seed's world; score each on trained setups and on new ones, with its positive
    control (teacher-forced accuracy on the trained setups, against a uniform guess of the punchline)."""
    world = make_world(seed)
    trained, new = world.setups(new=False), world.setups(new=True)
    out = {"baseline": one_link_baseline(world, new)}
    for name, model in route_models(seed, d_model, loops, depths, device).items():
        think = name.startswith("scratchpad")
        seen = encode(world, trained, think)
        log = train.train(model, sampler(seen, batch), steps, seed=seed, lr=lr)
        answer = answer_with_scratchpad if think else answer_directly
        old, fresh = answer(model, world, trained), answer(model, world, new)
        out[name] = {"trained": old["accuracy"], "accuracy": fresh["accuracy"], "p_correct": fresh.get("p_correct"),
                     "flops": flops_per_answer(model, fresh["tokens"]), "tokens": fresh["tokens"],
                     "params": tiny.count_params(model), "seconds": log.seconds,
                     "control": train.positive_control(model, seen, chance=1 / WORDS, at="trained setups")}
    return out


def best_of_n(p_correct: torch.Tensor, n: int) -> float:
    """Exact expected success of n independent samples with a checker that accepts the right word."""
    return (1 - (1 - p_correct) ** n).mean().item()


JUDGE_ERROR = 0.1  # an error-prone judge: wrong one time in ten, whether the sample is right or wrong


def best_of_n_judged(p_correct: torch.Tensor, n: int, error: float = JUDGE_ERROR) -> float:
    """Expected success of up to n samples read by a judge that rejects a right word, and accepts a wrong
    one, with probability ``error``: the first accepted sample is the answer, and none accepted is a miss."""
    accept_right = p_correct * (1 - error)
    reject = p_correct * error + (1 - p_correct) * (1 - error)
    tries = torch.where(reject < 1, (1 - reject ** n) / (1 - reject).clamp_min(1e-12), torch.full_like(reject, n))
    return (accept_right * tries).mean().item()


def affordable_samples(route: dict, shallow: dict) -> int:
    """The largest number of shallow samples whose FLOPs do not exceed the route's (at least one)."""
    return max(1, int(route["flops"] // shallow["flops"]))


def luck_at_equal_compute(route: dict, shallow: dict) -> float:
    """Best-of-n success of the shallow model with as many samples as the route's FLOPs buy."""
    return best_of_n(shallow["p_correct"], affordable_samples(route, shallow))


def judged_luck_at_equal_compute(route: dict, shallow: dict, error: float = JUDGE_ERROR) -> float:
    """The same number of samples as ``luck_at_equal_compute``, read by the error-prone judge."""
    return best_of_n_judged(shallow["p_correct"], affordable_samples(route, shallow), error)


# --- Verdict ------------------------------------------------------------------------------------------

MEMORISED_SHARE = 0.5  # at least half the samples retell a joke another sample also told (J&K: > 0.9 in the top 25)
FORMAT_SHARE = 0.5  # one joke format holds at least half the samples: formats, not jokes, are memorised
WELL_FORMED_MIN = 0.5  # fewer than half the samples in any joke format: case (1), "not particularly clever"
SERIAL_ADVANTAGE = 0.10  # serial compute must beat luck at equal FLOPs by 10 points (lower CI bound)
LEARNED_MARGIN = 0.10  # a route solves new puns if its lower bound beats the one-setup baseline by this


def repeated_share(group_sizes: list[int], n: int) -> float:
    """Share of samples in a group of two or more: jokes told more than once. Unlike the top-25 share,
    it does not grow by itself when there are few samples (with 50 samples the top 25 groups always
    hold at least half)."""
    return sum(size for size in group_sizes if size >= 2) / n


def census_case(repeated: dict, top_format: dict, joke_format: dict) -> str:
    """Which of the author's cases one temperature's census shows, from Wilson intervals over samples;
    ``undecided`` when an interval straddles its threshold. Luck, case (2), cannot be seen without a judge."""
    if repeated["low"] >= MEMORISED_SHARE:
        return "memorised jokes"
    if joke_format["high"] < WELL_FORMED_MIN:
        return "not clever"
    if top_format["low"] >= FORMAT_SHARE:
        return "memorised formats"
    if (repeated["high"] < MEMORISED_SHARE and joke_format["low"] >= WELL_FORMED_MIN
            and top_format["high"] < FORMAT_SHARE):
        return "none of the three"
    return "undecided"


def census_reading(cases: list[str]) -> str:
    """Across temperatures: ``author`` when every temperature shows one of the author's cases, ``against``
    when every one shows none of the three, ``undecided`` otherwise."""
    if all(c not in ("none of the three", "undecided") for c in cases):
        return "author"
    if all(c == "none of the three" for c in cases):
        return "against"
    return "undecided"


def beats_baseline(success: dict, baseline: float) -> bool:
    """Does a route solve new two-setup puns clearly better than a format that knows one setup?"""
    return success["low"] >= baseline + LEARNED_MARGIN


def serial_reading(advantage: dict, informative: bool) -> str:
    """``wins`` when serial compute's advantage over luck clears SERIAL_ADVANTAGE at its lower end, ``loses``
    when its upper end stays below it, ``uninformative`` when neither route beat the one-setup baseline."""
    if not informative:
        return "uninformative"
    if advantage["low"] >= SERIAL_ADVANTAGE:
        return "wins"
    if advantage["high"] < SERIAL_ADVANTAGE:
        return "loses"
    return "undecided"


def census_shares(groups: list[int], formats: list[str]) -> tuple[dict, dict, dict]:
    """One temperature's retold share, commonest format's share and joke-form share, each a Wilson interval
    over samples (the independent unit: each sample is its own draw)."""
    n, counts = len(groups), Counter(formats)
    return (stats.proportion_ci(sum(size for size in Counter(groups).values() if size >= 2), n),
            stats.proportion_ci(counts.most_common(1)[0][1], n),
            stats.proportion_ci(sum(counts[f] for f in JOKE_FORMATS), n))


SHALLOW = "depth 1"  # the route luck samples from


def seed_raw(routes: dict) -> dict:
    """One seed's raw pun-world measurements, as the rule reads them: the baseline and, per route, whether its
    positive control passed, its accuracy on new setups, its FLOPs per answer and its p(right word)."""
    return {"baseline": routes["baseline"],
            "routes": {name: {"learned": r["control"]["learned"], "accuracy": r["accuracy"], "flops": r["flops"],
                              "p_correct": r["p_correct"]} for name, r in routes.items() if name != "baseline"}}


def learned_routes(seeds: list[dict]) -> list[str]:
    """The routes whose positive control passed at every seed: only these enter a comparison."""
    return [name for name in seeds[0]["routes"] if all(s["routes"][name]["learned"] for s in seeds)]


def serial_comparison(seeds: list[dict]) -> dict:
    """Serial compute against luck at equal FLOPs over seeds, reading only routes that learned: the reading
    ('untrained' when luck's route or every serial route failed its positive control), the best learned serial
    route, its advantage over luck, its accuracy on new setups and luck's, all intervals over seeds. The
    advantage's interval is Bonferroni-widened for picking the best of the learned serial routes."""
    learned = learned_routes(seeds)
    serial = [name for name in learned if name != SHALLOW]
    found = {"learned": learned, "routes": list(seeds[0]["routes"]), "compared": len(serial),
             "baseline": float(np.mean([s["baseline"] for s in seeds]))}
    if SHALLOW not in learned or not serial:
        return {**found, "reading": "untrained"}
    level = 1 - (1 - stats.LEVEL) / len(serial)
    advantage = {name: stats.mean_ci([s["routes"][name]["accuracy"]
                                      - luck_at_equal_compute(s["routes"][name], s["routes"][SHALLOW])
                                      for s in seeds], level=level, bounds=(-1, 1)) for name in serial}
    best = max(serial, key=lambda name: advantage[name]["mean"])
    route = stats.mean_ci([s["routes"][best]["accuracy"] for s in seeds], bounds=(0, 1))
    luck = stats.mean_ci([luck_at_equal_compute(s["routes"][best], s["routes"][SHALLOW]) for s in seeds],
                         bounds=(0, 1))
    informative = beats_baseline(route, found["baseline"]) or beats_baseline(luck, found["baseline"])
    return {**found, "reading": serial_reading(advantage[best], informative), "route": best,
            "advantage": advantage[best], "route_accuracy": route, "luck": luck}


# The decision table for the model-side part of C9 (the human part, "for humans actually", is not testable
# here). Two parts: the census at every temperature, and serial compute against luck in the pun world, scoped
# to what the pun world builds in (a perfect checker for luck; a scratchpad supervised with the search). The
# pun-world part reads only routes that learned their trained setups (train.LEARNED).
C9_RULES = (
    Rule("inconclusive", "luck's one-layer route did not learn its trained setups (positive control under "
         f"{train.LEARNED:.0%} at some seed), so no comparison of serial compute with luck reads a trained model; "
         "training it until it learns would decide the pun-world part",
         lambda v: v["serial"] == "untrained" and SHALLOW not in v["learned_routes"]),
    Rule("inconclusive", "no serial route learned its trained setups (positive control under "
         f"{train.LEARNED:.0%} at some seed), so no comparison of serial compute with luck reads a trained model; "
         "training those routes until they learn would decide the pun-world part",
         lambda v: v["serial"] == "untrained"),
    Rule("supported", "every temperature's census shows at least one of the author's three cases (memorised jokes, "
         "jokes that are not clever, memorised formats; each decided by its interval) and serial compute beats luck "
         f"at equal FLOPs by at least {SERIAL_ADVANTAGE:.2f} (lower end)",
         lambda v: v["census"] == "author" and v["serial"] == "wins"),
    Rule("refuted", "every temperature's census shows none of the three cases and serial compute does not beat luck "
         f"by {SERIAL_ADVANTAGE:.2f} (upper end below it)",
         lambda v: v["census"] == "against" and v["serial"] == "loses"),
    Rule("nuanced", "both parts are decided and go opposite ways",
         lambda v: {v["census"], v["serial"]} in ({"author", "loses"}, {"against", "wins"})),
    Rule("inconclusive", "at some temperature a census interval straddles its threshold; more samples would "
         "decide", lambda v: "undecided" in v["cases"].values()),
    Rule("inconclusive", "the temperatures disagree: some censuses show one of the author's cases and some show "
         "none of the three", lambda v: v["census"] == "undecided"),
    Rule("inconclusive", "neither luck nor serial compute solved new puns beyond the one-setup baseline, so the pun "
         "world cannot tell them apart; more training would decide", lambda v: v["serial"] == "uninformative"),
    Rule("inconclusive", f"serial compute's advantage over luck at equal FLOPs straddles {SERIAL_ADVANTAGE:.2f}; "
         "more seeds would decide", always),
)


def summarise(raw: dict, design: dict) -> dict:
    """The values the C9 rules read, from the raw measurements: per temperature, the joke group and format of
    each sample the coherence gate let through and how many it held back; each seed's routes (positive
    control, accuracy on new setups, FLOPs, p(right word))."""
    cases = {t: census_case(*census_shares(c["groups"], c["formats"])) if c["groups"] else "undecided"
             for t, c in raw["census"].items()}
    coherent = {f"{t:g}": len(c["groups"]) for t, c in raw["census"].items()}
    incoherent = {f"{t:g}": c["incoherent"] for t, c in raw["census"].items()}
    serial = serial_comparison(raw["seeds"])
    compared = {f"{key}_{end}": serial[key][end] for key in ("advantage", "route_accuracy", "luck") if key in serial
                for end in ("mean", "low", "high")}
    return {"census": census_reading(list(cases.values())), "serial": serial["reading"],
            "cases": {f"{t:g}": case for t, case in cases.items()}, "learned_routes": serial["learned"],
            "best_route": serial.get("route"), "coherent": coherent, "incoherent": incoherent, **compared}


# --- Worlds for power: raw samples and seeds drawn where each outcome is the truth ---

NEW_SETUPS = 2 * (WORDS // 3)  # a third of the words hold out one setup, asked in both orders
TOLD_JOKES = 10  # the repertoire a memorising model retells
MEMORISED = 0.85  # share of samples retelling it, where the author is right (J&K saw over 0.9)
COHERENT_SHARE = 0.3  # share of samples the gate lets through: about the share of coherent answers at temperature 1
RETOLD_BY_CHANCE = 0.05  # share of samples retelling one, where he is not
BASELINE = 0.24  # about the one-setup format's success in these worlds
SERIAL_FLOPS = 4.0  # a serial route's FLOPs per answer in units of one shallow sample


def drawn_census(rng: np.random.Generator, samples: int, memorised: bool) -> dict:
    """``samples`` answers, of which the gate lets through COHERENT_SHARE: each retells one of TOLD_JOKES jokes or
    tells a joke of its own, in a format. Where the author is right most are retold, mostly as why-questions;
    where he is not, few are, in four even formats."""
    n = int(rng.binomial(samples, COHERENT_SHARE))
    retold = rng.random(n) < (MEMORISED if memorised else RETOLD_BY_CHANCE)
    groups = np.where(retold, rng.integers(0, TOLD_JOKES, n), TOLD_JOKES + np.arange(n))
    formats = (rng.choice(["why question + answer", "one-liner"], n, p=[0.6, 0.4]) if memorised else
               rng.choice(list(JOKE_FORMATS[:4]) + ["not a joke"], n, p=[0.225] * 4 + [0.1]))
    return {"groups": groups.tolist(), "formats": formats.tolist(), "incoherent": samples - n}


def drawn_seed(rng: np.random.Generator, serial_accuracy: float, shallow_p: float, learned: bool) -> dict:
    """One seed's world: a serial route right on each new setup with ``serial_accuracy``, the shallow route
    giving the right word probability around ``shallow_p`` per setup, both learned or neither."""
    p_correct = rng.beta(2, 2 * (1 - shallow_p) / shallow_p, NEW_SETUPS)
    return {"baseline": BASELINE, "routes": {
        SHALLOW: {"learned": learned, "accuracy": float((rng.random(NEW_SETUPS) < p_correct).mean()), "flops": 1.0,
                  "p_correct": p_correct},
        "depth 2": {"learned": learned, "accuracy": float((rng.random(NEW_SETUPS) < serial_accuracy).mean()),
                    "flops": SERIAL_FLOPS, "p_correct": None}}}


def world(memorised: bool, serial_accuracy: float, shallow_p: float, learned: bool = True):
    def draw(rng: np.random.Generator, design: dict) -> dict:
        return {"census": {t: drawn_census(rng, n, memorised) for t, n in zip(design["temperatures"],
                                                                               design["samples"])},
                "seeds": [drawn_seed(rng, serial_accuracy, shallow_p, learned) for _ in range(design["seeds"])]}
    return draw


# Every profile-dependent size, in one place: the page runs these and the power analysis draws them. Full asks
# 1,008 times at temperature 1, as the anchor did, and 400 times at 0.7, nearer the anchor's sampling; more seeds,
# not longer training.
SETTINGS = {"quick": {"seeds": 3, "temperatures": [0.7, 1.0], "samples": [40, 40]},
            "full": {"seeds": 5, "temperatures": [0.7, 1.0], "samples": [400, 1008]}}


def design(settings: dict) -> dict:
    """The independent units a profile draws: samples per temperature and seeds (one world each)."""
    return {"seeds": settings["seeds"], "temperatures": list(settings["temperatures"]),
            "samples": list(settings["samples"]), "new_setups": NEW_SETUPS}


WINS = {"serial_accuracy": 0.8, "shallow_p": 0.05}  # luck at equal FLOPs near 0.2: serial compute wins by 0.6
LOSES = {"serial_accuracy": 0.3, "shallow_p": 0.3}  # luck at equal FLOPs near 0.7: serial compute loses
TABLES = {"C9": Table(
    "C9", C9_RULES, summarise,
    (World("inconclusive", "no route learns its trained setups, though their scores on new setups would show "
           "serial compute winning", world(True, **WINS, learned=False)),
     World("supported", "the model retells a memorised repertoire and serial compute beats luck by 0.6",
           world(True, **WINS)),
     World("refuted", "the model's jokes are varied and well formed and luck beats serial compute",
           world(False, **LOSES)),
     World("nuanced", "the model retells a memorised repertoire but luck beats serial compute",
           world(True, **LOSES))),
    designs={profile: design(settings) for profile, settings in SETTINGS.items()})}


# --- Prose built from the results (each branch tested) -------------------------------------------------

ANCHOR_SAMPLES = 1008  # Jentzsch & Kersting asked ChatGPT for a joke 1,008 times
WIDE_HALF_WIDTH = 0.15  # an interval whose half-width exceeds this is called wide in the prose


def _share(stat: dict, over: str = "samples") -> str:
    return numbers.percent_interval(stat, over)


def census_row(temperature: float, answered: int, c: dict, repeated: dict, form: dict, case: str) -> str:
    """One temperature's census as a clause: answers the gate let through, distinct jokes, retold share, top-25
    share, joke-form share, case."""
    reading = "is undecided" if case == "undecided" else f"reads as {case}"
    return (f"at temperature {temperature:g}, the gate let {numbers.fraction(c['n'], answered)} answers through, "
            f"with {numbers.count(c['distinct'])} distinct jokes among them, {_share(repeated)} retold, "
            f"{numbers.percent(c['top_groups_share'])} in the 25 largest groups and {_share(form)} in a joke "
            f"format, so the census at that temperature {reading}")


def finished_clause(finished: dict[float, dict]) -> str:
    """The share of answers that ended by themselves, per temperature."""
    return numbers.listing([f"{_share(stat)} at temperature {t:g}" for t, stat in finished.items()])


def best_route_sentence(route: str, advantage: dict) -> str:
    """Which serial route does best against luck at equal compute, worded by the sign of its mean advantage."""
    if round(advantage["mean"], 2) == 0:
        return f"The serial route that does best against luck at equal compute, {route}, is level with it on average"
    if advantage["mean"] > 0:
        return f"The serial route that gains most over luck at equal compute is {route}"
    return (f"Every serial route does worse than luck at equal compute on average; the one that loses least "
            f"is {route}")


def tokens_phrase(tokens: float) -> str:
    """'1 token' for a direct answer, '23.4 tokens' for a written one."""
    if float(tokens).is_integer():
        return numbers.plural(int(tokens), "token")
    return f"{tokens:.1f} tokens on average"


def samples_phrase(samples: float) -> str:
    """The number of samples the same FLOPs buy: '4 samples', or '4.33 samples on average' across seeds."""
    if float(samples).is_integer():
        return numbers.plural(int(samples), "sample")
    return f"{numbers.value(samples)} samples on average"


def concentration_sentence(top_format_name: str, top_format: dict, largest_group_share: float, repeated: dict,
                           well_formed: dict) -> str:
    """Whether formats are more concentrated than jokes (the commonest format's interval against the largest
    joke group's share), with the retold and joke-form shares."""
    if top_format["low"] > largest_group_share:
        lead = "Formats are more concentrated than jokes"
    elif top_format["high"] < largest_group_share:
        lead = "Jokes are more concentrated than formats"
    else:
        lead = "Formats are about as concentrated as jokes"
    return (f"{lead}: the commonest format, {top_format_name}, takes {_share(top_format)} of the samples, "
            f"against {numbers.percent(largest_group_share)} for the largest group of retellings of one joke "
            f"and {_share(repeated)} for all retold jokes together; {_share(well_formed)} of the samples have "
            f"any joke form at all, a setup with an answer or a one-liner")


def top_groups_caveat(n: int) -> str:
    """How far the top-25 share is inflated by the sample size: the share the 25 largest groups would hold even
    if no joke were told twice."""
    floor = min(TOP_GROUPS, n) / n
    base = (f"Even if no joke were told twice, the {numbers.count(TOP_GROUPS)} largest groups would hold "
            f"{numbers.fraction(min(TOP_GROUPS, n), n)} samples ({numbers.percent(floor)})")
    if n >= ANCHOR_SAMPLES:
        return (f"{base}: with as many samples as the anchor's {numbers.count(ANCHOR_SAMPLES)}, that floor is small "
                f"and the top-25 share sets like beside like")
    return (f"{base}: with {numbers.plural(n, 'sample')} that share is an upper bound on concentration, and only a "
            f"run with the anchor's {numbers.count(ANCHOR_SAMPLES)} samples sets like beside like")


def memorisation_sentence(trained: dict, new: dict, baseline: float) -> str:
    """What the one-layer model answering at once shows: memorised setups, a learned rule, or neither clearly."""
    said = (f"the one-layer model answering at once gets {_share(trained, 'seeds')} of its trained setups and "
            f"{_share(new, 'seeds')} of new ones, against {numbers.percent(baseline)} for the one-setup format")
    if beats_baseline(new, baseline):
        return (f"In this run {said}: it has learned some of what a punchline is, not only memorised each setup")
    if trained["low"] > new["high"]:
        return (f"In this run {said}: memorising each trained setup came easier to it than learning what a "
                f"punchline is")
    return f"In this run {said}: the run does not separate memorising setups from learning what a punchline is"


def training_caveat(profile: str, steps: int, seconds: float, n_seeds: int, n_new: int, advantage: dict) -> str:
    """The pun world's training budget and what it does to the intervals (wide or not, from the advantage's)."""
    half = (advantage["high"] - advantage["low"]) / 2
    width = ("the intervals are wide: serial compute's advantage over luck runs from "
             if half > WIDE_HALF_WIDTH else "serial compute's advantage over luck runs from ")
    return (f"This run ({profile} profile) trains for {numbers.count(steps)} steps "
            f"({numbers.count(seconds)} s of training in all) on {numbers.plural(n_seeds, 'world')}, each with only "
            f"{numbers.count(n_new)} new setups, so a seed's accuracy on new jokes moves in steps of one setup; "
            f"{width}{numbers.value(advantage['low'], 2)} to {numbers.value(advantage['high'], 2)}")


def grokking_sentence(steps: int) -> str:
    """Grokking is not tested at this training length; say so with the length."""
    return (f"Whether much longer training turns memorisation into a rule (grokking) is not tested here: every "
            f"route trains for {numbers.count(steps)} steps, and the answer may differ from route to route")


SERIAL_WORDS = {"wins": "serial compute beats luck clearly", "loses": "serial compute does not beat luck by the margin",
                "undecided": "whether serial compute beats luck is undecided",
                "uninformative": "the pun world cannot tell serial compute from luck",
                "untrained": "the pun world has no trained routes to compare"}


def learned_clause(learned: list[str], routes: list[str]) -> str:
    """Which of ``routes`` passed their positive control at every seed, in words."""
    passed = ("every route" if set(learned) == set(routes) else f"only {numbers.listing(learned)}" if learned
              else "no route")
    return f"{passed} learned its trained setups (positive control at least {train.LEARNED:.0%} at every seed)"


def interval_words(comparison: dict) -> str:
    """'95% interval', or, when the best of several routes was picked, the Bonferroni-widened level and why."""
    if comparison["compared"] == 1:
        return "95% interval"
    compared = comparison["compared"]
    return f"{numbers.percent(1 - (1 - stats.LEVEL) / compared, 1)} interval, for picking the best of {compared} routes"


def compute_finding(comparison: dict) -> str:
    """The compute figure's caption: the advantage at equal FLOPs of the best learned serial route and what it
    reads as, or which routes did not learn."""
    if comparison["reading"] == "untrained":
        return f"{learned_clause(comparison['learned'], comparison['routes'])}, so {SERIAL_WORDS['untrained']}"
    advantage = comparison["advantage"]
    return (f"on new setups, {comparison['route']} minus best-of-n luck at equal FLOPs is "
            f"{numbers.value(advantage['mean'], 2)} ({interval_words(comparison)}, "
            f"{numbers.value(advantage['low'], 2)} to {numbers.value(advantage['high'], 2)} over seeds), so "
            f"{SERIAL_WORDS[comparison['reading']]}")


CENSUS_WORDS = {"author": "every temperature shows one of the author's cases",
                "against": "no temperature shows any of the author's cases",
                "undecided": "the census is undecided across temperatures"}


def c9_evidence(cases: dict[float, str], census: str, comparison: dict, gated: dict[float, tuple[int, int]]) -> str:
    """The verdict's evidence in words: the census per temperature (``gated``: answers the coherence gate let
    through, and answers, per temperature) and the pun world's serial-vs-luck part, read only from routes that
    learned."""
    per_t = numbers.listing([f"{case} at temperature {t:g} ({numbers.fraction(*gated[t])} answers coherent)"
                             for t, case in cases.items()])
    serial = comparison["reading"]
    if serial == "untrained":
        compute = (f"in the pun world {learned_clause(comparison['learned'], comparison['routes'])}, so luck and "
                   "serial compute are not compared")
    elif serial == "uninformative":
        compute = (f"neither serial compute ({comparison['route']}, "
                   f"{numbers.percent(comparison['route_accuracy']['mean'])} of new setups) nor luck at equal FLOPs "
                   f"({numbers.percent(comparison['luck']['mean'])}) solved new setups clearly beyond the one-setup "
                   f"baseline ({numbers.percent(comparison['baseline'])})")
    else:
        advantage = comparison["advantage"]
        compute = (f"on new setups {comparison['route']} minus luck at equal FLOPs is "
                   f"{numbers.value(advantage['mean'], 2)} ({interval_words(comparison)}, "
                   f"{numbers.value(advantage['low'], 2)} to {numbers.value(advantage['high'], 2)}) against a margin "
                   f"of {numbers.value(SERIAL_ADVANTAGE, 2)}, so {SERIAL_WORDS[serial]}")
    return f"the census reads {per_t}, so {CENSUS_WORDS[census]}; {compute}"


def sampling_clause(samples: dict[float, int]) -> str:
    """How many answers at which temperatures: '40 times at each of the temperatures 0.7 and 1', or
    '1,008 times at temperature 1 and 256 times at each of 0.3 and 0.7'."""
    by_count: dict[int, list[float]] = {}
    for t, k in samples.items():
        by_count.setdefault(k, []).append(t)
    parts = []
    for k, ts in sorted(by_count.items(), reverse=True):
        where = (f"temperature {ts[0]:g}" if len(ts) == 1
                 else "each of the temperatures " + numbers.listing([f"{t:g}" for t in ts]))
        parts.append(f"{numbers.plural(k, 'time')} at {where}")
    return numbers.listing(parts)
