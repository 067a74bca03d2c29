"""Lab 6 checks: the right answer passes; planted wrong answers are rejected with a helpful message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from whyk8s.labs import survey_lab as lab

P, E, NA, BLANK, R = 1019, 280, 4, 34, 1337  # 2019's Kubernetes line, counted with Python's csv module
PUB = 100 * P / (P + E + NA)  # 1,019 / 1,303 = 78.20…: CNCF's literal "N/A" answers are in the base
PUB_WITHOUT_NA = 100 * P / (P + E)  # 78.44…: what pandas' default reader gives (it reads "N/A" as NaN)
ALL = 100 * P / R  # 76.21…


def test_expected_values_are_recomputed_from_the_raw_file():
    import csv
    from collections import Counter

    from whyk8s.lessons.survey.recompute import RAW_FILES
    from whyk8s.paths import data_dir

    with open(data_dir() / "cncf-raw" / RAW_FILES[lab.YEAR], newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    column = rows[1].index("Kubernetes")
    assert Counter(r[column] for r in rows[2:]) == {"Using in Production": P, "Evaluating": E, "N/A": NA, "": BLANK}
    e = lab.expected()
    assert (e["production"], e["evaluating"], e["other"], e["answered"], e["respondents"]) == (P, E, NA, 1303, R)
    assert round(e["published_share"], 1) == 78.2 and round(e["share_of_all"], 1) == 76.2


def _problems(result) -> str:
    assert not result.passed, str(result)
    return " | ".join(result.problems)


# ------------------------------------------------------------------------- check_counts
def test_counts_right_answer_passes():
    assert lab.check_counts(P, E, R).passed
    assert lab.check_counts(np.int64(P), float(E), R)  # numpy and float-that-is-whole are fine


@pytest.mark.parametrize(
    "args, fragment",
    [
        ((E, P, R), "swapped"),  # wrong value: the two counts swapped
        ((P + E, E, R), "everyone who answered the Kubernetes line"),  # production + evaluating
        ((1000, E, R), "expected 1,019"),  # plain wrong value
        ((P, R - P, R), "34 who left the Kubernetes line blank and the 4 who answered 'N/A'"),  # blanks too
        ((P, E + NA, R), "adds the 4 who answered 'N/A'"),  # N/A counted as evaluating
        ((P, E, R + 2), "header row"),  # the two header rows counted
        ((P, E, P + E), "only those who answered the Kubernetes line"),  # wrong denominator
        ((..., E, R), "not answered yet"),  # placeholder
        ((None, E, R), "not answered yet"),
        (("1019", E, R), "text '1019', not a number"),
        ((P, "many", R), "text 'many', not a number"),
        ((P, E, 1337.5), "whole number"),
        ((P, float("nan"), R), "not a usable number"),
        ((P, True, R), "True/False"),
        ((pd.Series([P]), E, R), "not one number"),
        ((P, E, object()), "not a number"),
    ],
)
def test_counts_wrong_answers_rejected(args, fragment):
    assert fragment in _problems(lab.check_counts(*args))


def test_counts_all_placeholders_do_not_raise():
    r = lab.check_counts()
    assert len(r.problems) == 3 and all("not answered yet" in m for m in r.problems)


# ------------------------------------------------------------------------- check_published_share
@pytest.mark.parametrize("value", [PUB, 78.2, 78.20, 78, np.float64(PUB)])
def test_published_share_right_answers_pass(value):
    assert lab.check_published_share(value).passed


@pytest.mark.parametrize(
    "value, fragment",
    [
        (PUB / 100, "that is a fraction"),  # percent vs fraction
        (PUB_WITHOUT_NA, "leaves out the 4 who answered 'N/A'"),  # the reader turned N/A into NaN (W2)
        (78.4, "not a blank"),
        (PUB_WITHOUT_NA / 100, "leaves out the 4"),
        (ALL, "divides by all 1,337 respondents"),  # wrong denominator
        (ALL / 100, "fraction, not percent"),  # both slips at once
        (100 * P / (R + 2), "two header rows"),
        (100 * E / (P + E), "share *evaluating*"),
        (57.9, "2018 figure"),
        (100 * (P + E) / P, "wrong way round"),
        (70.0, "expected ≈ 78.2%"),  # plain wrong value
        (..., "not answered yet"),
        (None, "not answered yet"),
        ("78.4%", "remove the quotes"),
        ([78.4], "not a number"),
    ],
)
def test_published_share_wrong_answers_rejected(value, fragment):
    assert fragment in _problems(lab.check_published_share(value))


# ------------------------------------------------------------------------- check_share_of_all
@pytest.mark.parametrize("value", [ALL, 76.2, 76, 76.22])
def test_share_of_all_right_answers_pass(value):
    assert lab.check_share_of_all(value).passed


@pytest.mark.parametrize(
    "value, fragment",
    [
        (ALL / 100, "that is a fraction"),
        (PUB, "that is the published share"),  # wrong denominator
        (PUB_WITHOUT_NA, "that is the published share"),
        (PUB / 100, "fraction, not percent"),
        (100 * P / (R + 2), "header"),
        (100 * (P + E) / R, "answered the Kubernetes line at all"),
        (35.1, "2018 figure"),
        (100 * R / P, "wrong way"),
        (50, "expected ≈ 76.2%"),
        (..., "not answered yet"),
        ("seventy-six", "not a number"),
        (float("inf"), "not a usable number"),
    ],
)
def test_share_of_all_wrong_answers_rejected(value, fragment):
    assert fragment in _problems(lab.check_share_of_all(value))


# ------------------------------------------------------------------------- check_explanation
@pytest.mark.parametrize("value", ["b", "B", " b) "])
def test_explanation_right_answer_passes(value):
    result = lab.check_explanation(value)
    assert result.passed and "34 of 1,337" in str(result) and "948 of 2,401" in str(result)
    # 2018's 948 are not all blanks: 946 are, and 2 rows of CNCF's file are shifted by one column
    assert "gave no answer" not in str(result)
    assert "(all 34 left it blank)" in str(result)
    assert "(946 left it blank, 2 rows are shifted by one column in CNCF's file)" in str(result)


def test_left_out_counts_come_from_the_data():
    from whyk8s.lessons import survey
    r2018 = survey.recompute_kubernetes_in_production(2018)
    assert r2018["blank"] + r2018["unexpected"] == r2018["skipped"] == 948
    assert lab.left_out(r2018) == "946 left it blank, 2 rows are shifted by one column in CNCF's file"
    one = "1 left it blank, 1 row is shifted by one column in CNCF's file"
    assert lab.left_out({"blank": 1, "unexpected": 1}) == one


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("a", "raise both shares"),
        ("c", "still divides by those who answered"),
        ("d", "size of a sample alone"),
        ("e", "choose one of a, b, c or d"),
        (2, "not a letter"),
        (None, "not answered yet"),
        (..., "not answered yet"),
    ],
)
def test_explanation_wrong_answers_rejected(value, fragment):
    assert fragment in _problems(lab.check_explanation(value))


def test_choices_offer_four_letters():
    assert list(lab.CHOICES) == ["a", "b", "c", "d"]


def test_checks_never_raise_on_odd_input():
    odd = [..., None, "", "x", [], {}, object(), float("nan"), -1, 10**9, b"78"]
    for v in odd:
        for fn in (lab.check_published_share, lab.check_share_of_all, lab.check_explanation):
            assert not fn(v).passed
        assert not lab.check_counts(v, v, v).passed


# ------------------------------------------------------------------------- one wording, one preamble
def test_titles_and_placeholders_read_like_the_other_labs():
    from whyk8s.labs import images_lab
    from whyk8s.labs.checks import NOT_ANSWERED

    results = [lab.check_counts(), lab.check_published_share(), lab.check_share_of_all(), lab.check_explanation()]
    assert [r.title for r in results] == ["Step 1: counts (2019)", "Step 2: the published share (2019)",
                                          "Step 3: share of all respondents (2019)", "Step 4: why the gap shrank"]
    for r in results + [images_lab.check_prediction(...)]:
        assert r.problems and all(NOT_ANSWERED in p for p in r.problems), r.problems


def test_checks_never_raise_even_when_the_data_cannot_be_read(monkeypatch):
    def broken():
        raise FileNotFoundError(2, "No such file or directory", "/somewhere/data/cncf-2019.csv")
    monkeypatch.setattr(lab, "expected", broken)
    result = lab.check_published_share(78.2)
    assert result.problems == ["A file is missing: cncf-2019.csv. Run this lab's cells again in order, from the "
                               "set-up cell."]


def test_multiple_choice_reads_letters_and_says_why():
    from whyk8s.labs.checks import MultipleChoice
    from whyk8s.labs.feedback import CheckResult

    q = MultipleChoice({"a": "A.", "b": "B.", "c": "C."}, right="b", why={"a": "not a", "b": "because b"})
    assert [q.letter(x) for x in ("b", " B ", "(b)", "b).", "bb", "", 2)] == ["b", "b", "b", "b", None, None, None]
    findings = []
    for answer in ("b", "a", "z", 2, ...):
        r = CheckResult("t")
        q.judge(r, "answer", answer, other="quote it instead" if answer == "z" else None)
        findings.append(r.findings[0])
    assert [f.ok for f in findings] == [True, False, False, False, False]
    assert [f.message for f in findings] == [
        "choice b fits: because b", "choice a does not fit: not a", "quote it instead",
        'answer is 2, not a letter: write one of a, b or c in quotes, e.g. "a"',
        "answer: not answered yet: replace the ... with your answer and run the cell again (one letter, a, b or "
        "c, in quotes)"]


def test_first_slip_takes_the_first_that_applies():
    from whyk8s.labs.checks import first_slip

    slips = [(lambda v: v > 10, lambda v: f"{v} is big"), (lambda v: v > 5, lambda v: f"{v} is medium")]
    assert [first_slip(v, slips) for v in (20, 7, 1)] == ["20 is big", "7 is medium", None]
