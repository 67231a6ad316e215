"""Numbers as the book prints them, in one place.

Counts as integers with separators; a measured value to the precision its interval supports; an exact
value said as exact; infinity as "never reached"; an interval as "low to high" with what it is over.
"""
from __future__ import annotations

import math


def count(n: float) -> str:
    """12345 -> '12,345'."""
    return f"{int(round(n)):,}"


def decimals_for(width: float) -> int:
    """Decimals down to the first significant digit of the half-width (0 for wide intervals)."""
    if width <= 0 or not math.isfinite(width):
        return 3
    return max(0, -math.floor(math.log10(width / 2)))


def value(x: float, decimals: int | None = None) -> str:
    """A single number: integers as counts, infinity as 'never reached', else ``decimals`` or 3 significant figures."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "not measured"
    if math.isinf(x):
        return "never reached"
    if float(x).is_integer() and abs(x) >= 1:
        return count(x)
    if decimals is not None and decimals > 4 and x != 0:  # tiny numbers: the same digits, in scientific notation
        return f"{x:.{max(1, math.floor(math.log10(abs(x))) + decimals + 1)}g}"
    if decimals is not None:
        return f"{x:.{decimals}f}"
    return f"{x:.3g}"


def interval(stat: dict, unit: str = "", over: str = "") -> str:
    """'0.42 (95% CI 0.38 to 0.47 over seeds)'; a zero-width interval is 'exact'."""
    unit = f" {unit}" if unit else ""
    if stat["low"] == stat["high"]:
        return f"{value(stat['mean'])}{unit}" + (" (exact)" if over == "exact" else "")
    d = decimals_for(stat["high"] - stat["low"])
    span = f"{value(stat['low'], d)} to {value(stat['high'], d)}"
    where = f" over {over}" if over and over != "exact" else ""
    return f"{value(stat['mean'], d)}{unit} (95% CI {span}{where})"
