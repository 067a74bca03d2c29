"""A workshop participant runs the chapters and labs with their own kubeconfig and sees no traceback.

Participant ``p01`` of a 3-participant workshop (:mod:`whyk8s.cluster.workshop`) runs a notebook top
to bottom in a fresh kernel (nbclient, errors allowed) with ``KUBECONFIG`` set to their kubeconfig
and nothing else changed. A cell may fail (an API refusal, a step that is the instructor's
demonstration), but then it shows the course's one sentence (:mod:`whyk8s.notebook.display`), never
an error output (a traceback): this test fails naming each cell that ended in one. A cell that ends in
an error at all (even shown as one sentence) must carry the tag ``raises-exception``, or JupyterLab's
"Run All" stops there (:func:`untagged_failures`; :func:`test_a_tagged_demonstration_does_not_stop_the_queued_cells`
shows the kernel aborting the queued cells behind an untagged one, as learner B saw).

A busy room (:func:`test_busy_room_runs_lab4_at_once`): three participants run lab 4's solution at
the same moment while other pods hold GPUs: every GPU of the layout's GPU node (each Job then waits
only for a GPU, which the lab's check accepts with a sentence), or with one extra GPU node
(``up(gpu_nodes=1)``, where the Jobs run).

Executing a committed notebook again is the exception CONTRIBUTING.md allows here: what is tested is
the notebook as a participant runs it, which nbval (as the course cluster's admin) does not cover.
:data:`NOTEBOOKS` runs chapter 3 and lab 2's solution; ``WHYK8S_WORKSHOP_NOTEBOOKS=all`` adds the
other chapters and lab solutions that use the cluster (:data:`MORE_NOTEBOOKS`).
"""

from __future__ import annotations

import copy
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from whyk8s.cluster import workshop
from whyk8s.k8s.guard import connect

pytestmark = [pytest.mark.kwok, pytest.mark.kernel]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ["notebooks/03-what-an-orchestrator-does.ipynb", "labs/solutions/lab2-first-pod-solution.ipynb"]
MORE_NOTEBOOKS = [
    "notebooks/03b-what-running-containers-show.ipynb", "notebooks/04a-placing-ml-work.ipynb",
    "notebooks/04b-sharing-a-cluster.ipynb", "notebooks/04c-queueing-with-kueue.ipynb",
    "notebooks/04d-elastic-gpu-pools.ipynb",
    "labs/solutions/lab3-self-healing-solution.ipynb", "labs/solutions/lab4-gpu-job-solution.ipynb",
    "labs/solutions/lab5-share-the-cluster-solution.ipynb", "labs/solutions/lab7-share-a-gpu-pool-solution.ipynb",
]
RUN = NOTEBOOKS + (MORE_NOTEBOOKS if os.environ.get("WHYK8S_WORKSHOP_NOTEBOOKS") == "all" else [])


@pytest.fixture(scope="module")
def room(course_cluster, tmp_path_factory):
    """A 3-participant workshop on the course cluster: (instructor's connection, ``up``'s result)."""
    instructor = connect(context=course_cluster.context)
    out = tmp_path_factory.mktemp("workshop")
    workshop.down(cluster=instructor, out=out)
    result = workshop.up(3, hours=1, out=out, cluster=instructor)
    yield instructor, result
    workshop.down(cluster=instructor, out=out)


@pytest.fixture(scope="module")
def participant(room):
    """The kubeconfig of p01."""
    _, result = room
    return workshop.kubeconfig_path(result.context, "p01", result.folder)


