"""Unit tests of whyk8s.lessons.survey (figures, notes, tables, charts, recomputation) and of chapter 5's
explorer, whyk8s.notebook.survey_explorer."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import csv  # noqa: E402
from collections import Counter  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from whyk8s.lessons import survey  # noqa: E402
from whyk8s.lessons.survey import data as survey_data  # noqa: E402
from whyk8s.lessons.survey.recompute import RAW_FILES  # noqa: E402
from whyk8s.notebook.charts import SERIES_COLOURS  # noqa: E402
from whyk8s.notebook.survey_explorer import EMPTY_CHOICE, SurveyExplorer  # noqa: E402
from whyk8s.paths import data_dir  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------------------ recomputation
def test_2018_recomputation_reproduces_the_published_58_percent():
    r = survey.recompute_kubernetes_in_production(2018)
    assert (r["production"], r["evaluating"]) == (842, 611)
    assert r["answered"] == 842 + 611
    assert r["respondents"] == 2401
    assert round(r["published_share"], 1) == 57.9
    assert round(r["share_of_all"], 1) == 35.1
    assert r["published_figure"] == 58.0
    assert r["unexpected"] == 2  # the two rows CNCF's file shifts by one column


def _csv_cells(year: int) -> dict[tuple[str, str], list[str]]:
    """Every column of ``year``'s raw file read with Python's csv module (no pandas): {(question, option): cells}."""
    with open(data_dir() / "cncf-raw" / RAW_FILES[year], newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return {(q, o): [r[j] for r in rows[2:]] for j, (q, o) in enumerate(zip(rows[0], rows[1], strict=True))}


@pytest.mark.parametrize("year", survey.RAW_YEARS)
def test_every_literal_answer_in_the_raw_files_survives_the_reader(year):
    """W2: pandas' default reader turned CNCF's answer 'N/A' into a missing value. Every distinct text of
    every column the course reads must come out of load_raw as written; only an empty cell is missing."""
    raw = survey.load_raw(year)
    by_csv = _csv_cells(year)
    assert list(raw.columns) == list(by_csv)
    for col, cells in by_csv.items():
        read = ["" if isinstance(v, float) and v != v else v for v in raw[col]]
        assert Counter(read) == Counter(cells), col


def test_reader_keeps_every_text_pandas_treats_as_missing(tmp_path, monkeypatch):
    """The kind of fault, not just 2019's instance: none of pandas' default NA strings is lost."""
    import pandas as pd

    literals = sorted(pd._libs.parsers.STR_NA_VALUES - {""})
    (tmp_path / "cncf-raw").mkdir()
    with open(tmp_path / "cncf-raw" / RAW_FILES[2019], "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerows([["Response number", "Q"], ["Response", "Kubernetes"],
                          *([str(i), v] for i, v in enumerate(literals + [""], start=1))])
    monkeypatch.setenv("WHYK8S_DATA_DIR", str(tmp_path))
    cells = list(survey.load_raw(2019)[("Q", "Kubernetes")])
    assert cells[:-1] == literals
    assert cells[-1] != cells[-1]  # the empty cell, and only it, is NaN


def test_2019_kubernetes_in_production_is_1019_of_1303_answers():
    """W2: the base counts the 4 literal 'N/A' answers: 1,019 / 1,303 = 78.2%; 76.2% of all 1,337."""
    kubernetes = Counter(_csv_cells(2019)[next(c for c in _csv_cells(2019) if c[1] == "Kubernetes")])
    assert kubernetes == {"Using in Production": 1019, "Evaluating": 280, "N/A": 4, "": 34}
    r = survey.recompute_kubernetes_in_production(2019)
    assert (r["production"], r["evaluating"], r["other"], r["other_answer"]) == (1019, 280, 4, "N/A")
    assert (r["answered"], r["blank"], r["skipped"], r["respondents"]) == (1303, 34, 34, 1337)
    assert round(r["published_share"], 1) == 78.2
    assert round(r["share_of_all"], 1) == 76.2
    assert r["published_figure"] == 78.0


def test_2019_containers_in_production_reproduces_84_percent_with_na_in_the_base():
    """W2: with the 30 literal 'N/A' answers kept, 1,091 / 1,300 = 83.9% is CNCF's printed 84%."""
    r = survey.recompute_containers_in_production(2019)
    assert (r["now"], r["planned"], r["other"], r["answered"], r["blank"]) == (1091, 179, 30, 1300, 37)
    assert round(r["published_share"], 1) == 83.9
    assert round(r["share_of_all"], 1) == 81.6


