"""One look for every figure, sized for the page it lands on.

A panel is WIDTH inches at DPI dots per inch: narrower than the book's text column (672 px), so it is
never scaled down on a desk, and on a 390 px phone it is shown at over 60% of its width, so its tick text
(TICK_PT) still renders above 9 px.
Figures with several panels stack them vertically, so each panel keeps that width. Legends go outside
the data; log axes that must show zeros use a floor that is marked on the axis.
"""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from . import numbers

PALETTE = ["#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#30343f"]
WIDTH, PANEL_HEIGHT, DPI = 5.0, 3.4, 100
TICK_PT = 11  # the smallest text on a figure; the browser test checks its rendered size from these numbers


def style() -> None:
    plt.rcParams.update({
        "figure.figsize": (WIDTH, PANEL_HEIGHT), "figure.dpi": DPI, "savefig.dpi": DPI, "savefig.bbox": "tight",
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
        "axes.prop_cycle": plt.cycler(color=PALETTE), "font.size": TICK_PT, "xtick.labelsize": TICK_PT,
        "ytick.labelsize": TICK_PT, "legend.fontsize": TICK_PT, "axes.titlesize": TICK_PT + 1,
        "axes.labelsize": TICK_PT, "legend.frameon": False,
    })


def figure(panels: int = 1, height: float = PANEL_HEIGHT, **kwargs):
    """A figure of ``panels`` panels stacked top to bottom, each the full page width and ``height`` tall;
    returns (fig, ax or axes). ``kwargs`` go to ``plt.subplots`` (``sharex=True``, say)."""
    style()
    fig, axes = plt.subplots(panels, 1, figsize=(WIDTH, height * panels), squeeze=False, layout="constrained",
                             **kwargs)
    for ax in axes[:, 0]:
        ax.tick_params(labelbottom=True)  # a shared x axis keeps its tick labels on every panel
    return fig, list(axes[:, 0]) if panels > 1 else axes[0, 0]


FIT = 0.85  # the widest a legend or label may be, as a share of the figure: centred under a panel, it stays inside


def legend_outside(ax, **kwargs):
    """The legend under the axes, off the data: two columns where they fit, else one, with labels wrapped
    until it fits, so the figure grows taller and never wider (a wider one would shrink every panel)."""
    handles, labels = ax.get_legend_handles_labels()
    renderer = ax.figure.canvas.get_renderer()
    for chars in (None, 40, 30, 20):
        shown = labels if chars is None else [textwrap.fill(label, chars) for label in labels]
        for ncol in (2, 1):
            legend = ax.legend(handles, shown, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=ncol,
                               borderaxespad=0, **kwargs)
            if legend.get_window_extent(renderer).width <= FIT * ax.figure.bbox.width:
                return legend
    return legend


def fit_to_width(fig) -> None:
    """Wrap each axis label and title wider than the figure allows (mathtext aside), for the same reason."""
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for text in (ax.xaxis.label, ax.title):
            content, width = text.get_text(), text.get_window_extent(renderer).width
            if width > FIT * fig.bbox.width and "$" not in content:
                text.set_text(textwrap.fill(content, max(12, int(len(content) * FIT * fig.bbox.width / width))))


def floored(values, floor: float) -> np.ndarray:
    """Values for a log axis: anything at or below ``floor`` (zeros included) is drawn at the floor."""
    return np.maximum(np.asarray(values, dtype=float), floor)


def mark_floor(ax, floor: float, axis: str = "x", label: str | None = None) -> None:
    """A dotted line at the floor of a log axis, saying that points on it stand for 'this small or smaller'."""
    text = label or f"≤ {numbers.value(floor)}"
    if axis == "x":
        ax.axvline(floor, color="grey", ls=":", lw=1)
        ax.annotate(text, (floor, 1.0), xycoords=("data", "axes fraction"), ha="left", va="bottom", fontsize=TICK_PT)
    else:
        ax.axhline(floor, color="grey", ls=":", lw=1)
        ax.annotate(text, (1.0, floor), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=TICK_PT)


def interval_line(ax, x, intervals: list[dict], label: str | None = None, **kwargs):
    """Means joined by a line, with each point's interval (``stats`` dicts) as an error bar."""
    means = [s["mean"] for s in intervals]
    lower = [s["mean"] - s["low"] for s in intervals]
    upper = [s["high"] - s["mean"] for s in intervals]
    return ax.errorbar(x, means, yerr=[lower, upper], label=label, marker="o", ms=4, capsize=3, **kwargs)


def log_axis(ax, axis: str = "x") -> None:
    """A log axis labelled at 1, 2 and 5 times each power of ten, in the book's numbers (no 10¹ beside 2 × 10⁰)."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    target.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    target.set_major_formatter(FuncFormatter(lambda v, _: numbers.value(v)))
    target.set_minor_formatter(NullFormatter())
