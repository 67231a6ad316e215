"""Intervals. Every number a chapter reports comes with one of these."""
from __future__ import annotations

import numpy as np
from scipy import stats

LEVEL = 0.95


def mean_ci(values, level: float = LEVEL, bounds: tuple[float, float] | None = None) -> dict:
    """Mean and Student-t interval over independent runs (seeds). One value gives a zero-width interval.

    ``bounds`` clips the interval to the values the quantity can take (an accuracy cannot exceed 1),
    which matters with few seeds, where the t interval is wide.
    """
    x = np.asarray(values, dtype=float).ravel()
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