@pytest.mark.parametrize("year", survey.RAW_YEARS)
@pytest.mark.parametrize("metric", ["kubernetes", "containers"])
def test_one_base_rule_reproduces_every_printed_figure(year, metric):
    """Production over everyone who gave any answer on the line reproduces CNCF's printed figure, every year."""
    fn = {"kubernetes": survey.recompute_kubernetes_in_production,
          "containers": survey.recompute_containers_in_production}[metric]
    r = fn(year)
    assert round(r["published_share"]) == r["published_figure"]
    counts = survey.answer_counts(year, metric)
    assert sum(counts.values()) == r["respondents"]
    assert counts.get("", 0) == r["blank"]


def test_answer_counts_lists_every_answer_including_na():
    assert survey.answer_counts(2019) == {"Using in Production": 1019, "Evaluating": 280, "": 34, "N/A": 4}
    # what chapter 5 shows: pandas' defaults count the 4 literal N/A answers with the 34 blanks
    assert survey.answer_counts(2019, pandas_defaults=True) == {"Using in Production": 1019, "Evaluating": 280, "": 38}
    with pytest.raises(ValueError, match="Unknown line"):
        survey.answer_counts(2019, "gpus")


def test_2020_base_includes_not_using_and_matches_83_percent():
    r = survey.recompute_kubernetes_in_production(2020)
    assert (r["other"], r["other_answer"]) == (37, "Not using or don't know")
    assert r["answered"] == r["production"] + r["evaluating"] + r["other"] == 1065
    assert round(r["published_share"]) == 83


def test_2018_containers_share_matches_73_and_53_percent():
    r = survey.recompute_containers_in_production(2018)
    assert round(r["published_share"]) == 73
    assert round(r["share_of_all"]) == 53


@pytest.mark.parametrize("year", [2017, 2021, "2018", None, True])
def test_recompute_rejects_years_without_raw_data(year):
    with pytest.raises(ValueError, match="Raw data exist for: 2018, 2019, 2020"):
        survey.recompute_kubernetes_in_production(year)


def test_raw_file_has_two_level_header_and_one_row_per_respondent():
    raw = survey.load_raw(2019)
    assert raw.columns.nlevels == 2
    assert len(raw) == 1337
    assert any(opt == "Kubernetes" for _, opt in raw.columns)


# ------------------------------------------------------------------------------ figures table
def test_every_row_has_a_source_url_and_a_quote():
    df = survey.load_figures()
    assert len(df) > 40
    assert df["source_url"].str.strip().ne("").all()
    assert df["source_link"].str.match(r"https?://").all()
    assert df["quote"].str.strip().ne("").all()


def test_secondary_rows_detected_from_the_denominator():
    df = survey.load_figures()
    assert df["secondary"].dtype == bool
    assert df["secondary"].equals(df["denominator"].str.contains("SECONDARY"))
    sec = df[df["secondary"]]
    assert set(sec.loc[sec["metric"] == "kubernetes_in_production", "survey_year"]) == {2017, 2019}
    assert sec["source_url"].str.contains("dzone.com").any()
    # CNCF's own 2018 headline is not secondary
    row = df[(df["survey_year"] == 2018) & (df["metric"] == "kubernetes_in_production")]
    assert not row["secondary"].any()


def test_every_row_from_press_coverage_is_marked_secondary():
    """A figure (sample sizes included) read anywhere but CNCF's own pages or repositories is secondary."""
    df = survey.load_figures()
    own = df["source_url"].str.contains(r"cncf\.io|github\.com/cncf|linuxfoundation\.org", regex=True)
    assert df["secondary"].equals(~own), df.loc[df["secondary"] == own, ["survey_year", "metric", "source_url"]]
    press = df[df["source_url"].str.contains("containerjournal|thenewstack|traefik", regex=True)
               & (df["metric"] == "sample_size")]
    assert len(press) == 3 and press["secondary"].all()
    md = survey.sources_table()  # what chapter 5 displays: every metric, sample sizes included
    for n in ("2,400", "1,337", "628"):
        line = next(l for l in md.splitlines() if f"n = {n}" in l)
        assert "(secondary)" in line, line


