"""Chapter 1's simulation: a small team sharing a few GPU machines, with and without a scheduler.

This is a toy discrete-event simulation, not a measurement. It exists so that the three pains of
sharing GPU boxes by hand can be seen on a timeline and counted:

* **"Is anyone using this box?"** People decide which machine looks free from what they last heard.
  Sometimes the machine they pick is in fact busy.
* **"Who killed my job?"** Starting a job on a busy GPU runs it out of memory: the job that was
  already running dies (outcome ``"killed"``) and its owner reruns it once they notice.
* **"Who upgraded that package?"** The boxes share one Python environment (a shared home
  directory). Now and then someone upgrades a package before starting their job, and some of the
  jobs running elsewhere crash (outcome ``"broken"``).

A fourth cost needs no story: when every machine *looks* busy, people check again later, so a GPU
can sit idle for a while although someone is waiting for it.

Policy ``"scheduler"`` is the same team and the same jobs with a first-in-first-out queue in front
of the machines: a job starts the moment a GPU is free, nobody starts on a busy GPU, and every job
brings its own environment (a container image), so an upgrade touches nobody else.

Policy ``"queue only"`` sits between the two, so that the two benefits can be told apart: the same
first-in-first-out queue (no collisions, no idle GPU while someone waits), but still one shared
environment, so upgrades still crash jobs running elsewhere. ``ad hoc`` → ``queue only`` is what the
queue buys; ``queue only`` → ``scheduler`` is what per-job environments buy.

Simplification: in the ``"ad hoc"`` policy a collision always kills the job that was already
running. On a real GPU, whichever process asks for memory when none is left gets the out-of-memory
error; often that is the newcomer. The simulation takes the costlier case.

The queue here is one FIFO line of *jobs*. Plain Kubernetes does not keep such a line: the
kube-scheduler orders pending Pods by priority and creation time and retries the ones that do not
fit, so a later, smaller Pod can start first, and a ResourceQuota refuses work rather than queueing
it. Job-level queueing comes from an add-on such as Kueue (https://kueue.sigs.k8s.io/docs/overview/).

Units: every time is in **hours** from the start of the working day (hour 0); utilisation is a
**percent** of the GPU-hours available during the makespan. Everything is deterministic for a given
``seed``: the same inputs always give the same result.
"""

from __future__ import annotations

import heapq
import numbers
import random
from dataclasses import dataclass, field

__all__ = [
    "POLICIES",
    "OUTCOMES",
    "JobRun",
    "Incident",
    "Metrics",
    "SimulationResult",
    "simulate",
    "compare",
    "breakdown",
    "plot_timeline",
    "comparison_widget",
]

#: The policies: everyone grabs a machine; a FIFO queue with one shared environment; a FIFO queue
#: where each job brings its own environment (the chapter's "scheduler").
POLICIES = ("ad hoc", "queue only", "scheduler")
#: What can happen to one run of a job.
OUTCOMES = ("completed", "killed", "broken")

#: Limits that keep the simulation small enough to draw (the widget's sliders use them too).
MAX_PEOPLE = 20
MAX_GPUS = 16
MAX_JOB_HOURS = 24.0
MAX_JOBS_PER_PERSON = 10

_NAMES = (
    "ana", "bo", "chen", "dara", "eli", "femi", "gus", "hana", "ivo", "jun",
    "kai", "lea", "mo", "nia", "oz", "pia", "quin", "raj", "sol", "tove",
)

# Behaviour of people when there is no scheduler (fixed, so results depend only on the inputs).
_STALE_BELIEF = 0.1      # chance that a busy machine looks free to someone choosing a machine
_RECHECK_HOURS = 1.0     # when nothing looks free, people look again this much later (hours)
_NOTICE_HOURS = 1.0      # a crashed job's owner notices it this much later and reruns it (hours)
_UPGRADE_CHANCE = 0.1    # chance that someone upgrades a shared package before starting a job
_BREAK_CHANCE = 0.5      # chance that such an upgrade crashes a given job running elsewhere
_MAX_ATTEMPTS = 5        # after this many crashed runs, the owner gives up on the job


