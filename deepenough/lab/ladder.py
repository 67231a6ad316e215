"""Routes up the group ladder: train a model on running products (``tasks.group_task``) and measure how long
a chain it tracks.

A *route* is an architecture at a size: a standard transformer of some depth, a GRU, a feedback
transformer, a looped transformer, or a one-layer transformer with filler tokens or with its state
written as tokens (chain of thought). Every route trains through ``train.train`` on the same batches and
is scored the same way: accuracy at every chain length k up to twice the training length, and k*, the
longest k such that every chain of length 1..k is tracked at ``TRACKED`` accuracy or better.
Models go to the GPU when one is present.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from . import tasks, tiny, train
from .train import IGNORE

TRACKED = 0.9   # a chain of length k is tracked when accuracy at it is at least this (S3 chance: 1/6)
KINDS = ("transformer", "gru", "feedback", "looped")
BATCH = 64      # training batch
SAMPLES = 512   # fresh test sequences per evaluation


@dataclass(frozen=True)
class Route:
    kind: str
    depth: int = 1
    width: int = 64
    loops: int = 1
    mode: str = "none"            # none, filler or cot (transformers only)
    heads: int = 4

    @property
    def label(self) -> str:
        if self.kind == "gru":
            return f"GRU {self.depth}x{self.width}"
        if self.kind == "feedback":
            return f"feedback {self.depth}x{self.width}"
        if self.kind == "looped":
            return f"looped 1x{self.width} x{self.loops}"
        extra = {"none": "", "filler": " + filler", "cot": " + chain of thought"}[self.mode]
        return f"transformer {self.depth}x{self.width}{extra}"

    @property
    def passes(self) -> int:
        """Blocks a token's computation passes through (the GRU: its layers)."""
        return self.loops if self.kind == "looped" else self.depth


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build(route: Route, group: str, seed: int, max_len: int = 512):
    vocab = tasks.group_vocab(group)
    if route.kind == "transformer":
        model = tiny.llama(vocab, route.width, route.depth, heads=route.heads, max_len=max_len, seed=seed)
    elif route.kind == "looped":
        block = tiny.llama(vocab, route.width, 1, heads=route.heads, max_len=max_len, seed=seed)
        model = tiny.looped(block, route.loops)
    elif route.kind == "gru":
        model = tiny.RecurrentLM(vocab, route.width, depth=route.depth, cell="gru", seed=seed)
    elif route.kind == "feedback":
        model = tiny.FeedbackTransformer(vocab, route.width, depth=route.depth, heads=route.heads, seed=seed)
    else:
        raise ValueError(f"unknown route kind {route.kind!r}; one of {KINDS}")
    if route.mode != "none" and route.kind != "transformer":
        raise ValueError("filler and chain of thought are transformer routes")
    return model.to(device())


def flops_per_token(model, route: Route, context: int) -> float:
    if route.kind == "gru":
        return tiny.recurrent_flops_per_token(model)
    if route.kind == "feedback":
        return model.flops_per_token(context)
    return tiny.flops_per_token(model, context)


@torch.no_grad()
def accuracy_by_chain(model, group: str, length: int, mode: str = "none", samples: int = SAMPLES,
                      seed: int = 10_000) -> np.ndarray:
    """Accuracy at chain length k = 1..length on fresh sequences. For ``cot`` the written states are the
    model's own greedy outputs, so an early mistake propagates as in real chain-of-thought decoding."""
    ids, targets = tasks.group_task(samples, length, group, mode)(torch.Generator().manual_seed(seed))
    if mode == "cot":
        offset, ids = tasks.group_tokens(group)["state_offset"], ids.clone()
        for i in range(length):            # element i sits at 1 + 2i, its written state at 2 + 2i
            guess = train.predictions(model, ids[:, : 2 * i + 2])[:, -1]
            ids[:, 2 * i + 2] = guess.clamp(0, offset - 1) + offset
    hits = train.predictions(model, ids) == targets
    scored = targets != IGNORE
    return np.array([hits[:, j][scored[:, j]].float().mean().item() for j in range(ids.shape[1]) if scored[:, j].any()])


def longest_tracked(acc_by_k, threshold: float = TRACKED) -> int:
    """The largest k such that every chain of length 1..k is tracked (0 if even k = 1 is not)."""
    below = np.flatnonzero(np.asarray(acc_by_k) < threshold)
    return int(below[0]) if below.size else len(acc_by_k)


def run(route: Route, group: str, length: int, steps: int, seed: int, batch: int = BATCH, lr: float = 3e-3) -> dict:
    """Train ``route`` on chains of ``length`` and measure it to twice that length."""
    model = build(route, group, seed, max_len=8 * length + 8)
    log = train.train(model, tasks.group_task(batch, length, group, route.mode), steps, seed=seed, lr=lr)
    acc = accuracy_by_chain(model, group, 2 * length, route.mode)
    context = (2 if route.mode != "none" else 1) * length + 1
    return {"route": route, "seed": seed, "group": group, "accuracy": acc,
            "k_star": longest_tracked(acc[:length]), "k_star_long": longest_tracked(acc),
            "params": tiny.count_params(model), "flops": flops_per_token(model, route, context),
            "seconds": log.seconds}


def sweep(routes: list[Route], group: str, seeds: list[int], **settings) -> list[dict]:
    return [run(r, group, seed=s, **settings) for r in routes for s in seeds]


def of(runs: list[dict], route: Route, key: str) -> list:
    """One value per seed of ``key`` for ``route``, in seed order."""
    return [r[key] for r in sorted(runs, key=lambda r: r["seed"]) if r["route"] == route]


def chain_at(call: int, length: int, ramp: int, start: int = 2) -> int:
    """The chain length of a curriculum's ``call``-th batch: from ``start``, growing evenly to ``length`` over the
    first ``ramp`` calls, then ``length``."""
    return min(length, start + (length - start) * call // max(1, ramp))


def curriculum(task: Callable[[int], Callable], length: int, ramp: int, start: int = 2):
    """A batch maker whose chains grow from ``start`` to ``length`` over its first ``ramp`` calls (``chain_at``);
    ``task(n)`` is the batch maker for chains of length n."""
    makers, calls = {n: task(n) for n in range(start, length + 1)}, itertools.count()

    def make(gen: torch.Generator):
        return makers[chain_at(next(calls), length, ramp, start)](gen)

    return make


def training_flops(flops_per_token: float, steps: int, length: int, ramp: int, start: int = 2) -> float:
    """Training compute of ``steps`` steps of a ``curriculum`` that reaches ``length`` in ``ramp`` steps: 3 x the
    forward FLOPs per token (forward and backward, Kaplan et al.) for every token trained on, a start token and
    the chain. ``flops_per_token`` is the forward cost at the training length: an upper bound early on."""
    chains = sum(chain_at(i, length, ramp, start) for i in range(steps))
    return 3.0 * flops_per_token * BATCH * (chains + steps)


def simulated_accuracy(rng: np.random.Generator, tracked: int, length: int, chance: float,
                       samples: int = SAMPLES) -> np.ndarray:
    """For the power worlds: an accuracy-by-chain curve to twice ``length``, near-perfect up to ``tracked``, then
    decaying to ``chance`` within a few steps, each point a share of ``samples`` test sequences."""
    k = np.arange(1, 2 * length + 1)
    p = np.where(k <= tracked, 0.995, chance + (0.995 - chance) * np.exp(-(k - tracked) / 1.5))
    return rng.binomial(samples, p) / samples