def test_percent_values_parsed_including_lower_bounds():
    df = survey.load_figures()
    gt90 = df[df["value_text"] == ">90"].iloc[0]
    assert gt90["value_percent"] == 90.0 and gt90["lower_bound"]
    assert df.loc[df["metric"] == "sample_size", "value_percent"].isna().all()


@pytest.mark.parametrize("year", [2017, 2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025])
def test_footnote_present_for_each_changed_year(year):
    assert survey.FOOTNOTES[year].startswith(str(year)[:4]) or "2018–2020" in survey.FOOTNOTES[year]


def test_footnote_contents_name_the_change():
    f = survey.FOOTNOTES
    assert "not of all respondents" in f[2018]
    assert "two parts" in f[2021]
    assert "paid panel" in f[2022]
    assert "vendors" in f[2023] and "comparing" in f[2023]
    assert "container users" in f[2025]
    assert "no figure" in f[2024]
    assert "cannot share one base" in f[2017]


def test_headline_table_marks_secondary_and_missing_years():
    t = survey.headline_table(["kubernetes_in_production"], range(2016, 2026), bases=False)
    assert t.loc[2018, "kubernetes_in_production"] == "58%"
    assert t.loc[2017, "kubernetes_in_production"] == "83% (secondary)"
    assert t.loc[2019, "kubernetes_in_production"] == "78%"  # CNCF's figure wins over press coverage
    assert t.loc[2024, "kubernetes_in_production"] == "—"
    assert "paid panel" in t.loc[2022, "notes"]


def test_sources_table_has_clickable_links():
    md = survey.sources_table(["kubernetes_in_production"], [2019])
    assert "](https://dzone.com/" in md and "(secondary)" in md
    assert md.count("\n") == 1 + 2  # header, rule, two rows


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"metrics": ["kubernetes_in_prod"]}, "Unknown metric(s) 'kubernetes_in_prod'. Valid metrics:"),
        ({"metrics": []}, "No metric chosen"),
        ({"years": [2015]}, "Unknown survey year(s) 2015. Valid years: 2016, 2017"),
        ({"years": ["2018"]}, "Unknown survey year(s) '2018'"),
        ({"years": []}, "No survey year chosen"),
    ],
)
def test_bad_metric_or_year_raises_helpful_value_error(kwargs, fragment):
    for fn in (survey.headline_table, survey.plot_headlines):
        with pytest.raises(ValueError) as info:
            fn(**kwargs)
        assert fragment in str(info.value)
    if "metrics" in kwargs and kwargs["metrics"]:
        assert "kubernetes_in_production" in str(info.value)  # lists the valid options


# ------------------------------------------------------------------------------ chart
def test_plot_draws_secondary_points_hollow_and_primary_filled():
    ax = survey.plot_headlines(["kubernetes_in_production", "containers_in_production"], range(2016, 2026))
    lines = {ln.get_gid(): ln for ln in ax.get_lines()}
    prim, sec = lines["primary:kubernetes_in_production"], lines["secondary:kubernetes_in_production"]
    assert prim.get_markerfacecolor() != "none"
    assert sec.get_markerfacecolor() == "none"
    assert sec.get_linestyle() == "None"  # secondary points are not joined to CNCF's own
    # 2017 has no CNCF figure; the press's 2019 figure repeats CNCF's own 78%, so it is not drawn twice
    assert sorted(sec.get_xdata()) == [2017]
    assert "secondary" in sec.get_label()
    assert to_rgba(prim.get_color()) == to_rgba(SERIES_COLOURS[0])
    assert "containers_in_production" not in " ".join(g for g in lines if g.startswith("secondary"))


