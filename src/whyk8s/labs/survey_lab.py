"""Checks for lab 6, "Read the survey": recompute 2019's "Kubernetes in production" from CNCF's raw data.

The learner counts answers on the Kubernetes line of the 2019 raw responses, then computes the
published share (production / those who answered that line) and the share of all respondents.
Each ``check_*`` returns a :class:`whyk8s.labs.feedback.CheckResult` and never raises at the learner:
a placeholder ``...`` or ``None`` is "not answered yet", text or a table instead of a number is
said so, and the usual slips (wrong denominator, fraction instead of percent, the two header rows
counted as respondents, swapped counts) are named with what was expected.

Expected values are recomputed from the data (:func:`whyk8s.lessons.survey.recompute_kubernetes_in_production`);
for 2019 they are 1,019 in production, 280 evaluating, 1,337 respondents, 78.4% and 76.2%.
"""

from __future__ import annotations

import math
import numbers
from functools import lru_cache

from whyk8s.labs.feedback import CheckResult

__all__ = [
    "YEAR",
    "CHOICES",
    "expected",
    "check_counts",
    "check_published_share",
    "check_share_of_all",
    "check_explanation",
]

#: The survey year the lab works on.
YEAR = 2019

#: Step 4's multiple choice: why is the gap between the two shares much smaller in 2019 than 2018?
CHOICES: dict[str, str] = {
    "a": "More organisations ran Kubernetes in production in 2019.",
    "b": "Far fewer respondents skipped the Kubernetes line in 2019 than in 2018.",
    "c": "In 2019 CNCF published the share of all respondents instead.",
    "d": "The 2019 survey had fewer respondents than the 2018 one.",
}
_RIGHT_CHOICE = "b"
_WHY_WRONG: dict[str, str] = {
    "a": (
        "more production users would raise both shares; it does not explain why the two shares are "
        "close together"
    ),
    "c": (
        "the published 78% still divides by those who answered the Kubernetes line, exactly as in "
        "2018 (you recomputed it in step 2)"
    ),
    "d": (
        "the size of a sample alone does not move a share; what matters is who is left out of the base"
    ),
}


@lru_cache(maxsize=1)
def expected() -> dict:
    """The right answers for :data:`YEAR`, recomputed from the raw responses (a dict, shares in percent)."""
    from whyk8s.lessons.survey import recompute_kubernetes_in_production

    r = dict(recompute_kubernetes_in_production(YEAR))
    r["evaluating_share"] = 100 * r["evaluating"] / r["answered"]
    r["answered_share"] = 100 * r["answered"] / r["respondents"]
    r["share_with_header_rows"] = 100 * r["production"] / (r["respondents"] + 2)
    r2018 = recompute_kubernetes_in_production(2018)
    r["published_2018"] = r2018["published_share"]
    r["share_of_all_2018"] = r2018["share_of_all"]
    r["skipped_2018"] = r2018["skipped"]
    r["respondents_2018"] = r2018["respondents"]
    return r


