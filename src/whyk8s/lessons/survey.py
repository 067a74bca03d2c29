"""CNCF cloud native survey figures, and recomputing a headline from CNCF's raw responses.

Two kinds of data, both under the repository's ``data/`` folder (see ``data/README.md``):

* ``cncf-survey-figures.csv`` — headline figures of the CNCF surveys 2016–2025, one row per figure,
  each with the exact phrase that states it and its source URL. Rows whose ``denominator`` contains
  ``SECONDARY`` come from press or blog coverage, not from CNCF itself.
* ``cncf-raw/`` — trimmed copies of CNCF's own raw responses for 2018, 2019 and the first half of
  2020 (source: the public ``cncf/surveys`` repository, folder ``cloudnative/``): one row per
  respondent, only the columns needed to recompute "Kubernetes in production" and "containers in
  production".

All shares are **percent** (0–100), never fractions. Survey years are the years the survey was
fielded, which is not always the year the report was published (the 2019 survey came out in 2020).
"""

from __future__ import annotations

import numbers
import os
import re
import textwrap
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from whyk8s.paths import data_dir
from whyk8s.notebook.charts import HATCHES, LINESTYLES, PALETTE, SERIES_COLOURS, new_figure

__all__ = [
    "FOOTNOTES",
    "GENERAL_NOTES",
    "DENOMINATOR_NOTES",
    "SURVEY_YEARS",
    "RAW_YEARS",
    "DEFAULT_METRICS",
    "load_figures",
    "metrics",
    "headline_table",
    "sources_table",
    "plot_headlines",
    "figure_explorer",
    "load_raw",
    "recompute_kubernetes_in_production",
    "recompute_containers_in_production",
    "plot_shares",
]

#: Survey years the course covers (2024 is included, but has no figure: no primary source could be read).
SURVEY_YEARS: tuple[int, ...] = tuple(range(2016, 2026))

#: Years with raw responses in ``data/cncf-raw/`` (2020 is the first-half-2020 survey).
RAW_YEARS: tuple[int, ...] = (2018, 2019, 2020)

#: The metrics drawn by default.
DEFAULT_METRICS: tuple[str, ...] = ("kubernetes_in_production", "containers_in_production")

#: What changed in each survey year, so that a chart can footnote it. Keyed by survey year.
#: Facts from ``/data/cncf-survey-figures.csv`` (its ``denominator`` column) and ``data/README.md``.
FOOTNOTES: dict[int, str] = {
    2016: "2016: only one figure survives, restated by CNCF in 2020; the number of respondents was not found.",
    2017: (
        "2017: both Kubernetes figures (83% in production, 61% evaluating) come from a secondary source "
        "and add up to more than 100%, so they cannot share one base."
    ),
    2018: (
        "2018–2020: 'Kubernetes in production' is a share of those who answered the Kubernetes line of "
        "'which CNCF projects are you using or evaluating', not of all respondents."
    ),
    2019: (
        "2018–2020: 'Kubernetes in production' is a share of those who answered the Kubernetes line of "
        "'which CNCF projects are you using or evaluating', not of all respondents."
    ),
    2020: (
        "2018–2020: 'Kubernetes in production' is a share of those who answered the Kubernetes line of "
        "'which CNCF projects are you using or evaluating', not of all respondents."
    ),
    2021: (
        "2021: the survey was split in two parts; Part 1 asked 'Are you using Kubernetes?' directly "
        "(production, test/PoC and evaluating add up to 96%)."
    ),
    2022: "2022: about half of the respondents came from a paid panel; the figure is a share of the entire sample.",
    2023: (
        "2023: vendors were dropped from the adoption questions and CNCF warns against comparing with "
        "earlier years."
    ),
    2024: "2024: no figure — no primary source could be read.",
    2025: "2025: shares are of 'container users', not of all respondents.",
}

