"""Page ``book/models.md``: the two kinds of model the book runs (it tests no claim).

SmolLM2-135M-Instruct read off its configuration and weights, and a tiny two-layer transformer trained from
scratch to copy. This module holds the sentences the page builds from those numbers, so that each reads
true whatever the run measured (every seed perfect, some seeds short, none learning), and is tested on the
cases that flip it.
"""
from __future__ import annotations

from ..lab import numbers, stats

LEARNED = 0.9  # held-out copying accuracy above which a seed counts as having learned the task


def seeds(k: int, n: int) -> str:
    """'every one of 3 seeds', '2 of 3 seeds', 'none of 8 seeds', 'the only seed'."""
    if n == 1:
        return "the only seed" if k == 1 else "no seed"
    return f"{numbers.fraction(k, n)} seeds"


def learned_sentence(accuracies: list[float], steps: int, threshold: float = LEARNED) -> str:
    """The loss figure's caption: how many seeds passed ``threshold`` held-out accuracy within ``steps``."""
    k = sum(a > threshold for a in accuracies)
    text = (f"{seeds(k, len(accuracies))} passed {numbers.percent(threshold)} held-out accuracy within "
            f"{numbers.plural(steps, 'step')}.")
    return text[0].upper() + text[1:]


def accuracy_clause(accuracies: list[float]) -> str:
    """Held-out copying accuracy over seeds (fractions): exact when every seed scored the same, else an interval."""
    n = len(accuracies)
    if all(a == 1.0 for a in accuracies):
        return f"{seeds(n, n)} copies every held-out token"
    stat = stats.mean_ci(accuracies, bounds=(0, 1))
    if stat["low"] == stat["high"]:
        decimals = 1 if 100 * stat["mean"] >= 99.5 else 0  # never round a seed short of perfect up to 100%
        return f"held-out accuracy is {numbers.percent(stat['mean'], decimals)} in {seeds(n, n)}"
    return f"held-out accuracy is {numbers.percent_interval(stat, over='seeds')}"


def seed_lesson(accuracies: list[float], threshold: float = LEARNED) -> str:
    """Why every chapter trains several seeds, said in the light of what the copying seeds did."""
    k, n = sum(a > threshold for a in accuracies), len(accuracies)
    why = ("whether and when a small model learns can change from seed to seed, which is why every chapter "
           "trains several seeds and reports intervals rather than one run.")
    if k == n:
        return f"Copying is forgiving, and every seed learned it here. Other tasks are less so: {why}"
    if k == 0:
        return f"No seed learned it in this budget: {why}"
    return f"Even on this easy task only {seeds(k, n)} learned it: {why}"


def share_order(shares: dict[str, float]) -> str:
    """Parameter groups from largest to smallest share (fractions), as prose: 'feed-forward 60%, embedding
    21%, attention 20% and RMSNorm under 1%'."""
    ordered = sorted(shares.items(), key=lambda item: -item[1])
    parts = [f"{name} {numbers.percent(share) if share >= 0.005 else 'under 1%'}" for name, share in ordered]
    return numbers.listing(parts)