def test_plot_breaks_line_at_missing_year_and_marks_2024():
    ax = survey.plot_headlines(["kubernetes_in_production"], range(2016, 2026))
    prim = next(ln for ln in ax.get_lines() if ln.get_gid() == "primary:kubernetes_in_production")
    ys = dict(zip(prim.get_xdata(), prim.get_ydata()))
    assert ys[2018] == 58 and ys[2025] == 82
    assert ys[2024] != ys[2024]  # NaN: no line through the year without a figure
    assert any(p.get_gid() == "no-figure" for p in ax.patches)


def test_plot_shows_footnote_markers_and_texts():
    ax = survey.plot_headlines(["kubernetes_in_production"], range(2018, 2024))
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == "2018\n[1]" and ticks[2] == "2020\n[1]"  # 2018–2020 share one note
    notes = next(t for t in ax.figure.texts if t.get_gid() == "footnotes").get_text()
    assert "[1] 2018–2020" in notes and "paid panel" in notes and "CNCF" in notes
    assert "2025" not in notes.split("Survey year")[0]  # only notes for the chosen years


def test_plot_shares_draws_both_bases():
    ax = survey.plot_shares(2018)
    bars = {p.get_gid(): p for p in ax.patches if p.get_gid()}
    assert round(bars["published"].get_height(), 1) == 57.9
    assert round(bars["all"].get_height(), 1) == 35.1


def test_explorer_redraws_and_handles_empty_choice():
    ex = SurveyExplorer()
    pick, span = ex.controls
    assert set(pick.value) == set(survey.DEFAULT_METRICS)
    assert span.value == (2016, 2025)
    first = ex.png
    assert first.startswith(b"\x89PNG")
    span.value = (2018, 2020)
    assert ex.png.startswith(b"\x89PNG") and ex.png != first  # redrawn for 2018–2020
    pick.value = ()
    assert ex.png is None and ex.message == EMPTY_CHOICE
    assert type(ex.chart()).__name__ == "Markdown"
    assert ex.redraws == 3
    with pytest.raises(ValueError, match="Unknown metric"):
        SurveyExplorer(metrics=["nope"])


def test_explorer_offers_readable_labels_and_says_what_each_is_a_share_of():
    """learner-ux #18: no raw ids to choose from; the chosen metrics' bases are spelled out."""
    ex = SurveyExplorer(["kubernetes_in_production", "ai_models_deployed_daily"])
    labels = [label for label, _ in ex.pick.options]
    assert {value for _, value in ex.pick.options} == set(survey.metrics())
    assert not [label for label in labels if "_" in label], labels
    assert "Kubernetes in production" in labels and "Deploy AI models daily" in labels
    assert "share of 2025 organisations" in ex.about.value
    assert "share of each year&#x27;s own base" in ex.about.value
    legend = [t.get_text() for t in survey.plot_headlines(["ai_models_deployed_daily"]).figure.legends[0].get_texts()]
    assert legend == ["Deploy AI models daily"]