#: The notes the figures CSV points to from its ``denominator`` column ("see note D1").
#: Facts from the course reference notes and the recomputation in this module.
DENOMINATOR_NOTES: dict[str, str] = {
    "D1": (
        "containers in production, 2018–2020: a share of those who use containers in production today "
        "or plan to, not of all respondents (2018: 1,271 of 1,742 = 73%; 53% of all 2,401)"
    ),
    "D2": (
        "Kubernetes in production, 2018–2020: a share of those who answered the Kubernetes line of "
        "'which CNCF projects are you using or evaluating' (2018: 842 of 1,453 = 58%; 35% of all 2,401)"
    ),
}

#: Notes that apply to every year.
GENERAL_NOTES: tuple[str, ...] = (
    "Survey year is the year the survey was fielded; reports came out later (the 2019 survey in 2020).",
    "Hollow markers: figures from press or blog coverage (secondary sources), not from CNCF itself.",
)

_SOURCE_CREDIT = "Source: CNCF cloud native surveys (figures and raw responses, github.com/cncf/surveys)."

_RAW_FILES: dict[int, str] = {
    2018: "cncf-survey-2018-trimmed.csv",
    2019: "cncf-survey-2019-trimmed.csv",
    2020: "cncf-survey-1H-2020-trimmed.csv",
}

# How each raw file spells the answers. Facts from the raw files themselves (second header row and
# the answers); 2020 splits the Kubernetes line into three columns, one per answer.
_K8S_ANSWERS: dict[int, dict[str, str]] = {
    2018: {"production": "Using in Production?", "evaluating": "Evaluating?"},
    2019: {"production": "Using in Production", "evaluating": "Evaluating"},
    2020: {
        "production": "Using in production",
        "evaluating": "Evaluating",
        "not_using": "Not using or don't know",
    },
}
_CONTAINER_ANSWERS: dict[int, dict[str, str]] = {
    2018: {"now": "Today", "planned": "Future Plans"},
    2019: {"now": "Currently Using", "planned": "Future Plans"},
    2020: {"now": "Currently Using", "planned": "Future Plans"},
}

_URL = re.compile(r"https?://[^\s)]+")


# --------------------------------------------------------------------------------------------- data


def _parse_percent(text) -> tuple[float, bool]:
    """'58' → (58.0, False); '>90' → (90.0, True); '' → (nan, False)."""
    if text is None or (isinstance(text, float) and pd.isna(text)) or str(text).strip() == "":
        return float("nan"), False
    s = str(text).strip()
    lower_bound = s.startswith(">")
    return float(s.lstrip(">").strip()), lower_bound


def load_figures() -> pd.DataFrame:
    """Every headline figure of the CNCF surveys, one row per figure (2016–2025, none for 2024).

    Returns a DataFrame with these columns:

    * ``survey_year`` (int), ``published`` (str: when and how it was published),
    * ``metric`` (str, e.g. ``kubernetes_in_production``; ``sample_size`` rows have no percentage),
    * ``value_percent`` (float, percent 0–100; NaN for ``sample_size``; ``>90`` is read as 90),
    * ``value_text`` (str, the value as written, e.g. ``">90"``), ``lower_bound`` (bool, True for ``>``),
    * ``denominator`` (str: what the percentage is a share of; "note D1"/"D2" are in
      :data:`DENOMINATOR_NOTES`), ``respondents`` (str, as written),
    * ``source_url`` (str, as written, sometimes with a note), ``source_link`` (str, the first URL in it),
    * ``quote`` (str: the phrase that states the figure),
    * ``secondary`` (bool: the denominator says ``SECONDARY`` — press or blog coverage, not CNCF).

    Raises ``FileNotFoundError`` if ``data/cncf-survey-figures.csv`` is missing.
    Source: ``data/cncf-survey-figures.csv`` (each row names its own source).
    """
    path = data_dir() / "cncf-survey-figures.csv"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = pd.DataFrame(
        {
            "survey_year": raw["survey_year"].astype(int),
            "published": raw["published"],
            "metric": raw["metric"],
        }
    )
    parsed = [_parse_percent(v) for v in raw["value_percent"]]
    df["value_percent"] = [p[0] for p in parsed]
    df["value_text"] = raw["value_percent"]
    df["lower_bound"] = [p[1] for p in parsed]
    df["denominator"] = raw["denominator"]
    df["respondents"] = raw["respondents"]
    df["source_url"] = raw["source_url"]
    df["source_link"] = [(_URL.search(u).group(0) if _URL.search(u) else "") for u in raw["source_url"]]
    df["quote"] = raw["quote"]
    df["secondary"] = raw["denominator"].str.contains("SECONDARY", case=True, regex=False)
    return df


