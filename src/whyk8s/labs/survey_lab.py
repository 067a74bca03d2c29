"""Checks for lab 6, "Read the survey": recompute 2019's "Kubernetes in production" from CNCF's raw data.

The learner counts answers on the Kubernetes line of the 2019 raw responses, then computes the
published share (production / everyone who answered that line, CNCF's literal answer ``N/A`` included)
and the share of all respondents.
Each ``check_*`` returns a :class:`whyk8s.labs.feedback.CheckResult` and never raises at the learner
(:func:`whyk8s.labs.checks.check`):
a placeholder ``...`` or ``None`` is "not answered yet", text or a table instead of a number is
said so, and the usual slips (wrong denominator, fraction instead of percent, the two header rows
counted as respondents, swapped counts, the ``N/A`` answers left out of the base as pandas' default
reader does) are named with what was expected.

Expected values are recomputed from the data (:func:`whyk8s.lessons.survey.recompute_kubernetes_in_production`);
for 2019 they are 1,019 in production, 280 evaluating, 4 ``N/A``, 34 blank, 1,337 respondents,
1,019 / 1,303 = 78.2% and 1,019 / 1,337 = 76.2%.
"""

from __future__ import annotations

import math
import numbers
from functools import lru_cache

from whyk8s.labs.checks import MultipleChoice, check, first_slip, not_answered, unanswered
from whyk8s.labs.feedback import CheckResult

__all__ = [
    "YEAR",
    "CHOICES",
    "QUESTION",
    "expected",
    "check_counts",
    "check_published_share",
    "check_share_of_all",
    "check_explanation",
    "left_out",
]

#: The survey year the lab works on.
YEAR = 2019

#: Step 4's multiple choice: why is the gap between the two shares much smaller in 2019 than 2018?
#: (The right letter's reason is written with the recomputed counts, in :func:`check_explanation`.)
QUESTION = MultipleChoice(
    choices={
        "a": "More organisations ran Kubernetes in production in 2019.",
        "b": "Far fewer respondents skipped the Kubernetes line in 2019 than in 2018.",
        "c": "In 2019 CNCF published the share of all respondents instead.",
        "d": "The 2019 survey had fewer respondents than the 2018 one.",
    },
    right="b",
    why={
        "a": "more production users would raise both shares; it does not explain why the two shares are "
             "close together. Compare who is left out of each base",
        "c": "the published 78% still divides by those who answered the Kubernetes line, exactly as in "
             "2018 (you recomputed it in step 2). Compare who is left out of each base",
        "d": "the size of a sample alone does not move a share; what matters is who is left out of the base",
    },
)
#: The choices of :data:`QUESTION`, letter → statement.
CHOICES: dict[str, str] = dict(QUESTION.choices)


@lru_cache(maxsize=1)
def expected() -> dict:
    """The right answers for :data:`YEAR`, recomputed from the raw responses (a dict, shares in percent)."""
    from whyk8s.lessons.survey import recompute_kubernetes_in_production

    r = dict(recompute_kubernetes_in_production(YEAR))
    r["evaluating_share"] = 100 * r["evaluating"] / r["answered"]
    r["evaluating_share_without_other"] = 100 * r["evaluating"] / (r["production"] + r["evaluating"])
    r["answered_share"] = 100 * r["answered"] / r["respondents"]
    r["answered_share_without_other"] = 100 * (r["production"] + r["evaluating"]) / r["respondents"]
    r["share_with_header_rows"] = 100 * r["production"] / (r["respondents"] + 2)
    # The slip pandas' default reader makes: the literal answer "N/A" read as a blank, so out of the base.
    r["share_without_other"] = 100 * r["production"] / (r["production"] + r["evaluating"])
    r2018 = recompute_kubernetes_in_production(2018)
    r["published_2018"] = r2018["published_share"]
    r["share_of_all_2018"] = r2018["share_of_all"]
    r["skipped_2018"] = r2018["skipped"]
    r["recomputed_2018"] = dict(r2018)
    r["respondents_2018"] = r2018["respondents"]
    return r


