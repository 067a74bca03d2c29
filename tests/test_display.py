"""notebook/display.py in a real IPython shell (in-process, no kernel): what a learner sees when a
cell fails. An API refusal in any cell is one sentence; no course cluster is the panel; a NameError
shows the panel only for a name that a cell failed by the cluster would have defined; everything
else keeps its traceback (code review finding 8; shared/cases *lab-cell-api-error*)."""

from __future__ import annotations

from IPython.utils.capture import capture_output

from whyk8s.notebook import display
from whyk8s.notebook.display import CLUSTER_PANEL_TITLE


class Cell:
    """What running one cell showed: ``panels`` and ``sentences`` (text/plain of displayed objects),
    ``stdout`` (tracebacks are printed there), ``ok`` (False when Jupyter would mark it failed)."""

    def __init__(self, sh, code: str):
        with capture_output() as cap:
            result = sh.run_cell(code, store_history=True)
        self.ok = result.success
        self.stdout = cap.stdout
        shown = [o.data.get("text/plain", "") for o in cap.outputs]
        self.panels = [s for s in shown if s.startswith(CLUSTER_PANEL_TITLE)]
        self.sentences = [s for s in shown if s.startswith("⚠ ")]
        self.html = [o.data.get("text/html", "") for o in cap.outputs]

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.stdout