def metrics() -> list[str]:
    """The metrics that have at least one percentage, sorted (``sample_size`` is left out)."""
    df = load_figures()
    return sorted(df.loc[df["value_percent"].notna(), "metric"].unique())


def _validate(metric_list, years) -> tuple[list[str], list[int]]:
    valid_metrics = metrics()
    if isinstance(metric_list, str):
        metric_list = [metric_list]
    metric_list = list(DEFAULT_METRICS if metric_list is None else metric_list)
    if not metric_list:
        raise ValueError("No metric chosen. Valid metrics: " + ", ".join(valid_metrics))
    unknown = [m for m in metric_list if m not in valid_metrics]
    if unknown:
        raise ValueError(
            f"Unknown metric(s) {', '.join(map(repr, unknown))}. Valid metrics: " + ", ".join(valid_metrics)
        )
    if years is None:
        year_list = list(SURVEY_YEARS)
    elif isinstance(years, int):
        year_list = [years]
    else:
        year_list = list(years)
    if not year_list:
        raise ValueError(f"No survey year chosen. Valid years: {SURVEY_YEARS[0]}–{SURVEY_YEARS[-1]}")
    bad = [y for y in year_list
           if not isinstance(y, numbers.Integral) or isinstance(y, bool) or int(y) not in SURVEY_YEARS]
    if bad:
        raise ValueError(
            f"Unknown survey year(s) {', '.join(map(repr, bad))}. Valid years: "
            + ", ".join(str(y) for y in SURVEY_YEARS)
        )
    return metric_list, sorted({int(y) for y in year_list})


def _points(df: pd.DataFrame, metric: str, years: list[int]) -> pd.DataFrame:
    """Rows of one metric in the given years, with a percentage, primary before secondary."""
    rows = df[(df["metric"] == metric) & df["survey_year"].isin(years) & df["value_percent"].notna()]
    return rows.sort_values(["survey_year", "secondary"])


def headline_table(metrics: Iterable[str] | str | None = None, years: Iterable[int] | int | None = None) -> pd.DataFrame:
    """Headline figures as a table: one row per survey year, one column per metric.

    Cells are text for reading: ``"58%"``; ``"83% (secondary)"`` when only press coverage gives the
    figure; ``">90%"`` for a lower bound; ``"—"`` when there is no figure. When a year has both a
    CNCF figure and a secondary one, the CNCF figure is shown. The ``notes`` column holds the year's
    footnote from :data:`FOOTNOTES` (empty if none).

    ``metrics``: names from :func:`metrics` (default :data:`DEFAULT_METRICS`); ``years``: survey
    years from :data:`SURVEY_YEARS` (default all). Raises ``ValueError`` naming the valid options for
    an unknown metric or year. Source: ``data/cncf-survey-figures.csv``.
    """
    metric_list, year_list = _validate(metrics, years)
    df = load_figures()
    table = pd.DataFrame(index=pd.Index(year_list, name="survey year"), columns=metric_list, dtype=object)
    for m in metric_list:
        pts = _points(df, m, year_list)
        for y in year_list:
            rows = pts[pts["survey_year"] == y]
            if rows.empty:
                table.loc[y, m] = "—"
                continue
            r = rows.iloc[0]  # primary first
            text = f"{r['value_text'].strip()}%"
            table.loc[y, m] = text + (" (secondary)" if r["secondary"] else "")
    table["notes"] = [FOOTNOTES.get(y, "") for y in year_list]
    return table