# ----------------------------------------------------------------------------------------- helpers
def left_out(r: dict) -> str:
    """Why the respondents of a recomputation ``r`` (:func:`whyk8s.lessons.survey.recompute_kubernetes_in_production`)
    that are not in the base are left out, in words: e.g. ``"946 left it blank, 2 rows are shifted"``
    for 2018, whose file has two rows shifted by one column (an industry name on the Kubernetes line)."""
    parts = [f"{'all ' if not r['unexpected'] and r['blank'] > 1 else ''}{r['blank']:,} left it blank"]
    if r["unexpected"]:
        parts.append(f"{r['unexpected']:,} row{'s are' if r['unexpected'] != 1 else ' is'} shifted by one column "
                     f"in CNCF's file")
    return ", ".join(parts)


def _number(result: CheckResult, name: str, value, *, whole: bool = False):
    """Turn ``value`` into a float, or record why it cannot be used and return None."""
    if unanswered(value):
        result.wrong(not_answered(name))
        return None
    if isinstance(value, bool):
        result.wrong(f"{name} is {value} (True/False), not a number. Give the number itself.")
        return None
    if isinstance(value, str):
        try:
            float(value.strip().rstrip("%"))
            result.wrong(
                f"{name} is the text {value!r}, not a number: remove the quotes (and any % sign)."
            )
        except ValueError:
            result.wrong(f"{name} is the text {value!r}, not a number.")
        return None
    if hasattr(value, "shape") and getattr(value, "shape", ()) != ():
        result.wrong(
            f"{name} is a {type(value).__name__} (a table or column), not one number: pick the single "
            "value you need, e.g. with .sum() or ['...'] on a value_counts()."
        )
        return None
    if isinstance(value, (bytes, bytearray)):
        result.wrong(f"{name} is bytes ({value!r}), not a number.")
        return None
    if not isinstance(value, numbers.Real):
        try:
            value = float(value)
        except (TypeError, ValueError):
            result.wrong(f"{name} is a {type(value).__name__}, not a number.")
            return None
    v = float(value)
    if math.isnan(v) or math.isinf(v):
        result.wrong(f"{name} is {v}, not a usable number: did a column name or answer text not match?")
        return None
    if whole and not v.is_integer():
        result.wrong(f"{name} is {v:g}, but a count of respondents is a whole number.")
        return None
    return v


def _close(v: float, target: float) -> bool:
    """Equal to the target to within rounding: unrounded, one decimal, or a whole-number rounding."""
    return abs(v - target) <= 0.051 or (v.is_integer() and v == round(target))


