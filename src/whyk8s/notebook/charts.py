"""Shared chart style: a colour-blind-safe palette and a figure helper.

Colours are the Okabe–Ito palette (Okabe & Ito, "Color Universal Design", 2008), which stays
distinguishable for the common forms of colour blindness. Charts also vary line style or hatching,
so that no meaning rests on colour alone.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
from matplotlib.markers import MarkerStyle

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


#: One marker and one colour per step of a timeline, the same in every chart of the course (live
#: timelines, recorded runs, the node-failure chart). Steps are those of :data:`whyk8s.lessons.events.STEPS`;
#: anything else (an Event's reason such as ``BackOff``) is drawn with :data:`OTHER_STYLE`.
TIMELINE_STYLES: dict[str, tuple[str, str]] = {
    "Created": ("o", PALETTE["blue"]),
    "Scaled": ("D", PALETTE["orange"]),
    "Updated": ("d", PALETTE["yellow"]),
    "Scheduled": ("^", PALETTE["sky_blue"]),
    "Unschedulable": ("*", PALETTE["yellow"]),
    "Running": ("s", PALETTE["bluish_green"]),
    "Succeeded": ("P", PALETTE["bluish_green"]),
    "Failed": ("X", PALETTE["vermillion"]),
    "Preempted": ("v", PALETTE["vermillion"]),
    "Evicted": ("v", PALETTE["orange"]),
    "Terminating": (">", PALETTE["reddish_purple"]),
    "Deleted": ("x", PALETTE["black"]),
    "NodeNotReady": ("h", PALETTE["vermillion"]),
    "NodeReady": ("h", PALETTE["bluish_green"]),
}
#: Marker and colour of a timeline entry that is not one of the steps above.
OTHER_STYLE: tuple[str, str] = (".", "#777777")


def style_axes(ax, grid: str = "y"):
    """Give ``ax`` the course style: a light grid along ``grid`` (``"x"``, ``"y"`` or ``"both"``) drawn
    below the data, no top or right frame line. Returns ``ax``."""
    ax.grid(True, axis=grid, color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def new_figure(width: float = 7.0, height: float = 4.0):
    """Return ``(fig, ax)`` with the course style (:func:`style_axes`): size in inches, 100 dpi, white
    background, light horizontal grid."""
    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    style_axes(ax)
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


def plot_timeline(records: list[dict], title: str = "", ax=None):
    """Draw timeline records (dicts with ``t`` seconds, ``object``, ``what``) as a chart: time across,
    one row per object (top to bottom in order of first appearance), one marker per record styled by
    :data:`TIMELINE_STYLES`, with a legend listing the steps in the order they first occur. Returns
    the Axes."""
    objects = list(dict.fromkeys(r["object"] for r in records))
    steps = list(dict.fromkeys(r["what"] for r in records))
    if ax is None:  # tall enough for every row and for the legend, whichever needs more
        _, ax = new_figure(8, max(2.4, 0.8 + 0.42 * len(objects), 0.9 + 0.3 * len(steps)))
    for what in steps:
        pts = [r for r in records if r["what"] == what]
        marker, colour = TIMELINE_STYLES.get(what, OTHER_STYLE)
        # a black outline for filled markers; line markers ("x") are drawn in their colour only
        outline = {"edgecolors": PALETTE["black"], "linewidths": 0.5} if MarkerStyle(marker).is_filled() else {}
        ax.scatter([r["t"] for r in pts], [objects.index(r["object"]) for r in pts], marker=marker,
                   color=colour, s=60, label=what, zorder=3, **outline)
    ax.set_yticks(range(len(objects)), objects)
    ax.set_ylim(len(objects) - 0.5, -0.5)  # first object on top, half a row of room around each
    ax.margins(x=0.05)  # markers at the first and last instant are not cut
    ax.set_xlabel("seconds since the recording started")
    ax.grid(True, axis="x", color="#dddddd")
    if title:  # a long title (a recording's caption) wraps instead of running off the figure
        ax.set_title(textwrap.fill(title, 80), fontsize=9, loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return ax
