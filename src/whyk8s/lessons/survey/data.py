"""The CNCF survey figures as data: the figures file, what each metric means, and the notes per year.

:func:`load_figures` reads ``data/cncf-survey-figures.csv`` once per kernel (again only if the file
changes) and returns a fresh copy each call. :data:`METRICS` gives every metric a readable label and
says what its percentage is a share of; :data:`YEAR_NOTES` says what changed in each survey year.
All shares are **percent** (0–100). Sources: the figures file (each row names its own source URL and
quote) and ``data/README.md``.
"""

from __future__ import annotations

import functools
import numbers
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from whyk8s.paths import data_dir

__all__ = ["SURVEY_YEARS", "DEFAULT_METRICS", "Metric", "METRICS", "YEAR_NOTES", "FOOTNOTES",
           "DENOMINATOR_NOTES", "GENERAL_NOTES", "METRIC_NOTES", "BASES", "SOURCE_CREDIT", "load_figures",
           "metrics", "metric_label", "validate", "points", "percent_label", "same_method"]

#: Survey years the course covers (2024 is included, but has no figure: no primary source could be read).
SURVEY_YEARS: tuple[int, ...] = tuple(range(2016, 2026))

#: The metrics drawn by default.
DEFAULT_METRICS: tuple[str, ...] = ("kubernetes_in_production", "containers_in_production")


class Metric(NamedTuple):
    """What a metric of the figures file means: ``label`` (readable name) and ``base`` (what its
    percentage is a share of, as far as the sources tell)."""

    label: str
    base: str


_BY_YEAR = "each year's own base (see the notes)"
#: Labels of the rows that are not percentages.
_OTHER_LABELS = {"sample_size": "Number of respondents"}

#: Every metric of ``data/cncf-survey-figures.csv`` that has a percentage, by its id. The bases
#: summarise the file's ``denominator`` column; a test checks that no metric of the file is missing.
METRICS: dict[str, Metric] = {
    "kubernetes_in_production": Metric("Kubernetes in production", _BY_YEAR),
    "containers_in_production": Metric("Containers in production", _BY_YEAR),
    "kubernetes_evaluating": Metric("Evaluating Kubernetes", _BY_YEAR),
    "kubernetes_using_or_evaluating": Metric("Using or evaluating Kubernetes", _BY_YEAR),
    "kubernetes_using": Metric("Using Kubernetes (any stage)", "2020 respondents"),
    "kubernetes_test_or_poc": Metric("Kubernetes in test or proof of concept",
                                     "2021 Part 1 respondents who answered the question"),
    "kubernetes_no_plans": Metric("No plans to use Kubernetes",
                                  "2023 organisations that consume cloud computing services"),
    "kubernetes_in_production_2023_comparator": Metric(
        "Kubernetes in production, 2023 as restated in 2025", "container users (press wording, secondary)"),
    "kubernetes_in_production_africa": Metric("Kubernetes in production, respondents in Africa",
                                              "2021 respondents in Africa"),
    "kubernetes_in_production_end_users": Metric("Kubernetes in production, CNCF end-user members",
                                                 "2022 end-user (member) respondents"),
    "kubernetes_in_production_non_end_users": Metric("Kubernetes in production, other respondents",
                                                     "2022 respondents who are not end-user members"),
    "kubernetes_in_production_orgs_over_5000_employees": Metric(
        "Kubernetes in production, organisations over 5,000 employees",
        "2018 respondents at such organisations (secondary)"),
    "containers_apps_in_production": Metric("Application containers in production", "unclear (secondary)"),
    "containers_for_nearly_all_apps": Metric("Containers for nearly all applications", "2022 respondents"),
    "containers_for_at_least_a_few_production_apps": Metric(
        "Containers for at least a few production applications", "2022 respondents"),
    "containers_use_incl_piloting_evaluating": Metric(
        "Using containers, piloting or evaluating included", "2023 organisations (vendors filtered out)"),
    "cloud_native_techniques_adopted": Metric("Adopted cloud native techniques", "2025 surveyed organisations"),
    "ai_genai_inference_on_kubernetes": Metric("Generative-AI inference on Kubernetes",
                                               "2025 organisations that host generative-AI models"),
    "ai_models_deployed_daily": Metric("Deploy AI models daily", "2025 organisations"),
    "ai_not_training_models": Metric("Do not train models at all", "2025 organisations"),
    "ai_ml_not_yet_on_kubernetes": Metric("AI/ML not yet on Kubernetes", "unclear (secondary)"),
}

