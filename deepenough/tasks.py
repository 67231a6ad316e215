"""Synthetic tasks shared by several chapters, each a batch maker for ``train.train``.

Every task labels many positions per sequence: dense supervision is what lets tiny models learn in CPU
minutes (a single scored token per sequence does not).
"""
from __future__ import annotations

import itertools

import torch

from .train import IGNORE

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