# -------------------------------------------------------------------------------------------- step 1
@check(f"Step 1: counts ({YEAR})")
def check_counts(result: CheckResult, production=..., evaluating=..., respondents=...) -> None:
    """Step 1: counts on the 2019 Kubernetes line and the number of all respondents (whole numbers)."""
    e = expected()
    p_exp, e_exp, r_exp, ans = e["production"], e["evaluating"], e["respondents"], e["answered"]
    p = _number(result, "production", production, whole=True)
    ev = _number(result, "evaluating", evaluating, whole=True)
    r = _number(result, "respondents", respondents, whole=True)

    if p is not None:
        if p == p_exp:
            result.ok(f"production: {p_exp:,} answered 'Using in Production' on the Kubernetes line.")
        elif p == e_exp and ev == p_exp:
            result.wrong(
                f"production is {p:,.0f}, which is the 'Evaluating' count: production and evaluating are "
                f"swapped (production should be {p_exp:,})."
            )
        elif p in (ans, p_exp + e_exp):
            result.wrong(
                f"production is {p:,.0f}: that is everyone who answered the Kubernetes line (production + "
                f"evaluating{'' if p == p_exp + e_exp else ' + ' + e['other_answer']}). Count only 'Using in "
                f"Production': expected {p_exp:,}."
            )
        elif p == r_exp or p == r_exp + 2:
            result.wrong(
                f"production is {p:,.0f}: that is the number of rows, not of 'Using in Production' "
                f"answers. Expected {p_exp:,}."
            )
        else:
            result.wrong(
                f"production is {p:,.0f}; expected {p_exp:,} — the number of 'Using in Production' answers "
                "in the Kubernetes column (try .value_counts() on it)."
            )

    if ev is not None:
        if ev == e_exp:
            result.ok(f"evaluating: {e_exp:,} answered 'Evaluating' on the Kubernetes line.")
        elif ev == p_exp and p == e_exp:
            pass  # the swap was explained above
        elif ev == ans:
            result.wrong(
                f"evaluating is {ev:,.0f}: that is production + evaluating together. Count only "
                f"'Evaluating': expected {e_exp:,}."
            )
        elif ev == r_exp - p_exp or ev == r_exp + 2 - p_exp:
            result.wrong(
                f"evaluating is {ev:,.0f}: that is everyone not in production, including the "
                f"{e['blank']:,} who left the Kubernetes line blank and the {e['other']:,} who answered "
                f"{e['other_answer']!r}. Count only 'Evaluating': expected {e_exp:,}."
            )
        elif ev == e_exp + e["other"]:
            result.wrong(
                f"evaluating is {ev:,.0f}: that adds the {e['other']:,} who answered {e['other_answer']!r}. "
                f"Count only 'Evaluating': expected {e_exp:,}."
            )
        else:
            result.wrong(
                f"evaluating is {ev:,.0f}; expected {e_exp:,} — the number of 'Evaluating' answers in the "
                "Kubernetes column."
            )

    if r is not None:
        if r == r_exp:
            result.ok(f"respondents: {r_exp:,} responses in the file, one row each.")
        elif r == r_exp + 2 or r == r_exp + 1:
            result.wrong(
                f"respondents is {r:,.0f}: the file's {r - r_exp:.0f} header row(s) were counted as "
                f"respondents. Read the file with two header rows (header=[0, 1]): expected {r_exp:,}."
            )
        elif r in (ans, p_exp + e_exp):
            result.wrong(
                f"respondents is {r:,.0f}: that is only those who answered the Kubernetes line. All "
                f"respondents includes the {r_exp - ans:,} who left it blank: expected {r_exp:,}."
            )
        else:
            result.wrong(f"respondents is {r:,.0f}; expected {r_exp:,} — every row of responses in the file.")


# --------------------------------------------------------------------------------- steps 2 and 3
def _fraction(name: str, target: float):
    """The slip of giving a fraction where the lab asks for percent."""
    return (lambda v: _close(v * 100, target),
            lambda v: f"{name} is {v:g}: that is a fraction. The lab asks for percent: multiply by 100 "
                      f"(expected ≈ {target:.1f}).")


def _header_rows(name: str, target: float, tail: str):
    """The slip of counting the file's two header rows as respondents."""
    e = expected()
    return (lambda v: _close(v, e["share_with_header_rows"]),
            lambda v: f"{name} is {v:g}: that divides by {e['respondents'] + 2:,}, which counts the two header "
                      f"rows as respondents. {tail}")


def _figure_2018(name: str, target: float, figure_2018: float):
    """The slip of giving 2018's figure (from chapter 5) instead of recomputing 2019's."""
    return (lambda v: _close(v, figure_2018),
            lambda v: f"{name} is {v:g}: that is the 2018 figure. This lab uses {YEAR}: expected ≈ {target:.1f}%.")


def _out_of_range(name: str, target: float, base: str):
    """The slip of dividing the wrong way round (a share outside 0–100)."""
    return (lambda v: v > 100 or v < 0,
            lambda v: f"{name} is {v:g}%: a share lies between 0 and 100 — is the division the wrong way "
                      f"round? Expected ≈ {target:.1f}% ({base}).")


def _share(result: CheckResult, name: str, value, target: float, right: str, base: str, slips) -> None:
    """One finding for a share in percent: ``right`` if it is ``target`` to within rounding, else the
    first of ``slips`` it shows, else the expected value with its ``base``."""
    v = _number(result, name, value)
    if v is None:
        return
    if _close(v, target):
        result.ok(right.format(v=v))
        return
    result.wrong(first_slip(v, slips) or f"{name} is {v:g}; expected ≈ {target:.1f}% ({base}).")


