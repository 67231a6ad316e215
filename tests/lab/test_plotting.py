"""Figures keep the house width however long their legend and labels are: they grow taller instead."""
import base64
import io
import json
import struct

import matplotlib
import pytest

matplotlib.use("Agg")
from matplotlib import image  # noqa: E402

from deepenough.lab import plotting  # noqa: E402
from deepenough.machinery import paths, records  # noqa: E402

PHONE_COLUMN_PX, MIN_SHOWN = 342, 0.6  # the text column at 390 px; the share of its width a figure keeps there

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


def recorded_figures(notebook: dict):
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            for mime, data in output.get("data", {}).items():
                if mime.endswith("image/png"):
                    yield output.get("metadata", {}).get("scrapbook", {}).get("name", mime), base64.b64decode(data)


def test_every_published_figure_is_narrow_enough_for_a_phone():
    """A figure wider than this is shown on a 390 px phone at under 60% of its size, its text too small."""
    wide = {}
    for folder in sorted(paths.RECORDS.iterdir()):
        if folder.name.startswith(".") or records.status(folder.name)[0] != "current":
            continue
        notebook = json.loads((folder / "notebook.ipynb").read_text())
        for name, png in recorded_figures(notebook):
            width = struct.unpack(">I", png[16:20])[0]  # the PNG header's width field
            if width * MIN_SHOWN > PHONE_COLUMN_PX:
                wide[name] = width
    assert not wide, f"published figures over {PHONE_COLUMN_PX / MIN_SHOWN:.0f} px wide: {wide}"
