"""Shared chart style: a colour-blind-safe palette and a figure helper.

Colours are the Okabe–Ito palette (Okabe & Ito, "Color Universal Design", 2008), which stays
distinguishable for the common forms of colour blindness. Charts also vary line style or hatching,
so that no meaning rests on colour alone.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

#: Okabe–Ito colours by name (hex strings).
PALETTE: dict[str, str] = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}

#: The palette in the order charts use it for successive series.
SERIES_COLOURS: list[str] = [
    PALETTE[k] for k in ("blue", "orange", "bluish_green", "vermillion", "reddish_purple", "sky_blue", "yellow")
]

#: Hatches and line styles that accompany the colours.
HATCHES: list[str] = ["", "//", "..", "xx", "\\\\", "++", "oo"]
LINESTYLES: list[str] = ["-", "--", ":", "-."]


def new_figure(width: float = 7.0, height: float = 4.0):
    """Return ``(fig, ax)`` with the course style: size in inches, white background, light grid."""
    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    ax.grid(True, axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def show_in_output(out, fig) -> None:
    """Replace what the ipywidgets ``Output`` widget ``out`` shows with ``fig`` as a PNG image
    (100 dpi), then close ``fig``.

    Widgets redraw charts this way rather than with ``with out:`` capture or ``interactive_output``:
    captured display messages can leave a client without a browser (nbclient, in the tests) waiting
    for the cell to end (jupyter/nbclient#312), and appending data is also safe from threads
    (shared/cases "thread-output")."""
    import io

    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    out.outputs = ()
    out.append_display_data(Image(data=buf.getvalue(), format="png"))