def sources_table(metrics: Iterable[str] | str | None = None, years: Iterable[int] | int | None = None) -> str:
    """Every figure (not just the headline ones) as a Markdown table with clickable source links.

    Columns: year, metric, value (percent or sample size), what it is a share of, source (a Markdown
    link; secondary sources marked "secondary"), and the quoted phrase. ``metrics=None`` means every
    metric including ``sample_size``. Returns the Markdown text (display with
    ``IPython.display.Markdown``). Raises ``ValueError`` for an unknown year or metric.
    """
    df = load_figures()
    if metrics is None:
        chosen = sorted(df["metric"].unique())
        _, year_list = _validate(DEFAULT_METRICS, years)
    else:
        chosen, year_list = _validate(metrics, years)
    rows = df[df["metric"].isin(chosen) & df["survey_year"].isin(year_list)]

    def cell(text: str) -> str:
        text = str(text)
        for key, note in DENOMINATOR_NOTES.items():
            text = text.replace(f"see note {key}", f"note {key}: {note}")
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        "| Year | Metric | Value | Share of | Source | Quote |",
        "|---:|---|---:|---|---|---|",
    ]
    for _, r in rows.iterrows():
        value = f"{r['value_text']}%" if r["value_text"] else f"n = {r['respondents']}"
        host = re.sub(r"^https?://(www\.)?", "", r["source_link"]).split("/")[0]
        link = f"[{host}]({r['source_link']})" if r["source_link"] else cell(r["source_url"])
        if r["secondary"]:
            link += " (secondary)"
        lines.append(
            f"| {r['survey_year']} | {cell(r['metric'])} | {cell(value)} | {cell(r['denominator'])} "
            f"| {link} | “{cell(r['quote'])}” |"
        )
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------- chart
def _footnote_markers(years: list[int]) -> tuple[dict[int, str], list[str]]:
    """Give each distinct footnote text among ``years`` one number; return {year: "[n]"} and the lines."""
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


