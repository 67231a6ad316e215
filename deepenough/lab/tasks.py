"""Synthetic tasks shared by several chapters, each a batch maker for ``train.train``.

Every task labels many positions per sequence: dense supervision is what lets tiny models learn in CPU
minutes (a single scored token per sequence does not).
"""
from __future__ import annotations

import itertools

import torch

from .train import IGNORE

# Input bits are tokens 0/1; written states are 2/3 (their own vocabulary, so the model can tell a state it
# reads from an input it reads); the filler token is 4. Every sequence opens with a start token, 5: rotary
# positions are only relative, and without a fixed first token a model has no way to know how many bits
# it has read, which is what the counting solution to parity needs.
STATE_OFFSET, FILLER, START, PARITY_VOCAB = 2, 4, 5, 6
MODES = ("none", "filler", "cot")

S3 = list(itertools.permutations(range(3)))
S3_TABLE = torch.tensor([[S3.index(tuple(a[b[i]] for i in range(3))) for b in S3] for a in S3])


def state_tracking(batch: int, length: int, group: str = "parity"):
    """Running product of random group elements; the label at position i is the product of elements 0..i.

    ``parity`` is Z2 (2 elements: running XOR), ``s3`` the 6 permutations of three objects (non-abelian,
    the smallest group whose word problem is not solvable by counting). Tracking position i correctly
    needs the whole prefix, so accuracy by position shows how long a chain a model follows.
    """
    size = {"parity": 2, "s3": 6}[group]

    def make(gen: torch.Generator):
        x = torch.randint(0, size, (batch, length), generator=gen)
        y = torch.empty_like(x)
        y[:, 0] = x[:, 0]
        for i in range(1, length):
            y[:, i] = (y[:, i - 1] ^ x[:, i]) if group == "parity" else S3_TABLE[y[:, i - 1], x[:, i]]
        return x, y

    return make


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


def parity_task(batch: int, length: int, mode: str = "none"):
    """Batch maker for ``train.train``: parity of every prefix, laid out for ``mode``.

    none:   x0 x1 x2 ...            label y_i at x_i
    filler: x0 . x1 . x2 . ...      label y_i at the filler after x_i (one extra position of compute per step)
    cot:    x0 s0 x1 s1 ...         label y_i at x_i; s_i = y_i is written as a token, so the next step
                                    only has to combine the previous token with the current input

    Each layout follows the start token, which is not scored.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    base = state_tracking(batch, length, "parity")

    def make(gen: torch.Generator):
        x, y = base(gen)
        if mode == "none":
            ids, targets = x, y
        else:
            second = torch.full_like(x, FILLER) if mode == "filler" else y + STATE_OFFSET
            ids = torch.stack([x, second], 2).flatten(1)
            targets = torch.full_like(ids, IGNORE)
            first_scored = 1 if mode == "filler" else 0
            targets[:, first_scored::2] = y
        start = torch.full((len(ids), 1), START)
        return torch.cat([start, ids], 1), torch.cat([torch.full_like(start, IGNORE), targets], 1)

    return make
