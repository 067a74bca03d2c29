"""The CNCF survey figures as tables to read: the headlines by year, and every figure with its source.

Source: ``data/cncf-survey-figures.csv`` through :func:`whyk8s.lessons.survey.data.load_figures`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from whyk8s.lessons.survey.data import (BASES, DEFAULT_METRICS, DENOMINATOR_NOTES, FOOTNOTES, METRICS,
                                        load_figures, metric_label, points, validate)

__all__ = ["headline_table", "headline_markdown", "sources_table", "base_of"]


def base_of(metric: str, year: int) -> str:
    """What ``metric``'s figure for ``year`` is a share of, read after "58% of …": from
    :data:`~whyk8s.lessons.survey.data.BASES`, else the metric's base in
    :data:`~whyk8s.lessons.survey.data.METRICS` (``""`` for an unknown metric)."""
    if (metric, year) in BASES:
        return BASES[(metric, year)]
    return METRICS[metric].base if metric in METRICS else ""


def headline_table(metrics: Iterable[str] | str | None = None,
                   years: Iterable[int] | int | None = None, bases: bool = True) -> pd.DataFrame:
    """Headline figures as a table: one row per survey year, one column per metric.

    Cells are text for reading, the value as published followed by what it is a share of
    (:func:`base_of`): ``"58% of 1,453 who answered the K8s line"``; ``"… (secondary)"`` when only
    press coverage gives the figure; ``">90%"`` for a lower bound; ``"—"`` when there is no figure.
    ``bases=False`` leaves the bases out (``"58%"``).
    When a year has both a CNCF figure and a secondary one, the CNCF figure is shown. The ``notes``
    column holds the year's note from :data:`~whyk8s.lessons.survey.data.FOOTNOTES` (empty if none).

    ``metrics``: ids from :func:`~whyk8s.lessons.survey.data.metrics` (default ``DEFAULT_METRICS``);
    ``years``: survey years (default all). Raises ``ValueError`` naming the valid options for an
    unknown metric or year. Source: ``data/cncf-survey-figures.csv``.
    """
    metric_list, year_list = validate(metrics, years)
    df = load_figures()
    table = pd.DataFrame(index=pd.Index(year_list, name="survey year"), columns=metric_list, dtype=object)
    for m in metric_list:
        pts = points(df, m, year_list)
        for y in year_list:
            rows = pts[pts["survey_year"] == y]
            if rows.empty:
                table.loc[y, m] = "—"
                continue
            r = rows.iloc[0]  # primary first
            text = f"{r['value_text'].strip()}%"
            if bases and base_of(m, y):
                text += f" of {base_of(m, y)}"
            table.loc[y, m] = text + (" (secondary)" if r["secondary"] else "")
    table["notes"] = [FOOTNOTES.get(y, "") for y in year_list]
    return table


def headline_markdown(metrics: Iterable[str] | str | None = None,
                      years: Iterable[int] | int | None = None) -> str:
    """:func:`headline_table` (with bases, without the notes column) as a Markdown table whose columns
    are named by each metric's readable label; display with ``IPython.display.Markdown``. Text cells
    wrap on a narrow page, where a wide DataFrame would not. Raises ``ValueError`` like
    :func:`headline_table`."""
    table = headline_table(metrics, years).drop(columns="notes")
    lines = ["| Survey year | " + " | ".join(_cell(metric_label(m)) for m in table.columns) + " |",
             "|---:|" + "---|" * len(table.columns)]
    lines += [f"| {year} | " + " | ".join(_cell(v) for v in row) + " |" for year, row in table.iterrows()]
    return "\n".join(lines)


def _cell(text) -> str:
    """Text for one Markdown table cell: denominator notes spelled out, no pipes or line breaks."""
    text = str(text)
    for key, note in DENOMINATOR_NOTES.items():
        text = text.replace(f"see note {key}", f"note {key}: {note}")
    return text.replace("|", "\\|").replace("\n", " ")


def sources_table(metrics: Iterable[str] | str | None = None, years: Iterable[int] | int | None = None) -> str:
    """Every figure (not just the headline ones) as a Markdown table with clickable source links.

    Columns: year, metric (its readable label, :func:`~whyk8s.lessons.survey.data.metric_label`),
    value (percent or sample size), what it is a share of, source (a Markdown link named after the
    site; secondary sources marked "secondary"), and the quoted phrase. ``metrics=None`` means every
    metric including ``sample_size``. Returns the Markdown text (display with
    ``IPython.display.Markdown``). Raises ``ValueError`` for an unknown year or metric.
    """
    df = load_figures()
    if metrics is None:
        chosen = sorted(df["metric"].unique())
        _, year_list = validate(DEFAULT_METRICS, years)
    else:
        chosen, year_list = validate(metrics, years)
    rows = df[df["metric"].isin(chosen) & df["survey_year"].isin(year_list)]
    lines = [
        "| Year | Metric | Value | Share of | Source | Quote |",
        "|---:|---|---:|---|---|---|",
    ]
    for _, r in rows.iterrows():
        value = f"{r['value_text']}%" if r["value_text"] else f"n = {r['respondents']}"
        host = re.sub(r"^https?://(www\.)?", "", r["source_link"]).split("/")[0]
        link = f"[{host}]({r['source_link']})" if r["source_link"] else _cell(r["source_url"])
        if r["secondary"]:
            link += " (secondary)"
        lines.append(
            f"| {r['survey_year']} | {_cell(metric_label(r['metric']))} | {_cell(value)} | {_cell(r['denominator'])} "
            f"| {link} | “{_cell(r['quote'])}” |"
        )
    return "\n".join(lines)
