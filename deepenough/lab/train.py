"""The one training loop every from-scratch model in the book goes through.

A task is a function ``make_batch(generator) -> (ids, targets)``; ``targets`` holds -100 where a
position is not scored. Training and evaluation both read only that pair, so a new task needs no new loop.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .tiny import device_of, logits

IGNORE = -100
LEARNED = 0.95   # in-distribution accuracy a model needs before any comparison may read it
Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class TrainLog:
    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    probes: list[tuple[int, object]] = field(default_factory=list)  # (steps taken, what ``probe`` returned)


def loss_fn(model, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    out = logits(model, ids)
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)


def train(model, make_batch: Callable[[torch.Generator], Batch], steps: int, seed: int = 0, lr: float = 1e-3,
          weight_decay: float = 0.0, warmup: int = 50, log_every: int = 25,
          target_loss: float | None = None, probe: Callable | None = None, probe_every: int = 0) -> TrainLog:
    """AdamW with linear warm-up then cosine decay; stops early once the logged loss is under ``target_loss``.

    ``probe(model)`` runs after every ``probe_every`` steps (its time is not counted): a curve of what the model
    can do against the compute spent, from one run.

    Batches are made on the CPU (so a seed gives the same data everywhere) and moved to the model's device."""
    import time

    gen = torch.Generator().manual_seed(seed)
    device = device_of(model)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + torch.cos(torch.tensor(torch.pi * s / steps)).item()))
    log, start, probing = TrainLog(), time.perf_counter(), 0.0
    model.train()
    for step in range(steps):
        ids, targets = (t.to(device) for t in make_batch(gen))
        loss = loss_fn(model, ids, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        schedule.step()
        if step % log_every == 0 or step == steps - 1:
            log.steps.append(step)
            log.loss.append(loss.item())
            if target_loss is not None and loss.item() < target_loss:
                break
        if probe is not None and (step + 1) % probe_every == 0:
            before = time.perf_counter()
            log.probes.append((step + 1, probe(model)))
            model.train()
            probing += time.perf_counter() - before
    model.eval()
    log.seconds = time.perf_counter() - start - probing
    return log


@torch.no_grad()
def predictions(model, ids: torch.Tensor) -> torch.Tensor:
    model.eval()
    return logits(model, ids.to(device_of(model))).argmax(-1).cpu()


@torch.no_grad()
def accuracy(model, batch: Batch) -> float:
    """Share of scored positions predicted exactly."""
    ids, targets = batch
    mask = targets != IGNORE
    return (predictions(model, ids)[mask] == targets[mask]).float().mean().item()


def positive_control(model, held_out: Batch, chance: float, threshold: float = LEARNED, at: str = "") -> dict:
    """Did the model learn its in-distribution task? Accuracy on held-out sequences at the training length
    (``at`` says which), the chance level, and ``learned`` against ``threshold``. A model that did not learn
    is never evidence for or against a claim: rules read only learned routes."""
    score = accuracy(model, held_out)
    return {"accuracy": score, "chance": float(chance), "threshold": float(threshold),
            "learned": bool(score >= threshold), "at": at}