def tracebacks(nb) -> list[str]:
    """One line per code cell of the executed ``nb`` that shows a traceback: an error output, or a
    traceback printed on a stream."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "error":
                found.append(f"cell {i} ({cell.get('id')}): {out.get('ename')}: {str(out.get('evalue'))[:300]}")
            elif out.get("output_type") == "stream" and "Traceback (most recent call last)" in out.get("text", ""):
                found.append(f"cell {i} ({cell.get('id')}): a traceback on {out.get('name')}")
    return found


def _note_failed(failed: dict[int, str], cell_index: int, execute_reply) -> None:
    content = (execute_reply or {}).get("content", {})
    if content.get("status") == "error":
        failed[cell_index] = str(content.get("ename"))


def untagged_failures(nb, failed: dict[int, str]) -> list[str]:
    """One line per cell of ``nb`` whose execute reply was an error (``failed``: cell index → exception
    name) and that lacks the tag ``raises-exception``. Such a cell ends in error even when the course
    shows only its sentence (IPython's custom exception handler): the kernel then aborts the cells
    queued behind it (``stop_on_error``), so JupyterLab's "Run All" stops there. JupyterLab 4
    (OutputArea.execute) and nbclient send ``stop_on_error: false`` for a cell tagged
    ``raises-exception``, and nbclient lets its error pass."""
    return [f"cell {i} ({nb.cells[i].get('id')}): {ename}" for i, ename in sorted(failed.items())
            if "raises-exception" not in nb.cells[i].metadata.get("tags", [])]


def test_untagged_failures_names_an_untagged_failing_cell():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1/0"), nbformat.v4.new_code_cell("x")])
    nb.cells[1].metadata["tags"] = ["raises-exception"]
    assert untagged_failures(nb, {0: "ZeroDivisionError", 1: "NameError"}) == \
        [f"cell 0 ({nb.cells[0].id}): ZeroDivisionError"]


def test_a_tagged_demonstration_does_not_stop_the_queued_cells(participant):
    """Like JupyterLab's Run All: every cell's execute request is queued at once, each with
    ``stop_on_error`` false only when the cell is tagged ``raises-exception`` (JupyterLab 4's
    OutputArea.execute). Untagged, the instructor's demonstration (a drain) makes the kernel abort
    the cells behind it; tagged, the next cell runs."""
    from jupyter_client.manager import start_new_kernel
    env = {k: v for k, v in os.environ.items() if k != "WHYK8S_ALLOW_CONTEXT"}
    env["KUBECONFIG"] = str(participant)
    statuses = {}
    for tagged in (False, True):
        km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(ROOT))
        try:
            kc.execute_interactive("from whyk8s.notebook.display import notebook_cluster\n"
                                   "from whyk8s.lessons import failures\ncluster = notebook_cluster()", timeout=120)
            first = kc.execute('failures.drain(cluster, "whyk8s-worker")', stop_on_error=not tagged)
            second = kc.execute("print('after')")
            replies = {}
            while len(replies) < 2:
                msg = kc.get_shell_msg(timeout=120)
                replies[msg["parent_header"].get("msg_id")] = msg["content"]["status"]
            statuses[tagged] = (replies[first], replies[second])
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    assert statuses == {False: ("error", "aborted"), True: ("error", "ok")}


def test_tracebacks_finds_an_error_output():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1/0"), nbformat.v4.new_code_cell("1")])
    nb.cells[0].outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                                  traceback=[])]
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<b>one sentence</b>"})]
    assert tracebacks(nb) == ["cell 0 (" + nb.cells[0].id + "): ZeroDivisionError: division by zero"]


@pytest.mark.parametrize("name", RUN)
def test_participant_runs_notebook_without_a_traceback(name, participant, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(participant))
    monkeypatch.delenv("WHYK8S_ALLOW_CONTEXT", raising=False)  # a participant's context needs no opt-in
    path = ROOT / name
    nb = copy.deepcopy(nbformat.read(path, as_version=4))
    failed: dict[int, str] = {}
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True, record_timing=False,
                   store_widget_state=False, resources={"metadata": {"path": str(path.parent)}},
                   on_cell_executed=lambda cell, cell_index, execute_reply:
                   _note_failed(failed, cell_index, execute_reply)).execute()
    found = tracebacks(nb)
    assert not found, f"{name} as participant p01:\n" + "\n".join(found)
    untagged = untagged_failures(nb, failed)
    assert not untagged, (f"{name} as participant p01: these cells end in an error (shown as the course's "
                          f"sentence), which stops JupyterLab's Run All there, but lack the tag "
                          f"'raises-exception':\n" + "\n".join(untagged))
    if name in SHOWS_DEMONSTRATIONS:
        cells = demonstration_views(nb)
        assert cells, f"{name}: no instructor's-demonstration cell shows the live view of the instructor's namespace"


#: Notebooks with a step that is the instructor's demonstration (chapter 4a drains and fails nodes): there the
#: participant's cell shows the sentence and the live read-only view (DemonstrationView) below it.
SHOWS_DEMONSTRATIONS = ("notebooks/04a-placing-ml-work.ipynb",)


def demonstration_views(nb) -> list[str]:
    """Ids of the code cells whose outputs say "instructor's demonstration" and display a widget."""
    found = []
    for cell in nb.cells:
        outs = cell.get("outputs", []) if cell.cell_type == "code" else []
        said = any("instructor's demonstration" in str((o.get("data") or {}).get("text/html", "")) +
                   str((o.get("data") or {}).get("text/plain", "")) for o in outs)
        widget = any("application/vnd.jupyter.widget-view+json" in (o.get("data") or {}) for o in outs)
        if said and widget:
            found.append(cell.get("id"))
    return found


LAB4 = "labs/solutions/lab4-gpu-job-solution.ipynb"


def _run_as(kubeconfig: Path, name: str, env: dict):
    """Execute notebook ``name`` in a fresh kernel whose environment is ``env`` with ``KUBECONFIG`` set
    to ``kubeconfig`` (no opt-in needed for a participant's context); return the executed notebook."""
    path = ROOT / name
    nb = copy.deepcopy(nbformat.read(path, as_version=4))
    kernel_env = {k: v for k, v in env.items() if k != "WHYK8S_ALLOW_CONTEXT"}
    kernel_env["KUBECONFIG"] = str(kubeconfig)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True, record_timing=False,
                            store_widget_state=False, resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=kernel_env)  # passed to the kernel manager's start_kernel: each kernel its participant
    return nb


def _outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            parts.append(str(out.get("text", "")))
            parts.extend(str(v) for v in (out.get("data") or {}).values())
    return "\n".join(parts)


@pytest.mark.parametrize("extra_gpu_nodes", [0, 1], ids=["gpus-held", "gpu-nodes-1"])
def test_busy_room_runs_lab4_at_once(extra_gpu_nodes, room):
    """Three participants run lab 4's solution at once while the instructor's pod holds all 4 GPUs of
    the layout's GPU node. Without extra GPU nodes each Job can only wait; the check must accept that
    with its sentence (before, it failed a right answer: "not placed on any node"). With one extra GPU
    node (4 GPUs for 3 Jobs) the Jobs run there and the check sees them succeed."""
    from whyk8s.k8s import specs
    from whyk8s.k8s.waits import wait_for_pods
    instructor, result = room
    if extra_gpu_nodes and not instructor.context.startswith("kwok-"):
        pytest.skip("extra GPU nodes are kwok's")
    workshop.up(3, hours=1, out=result.folder, cluster=instructor, gpu_nodes=extra_gpu_nodes)
    for p in result.participants:  # start from empty namespaces: a GPU pod left by an earlier notebook counts
        workshop.reset(p, cluster=instructor)  # in the GPU quota
    holder = specs.pod("holds-every-gpu", gpus=4, pool="gpu")
    holder.spec.node_name = "whyk8s-worker3"  # the layout's GPU node, whatever else has room
    instructor.core.create_namespaced_pod(instructor.namespace, holder)
    try:
        wait_for_pods(instructor, lambda pods: any(p.status.phase == "Running" for p in pods.values()),
                      label_selector=None, timeout=60)
        env = dict(os.environ)
        paths = [workshop.kubeconfig_path(result.context, p, result.folder) for p in result.participants]
        with ThreadPoolExecutor(len(paths)) as pool:
            done = list(pool.map(lambda kc: _run_as(kc, LAB4, env), paths))
        for participant, nb in zip(result.participants, done, strict=True):
            found = tracebacks(nb)
            assert not found, f"lab 4 as {participant} in a busy room:\n" + "\n".join(found)
            text = _outputs_text(nb)
            if extra_gpu_nodes:
                assert "the Pod ran on the GPU node" in text and "the Job succeeded" in text, participant
            else:
                assert "waits Pending only because no GPU is free" in text, participant
    finally:
        instructor.core.delete_namespaced_pod("holds-every-gpu", instructor.namespace, grace_period_seconds=0)
        workshop.up(3, hours=1, out=result.folder, cluster=instructor, gpu_nodes=0)
        for p in result.participants:
            workshop.reset(p, cluster=instructor)


def test_a_demonstration_cell_shows_the_live_view(participant):
    """A participant's cell that drains a node (chapter 4a's step, which needs cluster-wide rights)
    shows the one sentence and, below it, the live read-only view of the instructor's namespace; the
    cell after it still runs. Fast: three cells, not a chapter."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from whyk8s.notebook.display import notebook_cluster\n"
                                  "from whyk8s.lessons import failures\ncluster = notebook_cluster()"),
        nbformat.v4.new_code_cell('result = failures.drain(cluster, "whyk8s-worker")\nprint(result)'),
        nbformat.v4.new_code_cell("print(cluster.namespace)"),
    ])
    env = {k: v for k, v in os.environ.items() if k != "WHYK8S_ALLOW_CONTEXT"}
    env["KUBECONFIG"] = str(participant)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ROOT)}}).execute(env=env)
    assert not tracebacks(nb)
    assert demonstration_views(nb) == [nb.cells[1].id]
    views = [o for o in nb.cells[1].outputs if "application/vnd.jupyter.widget-view+json" in (o.get("data") or {})]
    assert len(views) == 1 and "DemonstrationView" in views[0]["data"]["text/plain"]
    assert "whyk8s-p01" in nb.cells[2].outputs[0]["text"]


def test_a_participants_placement_board_says_others_are_not_visible(participant):
    """A participant's board counts only their namespace's pods, so a shared node may look empty:
    the board says so (learner B read an empty GPU node while others' Jobs held GPUs)."""
    from whyk8s.notebook.widgets import PlacementBoard
    cluster = connect(kubeconfig=str(participant))
    board = PlacementBoard(cluster)
    try:
        note = board.scope_note()
        assert "whyk8s-p01" in note and "others' use of these shared nodes is not visible to you" in note, note
    finally:
        board.close()


def test_dra_tidy_says_whose_the_devices_are_and_leaves_them(room, participant):
    """Learner B read "DRA objects of the course left: 4" with no word on whose they are. As a
    participant, chapter 4a's DRA clean-up says the published devices are the room's, which the
    instructor removes; as the instructor while the workshop is up, it leaves them and says so."""
    from whyk8s.lessons import dra
    instructor, _ = room
    dra.publish(instructor)
    try:
        said = dra.tidy(connect(kubeconfig=str(participant)))
        assert "DeviceClass gpu.whyk8s.example" in said and "the instructor removes them" in said, said
        said = dra.tidy(instructor)
        assert "stay because a workshop is up" in said, said
        assert {str(r).split()[0] for r in dra.left(instructor)} == {"DeviceClass", "ResourceSlice"}
    finally:
        dra.clean_up(instructor)