def test_an_outage_shows_the_panel_and_a_name_it_left_undefined_shows_it_again(shell, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    first = Cell(shell, "from whyk8s.k8s.guard import connect\nready = 1\ncluster = connect()\npods = []")
    assert not first.ok and len(first.panels) == 1 and not first.traceback
    assert "No kubeconfig found" in first.panels[0]
    assert set(display._undefined) == {"cluster", "pods"}  # `ready` was defined before the failure

    later = Cell(shell, "cluster.namespace")
    assert not later.ok and not later.traceback and len(later.panels) == 1
    assert "'cluster'" in later.panels[0] and "earlier cell would have defined" in later.panels[0]

    assert Cell(shell, "ready + 1").ok  # what the failed cell did define is there


def test_a_learners_own_name_error_keeps_its_traceback_even_after_an_outage(shell, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    Cell(shell, "from whyk8s.k8s.guard import connect\ncluster = connect()")
    typo = Cell(shell, "clustr.namespace")
    assert not typo.ok and typo.traceback and "NameError" in typo.stdout and "clustr" in typo.stdout
    assert typo.panels == [] and typo.sentences == []


def test_a_name_left_unset_by_a_cell_that_failed_for_another_reason_does_not_blame_the_cluster(shell, cluster):
    """Learner trial 2: `stored = core.read_namespaced_pod("first-pod")` (namespace missing) failed on
    the client's check; the next cell said the course cluster could not be reached. It must say
    that 'stored' was not set because the cell that assigns it failed."""
    shell.user_ns["core"] = cluster.core
    first = Cell(shell, 'stored = core.read_namespaced_pod("first-pod")')
    assert not first.ok and first.panels == [] and len(first.sentences) == 1
    assert "the argument namespace is missing" in first.sentences[0]
    later = Cell(shell, "stored.spec.node_name")
    assert not later.ok and not later.traceback and later.panels == [], later.panels
    assert len(later.sentences) == 1 and later.sentences[0].startswith(
        "⚠ 'stored' was not set: the cell that assigns it failed; see its message above"), later.sentences
    assert "cluster" not in later.sentences[0]
    assert display.failed_cell("read_namespaced_pod") and display.failed_cell("create_namespaced_pod") is None
    # an API refusal is not the cluster's absence either
    refused = Cell(shell, f"stored = core.read_namespaced_pod('nothing-here', {cluster.namespace!r})")
    assert refused.sentences and refused.panels == []
    later = Cell(shell, "stored.spec")
    assert later.panels == [] and "'stored' was not set" in later.sentences[0]
    # fixed: the call runs, so the earlier failure no longer counts
    assert Cell(shell, f"stored = core.read_namespace({cluster.namespace!r})").ok
    assert display.failed_cell("read_namespaced_pod") is not None  # another call: still failed
    assert Cell(shell, f"pods = core.list_namespaced_pod({cluster.namespace!r}).items\n"
                       f"stored = core.read_namespaced_pod(pods[0].metadata.name, {cluster.namespace!r}) "
                       f"if pods else None").ok
    assert display.failed_cell("read_namespaced_pod") is None


def test_other_errors_keep_their_traceback(shell):
    cell = Cell(shell, "1 / 0")
    assert not cell.ok and cell.traceback and "ZeroDivisionError" in cell.stdout
    assert cell.panels == [] and cell.sentences == []
    cell = Cell(shell, "{}['missing']")
    assert cell.traceback and "KeyError" in cell.stdout


def test_an_api_refusal_in_a_raw_client_cell_is_one_sentence(shell, cluster):
    """lab-cell-api-error: the learner's own raw-client code; the API server answers 422."""
    shell.user_ns["core"] = cluster.core
    cell = Cell(shell, "from kubernetes import client\n"
                       "pod = client.V1Pod(metadata=client.V1ObjectMeta(name='My-Pod'),\n"
                       "    spec=client.V1PodSpec(containers=[client.V1Container(name='c', image='pause')]))\n"
                       f"core.create_namespaced_pod({cluster.namespace!r}, pod)")
    assert not cell.ok  # Jupyter still marks the cell failed: Run All stops there
    assert not cell.traceback and cell.panels == [] and len(cell.sentences) == 1
    sentence = cell.sentences[0]
    assert sentence.startswith('⚠ Pod "My-Pod" is invalid: metadata.name: Invalid value: "My-Pod"')
    for raw in ("HTTP response", "Reason:", "{", "\n"):
        assert raw not in sentence
    assert "whyk8s-error" in cell.html[0]


def test_a_wait_that_runs_out_of_time_is_one_sentence(shell):
    # e.g. chapter 3's GPU pod in a workshop whose GPUs are all taken: Pending, not a traceback
    cell = Cell(shell, "from whyk8s.errors import WaitTimeoutError\n"
                       "pods = None\n"
                       "raise WaitTimeoutError('Waited 60 s; the pods never reached the expected state "
                       "(1 pods: gpu-trainer Pending).')")
    assert not cell.ok and not cell.traceback and cell.panels == []
    assert cell.sentences == ["⚠ Waited 60 s; the pods never reached the expected state (1 pods: gpu-trainer "
                              "Pending)."]


def test_an_api_refusal_names_the_real_cause_in_a_cell(shell, cluster):
    shell.user_ns["core"] = cluster.core
    cell = Cell(shell, f"core.read_namespaced_pod('nothing-here', {cluster.namespace!r})")
    assert not cell.traceback and cell.sentences == ["⚠ There is no Pod named 'nothing-here' (deleted, cleaned up, "
                                                     "or not created yet)."]


def test_after_the_cluster_answers_again_the_remembered_names_are_forgotten(shell, cluster, tmp_path, monkeypatch):
    import os
    real = os.environ.get("KUBECONFIG")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    Cell(shell, "from whyk8s.k8s.guard import connect\nwidget = connect()")
    assert "widget" in display._undefined
    if real:
        monkeypatch.setenv("KUBECONFIG", real)
    else:
        monkeypatch.delenv("KUBECONFIG")
    back = Cell(shell, "from whyk8s.notebook.display import notebook_cluster\ncluster = notebook_cluster()")
    assert back.ok and back.panels == []
    later = Cell(shell, "widget")
    assert later.traceback and later.panels == []  # now it is the learner's own NameError


def test_notebook_cluster_without_a_cluster_shows_the_panel_once_and_stands_in(shell, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    cell = Cell(shell, "from whyk8s.notebook.display import notebook_cluster\ncluster = notebook_cluster()")
    assert cell.ok and len(cell.panels) == 1
    assert not shell.user_ns["cluster"]  # an OfflineCluster: falsy, so widgets offer Retry
    use = Cell(shell, "cluster.core.list_namespaced_pod('whyk8s')")
    assert not use.ok and not use.traceback and len(use.panels) == 1 and "No kubeconfig found" in use.panels[0]


def test_live_shows_one_sentence_for_refusals_and_bad_input_and_raises_bugs(shell):
    from kubernetes.client import ApiException

    @display.live
    def refused():
        raise ApiException(status=429, reason="Too Many Requests")

    @display.live
    def bad():
        raise ValueError("Replicas -1 is negative; give 0 or more.")

    @display.live
    def bug():
        raise KeyError("x")

    shell.user_ns.update(refused=refused, bad=bad, bug=bug)
    assert Cell(shell, "refused()").sentences == ["⚠ The API server is busy (429 Too Many Requests); try again "
                                                  "in a moment."]
    assert Cell(shell, "bad()").sentences == ["⚠ Replicas -1 is negative; give 0 or more."]
    broken = Cell(shell, "bug()")
    assert broken.traceback and "KeyError" in broken.stdout and broken.sentences == []


def test_a_scripted_cell_that_meets_an_existing_object_shows_one_sentence(shell, cluster):
    """Issue 10, section 4: a scripted cell after a widget may create a name the learner already
    created with the widget; the API server's 409 is one sentence, not a traceback."""
    shell.user_ns["cluster"] = cluster
    code = "from whyk8s.k8s import objects, specs\nobjects.create(cluster, specs.pod('my-pod'))"
    assert Cell(shell, code).ok
    again = Cell(shell, code)
    assert not again.ok and not again.traceback and again.panels == [] and len(again.sentences) == 1
    assert "already exists" in again.sentences[0] and "my-pod" in again.sentences[0]
    assert "HTTP response" not in again.sentences[0]


def test_a_body_the_client_refuses_before_sending_is_one_sentence_not_a_pydantic_traceback(shell):
    cell = Cell(shell, "from kubernetes import client\n"
                       "api = client.CoreV1Api(client.ApiClient(client.Configuration(host='http://127.0.0.1:9')))\n"
                       "api.create_namespaced_pod('whyk8s', {'metadata': {'name': 'x'}, 'spec': {'containers': [\n"
                       "    {'name': 'a', 'image': 'b', 'resources': {'limits': {'nvidia.com/gpu': 1}}}]}})")
    assert not cell.ok and not cell.traceback and cell.panels == []
    assert len(cell.sentences) == 1 and "must be a string" in cell.sentences[0]


def test_a_placeholder_left_in_a_lab_cell_is_one_sentence_not_a_traceback(shell):
    """Lab 7 step 2 with a `...` left in the ClusterQueue (found by a fresh user: the client's
    serialisation raised AttributeError: 'ellipsis' object has no attribute '__dict__')."""
    cell = Cell(shell, "from kubernetes import client\n"
                       "client.ApiClient().sanitize_for_serialization({'spec': {'cohort': ...}})\n"
                       "class Q: pass\n"
                       "q = Q(); q.spec = ...\n"
                       "client.ApiClient().sanitize_for_serialization({'s': [q]})")
    assert not cell.ok and not cell.traceback
    assert len(cell.sentences) == 1 and "`...` placeholder" in cell.sentences[0]


def test_an_instructors_demonstration_is_a_sentence_and_so_are_the_names_it_left(shell):
    code = ("from whyk8s.k8s.rights import InstructorDemonstration\n"
            "lost = None if False else (_ for _ in ()).throw(InstructorDemonstration('Failing a node: this step is "
            "the instructor\\'s demonstration.'))")
    demo = Cell(shell, code)
    assert not demo.ok and not demo.traceback and demo.panels == []
    assert demo.sentences == ["⚠ Failing a node: this step is the instructor's demonstration."]
    later = Cell(shell, "lost.table()")
    assert not later.ok and not later.traceback and len(later.sentences) == 1
    assert "'lost'" in later.sentences[0] and "instructor's demonstration above" in later.sentences[0]
    typo = Cell(shell, "lots.table()")  # a learner's own NameError keeps its traceback
    assert typo.traceback and typo.sentences == []
