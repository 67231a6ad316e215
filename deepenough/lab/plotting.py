"""One look for every figure: readable fonts, no chart junk, intervals drawn the same way everywhere."""
from __future__ import annotations

import matplotlib.pyplot as plt

PALETTE = ["#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#30343f"]


def style() -> None:
    plt.rcParams.update({
        "figure.figsize": (6.4, 3.8), "figure.dpi": 110, "savefig.bbox": "tight",
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
        "axes.prop_cycle": plt.cycler(color=PALETTE), "font.size": 10, "legend.frameon": False,
    })


def figure(ncols: int = 1, width: float = 6.4, height: float = 3.8):
    style()
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False)
    return fig, axes[0] if ncols > 1 else axes[0, 0]


def interval_line(ax, x, intervals: list[dict], label: str | None = None, **kwargs):
    """Means joined by a line, with each point's interval (``stats`` dicts) as an error bar."""
    means = [s["mean"] for s in intervals]
    lower = [s["mean"] - s["low"] for s in intervals]
    upper = [s["high"] - s["mean"] for s in intervals]
    return ax.errorbar(x, means, yerr=[lower, upper], label=label, marker="o", ms=4, capsize=3, **kwargs)