#: What changed in the survey, once per change: ``(survey years, note)``, in year order.
#: Facts from the figures file's ``denominator`` column and ``data/README.md``.
YEAR_NOTES: tuple[tuple[tuple[int, ...], str], ...] = (
    ((2016,), "2016: only one figure survives, restated by CNCF in 2020; the number of respondents was not found."),
    ((2017,), "2017: both Kubernetes figures (83% in production, 61% evaluating) come from a secondary source "
              "and add up to more than 100%, so they cannot share one base."),
    ((2018, 2019, 2020), "2018–2020: 'Kubernetes in production' is a share of those who answered the Kubernetes "
                         "line of 'which CNCF projects are you using or evaluating', not of all respondents."),
    ((2021,), "2021: the survey was split in two parts; Part 1 asked 'Are you using Kubernetes?' directly "
              "(production, test/PoC and evaluating add up to 96%)."),
    ((2022,), "2022: about half of the respondents came from a paid panel; the figure is a share of the "
              "entire sample."),
    ((2023,), "2023: vendors were dropped from the adoption questions and CNCF warns against comparing with "
              "earlier years."),
    ((2024,), "2024: no figure — no primary source could be read."),
    ((2025,), "2025: shares are of 'container users', not of all respondents."),
)

#: :data:`YEAR_NOTES` by survey year (several years may share one note).
FOOTNOTES: dict[int, str] = {year: note for years, note in YEAR_NOTES for year in years}

#: The notes the figures file points to from its ``denominator`` column ("see note D1").
#: Facts from the course reference notes and the recomputation in :mod:`.recompute` (every count
#: here is tested against the raw files).
DENOMINATOR_NOTES: dict[str, str] = {
    "D1": (
        "containers in production, 2018–2020: a share of those who gave an answer on the Production line "
        "(using containers in production today, planning to, or — 2019 only — 'N/A'), not of all "
        "respondents (2018: 1,271 of 1,742 = 73%, 53% of all 2,401; 2019: 1,091 of 1,300 = 84%, "
        "30 'N/A' answers included; 2020: 891 of 969 = 92%)"
    ),
    "D2": (
        "Kubernetes in production, 2018–2020: a share of those who answered the Kubernetes line of "
        "'which CNCF projects are you using or evaluating', every answer CNCF offered included "
        "(2018: 842 of 1,453 = 58%, 35% of all 2,401; 2019: 1,019 of 1,303 = 78%, 4 'N/A' answers "
        "included; 2020: 887 of 1,065 = 83%, 37 'not using or don't know' included)"
    ),
}

#: Notes on one metric's base across years, written under a chart that draws the metric.
#: Facts: :data:`DENOMINATOR_NOTES` and CNCF's 2021 Part 1 tables (``Cloud_Native_Survey_2021-Part_1.xlsx``,
#: sheets 'Question 13' and 'Question 16', github.com/cncf/surveys).
METRIC_NOTES: dict[str, tuple[str, ...]] = {
    "kubernetes_in_production": (
        "Kubernetes in production — D2: " + DENOMINATOR_NOTES["D2"].split(": ", 1)[1],
        "Kubernetes in production, 2021: 1,294 of the 2,165 Part 1 respondents who answered 'Are you using "
        "Kubernetes?' (59.77%); the base includes 57 'No' and 22 'Not sure'.",
    ),
    "containers_in_production": (
        "Containers in production — D1: " + DENOMINATOR_NOTES["D1"].split(": ", 1)[1],
        "Containers in production, 2021: 1,385 of 2,177 (63.62%); unlike 2018–2020 the base includes the "
        "152 'not using or planning to use' — on the 2018–2020 base it would be 1,385 of 2,025 = 68.4%.",
    ),
}

#: What each headline figure is a share of, short enough for a table cell and read after "58% of …":
#: ``{(metric, year): text}``.
#: Facts from the figures file's ``denominator`` and ``respondents`` columns, :data:`METRIC_NOTES` and
#: the recomputation (a test checks the 2018–2020 counts against :mod:`.recompute`).
BASES: dict[tuple[str, int], str] = {
    ("kubernetes_in_production", 2017): "an unclear base",
    ("kubernetes_in_production", 2018): "1,453 who answered the K8s line",
    ("kubernetes_in_production", 2019): "1,303 who answered the K8s line",
    ("kubernetes_in_production", 2020): "1,065 who answered the K8s line",
    ("kubernetes_in_production", 2021): "2,165 who answered (Part 1)",
    ("kubernetes_in_production", 2022): "the entire sample, 2,063",
    ("kubernetes_in_production", 2023): "988 cloud consumers",
    ("kubernetes_in_production", 2025): "container users",
    ("containers_in_production", 2016): "respondents (n not found)",
    ("containers_in_production", 2018): "1,742 who answered the Production line",
    ("containers_in_production", 2019): "1,300 who answered the Production line",
    ("containers_in_production", 2020): "969 who answered the Production line",
    ("containers_in_production", 2021): "2,177 who answered (Part 1)",
    ("kubernetes_evaluating", 2017): "an unclear base",
    ("kubernetes_evaluating", 2018): "1,453 who answered the K8s line",
    ("kubernetes_evaluating", 2021): "2,165 who answered (Part 1)",
    ("kubernetes_evaluating", 2022): "the entire sample, 2,063",
    ("kubernetes_evaluating", 2023): "988 cloud consumers",
    # CNCF's release puts its 96% beside the survey's 3,829 responses (Parts 1 and 2), but it is the sum
    # of the three "yes or evaluating" answers of Part 1's "Are you using Kubernetes?": 2,086 of 2,165
    ("kubernetes_using_or_evaluating", 2021): "the same 2,165 (Part 1), not all 3,829 responses",
    ("kubernetes_using_or_evaluating", 2022): "the entire sample, 2,063",
    ("kubernetes_using_or_evaluating", 2023): "988 cloud consumers",
}

