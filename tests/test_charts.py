"""notebook/charts.py: the course's chart style and the one legend of its timelines (pure, no cluster)."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from whyk8s.lessons.events import STEPS  # noqa: E402
from whyk8s.notebook import charts  # noqa: E402
from whyk8s.notebook.charts import OTHER_STYLE, PALETTE, TIMELINE_STYLES, plot_timeline  # noqa: E402
from whyk8s.notebook.recordings import recordings_dir  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    before = set(plt.get_fignums())
    yield
    for n in set(plt.get_fignums()) - before:
        plt.close(n)


def _series(ax) -> dict[str, tuple[str, str]]:
    """Legend label → (marker as a path's vertex count and first vertex, face colour as hex)."""
    out = {}
    for coll in ax.collections:
        verts = coll.get_paths()[0].vertices
        out[coll.get_label()] = (f"{len(verts)}:{verts[0].round(4).tolist()}", to_hex(coll.get_facecolor()[0]))
    return out


def test_the_palette_is_okabe_ito_and_series_colours_are_distinct():
    assert PALETTE == {"orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73", "yellow": "#F0E442",
                       "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7", "black": "#000000"}
    assert len(set(charts.SERIES_COLOURS)) == len(charts.SERIES_COLOURS)
    assert len(charts.HATCHES) >= len(charts.SERIES_COLOURS)  # no meaning rests on colour alone


def test_every_step_has_one_style_used_by_every_timeline():
    assert set(STEPS) == set(TIMELINE_STYLES)
    assert len(set(TIMELINE_STYLES.values())) == len(TIMELINE_STYLES)
    records = [{"t": i * 0.1, "object": f"pod/p{i % 3}", "what": what} for i, what in enumerate(STEPS)]
    ax = plot_timeline(records + [{"t": 9, "object": "pod/p0", "what": "BackOff"}])
    drawn = _series(ax)
    for what, (marker, colour) in TIMELINE_STYLES.items():
        ref = plt.figure().add_subplot().scatter([0], [0], marker=marker, color=colour)
        assert drawn[what][1] == to_hex(colour).lower() == to_hex(ref.get_facecolor()[0])
        assert drawn[what][0] == _series(ref.axes)[ref.get_label()][0], what
    assert drawn["BackOff"][1] == to_hex(OTHER_STYLE[1])


def test_timeline_rows_follow_first_appearance_and_the_legend_first_occurrence():
    records = [{"t": 0.0, "object": "deployment/web", "what": "Created"},
               {"t": 0.1, "object": "replicaset/web-rs1", "what": "Created"},
               {"t": 0.2, "object": "pod/web-1", "what": "Created"},
               {"t": 0.3, "object": "pod/web-1", "what": "Scheduled"},
               {"t": 0.5, "object": "pod/web-1", "what": "Running"},
               {"t": 0.6, "object": "deployment/web", "what": "Scaled"}]
    ax = plot_timeline(records, "self-healing")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["deployment/web", "replicaset/web-rs1", "pod/web-1"]
    assert ax.yaxis_inverted()  # first object on top: read from top to bottom
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Created", "Scheduled", "Running", "Scaled"]
    assert ax.get_title(loc="left") == "self-healing" and "seconds" in ax.get_xlabel()


def test_show_in_output_replaces_the_picture_and_closes_the_figure():
    import ipywidgets as w
    out = w.Output()
    for _ in range(2):
        fig, ax = charts.new_figure(3, 2)
        ax.plot([0, 1], [0, 1])
        charts.show_in_output(out, fig)
        assert not plt.fignum_exists(fig.number)
    assert len(out.outputs) == 1 and "image/png" in out.outputs[0]["data"]


def test_committed_recordings_speak_the_steps_of_the_live_timeline():
    """learner-ux #3: a recorded chart and the live one must use one legend, so a recording may only
    name the steps (or Event reasons the live recorder keeps, which it draws in grey)."""
    from whyk8s.lessons.events import _DUPLICATE_REASONS
    stale = {}
    for path in sorted(recordings_dir().glob("*.json")):
        rec = json.loads(path.read_text())
        if rec["kind"] != "events":
            continue
        words = {e["what"] for e in rec["events"]}
        bad = sorted(w for w in words if w not in TIMELINE_STYLES and (w in _DUPLICATE_REASONS or " " in w))
        if bad:
            stale[path.name] = bad
    assert stale == {}
