"""Charts of the CNCF survey figures: the headlines by survey year, and one headline on two bases.

Both use the course style (:func:`whyk8s.notebook.charts.new_figure`, Okabe–Ito colours, line styles
and hatches so that nothing rests on colour alone). Values are percent (0–100). Sources:
``data/cncf-survey-figures.csv`` and CNCF's raw responses (:mod:`whyk8s.lessons.survey.recompute`).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable
from typing import NamedTuple

from whyk8s.lessons.survey.data import (FOOTNOTES, GENERAL_NOTES, METRIC_NOTES, SOURCE_CREDIT, load_figures,
                                        metric_label, percent_label, points, same_method, validate)
from whyk8s.lessons.survey.recompute import recompute_kubernetes_in_production
from whyk8s.notebook.charts import HATCHES, LINESTYLES, PALETTE, SERIES_COLOURS, new_figure

__all__ = ["plot_headlines", "plot_shares", "footnote_markers", "label_offsets", "place_labels", "dodge", "DODGE",
           "CLOSE", "CANDIDATES", "ValueLabel"]

#: How far (in years) a secondary figure's hollow marker moves right, step by step, while another
#: marker of that year is drawn within :data:`CLOSE` percentage points of it (so none hides another).
DODGE = 0.22
#: Markers closer than this (percentage points) in the same year would overlap.
CLOSE = 4.0

#: A white box behind value labels, so that no line runs through the text.
_LABEL_BOX = {"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}


def footnote_markers(years: list[int]) -> tuple[dict[int, str], list[str]]:
    """Give each distinct note among ``years`` one number: returns ``({year: "[n]"}, ["[n] note", ...])``."""
    markers: dict[int, str] = {}
    texts: list[str] = []
    for y in years:
        text = FOOTNOTES.get(y)
        if text is None:
            continue
        if text not in texts:
            texts.append(text)
        markers[y] = f"[{texts.index(text) + 1}]"
    lines = [f"[{i}] {t}" for i, t in enumerate(texts, start=1)]
    return markers, lines


_ABOVE, _BELOW, _RIGHT = (0, 11), (0, -13), (20, 0)


def label_offsets(series: dict[str, list[float]]) -> dict[tuple[str, int], tuple[int, int]]:
    """Where each value label goes, in points from its marker: ``{(metric, index): (dx, dy)}``.

    ``series`` maps each metric to its values by year (NaN where it has none). Where several
    metrics have a value in one year, the highest label goes above, the lowest below and any
    others to the right, so labels of different lines do not collide. A lone value goes above a
    peak, below a dip, and on a slope on the side its own line does not pass (below-right of a
    rising line, above-right of a falling one)."""
    offsets: dict[tuple[str, int], tuple[int, int]] = {}
    n = max((len(v) for v in series.values()), default=0)
    for i in range(n):
        here = sorted(((vals[i], m) for m, vals in series.items() if i < len(vals) and not math.isnan(vals[i])),
                      reverse=True)
        if len(here) > 1:
            for rank, (_, m) in enumerate(here):
                offsets[(m, i)] = _ABOVE if rank == 0 else _BELOW if rank == len(here) - 1 else _RIGHT
            continue
        for v, m in here:
            vals = series[m]
            before = vals[i - 1] if i > 0 else math.nan
            after = vals[i + 1] if i + 1 < len(vals) else math.nan
            higher = [x for x in (before, after) if not math.isnan(x) and x > v]
            lower = [x for x in (before, after) if not math.isnan(x) and x < v]
            if higher and not lower:
                offsets[(m, i)] = _BELOW
            elif lower and not higher:
                offsets[(m, i)] = _ABOVE
            elif not math.isnan(after) and after > v:
                offsets[(m, i)] = (15, -12)
            elif not math.isnan(after) and after < v:
                offsets[(m, i)] = (15, 10)
            else:
                offsets[(m, i)] = _ABOVE
    return offsets


class ValueLabel(NamedTuple):
    """A value label to place: its text, the marker's data position, colour, metric, first choice of
    offset (points) and whether it belongs to a secondary figure (set in italics)."""

    text: str
    xy: tuple[float, float]
    colour: str
    metric: str
    prefer: tuple[int, int]
    secondary: bool = False


#: Offsets (points from the marker) a label may take, tried after its first choice.
CANDIDATES: tuple[tuple[int, int], ...] = (_ABOVE, _BELOW, (15, 10), (15, -12), (-15, 10), (-15, -12), _RIGHT,
                                           (-20, 0), (0, 19), (0, -21))


def place_labels(ax, labels: list[ValueLabel]) -> None:
    """Annotate ``ax`` with ``labels`` (call once the axes' limits and layout are set). Each label takes
    the first offset — its own first choice, then :data:`CANDIDATES` — where its box crosses no line of
    the chart, covers no marker and overlaps no label placed before it; where there is no such place,
    the one that hides least (another label worst, then a marker, then a line). Every label sits on a
    white box above the lines (``gid`` ``"label:<metric>"``)."""
    import numpy as np
    from matplotlib.path import Path as MplPath
    from matplotlib.transforms import Bbox

    renderer = ax.figure.canvas.get_renderer()
    segments, centres = [], []
    for line in ax.get_lines():
        xy = ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float))
        ok = np.isfinite(xy).all(axis=1)
        centres += [(p, line.get_markersize() * ax.figure.dpi / 72 / 2) for p in xy[ok]]
        if line.get_linestyle() not in ("None", "none", ""):
            segments += [MplPath([a, b]) for a, b, ka, kb in zip(xy[:-1], xy[1:], ok[:-1], ok[1:], strict=True)
                         if ka and kb]
    boxes: list = []

    def badness(box) -> int:
        """0 for a clean place; hiding a label is worst, then covering a marker, then crossing a line."""
        return (100 * sum(box.overlaps(other) for other in boxes)
                + 10 * sum(box.overlaps(Bbox.from_extents(c[0] - r, c[1] - r, c[0] + r, c[1] + r)) for c, r in centres)
                + sum(seg.intersects_bbox(box, filled=False) for seg in segments))

    for lab in labels:
        style = {"fontsize": 7.5, "style": "italic"} if lab.secondary else {"fontsize": 8}
        best = None
        for offset in dict.fromkeys((lab.prefer, *CANDIDATES)):
            ann = ax.annotate(lab.text, lab.xy, textcoords="offset points", xytext=offset, ha="center",
                              va="center", color=lab.colour, bbox=_LABEL_BOX, zorder=4,
                              gid=f"label:{lab.metric}", **style)
            box = ann.get_window_extent(renderer).padded(2)
            score = badness(box)
            if best is None or score < best[0]:
                if best is not None:
                    best[1].remove()
                best = (score, ann, box)
            else:
                ann.remove()
            if score == 0:
                break
        boxes.append(best[2])


def dodge(taken: list[tuple[float, float]], year: int, value: float) -> float:
    """The x position for a marker of ``value`` in ``year``: the year itself, or moved right by
    :data:`DODGE` steps until no marker in ``taken`` (``(x, value)`` pairs) is within :data:`CLOSE`
    at that x. The caller appends the result to ``taken``."""
    k = 0
    while any(abs(x - (year + k * DODGE)) < 1e-6 and abs(v - value) < CLOSE for x, v in taken):
        k += 1
    return year + k * DODGE


def plot_headlines(
    metrics: Iterable[str] | str | None = None,
    years: Iterable[int] | int | None = None,
    ax=None,
    footnotes: bool = True,
):
    """Draw the chosen metrics by survey year and return the matplotlib ``Axes``.

    Each metric is one colour and line style (:data:`whyk8s.notebook.charts.SERIES_COLOURS`,
    ``LINESTYLES``) and is named by its readable label
    (:func:`~whyk8s.lessons.survey.data.metric_label`). CNCF's own figures are filled markers joined
    by a thin line (artist ``gid`` ``"primary:<metric>"``), labelled in whole percent on a white box
    (``gid`` ``"label:<metric>"``) placed by :func:`label_offsets` and :func:`place_labels`; the line
    joins only neighbouring years of one method (:func:`~whyk8s.lessons.survey.data.same_method`:
    2018–2020), so no line is drawn across a change of base or method. Figures
    from press or blog coverage are **hollow** markers with a "sec." label, not joined (``gid``
    ``"secondary:<metric>"``), moved right (:func:`dodge`) where another marker of that year would
    hide it; a secondary figure that only repeats CNCF's own figure for the same year is not drawn a
    second time (the sources table lists it). A year without any figure (2024) is a hatched grey band
    (``gid`` ``"no-figure"``). Year tick labels carry note markers ``[n]``; with
    ``footnotes=True`` the notes, each chosen metric's bases (:data:`~whyk8s.lessons.survey.data.METRIC_NOTES`)
    and the source are written under the chart (``gid`` ``"footnotes"``).

    ``metrics``: ids (default ``DEFAULT_METRICS``); ``years``: survey years (default all); ``ax`` draws
    into an existing Axes (default: a new course-style figure). Raises ``ValueError`` for an unknown
    metric or year. Source: ``data/cncf-survey-figures.csv``.
    """
    metric_list, year_list = validate(metrics, years)
    df = load_figures()
    markers, note_lines = footnote_markers(year_list)
    wrapped: list[str] = []
    if footnotes:
        metric_notes = [f"• {n}" for m in metric_list for n in METRIC_NOTES.get(m, ())]
        for line in note_lines + metric_notes + [f"• {n}" for n in GENERAL_NOTES] + [SOURCE_CREDIT]:
            wrapped.extend(textwrap.wrap(line, width=125, subsequent_indent="     "))
    primary = {m: points(df, m, year_list).pipe(lambda p: p[~p["secondary"]].drop_duplicates("survey_year"))
               for m in metric_list}
    offsets = label_offsets({m: [float(v) for v in p.set_index("survey_year")["value_percent"].reindex(year_list)]
                             for m, p in primary.items()})
    taken = [(float(y), float(v)) for p in primary.values()
             for y, v in zip(p["survey_year"], p["value_percent"], strict=True)]
    secondary = {}
    for m in metric_list:
        sec = points(df, m, year_list).pipe(lambda p: p[p["secondary"]])
        own = dict(zip(primary[m]["survey_year"], primary[m]["value_percent"], strict=True))
        sec = sec[[abs(own.get(y, -100.0) - v) >= 0.5
                   for y, v in zip(sec["survey_year"], sec["value_percent"], strict=True)]
                  if len(sec) else slice(None)]
        xs = []
        for y, v in zip(sec["survey_year"], sec["value_percent"], strict=True):
            xs.append(dodge(taken, y, v))
            taken.append((xs[-1], float(v)))
        secondary[m] = (sec, xs)
    own_figure = ax is None
    if own_figure:
        entries = [metric_label(m) for m in metric_list if not primary[m].empty] + [
            f"{metric_label(m)} (secondary source)" for m in metric_list if not secondary[m][0].empty]
        ncol = 2 if max(len(e) for e in entries) <= 50 else 1  # two columns of 8 pt text fit 50 characters
        legend_in = 0.2 * -(-len(entries) // ncol) + 0.1
        notes_in = 0.125 * len(wrapped) + (0.1 if wrapped else 0)
        plot_in, top_in, xlabel_in = 3.4, 0.35, 0.7
        height = plot_in + top_in + xlabel_in + legend_in + notes_in
        fig, ax = new_figure(8.0, height)
        fig.subplots_adjust(left=0.08, right=0.97, top=1 - top_in / height,
                            bottom=(xlabel_in + legend_in + notes_in) / height)
    fig = ax.figure
    requests: list[ValueLabel] = []
    for i, m in enumerate(metric_list):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        style = LINESTYLES[i % len(LINESTYLES)]
        prim = primary[m]
        sec, xs = secondary[m]
        label = metric_label(m)
        if not prim.empty:
            # Reindex on every chosen year so the line breaks where a year has no figure, and break it
            # again (a NaN point between them) wherever two neighbouring years differ in base or method.
            line = prim.set_index("survey_year")["value_percent"].reindex(year_list)
            xs_line: list[float] = []
            ys_line: list[float] = []
            for k, (y, v) in enumerate(line.items()):
                if k and not same_method(year_list[k - 1], y):
                    xs_line.append(math.nan)
                    ys_line.append(math.nan)
                xs_line.append(y)
                ys_line.append(v)
            ax.plot(
                xs_line, ys_line, color=colour, linestyle=style, linewidth=1.2,
                marker="o", markersize=7, markerfacecolor=colour, markeredgecolor=colour,
                label=label, gid=f"primary:{m}", zorder=2,
            )
            for _, r in prim.iterrows():
                requests.append(ValueLabel(percent_label(r["value_percent"], r["lower_bound"]),
                                       (r["survey_year"], r["value_percent"]), colour, m,
                                       offsets[(m, year_list.index(r["survey_year"]))]))
        if not sec.empty:
            ax.plot(
                xs, sec["value_percent"], linestyle="none", marker="o", markersize=10,
                markerfacecolor="none", markeredgecolor=colour, markeredgewidth=1.6,
                label=f"{label} (secondary source)", gid=f"secondary:{m}", zorder=3,
            )
            for x, (_, r) in zip(xs, sec.iterrows(), strict=True):
                requests.append(ValueLabel(f"{percent_label(r['value_percent'], r['lower_bound'])} sec.",
                                       (x, r["value_percent"]), colour, m, (27, -2), secondary=True))
    years_with_rows = set(df["survey_year"])
    for y in year_list:
        if y not in years_with_rows:
            ax.axvspan(y - 0.35, y + 0.35, facecolor="#f2f2f2", edgecolor="#999999", hatch=HATCHES[1],
                       linewidth=0, gid="no-figure")
            ax.text(y, 50, "no figure", rotation=90, ha="center", va="center", fontsize=8, color="#555555",
                    backgroundcolor="#f2f2f2")

    ax.set_xticks(year_list)
    ax.set_xticklabels([f"{y}\n{markers.get(y, '')}".rstrip() for y in year_list], fontsize=8)
    ax.set_xlim(year_list[0] - 0.6, max([year_list[-1] + 0.6, *(x + 0.85 for x, _ in taken)]))
    ax.set_ylim(0, 105)
    ax.set_ylabel("percent of that year's base (see notes)")
    ax.set_xlabel("survey year (year fielded); [n] = note below", fontsize=9)
    ax.set_title("CNCF survey headlines by survey year: the bases differ", fontsize=11)
    place_labels(ax, requests)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        if own_figure:
            fig.legend(handles, labels, loc="upper left", ncol=ncol, fontsize=8, frameon=False,
                       bbox_to_anchor=(0.06, (legend_in + notes_in + 0.05) / height))
        else:
            ax.legend(handles, labels, loc="best", fontsize=8, frameon=False)
    if footnotes and wrapped:
        fig.text(0.01, 0.01, "\n".join(wrapped), ha="left", va="bottom", fontsize=7, color=PALETTE["black"],
                 gid="footnotes")
    return ax


def plot_shares(year: int = 2018, ax=None):
    """Bar chart of "Kubernetes in production" for ``year``: the published share next to the share of
    all respondents, each bar labelled with its count and percentage (one decimal). Returns the ``Axes``.

    Bars have ``gid`` ``"published"`` and ``"all"``. Raises ``ValueError`` for a year without raw data.
    Source: :func:`whyk8s.lessons.survey.recompute.recompute_kubernetes_in_production`.
    """
    r = recompute_kubernetes_in_production(year)
    if ax is None:
        _, ax = new_figure(6.5, 4.2)
    labels = [
        f"published share\n(of {r['answered']:,} who answered\nthe Kubernetes line)",
        f"share of all\n{r['respondents']:,} respondents",
    ]
    values = [r["published_share"], r["share_of_all"]]
    bars = ax.bar(labels, values, color=[SERIES_COLOURS[0], SERIES_COLOURS[1]], hatch=None, width=0.55,
                  edgecolor=PALETTE["black"], linewidth=0.6)
    bars[0].set_gid("published")
    bars[1].set_gid("all")
    bars[1].set_hatch(HATCHES[1])
    for bar, v, denom in zip(bars, values, (r["answered"], r["respondents"]), strict=True):
        ax.annotate(f"{v:.1f}%\n{r['production']:,} / {denom:,}", (bar.get_x() + bar.get_width() / 2, v),
                    textcoords="offset points", xytext=(0, 4), ha="center", va="bottom", fontsize=9)
    ax.set_ylim(0, 100)
    ax.set_ylabel("percent")
    ax.set_title(f"Kubernetes in production, CNCF survey {year}: same count, two bases", fontsize=10)
    ax.figure.subplots_adjust(bottom=0.24, top=0.9)
    ax.figure.text(0.01, 0.01, "Source: CNCF raw survey responses (github.com/cncf/surveys).", fontsize=7)
    return ax