#: Notes that apply to every year.
GENERAL_NOTES: tuple[str, ...] = (
    "Survey year is the year the survey was fielded; reports came out later (the 2019 survey in 2020).",
    "Hollow markers: figures from press or blog coverage (secondary sources), not from CNCF itself.",
)

#: The credit line under every chart of the survey data.
SOURCE_CREDIT = "Source: CNCF cloud native surveys (figures and raw responses, github.com/cncf/surveys)."

def same_method(a: int, b: int) -> bool:
    """True if survey years ``a`` and ``b`` share one note of :data:`YEAR_NOTES` (one base and method,
    so a line may join their figures): only 2018, 2019 and 2020 do."""
    return a in FOOTNOTES and FOOTNOTES.get(a) == FOOTNOTES.get(b)


_URL = re.compile(r"https?://[^\s)]+")


def _parse_percent(text) -> tuple[float, bool]:
    """'58' → (58.0, False); '>90' → (90.0, True); '' → (nan, False)."""
    if text is None or (isinstance(text, float) and pd.isna(text)) or str(text).strip() == "":
        return float("nan"), False
    s = str(text).strip()
    lower_bound = s.startswith(">")
    return float(s.lstrip(">").strip()), lower_bound


@functools.lru_cache(maxsize=4)
def _read_figures(path: Path, mtime_ns: int) -> pd.DataFrame:
    """The parsed figures file; cached per (path, modification time), so a changed file is read again."""
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


def load_figures() -> pd.DataFrame:
    """Every headline figure of the CNCF surveys, one row per figure (2016–2025, none for 2024).

    Returns a new DataFrame (yours to change) with these columns:

    * ``survey_year`` (int), ``published`` (str: when and how it was published),
    * ``metric`` (str, e.g. ``kubernetes_in_production``, see :data:`METRICS`; ``sample_size`` rows
      have no percentage),
    * ``value_percent`` (float, percent 0–100; NaN for ``sample_size``; ``>90`` is read as 90),
    * ``value_text`` (str, the value as written, e.g. ``">90"``), ``lower_bound`` (bool, True for ``>``),
    * ``denominator`` (str: what the percentage is a share of; "note D1"/"D2" are in
      :data:`DENOMINATOR_NOTES`), ``respondents`` (str, as written),
    * ``source_url`` (str, as written, sometimes with a note), ``source_link`` (str, the first URL in it),
    * ``quote`` (str: the phrase that states the figure),
    * ``secondary`` (bool: the denominator says ``SECONDARY`` — press or blog coverage, not CNCF).

    The file is parsed once and kept until it changes on disk. Raises ``FileNotFoundError`` if
    ``data/cncf-survey-figures.csv`` is missing. Source: that file (each row names its own source).
    """
    path = data_dir() / "cncf-survey-figures.csv"
    return _read_figures(path, path.stat().st_mtime_ns).copy()


def metrics() -> list[str]:
    """The metrics that have at least one percentage, sorted (``sample_size`` is left out)."""
    df = load_figures()
    return sorted(df.loc[df["value_percent"].notna(), "metric"].unique())


def metric_label(metric: str, base: bool = False) -> str:
    """The readable name of ``metric`` (from :data:`METRICS`), with ``base=True`` followed by what its
    percentage is a share of: ``"Deploy AI models daily — share of 2025 organisations"``.
    ``sample_size`` reads "Number of respondents"; an unknown id is shown with spaces for underscores."""
    meta = METRICS.get(metric)
    label = meta.label if meta else _OTHER_LABELS.get(metric, metric.replace("_", " "))
    if base and meta:
        label += f" — share of {meta.base}"
    return label


def percent_label(value: float, lower_bound: bool = False) -> str:
    """A percentage as chart labels show it: whole percent (``59.77`` → ``"60%"``), ``">90%"`` for a
    lower bound."""
    return f"{'>' if lower_bound else ''}{round(value):.0f}%"


def validate(metric_list, years) -> tuple[list[str], list[int]]:
    """Check a choice of metrics and survey years as the tables and charts accept them.

    ``metric_list``: a metric id, a list of ids, or None (:data:`DEFAULT_METRICS`); ``years``: a year,
    an iterable of years, or None (all of :data:`SURVEY_YEARS`). Returns ``(metrics, sorted years)``.
    Raises ``ValueError`` naming the valid options for an empty choice, an unknown metric or year.
    """
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


def points(df: pd.DataFrame, metric: str, years: Iterable[int]) -> pd.DataFrame:
    """Rows of ``df`` (:func:`load_figures`) for one metric in ``years`` that have a percentage,
    by year, CNCF's own figure before a secondary one."""
    rows = df[(df["metric"] == metric) & df["survey_year"].isin(list(years)) & df["value_percent"].notna()]
    return rows.sort_values(["survey_year", "secondary"])
