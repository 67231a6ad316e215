"""Numbers as the book prints them, in one place.

Counts as integers with separators; a measured value to the precision its interval supports; an exact
value said as exact; infinity as "never reached"; an interval as "low to high" with what it is over; a very
small or large value as "1.7 × 10⁻¹⁵", never "1.7e-15"; never "-0.0".
"""
from __future__ import annotations

import math

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def scientific(x: float, digits: int = 2) -> str:
    """1.73e-15 -> '1.7 × 10⁻¹⁵' (``digits`` significant figures); 0.001 -> '1 × 10⁻³'."""
    if x == 0:
        return "0"
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa} × 10{str(int(exponent)).translate(SUPERSCRIPT)}"


def _printed(text: str) -> str:
    """Python's formatting as the book prints it: no scientific 'e', no negative zero."""
    if "e" in text:
        mantissa, exponent = text.split("e")
        return scientific(float(text), len(mantissa.replace("-", "").replace(".", "")))
    if text.startswith("-") and float(text) == 0:
        return text[1:]
    return text


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
        return scientific(x, max(1, math.floor(math.log10(abs(x))) + decimals + 1))
    if decimals is not None:
        return _printed(f"{x:.{decimals}f}")
    return count(x) if abs(x) >= 1000 else _printed(f"{x:.3g}")


def interval(stat: dict, unit: str = "", over: str = "") -> str:
    """'0.42 (95% CI 0.38 to 0.47 over seeds)'; a zero-width interval is 'exact'."""
    unit = f" {unit}" if unit else ""
    if stat["low"] == stat["high"]:
        return f"{value(stat['mean'])}{unit}" + (" (exact)" if over == "exact" else "")
    d = decimals_for(stat["high"] - stat["low"])
    span = f"{value(stat['low'], d)} to {value(stat['high'], d)}"
    where = f" over {over}" if over and over != "exact" else ""
    return f"{value(stat['mean'], d)}{unit} (95% CI {span}{where})"


def percent(x: float, decimals: int = 0) -> str:
    """0.423 -> '42%'."""
    return f"{_printed(f'{100 * x:.{decimals}f}')}%"


def percent_interval(stat: dict, over: str = "") -> str:
    """A share as '42% (95% CI 38% to 47% over prompts)'; a zero-width interval as the share alone."""
    if stat["low"] == stat["high"]:
        return percent(stat["mean"])
    d = max(0, decimals_for(100 * (stat["high"] - stat["low"])))
    where = f" over {over}" if over else ""
    return (f"{percent(stat['mean'], d)} (95% CI {percent(stat['low'], d)} to {percent(stat['high'], d)}"
            f"{where})")


def listing(items) -> str:
    """['8', '32', '96'] -> '8, 32 and 96'."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def fraction(k: int, n: int) -> str:
    """How many of n, in words where that reads better: 'none of 9', 'every one of 15', '3 of 15'."""
    if k == 0:
        return f"none of {count(n)}"
    if k == n:
        return "the only one" if n == 1 else f"every one of {count(n)}"
    return f"{count(k)} of {count(n)}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 seed', '3 seeds' (never 'seed(s)')."""
    return f"{count(n)} {word if n == 1 else many or word + 's'}"
