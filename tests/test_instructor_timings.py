"""The instructors' timing table (book/instructors.md) against the notebooks it times: each row's
learner time is the time the notebook states, a workshop slot is what the notebook says it takes
"taught live" where it says so, and the totals the page states are the sums of its rows.

Review 2026-11-30, T3: the table is the schedule an instructor plans a day with; a notebook whose
stated time changed (chapter 4a grew from 40 to 45 minutes with DRA) must not leave it behind.
"""
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "instructors.md"


def _rows() -> list[tuple[str | None, int | None, int]]:
    """(document, learner minutes, slot minutes) for each row of the timing table, in order."""
    text = PAGE.read_text()
    table = text[text.index("| Session | Material |"):text.index("That is ")]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4:
            continue
        doc = re.search(r"<((?:notebooks|labs)/[^>]+)>", cells[1])
        learner = re.match(r"(\d+) min", cells[2])
        rows.append((doc and doc.group(1), learner and int(learner.group(1)),
                     int(re.match(r"(\d+) min", cells[3]).group(1))))
    return rows


def _stated_time(doc: str) -> tuple[int, int | None]:
    """(minutes on your own, minutes taught live or None) from a notebook's first cells."""
    nb = nbformat.read(ROOT / f"{doc}.ipynb", as_version=4)
    text = " ".join(" ".join(c.source.split()) for c in nb.cells[:3] if c.cell_type == "markdown")
    time = re.search(r"(?:Time to learn|Estimated time)[.:]?\**:? (?:About )?(\d+) minutes", text, re.I)
    assert time, f"{doc} states no time"
    live = re.search(r"about (\d+) minutes taught live", time.string[time.start():time.start() + 300])
    return int(time.group(1)), live and int(live.group(1))


def test_every_learner_time_is_the_notebooks_own_and_a_live_slot_is_what_the_notebook_says():
    rows = [r for r in _rows() if r[0]]
    assert len(rows) >= 18  # every chapter and lab is in the table
    for doc, learner, slot in rows:
        own, live = _stated_time(doc)
        assert learner == own, f"{doc}: the table says {learner} min, the notebook {own}"
        if live is not None:
            assert slot == live, f"{doc}: the table's slot is {slot} min, the notebook says {live} taught live"
        assert slot >= learner


def test_the_stated_totals_are_the_sums_of_the_rows():
    text = PAGE.read_text()
    rows = _rows()
    slots = sum(slot for doc, _, slot in rows if doc)
    breaks = sum(slot for doc, _, slot in rows if not doc)
    assert f"That is {slots} min of slots" in text
    hours = (slots + breaks) / 60
    assert "about thirteen and a half with the breaks and lunch" in text and 13.25 <= hours < 13.75, hours
    # the half days: each stated length is the sum of the slots it lists
    for label, plan in re.findall(r"\| (Day \d \(\d+ min\)) \| [^|]* \| ([^|]*) \|", text) + re.findall(
            r"(single half day\*\* \(\d+ min\)):(.*?) with chapters", text, re.S):
        stated = int(re.search(r"\((\d+) min\)", label).group(1))
        assert sum(int(m) for m in re.findall(r"\((\d+)[);]", plan)) == stated, (label, plan)