def test_explorer_chart_is_a_plain_output_updated_in_place():
    """learner-ux #19: the chart is an ordinary PNG output (what the static site shows), and each
    change of a control updates that same output (its display_id), not a widget."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    ex = SurveyExplorer()
    with capture_output() as shown:
        display(ex)
        ex.span.value = (2019, 2023)
        ex.pick.value = ()
    widget, chart, update, message = shown.outputs
    assert "application/vnd.jupyter.widget-view+json" in widget.data
    assert "image/png" in chart.data and "application/vnd.jupyter.widget-view+json" not in chart.data
    assert chart.transient["display_id"] == ex.display_id and not chart.update
    assert update.update and update.transient["display_id"] == ex.display_id and "image/png" in update.data
    assert message.update and EMPTY_CHOICE in message.data["text/markdown"]


def test_sources_table_expands_denominator_notes():
    md = survey.sources_table(["kubernetes_in_production", "containers_in_production"], [2018])
    assert "note D2: Kubernetes in production, 2018–2020" in md
    assert "note D1: containers in production" in md
    assert "see note D" not in md


# ------------------------------------------------------------------------------ data, notes, readability
def test_every_metric_of_the_figures_file_has_a_label_and_a_base():
    assert set(survey.metrics()) == set(survey.METRICS)
    for metric, meta in survey.METRICS.items():
        assert meta.label and "_" not in meta.label, metric
        assert meta.base, metric
    assert survey.metric_label("sample_size") == "Number of respondents"


def test_each_note_is_written_once():
    notes = [note for _, note in survey.YEAR_NOTES]
    assert len(notes) == len(set(notes))
    assert survey.FOOTNOTES[2018] is survey.FOOTNOTES[2019] is survey.FOOTNOTES[2020]
    assert [y for years, _ in survey.YEAR_NOTES for y in years] == list(survey.SURVEY_YEARS)


def test_figures_file_is_read_once_and_each_caller_gets_its_own_copy(monkeypatch):
    survey.load_figures()
    reads = []
    real = survey_data.pd.read_csv
    monkeypatch.setattr(survey_data.pd, "read_csv", lambda *a, **k: reads.append(a) or real(*a, **k))
    survey.plot_headlines()  # the explorer's redraw: validation, points and footnotes
    survey.headline_table()
    assert reads == []
    mine = survey.load_figures()
    mine.loc[:, "value_percent"] = -1
    assert (survey.load_figures()["value_percent"].dropna() >= 0).all()


def test_chart_labels_are_whole_percent():
    ax = survey.plot_headlines(["kubernetes_in_production", "containers_in_production", "kubernetes_evaluating"])
    texts = [t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("label:")]
    assert "60%" in texts and "64%" in texts and "10%" in texts  # 2021: 59.77, 63.62, 9.93
    assert not [t for t in texts if "." in t.replace("sec.", "")], texts
    assert survey_data.percent_label(90, lower_bound=True) == ">90%"


def _segments(ax):
    """Every straight piece of every drawn line, in display coordinates."""
    import numpy as np
    for line in ax.get_lines():
        xy = ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float))
        for a, b in zip(xy[:-1], xy[1:]):
            if np.isfinite(a).all() and np.isfinite(b).all() and line.get_linestyle() not in ("None", "none"):
                yield line, a, b


def test_no_line_runs_through_a_value_label():
    """learner-ux #18: the dashed line crossed the 2021 label. Labels sit where no line of the chart
    passes, and every label is drawn on an opaque box above the lines."""
    from matplotlib.path import Path as MplPath
    for chosen in (["kubernetes_in_production", "containers_in_production"],
                   ["kubernetes_in_production", "kubernetes_using_or_evaluating", "kubernetes_evaluating"]):
        ax = survey.plot_headlines(chosen)
        ax.figure.canvas.draw()
        renderer = ax.figure.canvas.get_renderer()
        labels = [t for t in ax.texts if (t.get_gid() or "").startswith("label:") and "sec." not in t.get_text()]
        assert labels
        for text in labels:
            box = text.get_window_extent(renderer)
            for line, a, b in _segments(ax):
                assert not MplPath([a, b]).intersects_bbox(box, filled=False), (chosen, text.get_text(), line.get_gid())
        for text in ax.texts:
            if (text.get_gid() or "").startswith("label:"):
                patch = text.get_bbox_patch()
                assert patch is not None and patch.get_facecolor()[:3] == (1.0, 1.0, 1.0)
                assert text.get_zorder() > max(line.get_zorder() for line in ax.get_lines())


@pytest.mark.parametrize("chosen", [
    ["kubernetes_in_production", "containers_in_production"],  # 2019: CNCF's 78% and the press's 78%
    ["ai_genai_inference_on_kubernetes", "kubernetes_in_production_2023_comparator"],  # 2025: 66%, 66%, 66%
])
def test_markers_do_not_hide_each_other(chosen):
    import numpy as np
    ax = survey.plot_headlines(chosen)
    centres = []
    for line in ax.get_lines():
        xy = np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float)
        centres += [tuple(p) for p in ax.transData.transform(xy[np.isfinite(xy).all(axis=1)])]
    for i, a in enumerate(centres):
        for b in centres[i + 1:]:
            assert np.hypot(a[0] - b[0], a[1] - b[1]) >= 9, (a, b)  # markers are 7–10 pt wide


# ------------------------------------------------------------------------------ bases (S1, S2)
HEADLINES = ["kubernetes_in_production", "containers_in_production", "kubernetes_evaluating",
             "kubernetes_using_or_evaluating"]


def test_headline_table_states_the_base_of_every_figure():
    """S1: no percentage in chapter 5's table without what it is a share of."""
    t = survey.headline_table(HEADLINES).drop(columns="notes")
    cells = [c for c in t.to_numpy().ravel() if c != "—"]
    assert cells and all("% of " in c for c in cells), cells
    assert t.loc[2019, "kubernetes_in_production"] == "78% of 1,303 who answered the K8s line"
    assert t.loc[2017, "kubernetes_in_production"] == "83% of an unclear base (secondary)"
    md = survey.headline_markdown(HEADLINES)
    assert "| Survey year | Kubernetes in production | Containers in production |" in md
    assert "| 2019 | 78% of 1,303 who answered the K8s line | 84% of 1,300 who answered the Production line |" in md


