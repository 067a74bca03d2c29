"""Chapter 5's survey explorer: pick metrics and survey years, and the headline chart is redrawn.

Displaying a :class:`SurveyExplorer` gives two outputs: the controls (an ipywidgets box: the metric
list with readable labels, the year range, and a line per chosen metric saying what its percentage
is a share of) and the chart as an ordinary PNG output with a ``display_id``. Each change of a
control redraws the chart and *updates that output in place* (``update_display``) rather than
writing into an ``Output`` widget. So the chart is a plain image in the saved notebook: the static
site and a notebook opened without a kernel show the chart of the initial choice, where a widget
would show nothing. Needs no cluster. Source: :mod:`whyk8s.lessons.survey`.
"""

from __future__ import annotations

import html
import io
import uuid
from collections.abc import Iterable

from whyk8s.lessons.survey.charts import plot_headlines
from whyk8s.lessons.survey.data import METRICS, SURVEY_YEARS, metric_label, validate
from whyk8s.lessons.survey.data import metrics as metric_ids

__all__ = ["SurveyExplorer", "EMPTY_CHOICE"]

#: What the explorer shows instead of a chart when no metric is chosen.
EMPTY_CHOICE = "Choose at least one metric (Ctrl/Cmd-click to select several)."


class SurveyExplorer:
    """The headline chart of chosen metrics and survey years, with controls to change them.

    ``metrics``: ids initially selected (default ``DEFAULT_METRICS``); ``years``: initial ``(first,
    last)`` survey years (default the whole range). Raises ``ValueError`` for bad initial values.

    Attributes: ``pick`` (``SelectMultiple``: options are ``(label, id)``), ``span``
    (``IntRangeSlider``), ``controls`` (both), ``about`` (``HTML``: each chosen metric's label, base and
    id), ``box`` (the controls' widget), ``png`` (the chart's PNG bytes, or None when nothing is
    chosen), ``message`` (the sentence shown instead), ``redraws`` (how many times it was drawn),
    ``display_id`` (of the chart output).
    """

    def __init__(self, metrics: Iterable[str] | None = None, years: tuple[int, int] | None = None) -> None:
        import ipywidgets as w

        chosen, _ = validate(list(metrics) if metrics is not None else None, None)
        first, last = years if years is not None else (SURVEY_YEARS[0], SURVEY_YEARS[-1])
        validate(chosen, [first, last])
        options = sorted(((metric_label(m), m) for m in metric_ids()), key=lambda o: o[0].lower())
        self.pick = w.SelectMultiple(options=options, value=tuple(chosen), rows=8, description="Metrics",
                                     layout=w.Layout(width="520px"))
        self.span = w.IntRangeSlider(value=(first, last), min=SURVEY_YEARS[0], max=SURVEY_YEARS[-1], step=1,
                                     description="Years", continuous_update=False, layout=w.Layout(width="400px"))
        self.about = w.HTML()
        self.controls = (self.pick, self.span)
        self.box = w.VBox([w.HBox([self.pick, self.span]), self.about])
        self.display_id = f"whyk8s-survey-{uuid.uuid4().hex}"
        self.png: bytes | None = None
        self.message = ""
        self.redraws = 0
        self._shown = False
        self.pick.observe(self._redraw, names="value")
        self.span.observe(self._redraw, names="value")
        self._redraw()

    # -- drawing -------------------------------------------------------------------------------------
    def _redraw(self, _change=None) -> None:
        import matplotlib.pyplot as plt

        chosen = list(self.pick.value)
        self.about.value = _about_html(chosen)
        if not chosen:
            self.png, self.message = None, EMPTY_CHOICE
        else:
            ax = plot_headlines(chosen, range(self.span.value[0], self.span.value[1] + 1))
            buf = io.BytesIO()
            ax.figure.savefig(buf, format="png", dpi=100)
            plt.close(ax.figure)
            self.png, self.message = buf.getvalue(), ""
        self.redraws += 1
        if self._shown:
            from IPython.display import update_display
            update_display(self.chart(), display_id=self.display_id)

    def chart(self):
        """What the chart output shows now: an ``IPython.display.Image`` (PNG) or a ``Markdown`` sentence."""
        from IPython.display import Image, Markdown
        return Image(data=self.png, format="png") if self.png is not None else Markdown(self.message)

    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.box)
        display(self.chart(), display_id=self.display_id)
        self._shown = True

    def __repr__(self) -> str:
        chosen = ", ".join(self.pick.value) or "nothing"
        return f"SurveyExplorer({chosen}; {self.span.value[0]}–{self.span.value[1]})"


def _about_html(chosen: list[str]) -> str:
    """One line per chosen metric: its label, what it is a share of, and its id."""
    if not chosen:
        return f"<p style='margin:0.3em 0'>{html.escape(EMPTY_CHOICE)}</p>"
    rows = "".join(
        f"<li><b>{html.escape(metric_label(m))}</b>: share of {html.escape(METRICS[m].base if m in METRICS else '?')}"
        f" <code style='font-size:85%'>{html.escape(m)}</code></li>" for m in chosen)
    return f"<ul style='margin:0.3em 0; padding-left:1.4em; font-size:90%'>{rows}</ul>"
