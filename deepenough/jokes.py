"""Joke-writing depth (C9): a joke census of SmolLM2, and luck vs serial compute in a synthetic pun world.

Part 1 samples "Tell me a joke." many times, groups near-duplicates, matches known jokes and classifies
each sample's format. Part 2 trains tiny transformers on a task with a checkable "clever" answer (the
word linked to both of two setups) and compares best-of-n sampling (luck) with depth and looping
(serial compute) at equal FLOPs per answer.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import torch

from . import tiny, train

# --- Part 1: the joke census -------------------------------------------------------------------------

PROMPT = "Tell me a joke."
TOP_GROUPS = 25  # Jentzsch & Kersting (2023) report the share of the 25 most common jokes
NEAR_DUPLICATE_OVERLAP = 0.6  # word-bigram overlap coefficient at or above which two texts are one joke
MIN_BIGRAMS = 3  # texts shorter than this are compared by exact normalised text only
DATA = Path(__file__).with_name("data")

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


def group_near_duplicates(texts: list[str], threshold: float = NEAR_DUPLICATE_OVERLAP) -> list[int]:
    """Group id per text: single-linkage clusters of pairs whose overlap is >= threshold (union-find)."""
    parent = list(range(len(texts)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(texts)):
        for j in range(i):
            if overlap(texts[i], texts[j]) >= threshold:
                parent[root(i)] = root(j)
    roots = [root(i) for i in range(len(texts))]
    order = {r: k for k, r in enumerate(dict.fromkeys(roots))}
    return [order[r] for r in roots]


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
def sample_jokes(model, tokenizer, n: int, temperature: float, seed: int, batch: int = 32,
                 max_new_tokens: int = 40) -> list[str]:
    """``n`` answers to PROMPT through the chat template, pure temperature sampling, batched (left padding)."""
    tokenizer.padding_side = "left"
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": PROMPT}], tokenize=False,
                                           add_generation_prompt=True)
    torch.manual_seed(seed)
    texts = []
    for start in range(0, n, batch):
        enc = tokenizer([prompt] * min(batch, n - start), return_tensors="pt", padding=True)
        out = model.generate(**enc, do_sample=True, temperature=temperature, top_k=0, top_p=1.0,
                             max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id)
        texts += tokenizer.batch_decode(out[:, enc.input_ids.shape[1]:], skip_special_tokens=True)
    return texts


def census(texts: list[str], known: list[str]) -> dict:
    """Concentration of jokes and of formats in one set of samples."""
    groups = group_near_duplicates(texts)
    sizes = Counter(groups).most_common()
    formats = [classify_format(t) for t in texts]
    n = len(texts)
    return {
        "n": n,
        "groups": groups,
        "group_sizes": [s for _, s in sizes],
        "distinct": len(sizes),
        "top_groups_share": sum(s for _, s in sizes[:TOP_GROUPS]) / n,
        "top_group_members": [texts[groups.index(g)] for g, _ in sizes[:5]],
        "known": sum(matches_known(t, known) for t in texts),
        "formats": Counter(formats),
        "top_format_share": Counter(formats).most_common(1)[0][1] / n,
        "joke_format_share": sum(f in JOKE_FORMATS for f in formats) / n,
    }


# --- Part 2: the pun world ---------------------------------------------------------------------------
# A fresh world in every sequence: FACTS facts "a b w" (word w has the two senses a and b), then QUERIES
# two-setup queries "? a1 a2 w", scored at a2 (where w is predicted). The "clever" punchline is the one word whose fact holds both setups.
# Because the world changes every sequence, nothing can be memorised: the word must be found by
# intersecting the two setups over the facts in context.

SENSES, WORDS, FACTS, QUERIES = 8, 8, 5, 4
ASK = SENSES + WORDS
VOCAB = ASK + 1
SEQ_LEN = 3 * FACTS + 4 * QUERIES


def make_world(gen: torch.Generator):
    """One world: FACTS distinct words, each with a distinct unordered pair of senses."""
    pairs = torch.combinations(torch.arange(SENSES), 2)
    chosen = pairs[torch.randperm(len(pairs), generator=gen)[:FACTS]]
    flip = torch.rand(FACTS, generator=gen) < 0.5
    chosen = torch.where(flip[:, None], chosen.flip(1), chosen)
    words = SENSES + torch.randperm(WORDS, generator=gen)[:FACTS]
    return chosen, words


def pun_world(batch: int):
    """Batch maker for ``train.train``: facts, then queries with the punchline scored."""
    def make(gen: torch.Generator):
        ids = torch.empty(batch, SEQ_LEN, dtype=torch.long)
        targets = torch.full_like(ids, train.IGNORE)
        for row in range(batch):
            senses, words = make_world(gen)
            facts = torch.cat([senses, words[:, None]], 1).flatten()
            asked = torch.randint(0, FACTS, (QUERIES,), generator=gen)
            swap = torch.rand(QUERIES, generator=gen) < 0.5
            setups = torch.where(swap[:, None], senses[asked].flip(1), senses[asked])
            queries = torch.cat([torch.full((QUERIES, 1), ASK), setups, words[asked, None]], 1).flatten()
            ids[row] = torch.cat([facts, queries])
            targets[row, 3 * FACTS + 2::4] = words[asked]  # scored where the punchline is predicted
        return ids, targets

    return make


def one_link_baseline(ids: torch.Tensor) -> float:
    """Expected success of a memorised format that knows only one setup: a random word holding setup a1."""
    facts = ids[:, :3 * FACTS].reshape(len(ids), FACTS, 3)
    first = ids[:, 3 * FACTS + 1::4]
    holders = ((facts[:, None, :, :2] == first[:, :, None, None]).any(-1)).sum(-1)
    return (1.0 / holders.float()).mean().item()


@torch.no_grad()
def correct_probability(model, batch) -> torch.Tensor:
    """Probability the model gives the right punchline at each scored query (sampling at temperature 1)."""
    ids, targets = batch
    probs = torch.softmax(tiny.logits(model, ids), -1)
    mask = targets != train.IGNORE
    return probs[mask].gather(1, targets[mask][:, None]).squeeze(1)


def best_of_n(p_correct: torch.Tensor, n: int) -> float:
    """Exact expected success of n independent samples with a checker that accepts the right word."""
    return (1 - (1 - p_correct) ** n).mean().item()


def route_models(seed: int, d_model: int, loops: int, depths: tuple[int, ...]) -> dict:
    """The serial-compute routes: plain depth ``depths`` and one block looped ``loops`` times."""
    models = {f"depth {d}": tiny.llama(VOCAB, d_model, d, heads=4, max_len=SEQ_LEN, seed=seed) for d in depths}
    one = tiny.llama(VOCAB, d_model, 1, heads=4, max_len=SEQ_LEN, seed=seed)
    models[f"1 block x {loops} loops"] = tiny.looped(one, loops)
    return models


def flops_per_answer(model) -> float:
    """Forward FLOPs to produce one answer token after reading the whole sequence (context SEQ_LEN)."""
    return tiny.flops_per_token(model, SEQ_LEN)


def train_routes(seed: int, steps: int, d_model: int, loops: int, depths: tuple[int, ...],
                 batch: int = 64, lr: float = 3e-3, eval_batch: int = 512) -> dict:
    """Train every route on one seed; return greedy accuracy, P(correct) and FLOPs per answer for each."""
    test = pun_world(eval_batch)(torch.Generator().manual_seed(10_000 + seed))
    out = {"baseline": one_link_baseline(test[0])}
    for name, model in route_models(seed, d_model, loops, depths).items():
        log = train.train(model, pun_world(batch), steps, seed=seed, lr=lr)
        out[name] = {"accuracy": train.accuracy(model, test), "p_correct": correct_probability(model, test),
                     "flops": flops_per_answer(model), "params": tiny.count_params(model),
                     "seconds": log.seconds}
    return out


def luck_at_equal_compute(route: dict, shallow: dict) -> float:
    """Best-of-n success of the shallow model with the largest n whose FLOPs do not exceed the route's."""
    n = max(1, int(route["flops"] // shallow["flops"]))
    return best_of_n(shallow["p_correct"], n)


# --- Verdict ------------------------------------------------------------------------------------------

MEMORISED_SHARE = 0.5  # at least half the samples retell a joke another sample also told (J&K: > 0.9 in the top 25)
FORMAT_SHARE = 0.5  # one joke format holds at least half the samples: formats, not jokes, are memorised
WELL_FORMED_MIN = 0.5  # fewer than half the samples in any joke format: case (1), "not particularly clever"
SERIAL_ADVANTAGE = 0.10  # serial compute must beat luck at equal FLOPs by 10 points (lower CI bound)
LEARNED_MARGIN = 0.10  # a route "learned" the two-setup task if its lower bound beats the one-setup baseline by this


def repeated_share(group_sizes: list[int], n: int) -> float:
    """Share of samples in a group of two or more: jokes told more than once. Unlike the top-25 share,
    it does not grow by itself when there are few samples (with 50 samples the top 25 groups always
    hold at least half)."""
    return sum(size for size in group_sizes if size >= 2) / n


def census_case(repeated: float, top_format_share: float, joke_format_share: float) -> str:
    """Which of the author's cases the census shows (luck, case 2, cannot be seen without a funniness judge)."""
    if repeated >= MEMORISED_SHARE:
        return "memorised jokes"
    if joke_format_share < WELL_FORMED_MIN:
        return "not clever"
    if top_format_share >= FORMAT_SHARE:
        return "memorised formats"
    return "none of the three"


def serial_beats_luck(advantage: dict) -> bool:
    """True when the lower bound of (serial success - luck success at equal FLOPs) clears SERIAL_ADVANTAGE."""
    return advantage["low"] >= SERIAL_ADVANTAGE


def route_learned(best_route: dict, baseline: float) -> bool:
    """Did any serial route solve two-setup puns clearly better than a format that knows one setup?"""
    return best_route["low"] >= baseline + LEARNED_MARGIN


def c9_verdict(case: str, serial_wins: bool, learned: bool = True) -> str:
    """Supported when the census shows one of the author's cases and serial compute beats luck.

    If no route learned the checkable task, the compute comparison says nothing either way, and the
    census alone cannot settle the claim."""
    if not learned:
        return "nuanced"
    if case != "none of the three" and serial_wins:
        return "supported"
    if case != "none of the three" or serial_wins:
        return "nuanced"
    return "refuted"