@dataclass(frozen=True)
class JobRun:
    """One run of one job on one machine.

    ``ready`` is when the run could have started (the job's submission, or the moment its owner
    noticed an earlier run had crashed); ``start`` and ``end`` bound the time it held a GPU. All
    three are hours from the start of the day. ``outcome`` is one of :data:`OUTCOMES`; ``cause``
    says in words why a run did not complete (empty for completed runs).
    """

    job: int
    person: str
    attempt: int
    ready: float
    start: float
    end: float
    machine: str
    outcome: str
    cause: str = ""

    @property
    def hours(self) -> float:
        """How long the run held its GPU, in hours."""
        return self.end - self.start


@dataclass(frozen=True)
class Incident:
    """Something a team member would complain about: ``kind`` is ``"collision"`` or ``"upgrade"``.

    ``time`` is in hours; ``text`` is one sentence in plain words.
    """

    time: float
    kind: str
    culprit: str
    victim: str
    machine: str
    text: str


@dataclass(frozen=True)
class Metrics:
    """Summary of one simulated day.

    * ``utilisation_pct`` — GPU-hours spent on runs that completed, as a percent of
      ``gpus × makespan_hours``. Time spent on runs that later crashed does not count: it bought
      nothing.
    * ``jobs_lost`` — runs that were killed or broken (each had to be rerun, or was given up).
    * ``jobs_given_up`` — jobs that never completed.
    * ``mean_wait_hours`` — mean, over completed jobs, of the hours between submitting the job and
      the start of the run that completed (lost runs count as waiting).
    * ``makespan_hours`` — hours from the start of the day until the last run ended.
    * ``wasted_gpu_hours`` — GPU-hours spent on runs that crashed.
    * ``idle_while_waiting_gpu_hours`` — GPU-hours during which a GPU was free while a job that
      could have used it was waiting.
    """

    utilisation_pct: float
    jobs_lost: int
    jobs_given_up: int
    mean_wait_hours: float
    makespan_hours: float
    wasted_gpu_hours: float
    idle_while_waiting_gpu_hours: float

    def summary(self) -> str:
        """One line with the headline numbers."""
        return (
            f"{self.utilisation_pct:.0f}% useful GPU time, {self.jobs_lost} runs lost, "
            f"mean wait {self.mean_wait_hours:.1f} h, makespan {self.makespan_hours:.1f} h"
        )


@dataclass
class SimulationResult:
    """Everything one simulated day produced: the inputs, every run, the incidents and the metrics."""

    policy: str
    people: int
    gpus: int
    job_hours: float
    jobs_per_person: int
    seed: int
    runs: list[JobRun] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    metrics: Metrics | None = None

    @property
    def machines(self) -> list[str]:
        """Machine names, ``gpu-1`` … ``gpu-N``."""
        return _machine_names(self.gpus)


# ----------------------------------------------------------------------------- validation