# ----------------------------------------------------------------------------------------- helpers
def _number(result: CheckResult, name: str, value, *, whole: bool = False):
    """Turn ``value`` into a float, or record why it cannot be used and return None."""
    if value is Ellipsis or value is None:
        result.wrong(f"{name}: not answered yet — replace the `...` with your answer and run the cell again.")
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
def check_counts(production=..., evaluating=..., respondents=...) -> CheckResult:
    """Step 1: counts on the 2019 Kubernetes line and the number of all respondents (whole numbers)."""
    e = expected()
    p_exp, e_exp, r_exp, ans = e["production"], e["evaluating"], e["respondents"], e["answered"]
    result = CheckResult(f"Step 1 — counts ({YEAR})")
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
        elif p == ans:
            result.wrong(
                f"production is {p:,.0f}: that is everyone who answered the Kubernetes line (production + "
                f"evaluating). Count only 'Using in Production': expected {p_exp:,}."
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
                f"{r_exp - ans:,} who left the Kubernetes line blank. Count only 'Evaluating': "
                f"expected {e_exp:,}."
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
        elif r == ans:
            result.wrong(
                f"respondents is {r:,.0f}: that is only those who answered the Kubernetes line. All "
                f"respondents includes the {r_exp - ans:,} who skipped it: expected {r_exp:,}."
            )
        else:
            result.wrong(f"respondents is {r:,.0f}; expected {r_exp:,} — every row of responses in the file.")
    return result


# -------------------------------------------------------------------------------------------- step 2
def check_published_share(value=...) -> CheckResult:
    """Step 2: the published share, production / (production + evaluating), in **percent**."""
    e = expected()
    pub, all_ = e["published_share"], e["share_of_all"]
    base = f"{e['production']:,} of the {e['answered']:,} who answered the Kubernetes line"
    result = CheckResult(f"Step 2 — the published share ({YEAR})")
    v = _number(result, "published share", value)
    if v is None:
        return result
    if _close(v, pub):
        result.ok(f"published share: {v:g}% — {base}; CNCF printed {e['published_figure']:.0f}%.")
    elif _close(v * 100, pub):
        result.wrong(
            f"published share is {v:g}: that is a fraction. The lab asks for percent: multiply by 100 "
            f"(expected ≈ {pub:.1f})."
        )
    elif _close(v, all_) or _close(v * 100, all_):
        frac = " (and it is a fraction, not percent)" if v <= 1 else ""
        result.wrong(
            f"published share is {v:g}{frac}: that divides by all {e['respondents']:,} respondents — the "
            f"share of all. The published figure divides by those who answered the Kubernetes line "
            f"(production + evaluating = {e['answered']:,}): expected ≈ {pub:.1f}%."
        )
    elif _close(v, e["share_with_header_rows"]):
        result.wrong(
            f"published share is {v:g}: that divides by {e['respondents'] + 2:,}, all rows including the two "
            f"header rows. The published figure divides by production + evaluating = {e['answered']:,}: "
            f"expected ≈ {pub:.1f}%."
        )
    elif _close(v, e["evaluating_share"]) or _close(v * 100, e["evaluating_share"]):
        result.wrong(
            f"published share is {v:g}: that is the share *evaluating*. Put the production count on top: "
            f"expected ≈ {pub:.1f}%."
        )
    elif _close(v, e["published_2018"]):
        result.wrong(f"published share is {v:g}: that is the 2018 figure. This lab uses {YEAR}: expected ≈ {pub:.1f}%.")
    elif v > 100 or v < 0:
        result.wrong(
            f"published share is {v:g}%: a share of a group lies between 0 and 100 — is the division the "
            f"wrong way round? Expected ≈ {pub:.1f}% ({base})."
        )
    else:
        result.wrong(f"published share is {v:g}; expected ≈ {pub:.1f}% ({base}).")
    return result


# -------------------------------------------------------------------------------------------- step 3
def check_share_of_all(value=...) -> CheckResult:
    """Step 3: the same production count as a share of **all** respondents, in **percent**."""
    e = expected()
    pub, all_ = e["published_share"], e["share_of_all"]
    base = f"{e['production']:,} of all {e['respondents']:,} respondents"
    result = CheckResult(f"Step 3 — share of all respondents ({YEAR})")
    v = _number(result, "share of all", value)
    if v is None:
        return result
    if _close(v, all_):
        result.ok(f"share of all: {v:g}% — {base}.")
    elif _close(v * 100, all_):
        result.wrong(
            f"share of all is {v:g}: that is a fraction. The lab asks for percent: multiply by 100 "
            f"(expected ≈ {all_:.1f})."
        )
    elif _close(v, pub) or _close(v * 100, pub):
        frac = " (and it is a fraction, not percent)" if v <= 1 else ""
        result.wrong(
            f"share of all is {v:g}{frac}: that is the published share, which divides by the "
            f"{e['answered']:,} who answered the Kubernetes line. Here divide by all {e['respondents']:,} "
            f"respondents: expected ≈ {all_:.1f}%."
        )
    elif _close(v, e["share_with_header_rows"]):
        result.wrong(
            f"share of all is {v:g}: that divides by {e['respondents'] + 2:,}, which counts the two header "
            f"rows as respondents. Expected ≈ {all_:.1f}% ({base})."
        )
    elif _close(v, e["answered_share"]):
        result.wrong(
            f"share of all is {v:g}: that is the share who answered the Kubernetes line at all "
            f"({e['answered']:,} of {e['respondents']:,}). Put the production count on top: expected ≈ {all_:.1f}%."
        )
    elif _close(v, e["share_of_all_2018"]):
        result.wrong(f"share of all is {v:g}: that is the 2018 figure. This lab uses {YEAR}: expected ≈ {all_:.1f}%.")
    elif v > 100 or v < 0:
        result.wrong(
            f"share of all is {v:g}%: a share lies between 0 and 100 — is the division the wrong way "
            f"round? Expected ≈ {all_:.1f}% ({base})."
        )
    else:
        result.wrong(f"share of all is {v:g}; expected ≈ {all_:.1f}% ({base}).")
    return result


# -------------------------------------------------------------------------------------------- step 4
def check_explanation(choice=...) -> CheckResult:
    """Step 4: one letter from :data:`CHOICES` — why the two shares are close in 2019 but not in 2018."""
    e = expected()
    result = CheckResult("Step 4 — why the gap shrank")
    letters = ", ".join(CHOICES)
    if choice is Ellipsis or choice is None:
        result.wrong(f"choice: not answered yet — replace the `...` with one letter ({letters}) in quotes.")
        return result
    if not isinstance(choice, str):
        result.wrong(f"choice is {choice!r}, not a letter: write one of {letters} in quotes, e.g. \"a\".")
        return result
    letter = choice.strip().lower().rstrip(").").strip()
    if letter not in CHOICES:
        result.wrong(f"choice is {choice!r}; choose one of {letters}.")
        return result
    if letter == _RIGHT_CHOICE:
        result.ok(
            f"({letter}) right: in {YEAR} only {e['skipped']:,} of {e['respondents']:,} respondents skipped the "
            f"Kubernetes line, against {e['skipped_2018']:,} of {e['respondents_2018']:,} in 2018, so the two "
            "bases are nearly the same group."
        )
    else:
        result.wrong(f"({letter}) is not it: {_WHY_WRONG[letter]}. Compare who is left out of each base.")
    return result
