"""Where the course's survey data come from, as code: ``data/`` is regenerated from its sources.

Two kinds of file, two sources:

* ``data/cncf-raw/*-trimmed.csv`` are cut out of CNCF's own raw files (``Cloud_Native_Survey_2018.csv``,
  ``Cloud_Native_Survey_2019.csv``, ``Cloud_Native_Survey_1H_2020.csv`` from the public
  ``cncf/surveys`` repository, folder ``cloudnative/``) by :func:`trim`: the columns in
  :data:`TRIM_COLUMNS`, with CNCF's question written over every column and a first column numbering
  the responses. Every cell is copied as text, byte for byte (``N/A`` stays ``N/A``).
* ``data/cncf-survey-figures.csv`` is the course's checked reference table (``cncf-survey-figures.csv``
  in the reference folder) with exactly the edits in :data:`FIGURE_EDITS`, applied by
  :func:`course_figures`.

``python -m whyk8s.lessons.survey.provenance REFERENCE_DIR`` checks that ``data/`` is what these
functions make from the sources (exit status 1 and the differing files otherwise); ``--write`` writes
them. ``REFERENCE_DIR`` holds ``cncf-survey-figures.csv`` and a folder ``cncf-surveys-raw/`` with
CNCF's raw files (default ``$WHYK8S_REFERENCE_DIR``, else ``../shared/reference`` beside the checkout).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path
from typing import NamedTuple

from whyk8s.lessons.survey.recompute import RAW_FILES
from whyk8s.paths import data_dir, repo_root

__all__ = ["CNCF_FILES", "TRIM_COLUMNS", "RESPONSE_COLUMN", "FigureEdit", "FIGURE_EDITS", "trim",
           "course_figures", "expected_files", "reference_dir", "main"]

#: CNCF's raw file for each survey year (2020 = the first-half-2020 survey).
CNCF_FILES: dict[int, str] = {
    2018: "Cloud_Native_Survey_2018.csv",
    2019: "Cloud_Native_Survey_2019.csv",
    2020: "Cloud_Native_Survey_1H_2020.csv",
}

_PROJECTS_2019 = ("Please indicate if your company/organization is evaluating, or currently using in production, "
                  "any of these graduated CNCF projects.")
_CONTAINERS_2019 = ("Please indicate if your company/organization currently uses, or has future plans to use, "
                    "containers for any of the below options.")
_STAGES = ("Proof of Concept (PoC)", "Development", "Test", "Production")

#: The columns kept of each year, as (question, answer options), in order. CNCF writes a question
#: once, over the first of its columns; a column belongs to the last question written before it.
TRIM_COLUMNS: dict[int, tuple[tuple[str, tuple[str, ...]], ...]] = {
    2018: (("Which of these cloud native projects is your company/organization:", ("Kubernetes",)),
           ("Your company/organization uses containers for:", _STAGES)),
    2019: ((_PROJECTS_2019, ("Kubernetes",)), (_CONTAINERS_2019, _STAGES)),
    2020: ((_PROJECTS_2019, ("Kubernetes - Evaluating", "Kubernetes - Using in production",
                             "Kubernetes - Not using or don't know")),
           (_CONTAINERS_2019, tuple(f"{s} - {a}" for s in _STAGES for a in ("Currently Using", "Future Plans")))),
}

#: The first column of every trimmed file: (header row 1, header row 2); its cells are 1…N.
RESPONSE_COLUMN = ("Response number (added by whyk8s: position of the response in CNCF's file)", "Response")


class FigureEdit(NamedTuple):
    """One change from the reference table to ``data/cncf-survey-figures.csv``: in the row of
    ``survey_year`` and ``metric`` whose line contains ``old`` (exactly once), ``old`` becomes ``new``
    (both as written in the CSV, quotes included); ``why`` says why."""

    survey_year: int
    metric: str
    old: str
    new: str
    why: str


_PRESS = "the sample size comes from press coverage, not from CNCF: marked SECONDARY like every other such row"

#: Every edit of the reference table, and nothing else (:func:`course_figures`).
FIGURE_EDITS: tuple[FigureEdit, ...] = (
    FigureEdit(2018, "sample_size", ',n/a,"2,400",', ',n/a (SECONDARY: press coverage),"2,400",', _PRESS),
    FigureEdit(2019, "sample_size", ',n/a,"1,337",', ',n/a (SECONDARY: press coverage),"1,337",', _PRESS),
    FigureEdit(2025, "sample_size", ',n/a,"628 (SECONDARY)",', ",n/a (SECONDARY: press coverage),628,",
               "the SECONDARY mark moves from the respondents column to the denominator column, where "
               "load_figures() looks for it"),
)


def trim(cncf_csv: Path | str, year: int) -> str:
    """The trimmed file of ``year`` made from CNCF's raw file ``cncf_csv``, as text (CSV, ``\\r\\n``
    line ends, UTF-8). Raises ``ValueError`` if a column of :data:`TRIM_COLUMNS` is not found exactly
    once, or if a row has a different number of cells than the header."""
    with open(cncf_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    questions, current = [], ""
    for q in rows[0]:
        current = q or current
        questions.append(current)
    picked = []
    for question, options in TRIM_COLUMNS[year]:
        for option in options:
            found = [j for j, (q, o) in enumerate(zip(questions, rows[1], strict=True))
                     if q == question and o == option]
            if len(found) != 1:
                raise ValueError(f"{cncf_csv}: column ({question!r}, {option!r}) found {len(found)} times")
            picked += found
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([RESPONSE_COLUMN[0], *(questions[j] for j in picked)])
    writer.writerow([RESPONSE_COLUMN[1], *(rows[1][j] for j in picked)])
    for number, row in enumerate(rows[2:], start=1):
        if len(row) != len(rows[0]):
            raise ValueError(f"{cncf_csv}: response {number} has {len(row)} cells, the header {len(rows[0])}")
        writer.writerow([str(number), *(row[j] for j in picked)])
    return out.getvalue()


def course_figures(reference_csv: Path | str) -> str:
    """``data/cncf-survey-figures.csv`` made from the reference table: its text with exactly the
    :data:`FIGURE_EDITS`. Raises ``ValueError`` if an edit's row or text is not found exactly once
    (the reference changed: look at it before changing the edits)."""
    lines = Path(reference_csv).read_text(encoding="utf-8").split("\n")
    for edit in FIGURE_EDITS:
        hits = [i for i, line in enumerate(lines)
                if line.startswith(f"{edit.survey_year},") and edit.old in line
                and next(csv.reader([line]))[2] == edit.metric]
        if len(hits) != 1 or lines[hits[0]].count(edit.old) != 1:
            raise ValueError(f"Reference row {edit.survey_year} {edit.metric} with {edit.old!r}: "
                             f"found {len(hits)} times")
        lines[hits[0]] = lines[hits[0]].replace(edit.old, edit.new)
    return "\n".join(lines)


def reference_dir() -> Path:
    """``$WHYK8S_REFERENCE_DIR``, else ``../shared/reference`` beside the checkout (may not exist)."""
    env = os.environ.get("WHYK8S_REFERENCE_DIR")
    return Path(env) if env else repo_root().parent / "shared" / "reference"


def expected_files(reference: Path | str) -> dict[Path, str]:
    """What each file of ``data/`` that comes from ``reference`` should hold: ``{path: text}``."""
    reference = Path(reference)
    files = {data_dir() / "cncf-survey-figures.csv": course_figures(reference / "cncf-survey-figures.csv")}
    for year, name in CNCF_FILES.items():
        files[data_dir() / "cncf-raw" / RAW_FILES[year]] = trim(reference / "cncf-surveys-raw" / name, year)
    return files


def main(argv: list[str] | None = None) -> int:
    """Check (default) or ``--write`` the survey files of ``data/`` against their sources."""
    parser = argparse.ArgumentParser(prog="python -m whyk8s.lessons.survey.provenance", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("reference", nargs="?", type=Path, default=None,
                        help="folder with cncf-survey-figures.csv and cncf-surveys-raw/ (default: %(default)s)")
    parser.add_argument("--write", action="store_true", help="write the files instead of checking them")
    args = parser.parse_args(argv)
    files = expected_files(args.reference or reference_dir())
    differ = []
    for path, text in files.items():
        current = path.read_bytes().decode("utf-8") if path.exists() else None
        if current == text:
            print(f"unchanged  {path.relative_to(data_dir().parent)}")
        elif args.write:
            path.write_bytes(text.encode("utf-8"))
            print(f"written    {path.relative_to(data_dir().parent)}")
        else:
            differ.append(path)
            print(f"DIFFERS    {path.relative_to(data_dir().parent)}")
    return 1 if differ else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
