"""Recompute a headline from CNCF's raw survey responses (2018, 2019 and the first half of 2020).

``data/cncf-raw/`` holds trimmed copies of CNCF's own raw responses: one row per respondent, only the
columns needed to recompute "Kubernetes in production" and "containers in production" (source: the
public ``cncf/surveys`` repository, folder ``cloudnative/``; how they were trimmed is in
``data/README.md`` and :mod:`whyk8s.lessons.survey.provenance`). All shares are **percent** (0–100),
unrounded.

**Every literal answer is kept.** CNCF's 2019 file offers the answer ``N/A`` (4 times on the
Kubernetes line, 30 times on the containers Production line). pandas' default reader turns the text
``N/A`` (and ``NA``, ``null``, ``None``, …) into a missing value, which silently moves those
respondents from "answered" to "skipped". :func:`load_raw` therefore reads with
``keep_default_na=False`` and treats only an **empty** cell as missing.

**The base rule** (the same for both recomputations and all three years): a share "as published" is
the production count divided by everyone who gave *any* answer on that line — CNCF's third answer
(2019 ``N/A``, 2020 ``Not using or don't know``) included. This reproduces every printed figure:
2018 58% and 73%, 2019 78% and 84%, 2020 83% and 92%.
"""

from __future__ import annotations

import pandas as pd

from whyk8s.lessons.survey.data import load_figures
from whyk8s.paths import data_dir

__all__ = ["RAW_YEARS", "RAW_FILES", "load_raw", "answer_counts", "recompute_kubernetes_in_production",
           "recompute_containers_in_production"]

#: Years with raw responses in ``data/cncf-raw/`` (2020 is the first-half-2020 survey).
RAW_YEARS: tuple[int, ...] = (2018, 2019, 2020)

#: The trimmed file of each year, in ``data/cncf-raw/``.
RAW_FILES: dict[int, str] = {
    2018: "cncf-survey-2018-trimmed.csv",
    2019: "cncf-survey-2019-trimmed.csv",
    2020: "cncf-survey-1H-2020-trimmed.csv",
}