@check(f"Step 2: the published share ({YEAR})")
def check_published_share(result: CheckResult, value=...) -> None:
    """Step 2: the published share, production / (production + evaluating + ``N/A``), in **percent**."""
    e = expected()
    pub, all_ = e["published_share"], e["share_of_all"]
    name = "published share"
    base = f"{e['production']:,} of the {e['answered']:,} who answered the Kubernetes line"
    divide = (f"The published figure divides by production + evaluating + {e['other_answer']} = "
              f"{e['answered']:,}: expected ≈ {pub:.1f}%.")
    _share(result, name, value, pub, f"published share: {{v:g}}% — {base}; CNCF printed "
                                     f"{e['published_figure']:.0f}%.", base, [
        _fraction(name, pub),
        (lambda v: _close(v, e["share_without_other"]) or _close(v * 100, e["share_without_other"]),
         lambda v: f"published share is {v:g}: that divides by production + evaluating = "
                   f"{e['production'] + e['evaluating']:,} and leaves out the {e['other']:,} who answered "
                   f"{e['other_answer']!r}. {e['other_answer']!r} is an answer CNCF offered, not a blank (if your "
                   f"value_counts shows no {e['other_answer']!r}, your reader turned it into NaN). {divide}"),
        (lambda v: _close(v, all_) or _close(v * 100, all_),
         lambda v: f"published share is {v:g}{' (and it is a fraction, not percent)' if v <= 1 else ''}: that "
                   f"divides by all {e['respondents']:,} respondents — the share of all. {divide}"),
        _header_rows(name, pub, divide),
        (lambda v: any(_close(x, t) for x in (v, v * 100)
                       for t in (e["evaluating_share"], e["evaluating_share_without_other"])),
         lambda v: f"published share is {v:g}: that is the share *evaluating*. Put the production count on "
                   f"top: expected ≈ {pub:.1f}%."),
        _figure_2018(name, pub, e["published_2018"]),
        _out_of_range(name, pub, base),
    ])


@check(f"Step 3: share of all respondents ({YEAR})")
def check_share_of_all(result: CheckResult, value=...) -> None:
    """Step 3: the same production count as a share of **all** respondents, in **percent**."""
    e = expected()
    pub, all_ = e["published_share"], e["share_of_all"]
    name = "share of all"
    base = f"{e['production']:,} of all {e['respondents']:,} respondents"
    _share(result, name, value, all_, f"share of all: {{v:g}}% — {base}.", base, [
        _fraction(name, all_),
        (lambda v: any(_close(x, t) for x in (v, v * 100) for t in (pub, e["share_without_other"])),
         lambda v: f"share of all is {v:g}{' (and it is a fraction, not percent)' if v <= 1 else ''}: that is "
                   f"the published share, which divides by the {e['answered']:,} who answered the Kubernetes "
                   f"line. Here divide by all {e['respondents']:,} respondents: expected ≈ {all_:.1f}%."),
        _header_rows(name, all_, f"Expected ≈ {all_:.1f}% ({base})."),
        (lambda v: _close(v, e["answered_share"]) or _close(v, e["answered_share_without_other"]),
         lambda v: f"share of all is {v:g}: that is the share who answered the Kubernetes line at all "
                   f"({e['answered']:,} of {e['respondents']:,}). Put the production count on top: "
                   f"expected ≈ {all_:.1f}%."),
        _figure_2018(name, all_, e["share_of_all_2018"]),
        _out_of_range(name, all_, base),
    ])


# -------------------------------------------------------------------------------------------- step 4
@check("Step 4: why the gap shrank")
def check_explanation(result: CheckResult, choice=...) -> None:
    """Step 4: one letter from :data:`CHOICES` — why the two shares are close in 2019 but not in 2018."""
    e = expected()
    right = (f"in {YEAR} only {e['skipped']:,} of {e['respondents']:,} respondents are not in the base "
             f"({left_out(e)}), against {e['skipped_2018']:,} of {e['respondents_2018']:,} in 2018 "
             f"({left_out(e['recomputed_2018'])}), so the two bases are nearly the same group")
    MultipleChoice(QUESTION.choices, QUESTION.right, {**QUESTION.why, QUESTION.right: right}).judge(
        result, "choice", choice)