def _check_count(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    if value > high:
        raise ValueError(f"{name} must be at most {high} in this small simulation, got {value}")
    return value


def _check_hours(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"job_hours must be a number of hours, got {value!r}")
    value = float(value)
    if not value > 0:  # also rejects NaN
        raise ValueError(f"job_hours must be more than 0 hours, got {value}")
    if value > MAX_JOB_HOURS:
        raise ValueError(f"job_hours must be at most {MAX_JOB_HOURS:g} hours, got {value:g}")
    return value


def _check_seed(value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"seed must be a whole number, got {value!r}")
    return int(value)


def _machine_names(gpus: int) -> list[str]:
    return [f"gpu-{i}" for i in range(1, gpus + 1)]


def _person_names(people: int) -> list[str]:
    return [_NAMES[i] if i < len(_NAMES) else f"person-{i + 1}" for i in range(people)]


# ----------------------------------------------------------------------------- workload


@dataclass(frozen=True)
class _Job:
    job: int
    person: str
    submitted: float
    hours: float


def _workload(people: int, job_hours: float, jobs_per_person: int, seed: int) -> list[_Job]:
    """The jobs of the day, the same for both policies: submissions spread over an 8-hour day,
    lengths between half and one and a half times ``job_hours``, rounded to a quarter hour."""
    rng = random.Random(seed)
    jobs = []
    for person in _person_names(people):
        for _ in range(jobs_per_person):
            submitted = round(rng.uniform(0.0, 8.0) * 4) / 4
            hours = max(0.25, round(job_hours * rng.uniform(0.5, 1.5) * 4) / 4)
            jobs.append((submitted, person, hours))
    jobs.sort(key=lambda j: (j[0], j[1]))
    return [_Job(i + 1, person, submitted, hours) for i, (submitted, person, hours) in enumerate(jobs)]


# ----------------------------------------------------------------------------- policies


def _fmt(hour: float) -> str:
    """Hours from the start of the day (09:00) as a clock time, e.g. 1.5 → '10:30'."""
    minutes = int(round((9 + hour) * 60))
    day, minutes = divmod(minutes, 24 * 60)
    text = f"{minutes // 60:02d}:{minutes % 60:02d}"
    return text if day == 0 else f"{text} (+{day}d)"


def _finish(payload: dict, running: dict, runs: list, now: float) -> None:
    """A run's planned end (event ``finish``): record it as completed and free its machine, unless
    that run crashed earlier (its token no longer matches the machine's current run)."""
    machine = payload["machine"]
    current = running[machine]
    if current is None or current["token"] != payload["token"]:
        return
    job = current["job"]
    runs.append(JobRun(job.job, job.person, current["attempt"], current["ready"],
                       current["start"], now, machine, "completed"))
    running[machine] = None


def _simulate_ad_hoc(jobs: list[_Job], gpus: int, seed: int):
    rng = random.Random(seed * 7919 + 17)
    machines = _machine_names(gpus)
    running: dict[str, dict | None] = {m: None for m in machines}
    runs: list[JobRun] = []
    incidents: list[Incident] = []
    events: list[tuple] = []
    seq = 0

    def push(time: float, kind: str, payload: dict) -> None:
        nonlocal seq
        heapq.heappush(events, (time, seq, kind, payload))
        seq += 1

    def crash(machine: str, now: float, outcome: str, cause: str) -> None:
        current = running[machine]
        running[machine] = None
        job: _Job = current["job"]
        runs.append(JobRun(job.job, job.person, current["attempt"], current["ready"], current["start"],
                           now, machine, outcome, cause))
        if current["attempt"] < _MAX_ATTEMPTS:
            push(now + _NOTICE_HOURS, "want", {"job": job, "attempt": current["attempt"] + 1,
                                               "ready": now + _NOTICE_HOURS})

    for job in jobs:
        push(job.submitted, "want", {"job": job, "attempt": 1, "ready": job.submitted})

    while events:
        now, _, kind, payload = heapq.heappop(events)
        if kind == "finish":
            _finish(payload, running, runs, now)
            continue

        # kind == "want": someone looks for a machine that seems free.
        job: _Job = payload["job"]
        # A machine running one of your own jobs never looks free to you; someone else's might.
        looks_free = [
            m for m in machines
            if running[m] is None
            or (running[m]["job"].person != job.person and rng.random() < _STALE_BELIEF)
        ]
        if not looks_free:
            push(now + _RECHECK_HOURS, "want", payload)
            continue
        machine = rng.choice(looks_free)
        victim = running[machine]
        if victim is not None:
            who = victim["job"].person
            text = (f"{_fmt(now)} {job.person} started a job on {machine}, which looked free; "
                    f"{who}'s job there ran out of GPU memory and died.")
            incidents.append(Incident(now, "collision", job.person, who, machine, text))
            crash(machine, now, "killed", f"{job.person} started a job on the same GPU")
        if rng.random() < _UPGRADE_CHANCE:
            package = rng.choice(("torch", "numpy", "transformers", "cuda-python", "pandas"))
            for other in machines:
                current = running[other]
                if other == machine or current is None:
                    continue
                if rng.random() < _BREAK_CHANCE:
                    who = current["job"].person
                    text = (f"{_fmt(now)} {job.person} upgraded {package} in the shared environment; "
                            f"{who}'s job on {other} crashed on import.")
                    incidents.append(Incident(now, "upgrade", job.person, who, other, text))
                    crash(other, now, "broken", f"{job.person} upgraded {package}")
        token = seq
        running[machine] = {"job": job, "attempt": payload["attempt"], "ready": payload["ready"],
                            "start": now, "token": token}
        push(now + job.hours, "finish", {"machine": machine, "token": token})

    return runs, incidents


def _simulate_scheduler(jobs: list[_Job], gpus: int):
    machines = _machine_names(gpus)
    free_at = {m: 0.0 for m in machines}
    runs = []
    for job in jobs:  # first in, first out: jobs are already in submission order
        free_now = [m for m in machines if free_at[m] <= job.submitted]
        machine = free_now[0] if free_now else min(machines, key=lambda m: (free_at[m], m))
        start = max(job.submitted, free_at[machine])
        end = start + job.hours
        free_at[machine] = end
        runs.append(JobRun(job.job, job.person, 1, job.submitted, start, end, machine, "completed"))
    return runs, []


def _simulate_queue_shared_env(jobs: list[_Job], gpus: int, seed: int):
    """FIFO queue in front of the machines, but one shared environment: upgrades still crash jobs.

    The queue is ordered by the time a run became ready (submission, or the moment its owner noticed
    a crash), then by job number; a run starts on the first free machine (by name) the moment there
    is one. Crashed runs rejoin the queue ``_NOTICE_HOURS`` later, as in the ad hoc policy.
    """
    rng = random.Random(seed * 7919 + 29)
    machines = _machine_names(gpus)
    running: dict[str, dict | None] = {m: None for m in machines}
    runs: list[JobRun] = []
    incidents: list[Incident] = []
    events: list[tuple] = []
    queue: list[tuple] = []  # (ready, job number, payload), kept sorted
    seq = 0

    def push(time: float, order: int, kind: str, payload: dict) -> None:
        nonlocal seq
        heapq.heappush(events, (time, order, seq, kind, payload))
        seq += 1

    for job in jobs:
        push(job.submitted, 1, "ready", {"job": job, "attempt": 1, "ready": job.submitted})

    while events:
        now = events[0][0]
        while events and events[0][0] == now:  # everything that happens at this moment, then dispatch
            _, _, _, kind, payload = heapq.heappop(events)
            if kind == "finish":
                _finish(payload, running, runs, now)
            else:
                heapq.heappush(queue, (payload["ready"], payload["job"].job, payload))
        while queue and any(running[m] is None for m in machines):
            _, _, item = heapq.heappop(queue)
            job = item["job"]
            machine = next(m for m in machines if running[m] is None)
            if rng.random() < _UPGRADE_CHANCE:
                package = rng.choice(("torch", "numpy", "transformers", "cuda-python", "pandas"))
                for other in machines:
                    current = running[other]
                    if other == machine or current is None or rng.random() >= _BREAK_CHANCE:
                        continue
                    who = current["job"].person
                    text = (f"{_fmt(now)} {job.person} upgraded {package} in the shared environment; "
                            f"{who}'s job on {other} crashed on import.")
                    incidents.append(Incident(now, "upgrade", job.person, who, other, text))
                    running[other] = None
                    victim: _Job = current["job"]
                    runs.append(JobRun(victim.job, victim.person, current["attempt"], current["ready"],
                                       current["start"], now, other, "broken",
                                       f"{job.person} upgraded {package}"))
                    if current["attempt"] < _MAX_ATTEMPTS:
                        push(now + _NOTICE_HOURS, 1, "ready", {"job": victim, "attempt": current["attempt"] + 1,
                                                               "ready": now + _NOTICE_HOURS})
            token = seq
            running[machine] = {"job": job, "attempt": item["attempt"], "ready": item["ready"],
                                "start": now, "token": token}
            push(now + job.hours, 0, "finish", {"machine": machine, "token": token})

    return runs, incidents


# ----------------------------------------------------------------------------- metrics


def _idle_while_waiting(runs: list[JobRun], gpus: int) -> float:
    """GPU-hours during which a GPU was free while some run was ready but not started."""
    points = sorted({t for r in runs for t in (r.ready, r.start, r.end)})
    total = 0.0
    for a, b in zip(points, points[1:]):
        mid = (a + b) / 2
        busy = sum(1 for r in runs if r.start <= mid < r.end)
        waiting = sum(1 for r in runs if r.ready <= mid < r.start)
        total += min(gpus - busy, waiting) * (b - a)
    return total


def _metrics(runs: list[JobRun], jobs: list[_Job], gpus: int) -> Metrics:
    makespan = max((r.end for r in runs), default=0.0)
    done = [r for r in runs if r.outcome == "completed"]
    lost = [r for r in runs if r.outcome != "completed"]
    useful = sum(r.hours for r in done)
    submitted = {j.job: j.submitted for j in jobs}
    waits = [r.start - submitted[r.job] for r in done]
    return Metrics(
        utilisation_pct=round(100.0 * useful / (gpus * makespan), 1) if makespan else 0.0,
        jobs_lost=len(lost),
        jobs_given_up=len(jobs) - len({r.job for r in done}),
        mean_wait_hours=round(sum(waits) / len(waits), 2) if waits else 0.0,
        makespan_hours=round(makespan, 2),
        wasted_gpu_hours=round(float(sum(r.hours for r in lost)), 2),
        idle_while_waiting_gpu_hours=round(float(_idle_while_waiting(runs, gpus)), 2),
    )


# ----------------------------------------------------------------------------- public API


def simulate(policy: str, people: int = 6, gpus: int = 3, job_hours: float = 3.0, seed: int = 1,
             jobs_per_person: int = 2) -> SimulationResult:
    """Simulate one working day of ``people`` sharing ``gpus`` single-GPU machines.

    Parameters
    ----------
    policy:
        ``"ad hoc"`` (everyone grabs a machine that looks free), ``"queue only"`` (a FIFO queue hands
        out free GPUs, but the environment is still shared, so upgrades still crash jobs) or
        ``"scheduler"`` (the same queue, and each job brings its own environment).
    people:
        Team size, a whole number from 1 to 20.
    gpus:
        Number of machines with one GPU each, a whole number from 1 to 16.
    job_hours:
        Typical job length in **hours** (more than 0, at most 24). Each job lasts between half and
        one and a half times this, rounded to a quarter hour.
    seed:
        Whole number; the same seed gives the same day.
    jobs_per_person:
        Jobs each person submits during the 8-hour day (1 to 10).

    Raises
    ------
    ValueError
        For an unknown policy, a count that is not a whole number or is out of range, or a job
        length that is not a positive number of hours.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(repr(p) for p in POLICIES)}; got {policy!r}")
    people = _check_count("people", people, 1, MAX_PEOPLE)
    gpus = _check_count("gpus", gpus, 1, MAX_GPUS)
    job_hours = _check_hours(job_hours)
    seed = _check_seed(seed)
    jobs_per_person = _check_count("jobs_per_person", jobs_per_person, 1, MAX_JOBS_PER_PERSON)

    jobs = _workload(people, job_hours, jobs_per_person, seed)
    if policy == "ad hoc":
        runs, incidents = _simulate_ad_hoc(jobs, gpus, seed)
    elif policy == "queue only":
        runs, incidents = _simulate_queue_shared_env(jobs, gpus, seed)
    else:
        runs, incidents = _simulate_scheduler(jobs, gpus)
    runs.sort(key=lambda r: (r.start, r.machine, r.job))
    result = SimulationResult(policy, people, gpus, job_hours, jobs_per_person, seed, runs, incidents)
    result.metrics = _metrics(runs, jobs, gpus)
    return result


def compare(people: int = 6, gpus: int = 3, job_hours: float = 3.0, seed: int = 1,
            jobs_per_person: int = 2) -> tuple[SimulationResult, SimulationResult]:
    """Run both policies on the same day's jobs: returns ``(ad_hoc, scheduler)``."""
    args = dict(people=people, gpus=gpus, job_hours=job_hours, seed=seed, jobs_per_person=jobs_per_person)
    return simulate("ad hoc", **args), simulate("scheduler", **args)


def breakdown(people: int = 6, gpus: int = 3, job_hours: float = 3.0, seed: int = 1,
              jobs_per_person: int = 2) -> dict[str, SimulationResult]:
    """Run every policy in :data:`POLICIES` on the same day's jobs: ``{policy: result}``, in that order.

    ``"ad hoc"`` → ``"queue only"`` isolates what the queue buys; ``"queue only"`` → ``"scheduler"``
    what per-job environments (container images) buy. Raises ``ValueError`` as :func:`simulate` does.
    """
    args = dict(people=people, gpus=gpus, job_hours=job_hours, seed=seed, jobs_per_person=jobs_per_person)
    return {policy: simulate(policy, **args) for policy in POLICIES}


_TITLES = {"ad hoc": "Everyone grabs a machine", "queue only": "A queue, one shared environment",
           "scheduler": "A scheduler queues requests"}


def plot_timeline(result_a: SimulationResult, result_b: SimulationResult, fig=None):
    """Draw two simulated days one above the other as Gantt-like timelines (one row per machine).

    Completed runs are solid blue; killed runs are vermillion with cross hatching and broken runs
    orange with diagonal hatching, so the outcome does not rest on colour alone. The x axis is hours
    from the start of the day; each panel's title gives its headline metrics. Returns the figure
    (the caller ends the cell with ``plt.show()``). Pass ``fig`` to redraw into an existing figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from whyk8s.notebook.charts import HATCHES, PALETTE, SERIES_COLOURS, style_axes

    for r in (result_a, result_b):
        if not isinstance(r, SimulationResult):
            raise ValueError(f"plot_timeline needs two SimulationResult objects, got {type(r).__name__}")
    style = {
        "completed": (SERIES_COLOURS[0], HATCHES[0]),
        "killed": (PALETTE["vermillion"], HATCHES[3]),
        "broken": (PALETTE["orange"], HATCHES[1]),
    }
    rows = max(result_a.gpus, result_b.gpus)
    if fig is None:
        fig = plt.figure(figsize=(8.0, 1.6 + 0.55 * 2 * rows), dpi=100)
    else:
        fig.clear()
    axes = fig.subplots(2, 1, sharex=True)
    end = max(result_a.metrics.makespan_hours, result_b.metrics.makespan_hours, 1.0)
    for ax, result in zip(axes, (result_a, result_b)):
        machines = result.machines
        for run in result.runs:
            y = machines.index(run.machine)
            colour, hatch = style[run.outcome]
            ax.barh(y, run.hours, left=run.start, height=0.7, color=colour, hatch=hatch,
                    edgecolor=PALETTE["black"] if run.outcome != "completed" else "white", linewidth=0.6)
            if run.hours >= 0.9:
                box = None if run.outcome == "completed" else {
                    "facecolor": "white", "edgecolor": "none", "pad": 1.0}
                ax.text(run.start + run.hours / 2, y, run.person, ha="center", va="center", fontsize=7,
                        color="white" if run.outcome == "completed" else PALETTE["black"], bbox=box)
        ax.set_yticks(range(len(machines)), machines)
        ax.set_ylim(len(machines) - 0.5, -0.5)
        ax.set_xlim(0, end * 1.02)
        style_axes(ax, grid="x")
        ax.set_title(f"{_TITLES.get(result.policy, result.policy)}: {result.metrics.summary()}",
                     fontsize=9, loc="left")
    axes[-1].set_xlabel("hours since the start of the day")
    handles = [Patch(facecolor=style[o][0], hatch=style[o][1], edgecolor=PALETTE["black"], label=o)
               for o in OUTCOMES]
    fig.legend(handles=handles, loc="upper right", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig


def comparison_widget(people: int = 6, gpus: int = 3, job_hours: float = 3.0, seed: int = 1):
    """Sliders for people, GPUs, job length (hours) and seed; moving one redraws both timelines.

    The sliders keep values inside the range :func:`simulate` accepts. If a value is still refused
    (for instance a start value passed in here), the message appears in place of the chart instead
    of a traceback. Returns an ``ipywidgets.VBox`` to display.
    """
    import html

    import ipywidgets as w

    from whyk8s.notebook.charts import show_in_output

    def clamp(value, low, high):
        try:
            return min(max(value, low), high)
        except TypeError:
            return low

    sliders = {
        "people": w.IntSlider(value=clamp(people, 1, MAX_PEOPLE), min=1, max=MAX_PEOPLE,
                              description="people"),
        "gpus": w.IntSlider(value=clamp(gpus, 1, MAX_GPUS), min=1, max=MAX_GPUS, description="GPUs"),
        "job_hours": w.FloatSlider(value=clamp(job_hours, 0.5, 12.0), min=0.5, max=12.0, step=0.5,
                                   description="job hours"),
        "seed": w.IntSlider(value=clamp(seed, 0, 99), min=0, max=99, description="seed"),
    }
    out = w.Output()
    message = w.HTML()

    def redraw(_change=None):
        values = {k: s.value for k, s in sliders.items()}
        try:
            a, b = compare(**values)
        except ValueError as exc:
            out.outputs = ()
            message.value = f"<span style='color:#D55E00'>⚠ {html.escape(str(exc))}</span>"
            return
        message.value = ""
        show_in_output(out, plot_timeline(a, b))

    for s in sliders.values():
        s.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox(list(sliders.values())[:2]), w.HBox(list(sliders.values())[2:]), message, out])
