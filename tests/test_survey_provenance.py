"""The survey files of data/ are what whyk8s.lessons.survey.provenance makes from their sources (W5)."""

from __future__ import annotations

import csv

import pytest

from whyk8s.lessons.survey import provenance
from whyk8s.paths import data_dir

REFERENCE = provenance.reference_dir()


def test_trim_keeps_the_chosen_columns_and_every_literal(tmp_path):
    """CNCF writes a question once over its first column; trim writes it over every kept column,
    numbers the responses and copies every cell as written (N/A stays N/A)."""
    question, containers = provenance.TRIM_COLUMNS[2019][0][0], provenance.TRIM_COLUMNS[2019][1][0]
    src = tmp_path / "cncf.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Free text", question, "", containers, "", "", ""])
        w.writerow(["Response", "Istio", "Kubernetes", "Proof of Concept (PoC)", "Development", "Test", "Production"])
        w.writerow(["a, b", "", "N/A", "", "NA", "null", "Currently Using"])
        w.writerow(["", "Evaluating", "Using in Production", "", "", "", ""])
    rows = list(csv.reader(provenance.trim(src, 2019).splitlines()))
    assert rows[0] == [provenance.RESPONSE_COLUMN[0], question, *[containers] * 4]
    assert rows[1] == ["Response", "Kubernetes", "Proof of Concept (PoC)", "Development", "Test", "Production"]
    assert rows[2:] == [["1", "N/A", "", "NA", "null", "Currently Using"], ["2", "Using in Production", "", "", "", ""]]


def test_trim_refuses_a_file_without_a_kept_column(tmp_path):
    src = tmp_path / "cncf.csv"
    src.write_text("Q\r\nKubernetes\r\nx\r\n", encoding="utf-8")
    with pytest.raises(ValueError, match="found 0 times"):
        provenance.trim(src, 2019)


def test_every_figure_edit_is_in_the_course_file_once():
    lines = (data_dir() / "cncf-survey-figures.csv").read_text(encoding="utf-8").split("\n")
    for edit in provenance.FIGURE_EDITS:
        hits = [line for line in lines if line.startswith(f"{edit.survey_year},") and edit.new in line]
        assert len(hits) == 1, edit
        assert edit.old not in hits[0]


def test_course_figures_refuses_a_reference_without_the_edited_row(tmp_path):
    ref = tmp_path / "ref.csv"
    ref.write_text("survey_year,published,metric\n2018,x,sample_size\n", encoding="utf-8")
    with pytest.raises(ValueError, match="2018 sample_size"):
        provenance.course_figures(ref)


@pytest.mark.skipif(not (REFERENCE / "cncf-surveys-raw").is_dir(),
                    reason=f"the reference folder {REFERENCE} is not on this machine")
def test_data_files_are_regenerated_from_their_sources():
    """data/cncf-raw/ and data/cncf-survey-figures.csv equal, byte for byte, what the code makes from
    CNCF's raw files and the reference table."""
    for path, text in provenance.expected_files(REFERENCE).items():
        assert path.read_bytes().decode("utf-8") == text, f"{path.name} differs from its sources"
    assert provenance.main([str(REFERENCE)]) == 0
