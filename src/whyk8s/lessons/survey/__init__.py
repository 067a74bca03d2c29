"""Chapter 5: CNCF cloud native survey figures, and recomputing a headline from CNCF's raw responses.

Two kinds of data, both under the repository's ``data/`` folder (see ``data/README.md``):

* ``cncf-survey-figures.csv`` — headline figures of the CNCF surveys 2016–2025, one row per figure,
  each with the exact phrase that states it and its source URL. Rows whose ``denominator`` contains
  ``SECONDARY`` come from press or blog coverage, not from CNCF itself.
* ``cncf-raw/`` — trimmed copies of CNCF's own raw responses for 2018, 2019 and the first half of
  2020 (source: the public ``cncf/surveys`` repository, folder ``cloudnative/``).

The package, by what each module holds:

* :mod:`~whyk8s.lessons.survey.data` — the figures file (:func:`load_figures`, read once), what each
  metric means (:data:`METRICS`: label and base), the notes per year (:data:`YEAR_NOTES`);
* :mod:`~whyk8s.lessons.survey.tables` — :func:`headline_table`, :func:`sources_table`;
* :mod:`~whyk8s.lessons.survey.charts` — :func:`plot_headlines`, :func:`plot_shares`;
* :mod:`~whyk8s.lessons.survey.recompute` — :func:`load_raw` (every literal answer kept: CNCF's ``N/A`` is an
  answer, not a blank), :func:`answer_counts` and the recomputations;
* :mod:`~whyk8s.lessons.survey.provenance` — how ``data/`` is made from CNCF's files and the checked
  reference table (``python -m whyk8s.lessons.survey.provenance``).

The interactive explorer of chapter 5 is :class:`whyk8s.notebook.survey_explorer.SurveyExplorer`.
All shares are **percent** (0–100), never fractions. Survey years are the years the survey was
fielded, which is not always the year the report was published (the 2019 survey came out in 2020).
"""

from whyk8s.lessons.survey.charts import plot_headlines, plot_shares
from whyk8s.lessons.survey.data import (BASES, DEFAULT_METRICS, DENOMINATOR_NOTES, FOOTNOTES, GENERAL_NOTES,
                                        METRIC_NOTES, METRICS, SURVEY_YEARS, YEAR_NOTES, Metric, load_figures,
                                        metric_label, metrics, same_method)
from whyk8s.lessons.survey.recompute import (RAW_YEARS, answer_counts, load_raw, recompute_containers_in_production,
                                             recompute_kubernetes_in_production)
from whyk8s.lessons.survey.tables import base_of, headline_markdown, headline_table, sources_table

__all__ = [
    "FOOTNOTES",
    "YEAR_NOTES",
    "GENERAL_NOTES",
    "DENOMINATOR_NOTES",
    "METRIC_NOTES",
    "BASES",
    "same_method",
    "base_of",
    "headline_markdown",
    "SURVEY_YEARS",
    "RAW_YEARS",
    "DEFAULT_METRICS",
    "METRICS",
    "Metric",
    "load_figures",
    "metrics",
    "metric_label",
    "headline_table",
    "sources_table",
    "plot_headlines",
    "load_raw",
    "answer_counts",
    "recompute_kubernetes_in_production",
    "recompute_containers_in_production",
    "plot_shares",
]