def plot_headlines(
    metrics: Iterable[str] | str | None = None,
    years: Iterable[int] | int | None = None,
    ax=None,
    footnotes: bool = True,
):
    """Draw the chosen metrics by survey year and return the matplotlib ``Axes``.

    Each metric is one colour and line style (from :data:`whyk8s.notebook.charts.SERIES_COLOURS` and
    ``LINESTYLES``). CNCF's own figures are filled markers joined by a thin line (artist ``gid``
    ``"primary:<metric>"``); figures from press or blog coverage are **hollow** markers with a
    "sec." label and are not joined (``gid`` ``"secondary:<metric>"``). A year without any figure
    (2024) is a hatched grey band (``gid`` ``"no-figure"``). Year tick labels carry footnote
    markers ``[n]``; with ``footnotes=True`` the footnote texts from :data:`FOOTNOTES` and
    :data:`GENERAL_NOTES` are written under the chart.

    Values are percent (0–100). ``metrics``/``years`` as in :func:`headline_table`; ``ax`` draws into
    an existing Axes (default: a new course-style figure). Raises ``ValueError`` for an unknown
    metric or year. Source: ``data/cncf-survey-figures.csv``.
    """
    metric_list, year_list = _validate(metrics, years)
    df = load_figures()
    markers, note_lines = _footnote_markers(year_list)
    wrapped: list[str] = []
    if footnotes:
        for line in note_lines + [f"• {n}" for n in GENERAL_NOTES] + [_SOURCE_CREDIT]:
            wrapped.extend(textwrap.wrap(line, width=125, subsequent_indent="     "))
    own_figure = ax is None
    if own_figure:
        n_entries = len(metric_list) + sum(
            bool(df[(df["metric"] == m) & df["secondary"] & df["survey_year"].isin(year_list)].shape[0])
            for m in metric_list
        )
        legend_in = 0.2 * -(-n_entries // 2)
        notes_in = 0.125 * len(wrapped) + (0.1 if wrapped else 0)
        plot_in, top_in, xlabel_in = 3.4, 0.35, 0.7
        height = plot_in + top_in + xlabel_in + legend_in + notes_in
        fig, ax = new_figure(8.0, height)
        fig.subplots_adjust(left=0.08, right=0.97, top=1 - top_in / height,
                            bottom=(xlabel_in + legend_in + notes_in) / height)
    fig = ax.figure

    for i, m in enumerate(metric_list):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        style = LINESTYLES[i % len(LINESTYLES)]
        pts = _points(df, m, year_list)
        prim = pts[~pts["secondary"]].drop_duplicates("survey_year")
        sec = pts[pts["secondary"]]
        label = m.replace("_", " ")
        label_offset = (0, 7) if i % 2 else (0, -15)
        if not prim.empty:
            # Reindex on every chosen year so the line breaks where a year has no figure.
            line = prim.set_index("survey_year")["value_percent"].reindex(year_list)
            ax.plot(
                line.index, line.values, color=colour, linestyle=style, linewidth=1.2,
                marker="o", markersize=7, markerfacecolor=colour, markeredgecolor=colour,
                label=label, gid=f"primary:{m}",
            )
            for _, r in prim.iterrows():
                ax.annotate(
                    f"{r['value_text'].strip()}%", (r["survey_year"], r["value_percent"]),
                    textcoords="offset points", xytext=label_offset, ha="center", fontsize=8, color=colour,
                )
        if not sec.empty:
            ax.plot(
                sec["survey_year"], sec["value_percent"], linestyle="none", marker="o", markersize=10,
                markerfacecolor="none", markeredgecolor=colour, markeredgewidth=1.6,
                label=f"{label} (secondary source)", gid=f"secondary:{m}",
            )
            for _, r in sec.iterrows():
                ax.annotate(
                    f"{r['value_text'].strip()}% sec.", (r["survey_year"], r["value_percent"]),
                    textcoords="offset points", xytext=(9, -3), ha="left", va="center", fontsize=7.5,
                    color=colour, style="italic",
                )
    years_with_rows = set(df["survey_year"])
    for y in year_list:
        if y not in years_with_rows:
            ax.axvspan(y - 0.35, y + 0.35, facecolor="#f2f2f2", edgecolor="#999999", hatch=HATCHES[1],
                       linewidth=0, gid="no-figure")
            ax.text(y, 50, "no figure", rotation=90, ha="center", va="center", fontsize=8, color="#555555",
                    backgroundcolor="#f2f2f2")

    ax.set_xticks(year_list)
    ax.set_xticklabels([f"{y}\n{markers.get(y, '')}".rstrip() for y in year_list], fontsize=8)
    ax.set_xlim(year_list[0] - 0.6, year_list[-1] + 0.6)
    ax.set_ylim(0, 105)
    ax.set_ylabel("percent of that year's base (see notes)")
    ax.set_xlabel("survey year (year fielded); [n] = note below", fontsize=9)
    ax.set_title("CNCF survey headlines by survey year: the bases differ", fontsize=11)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        if own_figure:
            fig.legend(handles, labels, loc="upper left", ncol=2, fontsize=8, frameon=False,
                       bbox_to_anchor=(0.06, (legend_in + notes_in + 0.05) / height))
        else:
            ax.legend(handles, labels, loc="best", fontsize=8, frameon=False)
    if footnotes and wrapped:
        fig.text(0.01, 0.01, "\n".join(wrapped), ha="left", va="bottom", fontsize=7, color=PALETTE["black"],
                 gid="footnotes")
    return ax


def figure_explorer(metrics: Iterable[str] | None = None, years: tuple[int, int] | None = None):
    """An ipywidgets box to explore the headlines: a metric list, a year-range slider and the chart.

    ``metrics``: initially selected metrics (default :data:`DEFAULT_METRICS`); ``years``: initial
    ``(first, last)`` survey years (default the whole range). The chart is redrawn by
    :func:`plot_headlines` whenever a control changes; an empty selection shows a short message
    instead of raising. Returns an ``ipywidgets.VBox`` whose ``controls`` are (metric list, year
    slider) and whose ``output`` holds the chart as a PNG image (or the message). Raises
    ``ValueError`` for bad initial values.
    """
    import ipywidgets as widgets

    from whyk8s.notebook.charts import show_in_output

    chosen, _ = _validate(metrics, None)
    first, last = years if years is not None else (SURVEY_YEARS[0], SURVEY_YEARS[-1])
    _validate(chosen, [first, last])
    pick = widgets.SelectMultiple(
        options=metrics_list_for_widget(), value=tuple(chosen), rows=8,
        description="Metrics", layout=widgets.Layout(width="460px"),
    )
    span = widgets.IntRangeSlider(
        value=(first, last), min=SURVEY_YEARS[0], max=SURVEY_YEARS[-1], step=1,
        description="Years", continuous_update=False, layout=widgets.Layout(width="460px"),
    )

    out = widgets.Output()

    def redraw(_change=None) -> None:
        if not pick.value:
            out.outputs = ()
            out.append_stdout("Choose at least one metric (Ctrl/Cmd-click to select several).\n")
            return
        ax = plot_headlines(list(pick.value), range(span.value[0], span.value[1] + 1))
        show_in_output(out, ax.figure)

    pick.observe(redraw, names="value")
    span.observe(redraw, names="value")
    redraw()
    box = widgets.VBox([widgets.HBox([pick, span]), out])
    box.output = out
    box.controls = (pick, span)  # handy for tests and for learners poking at it
    return box


def metrics_list_for_widget() -> list[str]:
    """The metric names offered by :func:`figure_explorer` (same as :func:`metrics`)."""
    return metrics()


# ----------------------------------------------------------------------------------- raw responses
def _check_raw_year(year) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or year not in RAW_YEARS:
        raise ValueError(
            f"No raw responses for survey year {year!r}. Raw data exist for: "
            + ", ".join(str(y) for y in RAW_YEARS)
            + " (2020 = the first-half-2020 survey)."
        )
    return year


def load_raw(year: int) -> pd.DataFrame:
    """CNCF's raw responses for ``year`` (trimmed), one row per respondent.

    Columns are a two-level ``MultiIndex``: (question, answer option), as in CNCF's two header
    rows; the first column, ``("Response number …", "Response")``, numbers the respondents 1…N and was
    added by whyk8s. Cells hold the chosen answer (``str``) or NaN when the respondent left it blank.
    Raises ``ValueError`` for a year without raw data (valid: :data:`RAW_YEARS`).
    Source: CNCF, ``github.com/cncf/surveys`` ``cloudnative/`` (trimmed; see ``data/README.md``).
    """
    year = _check_raw_year(year)
    return pd.read_csv(data_dir() / "cncf-raw" / _RAW_FILES[year], header=[0, 1], dtype=str)


def _column(raw: pd.DataFrame, option_prefix: str, question_word: str) -> list[tuple[str, str]]:
    return [
        c for c in raw.columns
        if c[1].startswith(option_prefix) and question_word.lower() in c[0].lower()
    ]


def recompute_kubernetes_in_production(year: int) -> dict:
    """Recompute "Kubernetes in production" for ``year`` (2018, 2019 or 2020) from the raw responses.

    Returns a dict:

    * ``year``; ``respondents`` — every response in the file (all respondents);
    * ``production``, ``evaluating``, ``not_using`` (2020 only offers that answer; 0 otherwise) —
      counts of answers on the Kubernetes line of "which CNCF projects are you using or evaluating";
    * ``answered`` — respondents who gave any answer on that line; ``skipped`` = respondents − answered;
    * ``unexpected`` — cells on that line holding something else (2018 has two rows shifted by one
      column in CNCF's file; they hold an industry name there), not counted;
    * ``published_share`` — production / answered × 100, the base CNCF used (percent, unrounded);
    * ``share_of_all`` — production / respondents × 100 (percent, unrounded);
    * ``published_figure`` — the headline CNCF printed for that year (percent, from the figures CSV).

    2018 gives 842 / (842 + 611) = 57.9% and 842 / 2,401 = 35.1%. Raises ``ValueError`` for a year
    without raw data. Source: CNCF raw responses (see :func:`load_raw`).
    """
    year = _check_raw_year(year)
    raw = load_raw(year)
    answers = _K8S_ANSWERS[year]
    cols = _column(raw, "Kubernetes", "evaluating") or _column(raw, "Kubernetes", "projects")
    if not cols:  # pragma: no cover - the data files are part of the repository
        raise ValueError(f"The {year} raw file has no Kubernetes column on the CNCF-projects question.")
    cells = raw[cols]
    counts = {k: int((cells == v).any(axis=1).sum()) for k, v in answers.items()}
    answered = int(cells.notna().any(axis=1).sum())
    known = cells.isin(list(answers.values())).any(axis=1)
    unexpected = int((cells.notna().any(axis=1) & ~known).sum())
    answered -= unexpected
    figures = load_figures()
    pub = figures[(figures["survey_year"] == year) & (figures["metric"] == "kubernetes_in_production")
                  & ~figures["secondary"]]
    respondents = len(raw)
    return {
        "year": year,
        "respondents": respondents,
        "production": counts["production"],
        "evaluating": counts["evaluating"],
        "not_using": counts.get("not_using", 0),
        "answered": answered,
        "skipped": respondents - answered,
        "unexpected": unexpected,
        "published_share": 100 * counts["production"] / answered,
        "share_of_all": 100 * counts["production"] / respondents,
        "published_figure": float(pub["value_percent"].iloc[0]) if not pub.empty else float("nan"),
    }


def recompute_containers_in_production(year: int) -> dict:
    """Recompute "containers in production" for ``year`` (2018, 2019 or 2020) from the raw responses.

    Uses the Production row of "your organization uses containers for …" (today/currently vs future
    plans). Returns a dict with ``year``, ``respondents``, ``now`` (using containers in production
    today), ``planned`` (future plans), ``published_share`` = now / (now + planned) × 100 and
    ``share_of_all`` = now / respondents × 100 (percent, unrounded), and ``published_figure`` (percent,
    from the figures CSV). 2018: 1,271 / (1,271 + 471) = 73.0% and 1,271 / 2,401 = 52.9%.
    Raises ``ValueError`` for a year without raw data. Source: CNCF raw responses (see :func:`load_raw`).
    """
    year = _check_raw_year(year)
    raw = load_raw(year)
    answers = _CONTAINER_ANSWERS[year]
    cols = _column(raw, "Production", "containers")
    cells = raw[cols]
    now = int((cells == answers["now"]).any(axis=1).sum())
    planned = int(((cells == answers["planned"]).any(axis=1) & ~(cells == answers["now"]).any(axis=1)).sum())
    figures = load_figures()
    pub = figures[(figures["survey_year"] == year) & (figures["metric"] == "containers_in_production")
                  & ~figures["secondary"]]
    return {
        "year": year,
        "respondents": len(raw),
        "now": now,
        "planned": planned,
        "published_share": 100 * now / (now + planned),
        "share_of_all": 100 * now / len(raw),
        "published_figure": float(pub["value_percent"].iloc[0]) if not pub.empty else float("nan"),
    }


def plot_shares(year: int = 2018, ax=None):
    """Bar chart of "Kubernetes in production" for ``year``: the published share next to the share of
    all respondents, each bar labelled with its count and percentage. Returns the ``Axes``.

    Bars have ``gid`` ``"published"`` and ``"all"``. Raises ``ValueError`` for a year without raw data.
    Source: :func:`recompute_kubernetes_in_production`.
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
    for bar, v, denom in zip(bars, values, (r["answered"], r["respondents"])):
        ax.annotate(f"{v:.1f}%\n{r['production']:,} / {denom:,}", (bar.get_x() + bar.get_width() / 2, v),
                    textcoords="offset points", xytext=(0, 4), ha="center", va="bottom", fontsize=9)
    ax.set_ylim(0, 100)
    ax.set_ylabel("percent")
    ax.set_title(f"Kubernetes in production, CNCF survey {year}: same count, two bases", fontsize=10)
    ax.figure.subplots_adjust(bottom=0.24, top=0.9)
    ax.figure.text(0.01, 0.01, "Source: CNCF raw survey responses (github.com/cncf/surveys).", fontsize=7)
    return ax
