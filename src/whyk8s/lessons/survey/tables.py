"""The CNCF survey figures as tables to read: the headlines by year, and every figure with its source.

Source: ``data/cncf-survey-figures.csv`` through :func:`whyk8s.lessons.survey.data.load_figures`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from whyk8s.lessons.survey.data import (DEFAULT_METRICS, DENOMINATOR_NOTES, FOOTNOTES, load_figures,
                                        metric_label, points, validate)

__all__ = ["headline_table", "sources_table"]


def headline_table(metrics: Iterable[str] | str | None = None,
                   years: Iterable[int] | int | None = None) -> pd.DataFrame:
    """Headline figures as a table: one row per survey year, one column per metric.

    Cells are text for reading, the value as published: ``"58%"``; ``"83% (secondary)"`` when only
    press coverage gives the figure; ``">90%"`` for a lower bound; ``"—"`` when there is no figure.
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
            table.loc[y, m] = text + (" (secondary)" if r["secondary"] else "")
    table["notes"] = [FOOTNOTES.get(y, "") for y in year_list]
    return table


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
