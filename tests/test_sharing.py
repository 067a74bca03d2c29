"""Chapter 1's GPU-sharing simulation: validation, invariants of both policies, determinism, chart."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from whyk8s.lessons import gpu_sharing  # noqa: E402
from whyk8s.notebook.charts import PALETTE, SERIES_COLOURS  # noqa: E402


def _overlaps(runs):
    """Pairs of runs that hold the same machine at the same time."""
    found = []
    by_machine = {}
    for r in runs:
        by_machine.setdefault(r.machine, []).append(r)
    for rs in by_machine.values():
        rs.sort(key=lambda r: (r.start, r.end))
        for a, b in zip(rs, rs[1:]):
            if b.start < a.end - 1e-9:
                found.append((a, b))
    return found


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"gpus": 0}, "gpus must be at least 1"),
        ({"people": -2}, "people must be at least 1"),
        ({"people": 0}, "people must be at least 1"),
        ({"people": 2.5}, "people must be a whole number"),
        ({"gpus": "3"}, "gpus must be a whole number"),
        ({"gpus": True}, "gpus must be a whole number"),
        ({"job_hours": 0}, "job_hours must be more than 0"),
        ({"job_hours": -1.5}, "job_hours must be more than 0"),
        ({"job_hours": float("nan")}, "job_hours must be more than 0"),
        ({"job_hours": "3h"}, "job_hours must be a number of hours"),
        ({"seed": 1.5}, "seed must be a whole number"),
        ({"people": 1000}, "people must be at most"),
    ],
)
def test_bad_input_raises_clear_value_error(kwargs, fragment):
    for policy in gpu_sharing.POLICIES:
        with pytest.raises(ValueError, match=fragment):
            gpu_sharing.simulate(policy, **kwargs)
    with pytest.raises(ValueError, match=fragment):
        gpu_sharing.compare(**kwargs)


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="policy must be one of"):
        gpu_sharing.simulate("round robin")


@pytest.mark.parametrize("seed", range(8))
def test_scheduler_never_collides_and_is_fifo(seed):
    result = gpu_sharing.simulate("scheduler", people=7, gpus=3, job_hours=2.5, seed=seed)
    assert _overlaps(result.runs) == []
    assert all(r.outcome == "completed" for r in result.runs)
    assert result.metrics.jobs_lost == 0 and result.incidents == []
    # FIFO: jobs start in the order they were submitted.
    by_job = sorted(result.runs, key=lambda r: r.job)
    starts = [r.start for r in by_job]
    assert starts == sorted(starts)
    # Work conserving: no GPU idles while a job waits.
    assert result.metrics.idle_while_waiting_gpu_hours == 0


@pytest.mark.parametrize("seed", range(8))
def test_ad_hoc_runs_are_consistent(seed):
    result = gpu_sharing.simulate("ad hoc", people=6, gpus=3, job_hours=3, seed=seed)
    for r in result.runs:
        assert r.ready <= r.start <= r.end
        assert r.outcome in gpu_sharing.OUTCOMES
        assert (r.cause == "") == (r.outcome == "completed")
    # A machine never runs two jobs at once: a collision ends the earlier run when the new one starts.
    assert _overlaps(result.runs) == []
    lost = [r for r in result.runs if r.outcome != "completed"]
    assert result.metrics.jobs_lost == len(lost)
    assert len(result.incidents) == len(lost)
    assert math.isclose(result.metrics.wasted_gpu_hours, round(sum(r.hours for r in lost), 2))


def test_every_job_is_accounted_for_in_both_policies():
    ad_hoc, sched = gpu_sharing.compare(people=5, gpus=2, job_hours=2, seed=3, jobs_per_person=3)
    assert {r.job for r in sched.runs} == set(range(1, 16))
    completed = {r.job for r in ad_hoc.runs if r.outcome == "completed"}
    assert len(completed) + ad_hoc.metrics.jobs_given_up == 15


def test_ad_hoc_loses_jobs_and_the_scheduler_does_better_on_defaults():
    ad_hoc, sched = gpu_sharing.compare()
    assert ad_hoc.metrics.jobs_lost > 0
    assert any(i.kind == "collision" for i in ad_hoc.incidents)
    assert sched.metrics.utilisation_pct > ad_hoc.metrics.utilisation_pct
    assert sched.metrics.mean_wait_hours < ad_hoc.metrics.mean_wait_hours
    assert sched.metrics.makespan_hours <= ad_hoc.metrics.makespan_hours


def test_upgrades_break_jobs_on_other_machines_for_some_seed():
    incidents = [i for seed in range(20) for i in gpu_sharing.simulate("ad hoc", seed=seed).incidents]
    upgrades = [i for i in incidents if i.kind == "upgrade"]
    assert upgrades, "no seed in 0..19 produced a package-upgrade incident"
    assert all("upgraded" in i.text and i.culprit != "" for i in upgrades)


def test_more_gpus_never_make_the_scheduler_slower():
    spans = [gpu_sharing.simulate("scheduler", people=8, gpus=g, job_hours=3, seed=4).metrics.makespan_hours
             for g in range(1, 7)]
    assert spans == sorted(spans, reverse=True)


def test_single_gpu_scheduler_metrics_by_hand():
    result = gpu_sharing.simulate("scheduler", people=1, gpus=1, job_hours=2, seed=0, jobs_per_person=2)
    a, b = sorted(result.runs, key=lambda r: r.job)
    expected_busy = a.hours + b.hours
    assert result.metrics.makespan_hours == pytest.approx(b.end)
    assert result.metrics.utilisation_pct == pytest.approx(round(100 * expected_busy / b.end, 1))
    waits = [a.start - a.ready, b.start - b.ready]
    assert result.metrics.mean_wait_hours == pytest.approx(round(sum(waits) / 2, 2))


def test_same_inputs_same_result_and_seed_matters():
    assert gpu_sharing.compare(seed=5) == gpu_sharing.compare(seed=5)
    assert gpu_sharing.simulate("ad hoc", seed=5).runs != gpu_sharing.simulate("ad hoc", seed=6).runs


def test_plot_timeline_draws_both_policies_with_palette_and_hatching():
    ad_hoc, sched = gpu_sharing.compare()
    fig = gpu_sharing.plot_timeline(ad_hoc, sched)
    try:
        axes = fig.axes
        assert len(axes) == 2
        assert "Everyone grabs a machine" in axes[0].get_title(loc="left")
        assert "A scheduler queues requests" in axes[1].get_title(loc="left")
        colours = {matplotlib.colors.to_hex(p.get_facecolor()).upper() for p in axes[0].patches}
        assert colours <= {c.upper() for c in SERIES_COLOURS} | {c.upper() for c in PALETTE.values()}
        hatched = [p for p in axes[0].patches if p.get_hatch()]
        lost = [r for r in ad_hoc.runs if r.outcome != "completed"]
        assert len(hatched) == len(lost) > 0
        assert not any(p.get_hatch() for p in axes[1].patches)
        assert len(axes[1].patches) == len(sched.runs)
    finally:
        plt.close(fig)


def test_plot_timeline_panels_have_the_course_style_also_when_redrawn():
    """Both panels look like every other chart of the course (whyk8s.notebook.charts.style_axes): a
    light vertical grid under the bars and no top or right frame line, on a new figure and on a
    figure that is cleared and drawn again (the widget's path)."""
    ad_hoc, sched = gpu_sharing.compare()
    fig = gpu_sharing.plot_timeline(ad_hoc, sched)
    try:
        for redraw in (False, True):
            if redraw:
                fig = gpu_sharing.plot_timeline(ad_hoc, sched, fig=fig)
            for ax in fig.axes:
                assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()
                assert ax.get_axisbelow() is True
                assert any(g.get_visible() for g in ax.xaxis.get_gridlines())
                assert not any(g.get_visible() for g in ax.yaxis.get_gridlines())
                assert matplotlib.colors.to_hex(ax.xaxis.get_gridlines()[0].get_color()) == "#dddddd"
    finally:
        plt.close(fig)


def test_plot_timeline_rejects_wrong_arguments():
    with pytest.raises(ValueError, match="SimulationResult"):
        gpu_sharing.plot_timeline({"policy": "ad hoc"}, None)


def test_comparison_widget_builds_and_redraws():
    open_before = set(plt.get_fignums())
    widget = gpu_sharing.comparison_widget(people=-4, gpus=100)
    sliders = [c for box in widget.children[:2] for c in box.children]
    people, gpus, hours, seed = sliders
    assert people.value == 1 and gpus.value == gpu_sharing.MAX_GPUS  # clamped to slider bounds
    assert people.min == 1 and gpus.min == 1 and hours.min > 0
    out = widget.children[3]
    [before] = out.outputs
    assert "image/png" in before["data"]
    gpus.value = 2  # triggers a redraw without raising
    message = widget.children[2]
    assert message.value == ""
    [after] = out.outputs  # one chart, replaced, not appended
    assert after["data"]["image/png"] != before["data"]["image/png"]
    assert set(plt.get_fignums()) == open_before  # each drawn figure is closed


def test_comparison_widget_shows_errors_in_place(monkeypatch):
    widget = gpu_sharing.comparison_widget()
    message = widget.children[2]

    def refuse(**kwargs):
        raise ValueError("gpus must be at least 1, got 0")

    monkeypatch.setattr(gpu_sharing, "compare", refuse)
    widget.children[0].children[1].value = 5  # the GPUs slider: redraw hits the error
    assert "gpus must be at least 1" in message.value
    assert widget.children[3].outputs == ()  # no stale chart beside the message
    monkeypatch.undo()
    widget.children[0].children[1].value = 4
    assert message.value == ""
    plt.close("all")


@pytest.mark.parametrize("seed", range(8))
def test_queue_only_never_collides_and_loses_runs_only_to_upgrades(seed):
    """The middle policy keeps the queue (no collision, FIFO, no GPU idle while a run waits) but the
    shared environment: every lost run is an upgrade crash, never a collision."""
    result = gpu_sharing.simulate("queue only", people=7, gpus=3, job_hours=2.5, seed=seed)
    assert _overlaps(result.runs) == []
    assert {r.outcome for r in result.runs} <= {"completed", "broken"}
    assert all(i.kind == "upgrade" for i in result.incidents)
    assert result.metrics.jobs_lost == len(result.incidents)
    # FIFO over runs: in order of becoming ready (then job number), runs start in order.
    in_queue_order = sorted(result.runs, key=lambda r: (r.ready, r.job))
    starts = [r.start for r in in_queue_order]
    assert starts == sorted(starts)
    assert result.metrics.idle_while_waiting_gpu_hours == 0


def test_queue_only_is_the_scheduler_when_nobody_upgrades(monkeypatch):
    """With no upgrades, the only difference between the two queue policies is gone: same runs."""
    monkeypatch.setattr(gpu_sharing, "_UPGRADE_CHANCE", 0.0)
    for seed in range(5):
        queue = gpu_sharing.simulate("queue only", seed=seed)
        sched = gpu_sharing.simulate("scheduler", seed=seed)
        assert queue.runs == sched.runs and queue.metrics == sched.metrics


def test_some_seed_separates_the_two_benefits():
    """On some seed the queue alone still loses runs to upgrades, so 'queue only' < 'scheduler'."""
    gaps = [(r["queue only"].metrics.jobs_lost, r["scheduler"].metrics.jobs_lost)
            for r in (gpu_sharing.breakdown(seed=seed) for seed in range(10))]
    assert any(q > 0 and s == 0 for q, s in gaps)


def test_chapter_1_figures():
    """The figures chapter 1 prints and chapter 6 repeats (6 people, 3 GPUs, 3-hour jobs, seed 1)."""
    results = gpu_sharing.breakdown(people=6, gpus=3, job_hours=3, seed=1)
    assert list(results) == list(gpu_sharing.POLICIES)
    got = {p: (r.metrics.utilisation_pct, r.metrics.jobs_lost, r.metrics.mean_wait_hours,
               r.metrics.makespan_hours) for p, r in results.items()}
    assert got == {
        "ad hoc": (60.8, 9, 3.6, 18.5),
        "queue only": (77.6, 1, 1.38, 14.5),
        "scheduler": (86.5, 0, 1.1, 13.0),
    }
    # compare() is the first and last of these, on the same jobs.
    ad_hoc, sched = gpu_sharing.compare(people=6, gpus=3, job_hours=3, seed=1)
    assert ad_hoc.metrics == results["ad hoc"].metrics and sched.metrics == results["scheduler"].metrics


def test_answers_to_chapter_1_things_to_try():
    """The hidden answers under chapter 1's "Things to try" state these figures."""
    # As many GPUs as people (6): without a scheduler a collision still happens, and upgrades still crash jobs.
    ad_hoc, _ = gpu_sharing.compare(people=6, gpus=6, job_hours=3, seed=1)
    kinds = [i.kind for i in ad_hoc.incidents]
    assert kinds.count("collision") == 1 and kinds.count("upgrade") == 6
    # Twice the job length (6 h) on three GPUs: the ad hoc day loses far more runs and waits far longer.
    ad_hoc6, sched6 = gpu_sharing.compare(people=6, gpus=3, job_hours=6, seed=1)
    assert (ad_hoc6.metrics.jobs_lost, ad_hoc6.metrics.jobs_given_up) == (41, 4)
    assert (ad_hoc6.metrics.mean_wait_hours, sched6.metrics.mean_wait_hours) == (15.31, 5.77)
    # Seeds 0..9: the scheduler is ahead on every seed; ranges as the answer gives them.
    days = [gpu_sharing.compare(seed=seed) for seed in range(10)]
    ad = [a.metrics.utilisation_pct for a, _ in days]
    sc = [s.metrics.utilisation_pct for _, s in days]
    assert (min(ad), max(ad), min(sc), max(sc)) == (37.0, 63.1, 69.2, 92.8)
    assert all(s > a for a, s in zip(ad, sc))
