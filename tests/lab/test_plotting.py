"""Figures keep the house width however long their legend and labels are: they grow taller instead."""
import io

import matplotlib
import pytest

matplotlib.use("Agg")
from matplotlib import image  # noqa: E402

from deepenough.lab import plotting  # noqa: E402

LONG = ["from the FFN's own input (reference)", "from the keys+values token t reads",
        "keys+values, shuffled targets (control)", "settle layer of the answer (bootstrap 95% over items)"]


def saved_size(fig) -> tuple[int, int]:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    height, width = image.imread(io.BytesIO(buffer.getvalue())).shape[:2]
    return width, height


@pytest.mark.parametrize("labels", [LONG[:2], LONG, [LONG[3] * 2]])
def test_a_long_legend_and_axis_label_keep_the_house_width(labels):
    fig, ax = plotting.figure()
    for i, label in enumerate(labels):
        ax.plot([0, 1], [i, i + 1], label=label)
    ax.set_xlabel("tokens to copy N (each model trained on every N it is drawn at, and more words besides)")
    plotting.legend_outside(ax)
    plotting.fit_to_width(fig)
    width, height = saved_size(fig)
    assert width <= plotting.WIDTH * plotting.DPI * 1.05
    panel = ax.get_window_extent().width
    assert panel >= 0.7 * plotting.WIDTH * plotting.DPI  # the panel was not squeezed to make room
    assert height > plotting.PANEL_HEIGHT * plotting.DPI


def test_a_short_legend_stays_in_two_columns():
    fig, ax = plotting.figure()
    for label in ("GRU 4", "GRU 64", "transformer"):
        ax.plot([0, 1], [0, 1], label=label)
    assert plotting.legend_outside(ax)._ncols == 2