@pytest.mark.parametrize("year", survey.RAW_YEARS)
def test_bases_of_the_raw_years_are_the_recomputed_ones(year):
    k8s = survey.recompute_kubernetes_in_production(year)
    containers = survey.recompute_containers_in_production(year)
    assert survey.BASES[("kubernetes_in_production", year)].startswith(f"{k8s['answered']:,} who answered")
    assert survey.BASES[("containers_in_production", year)].startswith(f"{containers['answered']:,} who answered")
    for metric, r in (("D2", k8s), ("D1", containers)):
        count = r.get("production", r.get("now"))
        assert f"{count:,} of {r['answered']:,} = {round(r['published_share'])}%" in survey.DENOMINATOR_NOTES[metric]


def test_plot_joins_only_years_of_one_method():
    """S2: no line across a change of base or method; only 2018–2020 share one."""
    import math

    ax = survey.plot_headlines(["kubernetes_in_production", "containers_in_production"])
    for line in ax.get_lines():
        if not line.get_gid().startswith("primary:") or line.get_linestyle() in ("None", ""):
            continue
        xs, ys = list(line.get_xdata()), list(line.get_ydata())
        joined = [(int(a), int(b)) for a, b, ya, yb in zip(xs, xs[1:], ys, ys[1:], strict=False)
                  if not any(math.isnan(v) for v in (a, b, ya, yb))]
        assert joined and all(survey.same_method(a, b) for a, b in joined), joined
        assert (2020, 2021) not in joined and (2022, 2023) not in joined


def test_plot_notes_give_each_metrics_bases():
    """S2: the containers series' bases (D1 and 2021's non-users) are under the chart, not only in a table."""
    ax = survey.plot_headlines(["kubernetes_in_production", "containers_in_production"])
    notes = next(t for t in ax.figure.texts if t.get_gid() == "footnotes").get_text().replace("\n     ", " ")
    assert "Containers in production — D1" in notes and "1,091 of 1,300 = 84%" in notes
    assert "152 'not using or planning to use'" in notes
    assert "Kubernetes in production — D2" in notes and "1,019 of 1,303 = 78%" in notes
    alone = survey.plot_headlines(["kubernetes_in_production"])
    assert "D1" not in next(t for t in alone.figure.texts if t.get_gid() == "footnotes").get_text()


def test_2021_using_or_evaluating_is_the_part_1_answers_not_all_responses():
    """CNCF's release gives "96% of organizations using or evaluating" beside its 3,829 responses; the
    figure is production + test/PoC + evaluating of the 2,165 Part 1 respondents who answered."""
    f = survey.load_figures().query("survey_year == 2021").set_index("metric")["value_percent"]
    parts = f["kubernetes_in_production"] + f["kubernetes_test_or_poc"] + f["kubernetes_evaluating"]
    assert round(parts) == f["kubernetes_using_or_evaluating"] == 96
    assert round(100 * (1294 + 577 + 215) / 2165) == 96  # the counts of sheet 'Question 16'
    base = survey.BASES[("kubernetes_using_or_evaluating", 2021)]
    assert base.startswith("the same 2,165") and "3,829" in base
