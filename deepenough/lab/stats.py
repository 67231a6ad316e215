"""Intervals. Every number a chapter reports comes with one of these."""
from __future__ import annotations

import numpy as np
from scipy import stats

LEVEL = 0.95


def mean_ci(values, level: float = LEVEL, bounds: tuple[float, float] | None = None) -> dict:
    """Mean and Student-t interval over independent runs (seeds, prompts). One value is a point, not an interval.

    Two values are refused: with one degree of freedom the t multiplier is 12.7, so the interval spans
    any axis and decides nothing; run a third seed, or use an interval over evaluation items
    (``proportion_ci``) when those are the replicated unit. ``bounds`` clips the interval to the values
    the quantity can take (an accuracy cannot exceed 1).
    """
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 2:
        raise ValueError("two values give no usable t interval (t = 12.7): use three or more")
    mean = float(x.mean())
    if x.size < 2 or np.all(x == x[0]):
        return {"mean": mean, "low": mean, "high": mean, "n": int(x.size)}
    low, high = stats.t.interval(level, x.size - 1, loc=mean, scale=stats.sem(x))
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return {"mean": mean, "low": float(low), "high": float(high), "n": int(x.size)}


def proportion_ci(successes: int, n: int, level: float = LEVEL) -> dict:
    """Share of successes with a Wilson score interval (sound at 0 and 1, unlike mean ± 2 se)."""
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(level, method="wilson")
    return {"mean": successes / n, "low": float(ci.low), "high": float(ci.high), "n": int(n)}


def bootstrap_ci(values, statistic=np.mean, level: float = LEVEL, seed: int = 0) -> dict:
    """Percentile bootstrap for statistics without a closed-form interval (medians, maxima of samples)."""
    x = np.asarray(values, dtype=float).ravel()
    point = float(statistic(x))
    if x.size < 2 or np.all(x == x[0]):
        return {"mean": point, "low": point, "high": point, "n": int(x.size)}
    res = stats.bootstrap((x,), statistic, confidence_level=level, method="percentile",
                          random_state=np.random.default_rng(seed))
    return {"mean": point, "low": float(res.confidence_interval.low),
            "high": float(res.confidence_interval.high), "n": int(x.size)}


def cluster_bootstrap_ci(values, clusters, statistic=np.mean, level: float = LEVEL, resamples: int = 2000,
                         seed: int = 0, bounds: tuple[float, float] | None = None) -> dict:
    """Percentile bootstrap that resamples whole clusters (steps within a continuation, templates within a
    country, sequences within a seed), so correlated observations count once; ``n`` is the number of
    clusters. ``statistic`` is applied to the pooled observations of each resample."""
    x = np.asarray(values, dtype=float).ravel()
    labels = np.asarray(clusters).ravel()
    groups = [x[labels == c] for c in dict.fromkeys(labels.tolist())]
    point = float(statistic(x))
    if len(groups) < 2 or np.all(x == x[0]):
        return {"mean": point, "low": point, "high": point, "n": len(groups)}
    rng = np.random.default_rng(seed)
    draws = [float(statistic(np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])))
             for _ in range(resamples)]
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return {"mean": point, "low": float(min(low, point)), "high": float(max(high, point)), "n": len(groups)}
