"""Recompute a headline from CNCF's raw survey responses (2018, 2019 and the first half of 2020).

``data/cncf-raw/`` holds trimmed copies of CNCF's own raw responses: one row per respondent, only the
columns needed to recompute "Kubernetes in production" and "containers in production" (source: the
public ``cncf/surveys`` repository, folder ``cloudnative/``; how they were trimmed is in
``data/README.md``). All shares are **percent** (0–100), unrounded.
"""

from __future__ import annotations

import pandas as pd

from whyk8s.lessons.survey.data import load_figures
from whyk8s.paths import data_dir

__all__ = ["RAW_YEARS", "load_raw", "recompute_kubernetes_in_production", "recompute_containers_in_production"]

#: Years with raw responses in ``data/cncf-raw/`` (2020 is the first-half-2020 survey).
RAW_YEARS: tuple[int, ...] = (2018, 2019, 2020)

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
