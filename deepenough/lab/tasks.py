"""Synthetic tasks shared by several chapters, each a batch maker for ``train.train``.

Every task labels many positions per sequence: dense supervision is what lets tiny models learn in CPU
minutes (a single scored token per sequence does not).
"""
from __future__ import annotations

import itertools

import torch

from .train import IGNORE

MODES = ("none", "filler", "cot")


def copy(batch: int, length: int, vocab: int):
    """Copying: ``length`` random tokens, a separator (id 0), then the same tokens again, each scored.

    Reproducing token i needs attention to the position ``length + 1`` places back; with rotary
    positions one attention layer can learn that offset, so this is the quickest task to show a model
    learning.
    """
    def make(gen: torch.Generator):
        x = torch.randint(1, vocab, (batch, length), generator=gen)
        ids = torch.cat([x, torch.zeros(batch, 1, dtype=torch.long), x], 1)
        targets = torch.full_like(ids, IGNORE)
        targets[:, length:2 * length] = x
        return ids, targets

    return make


# --- the group ladder: Z2 (parity), S3, A5 -------------------------------------------------------------
# Each group is a list of permutations; element i times element j is the permutation "apply j, then i"
# (b applied first, then a). The ladder climbs in how much parallel shortcut the word problem
# admits: Z2 is abelian (a running count mod 2), S3 is solvable but not abelian (a constant-depth
# shortcut exists through its normal series Z3 < S3, but it is hard to learn), A5 is the smallest
# non-solvable group (no constant-depth circuit in TC0 tracks it unless TC0 = NC1).
LADDER = ("z2", "s3", "a5")


def _even(p: tuple[int, ...]) -> bool:
    inversions = sum(1 for i in range(len(p)) for j in range(i + 1, len(p)) if p[i] > p[j])
    return inversions % 2 == 0


def group_elements(group: str) -> list[tuple[int, ...]]:
    """The group's elements as permutations, the identity first."""
    if group in ("z2", "parity"):
        return [(0, 1), (1, 0)]
    if group == "s3":
        return list(itertools.permutations(range(3)))
    if group == "a5":
        return [p for p in itertools.permutations(range(5)) if _even(p)]
    raise ValueError(f"unknown group {group!r}; the ladder is {LADDER}")


def group_table(group: str) -> torch.Tensor:
    """Multiplication table: ``table[a, b]`` is the index of a∘b (b applied first, then a)."""
    elements = group_elements(group)
    index = {p: i for i, p in enumerate(elements)}
    n = len(elements[0])
    return torch.tensor([[index[tuple(a[b[i]] for i in range(n))] for b in elements] for a in elements])


def _inverse(table: torch.Tensor) -> torch.Tensor:
    """Index of each element's inverse (the identity is element 0 in every table here)."""
    return (table == 0).float().argmax(1)


def _closure(table: torch.Tensor, generators: set[int]) -> set[int]:
    group = {0} | set(generators)
    while True:
        grown = group | {int(table[a, b]) for a in group for b in group}
        if grown == group:
            return group
        group = grown


def derived_series(table: torch.Tensor) -> list[int]:
    """Orders of G, [G, G], [[G, G], [G, G]], ... until the series stops shrinking."""
    inverse = _inverse(table)
    current, orders = set(range(len(table))), [len(table)]
    while True:
        commutators = {int(table[table[inverse[a], inverse[b]], table[a, b]]) for a in current for b in current}
        nxt = _closure(table, commutators)
        if len(nxt) == len(current):
            return orders
        current = nxt
        orders.append(len(current))


def is_solvable(table: torch.Tensor) -> bool:
    """A group is solvable when its derived series reaches the trivial group."""
    return derived_series(table)[-1] == 1


def group_vocab(group: str) -> int:
    """Tokens: elements 0..n-1, written states n..2n-1, the filler 2n, the start token 2n+1."""
    return 2 * len(group_elements(group)) + 2


def group_tokens(group: str) -> dict[str, int]:
    n = len(group_elements(group))
    return {"elements": n, "state_offset": n, "filler": 2 * n, "start": 2 * n + 1, "vocab": 2 * n + 2}


def running_products(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Label at position i: x_0 x_1 ... x_i, folded left to right (state <- state * x_i)."""
    y = torch.empty_like(x)
    y[:, 0] = x[:, 0]
    for i in range(1, x.shape[1]):
        y[:, i] = table[y[:, i - 1], x[:, i]]
    return y


def group_task(batch: int, length: int, group: str, mode: str = "none"):
    """The ladder's batch maker: ``length`` random elements after a start token, the running product labelled
    at every step. Layouts (``mode``):

    none:   x0 x1 x2 ...            label y_i at x_i
    filler: x0 . x1 . x2 . ...      label y_i at the filler after x_i (one extra position of compute per step)
    cot:    x0 s0 x1 s1 ...         label y_i at x_i; s_i = y_i is written as a token, so the next step
                                    only has to combine the previous token with the current input

    The start token is there because rotary positions are only relative: without a fixed first token a
    model cannot tell how many elements it has read. ``group="z2"`` is running parity."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    table, tok = group_table(group), group_tokens(group)

    def make(gen: torch.Generator):
        x = torch.randint(0, tok["elements"], (batch, length), generator=gen)
        y = running_products(x, table)
        if mode == "none":
            ids, targets = x, y
        else:
            second = torch.full_like(x, tok["filler"]) if mode == "filler" else y + tok["state_offset"]
            ids = torch.stack([x, second], 2).flatten(1)
            targets = torch.full_like(ids, IGNORE)
            targets[:, (1 if mode == "filler" else 0)::2] = y
        start = torch.full((len(ids), 1), tok["start"])
        return torch.cat([start, ids], 1), torch.cat([torch.full_like(start, IGNORE), targets], 1)

    return make


def associative_recall(batch: int, pairs: int, queries: int, keys: int, values: int):
    """Multi-query associative recall (MQAR, Arora et al. 2023): ``pairs`` key-value pairs, then ``queries``
    keys asked again, each followed by its value, which is scored.

    Keys are ids ``0..keys-1`` (distinct within a sequence), values ``keys..keys+values-1`` (their own
    vocabulary, drawn with repeats). Queries are drawn with replacement from the sequence's keys, so
    elimination (each answer used once) does not help. Layout: ``k1 v1 ... kP vP q1 a1 ... qQ aQ``; the
    target at each query is its value, the next token, as in ``copy``.
    """
    if pairs > keys:
        raise ValueError("need at least as many keys as pairs")

    def make(gen: torch.Generator):
        k = torch.argsort(torch.rand(batch, keys, generator=gen), 1)[:, :pairs]
        v = torch.randint(keys, keys + values, (batch, pairs), generator=gen)
        asked = torch.randint(0, pairs, (batch, queries), generator=gen)
        q, a = k.gather(1, asked), v.gather(1, asked)
        ids = torch.cat([torch.stack([k, v], 2).flatten(1), torch.stack([q, a], 2).flatten(1)], 1)
        targets = torch.full_like(ids, IGNORE)
        targets[:, 2 * pairs::2] = a
        return ids, targets

    return make