# How each raw file spells the answers. Facts from the raw files themselves (second header row and
# the answers); 2020 splits the Kubernetes line into three columns, one per answer. "other" is the
# third answer CNCF offered that year; it counts in the base.
_K8S_ANSWERS: dict[int, dict[str, str]] = {
    2018: {"production": "Using in Production?", "evaluating": "Evaluating?"},
    2019: {"production": "Using in Production", "evaluating": "Evaluating", "other": "N/A"},
    2020: {"production": "Using in production", "evaluating": "Evaluating", "other": "Not using or don't know"},
}
_CONTAINER_ANSWERS: dict[int, dict[str, str]] = {
    2018: {"now": "Today", "planned": "Future Plans"},
    2019: {"now": "Currently Using", "planned": "Future Plans", "other": "N/A"},
    2020: {"now": "Currently Using", "planned": "Future Plans"},
}


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
    added by whyk8s. Cells hold the chosen answer exactly as CNCF wrote it (``str``; CNCF's literal
    answer ``"N/A"`` stays the text ``"N/A"``), or NaN only where the cell is empty (no answer).
    Raises ``ValueError`` for a year without raw data (valid: :data:`RAW_YEARS`).
    Source: CNCF, ``github.com/cncf/surveys`` ``cloudnative/`` (trimmed; see ``data/README.md``).
    """
    year = _check_raw_year(year)
    # keep_default_na=False: pandas would otherwise read the answers "N/A", "NA", "null", … as missing.
    return pd.read_csv(data_dir() / "cncf-raw" / RAW_FILES[year], header=[0, 1], dtype=str,
                       keep_default_na=False, na_values=[""])


def _column(raw: pd.DataFrame, option_prefix: str, question_word: str) -> list[tuple[str, str]]:
    return [
        c for c in raw.columns
        if c[1].startswith(option_prefix) and question_word.lower() in c[0].lower()
    ]


def _kubernetes_cells(raw: pd.DataFrame, year: int) -> pd.DataFrame:
    cols = _column(raw, "Kubernetes", "evaluating") or _column(raw, "Kubernetes", "projects")
    if not cols:  # pragma: no cover - the data files are part of the repository
        raise ValueError(f"The {year} raw file has no Kubernetes column on the CNCF-projects question.")
    return raw[cols]


def answer_counts(year: int, line: str = "kubernetes", pandas_defaults: bool = False) -> dict[str, int]:
    """Every distinct answer on one line of ``year``'s raw responses, with how many respondents gave
    it: ``{"Using in Production": 1019, "Evaluating": 280, "N/A": 4, "": 34}`` for 2019's Kubernetes
    line (``""`` = left blank). ``line`` is ``"kubernetes"`` (the Kubernetes line of the CNCF-projects
    question) or ``"containers"`` (the Production line of the containers question). Where CNCF split a
    line into one column per answer (2020), a respondent's answers are joined with ``" + "``.
    Counts are whole respondents; they add up to all respondents. Raises ``ValueError`` for a year
    without raw data or an unknown ``line``.

    ``pandas_defaults=True`` reads the file as a plain ``pd.read_csv(path, header=[0, 1])`` would, to
    show the fault :func:`load_raw` avoids: the literal answer ``N/A`` is counted with the blanks."""
    year = _check_raw_year(year)
    raw = (pd.read_csv(data_dir() / "cncf-raw" / RAW_FILES[year], header=[0, 1], dtype=str) if pandas_defaults
           else load_raw(year))
    if line == "kubernetes":
        cells = _kubernetes_cells(raw, year)
    elif line == "containers":
        cells = raw[_column(raw, "Production", "containers")]
    else:
        raise ValueError(f"Unknown line {line!r}: use 'kubernetes' or 'containers'.")
    joined = cells.apply(lambda row: " + ".join(v for v in row if isinstance(v, str)), axis=1)
    counts = joined.value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def _published(year: int, metric: str) -> float:
    figures = load_figures()
    pub = figures[(figures["survey_year"] == year) & (figures["metric"] == metric) & ~figures["secondary"]]
    return float(pub["value_percent"].iloc[0]) if not pub.empty else float("nan")


def recompute_kubernetes_in_production(year: int) -> dict:
    """Recompute "Kubernetes in production" for ``year`` (2018, 2019 or 2020) from the raw responses.

    Returns a dict:

    * ``year``; ``respondents`` — every response in the file (all respondents);
    * ``production``, ``evaluating`` — counts of those answers on the Kubernetes line of "which CNCF
      projects are you using or evaluating";
    * ``other`` — the third answer CNCF offered that year (2019: ``N/A``; 2020: ``Not using or don't
      know``; 2018 had none: 0), and ``other_answer``, its text (``""`` for 2018);
    * ``answered`` — respondents who gave any of those answers (the published base);
      ``blank`` — respondents who left the line empty; ``skipped`` = respondents − answered;
    * ``unexpected`` — cells on that line holding something else (2018 has two rows shifted by one
      column in CNCF's file; they hold an industry name there), counted in neither base nor blank;
    * ``published_share`` — production / answered × 100, the base CNCF used (percent, unrounded);
    * ``share_of_all`` — production / respondents × 100 (percent, unrounded);
    * ``published_figure`` — the headline CNCF printed for that year (percent, from the figures CSV).

    2018 gives 842 / (842 + 611) = 57.9% and 842 / 2,401 = 35.1%; 2019 gives 1,019 / (1,019 + 280 + 4
    ``N/A``) = 1,019 / 1,303 = 78.2% and 1,019 / 1,337 = 76.2%. Raises ``ValueError`` for a year
    without raw data. Source: CNCF raw responses (see :func:`load_raw`).
    """
    year = _check_raw_year(year)
    raw = load_raw(year)
    answers = _K8S_ANSWERS[year]
    cells = _kubernetes_cells(raw, year)
    counts = {k: int((cells == v).any(axis=1).sum()) for k, v in answers.items()}
    known = cells.isin(list(answers.values())).any(axis=1)
    blank = int(cells.isna().all(axis=1).sum())
    unexpected = int((cells.notna().any(axis=1) & ~known).sum())
    answered = int(known.sum())
    respondents = len(raw)
    return {
        "year": year,
        "respondents": respondents,
        "production": counts["production"],
        "evaluating": counts["evaluating"],
        "other": counts.get("other", 0),
        "other_answer": answers.get("other", ""),
        "answered": answered,
        "blank": blank,
        "skipped": respondents - answered,
        "unexpected": unexpected,
        "published_share": 100 * counts["production"] / answered,
        "share_of_all": 100 * counts["production"] / respondents,
        "published_figure": _published(year, "kubernetes_in_production"),
    }


def recompute_containers_in_production(year: int) -> dict:
    """Recompute "containers in production" for ``year`` (2018, 2019 or 2020) from the raw responses.

    Uses the Production line of "your organization uses containers for …". Returns a dict with
    ``year``, ``respondents``, ``now`` (using containers in production today / currently), ``planned``
    (future plans only), ``other`` (2019's literal ``N/A``; 0 in 2018 and 2020, which did not offer it)
    and ``other_answer`` (its text), ``answered`` = now + planned + other (the published base),
    ``blank``, ``published_share`` = now / answered × 100 and ``share_of_all`` = now / respondents × 100
    (percent, unrounded), and ``published_figure`` (percent, from the figures CSV).
    2018: 1,271 / (1,271 + 471) = 73.0% and 1,271 / 2,401 = 52.9%; 2019: 1,091 / (1,091 + 179 + 30
    ``N/A``) = 1,091 / 1,300 = 83.9% (CNCF printed 84%). Raises ``ValueError`` for a year without raw
    data. Source: CNCF raw responses (see :func:`load_raw`).
    """
    year = _check_raw_year(year)
    raw = load_raw(year)
    answers = _CONTAINER_ANSWERS[year]
    cells = raw[_column(raw, "Production", "containers")]
    is_now = (cells == answers["now"]).any(axis=1)
    is_planned = (cells == answers["planned"]).any(axis=1) & ~is_now
    is_other = (cells == answers["other"]).any(axis=1) & ~is_now & ~is_planned if "other" in answers \
        else pd.Series(False, index=cells.index)
    now, planned, other = int(is_now.sum()), int(is_planned.sum()), int(is_other.sum())
    answered = now + planned + other
    return {
        "year": year,
        "respondents": len(raw),
        "now": now,
        "planned": planned,
        "other": other,
        "other_answer": answers.get("other", ""),
        "answered": answered,
        "blank": int(cells.isna().all(axis=1).sum()),
        "published_share": 100 * now / answered,
        "share_of_all": 100 * now / len(raw),
        "published_figure": _published(year, "containers_in_production"),
    }
