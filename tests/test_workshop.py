"""Workshop mode on the real API server: each participant is fenced in by RBAC and a quota, `up` is
idempotent, `down` leaves nothing, and the course's helpers honour a participant's kubeconfig
(their namespace; a sentence, not a 403 traceback, for the instructor's demonstrations).

Token expiry: the API server refuses TokenRequests shorter than 600 s (``expirationSeconds``
minimum), so a test cannot wait for a token to expire; refusal of a token that is no longer valid
is tested with a token of a deleted ServiceAccount and with a tampered token (both: 401).
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from whyk8s.cluster import workshop
from whyk8s.errors import CourseError, explain
from whyk8s.k8s import specs
from whyk8s.k8s.guard import check_context, connect, default_namespace
from whyk8s.k8s.rights import InstructorDemonstration, rights_table

A, B = "p01", "p02"


# -- without a cluster ---------------------------------------------------------------------------
def test_share_of_the_course_layout():
    q = workshop.share(workshop.layout_capacities(), 20)
    # 24 CPUs, 352 GiB, 440 pods in clusters/layout.yaml; 90 % shared out
    assert (q.cpu_millis, q.memory_bytes // 2**20, q.pods) == (1080, 16220, 19)
    assert q.hard() == {"requests.cpu": "1080m", "requests.memory": "16220Mi", "pods": "19",
                        "count/resourceclaims.resource.k8s.io": "4", "requests.nvidia.com/gpu": "9"}
    # on the kwok course cluster the memory line is at least chapter 4a's 96 GiB pod plus 8 GiB
    big = workshop.share(workshop.layout_capacities(), 20, memory_floor=workshop.MEMORY_NEED)
    assert big.memory_bytes == 104 * 2**30 and big.cpu_millis == 1080


def test_claims_never_exceed_the_pods():
    # a cluster with 10 pod slots shared by 3: 3 pods each, so 3 claims (one per pod), not 4
    q = workshop.share([{"cpu": "100", "memory": "1000Gi", "pods": "10"}], 3)
    assert q.pods == 3 and q.claims == 3


def test_gpu_nodes_sizing_rule():
    # one GPU per participant and one for the instructor at once: the layout's 4 plus 4 per extra node
    assert [workshop.gpu_nodes_for(n) for n in (1, 3, 4, 7, 8, 19, 20, 30)] == [0, 0, 1, 1, 2, 4, 5, 7]
    assert workshop.gpu_nodes_for(20, gpus_per_participant=2) == 10
    assert workshop.gpu_node_names(2) == ["whyk8s-workshop-gpu1", "whyk8s-workshop-gpu2"]


def test_highmem_nodes_sizing_rule():
    # chapter 4a's 96 GiB preprocessing pod for each participant and the instructor: two per 256 GiB node
    assert [workshop.highmem_nodes_for(n) for n in (1, 2, 3, 20)] == [0, 1, 1, 10]
    assert workshop.highmem_node_names(1) == ["whyk8s-workshop-highmem1"]


def test_quota_caps_each_participants_gpus():
    # an 8-GPU pod beside one GPU pod, whatever the room's size; never every GPU of the room
    for n in (1, 2, 5, 20):
        assert workshop.share(workshop.layout_capacities(), n).hard()["requests.nvidia.com/gpu"] == "9"


def test_misfits_name_what_does_not_fit_a_cluster_without_extra_nodes():
    caps = workshop.layout_capacities()  # kind's nodes: no extra ones can be added there
    q = workshop.share(caps, 20)
    found = workshop.misfits(caps, 20, q)
    assert any("GPUs: the workers have 4" in s for s in found)
    assert any("below chapter 4a's 96 GiB" in s for s in found)
    assert workshop.misfits(caps, 1, workshop.share(caps, 1)) == []
    q2 = workshop.share(caps, 2)  # 158 GiB each: the quota admits it, but one 256 GiB node holds two
    assert any("hold 2 of chapter 4a's 96 GiB" in s for s in workshop.misfits(caps, 2, q2))


def test_share_refuses_a_room_too_big_for_the_cluster():
    with pytest.raises(ValueError, match="do not fit"):
        workshop.share(workshop.layout_capacities(), 500)
    with pytest.raises(ValueError):
        workshop.participant_names(0)


def test_lab4_accepts_a_pod_that_waits_only_for_a_gpu():
    from whyk8s.labs.gpu_lab import waits_only_for_a_gpu

    def pod(message, node=None):
        cond = client.V1PodCondition(type="PodScheduled", status="False", reason="Unschedulable", message=message)
        return client.V1Pod(spec=client.V1PodSpec(containers=[], node_name=node),
                            status=client.V1PodStatus(phase="Pending", conditions=[cond]))

    busy = "0/5 nodes are available: 5 Insufficient nvidia.com/gpu. preemption: 0/5 nodes are available: 5 No " \
           "preemption victims found for incoming pod."
    assert waits_only_for_a_gpu(pod(busy))
    assert waits_only_for_a_gpu(pod("0/4 nodes are available: 1 Insufficient nvidia.com/gpu, 3 node(s) didn't "
                                     "match Pod's node affinity/selector."))
    assert not waits_only_for_a_gpu(pod("0/4 nodes are available: 1 Insufficient cpu, 1 Insufficient "
                                        "nvidia.com/gpu, 2 Insufficient memory."))
    assert not waits_only_for_a_gpu(pod("0/4 nodes are available: 1 node(s) had untolerated taint "
                                        "{nvidia.com/gpu: present}, 3 Insufficient nvidia.com/gpu."))
    assert not waits_only_for_a_gpu(pod("0/4 nodes are available: 4 node(s) didn't match Pod's node "
                                        "affinity/selector."))
    assert not waits_only_for_a_gpu(pod(busy, node="whyk8s-worker3"))


def test_participant_names_sort_in_order():
    names = workshop.participant_names(120)
    assert names[0] == "p001" and names[-1] == "p120" and names == sorted(names)


def test_cards_one_per_page_with_a_qr_code():
    rows = [{"participant": p, "namespace": workshop.namespace_of(p), "token_expires": "2026-12-01 12:00 UTC",
             "hub_url": "https://hub.example/user/" + p} for p in ("p01", "p02")]
    page = workshop.cards_html(rows)
    assert page.count('<section class="card">') == 2
    assert "break-after: page" in page and page.count("<svg") == 2
    assert "whyk8s-p02" in page and "2026-12-01 12:00 UTC" in page
    assert "enter the user name <b>p01</b> and the password the instructor gives" in page
    assert 'viewBox="0 0' in page and 'width="' not in page.split("<svg", 1)[1].split(">", 1)[0]
    no_hub = workshop.cards_html([{**rows[0], "hub_url": None}])
    assert "<svg" not in no_hub and "ask the instructor" in no_hub


def test_participant_context_is_accepted_by_the_guard_and_names_the_namespace(tmp_path, monkeypatch):
    cfg = workshop.kubeconfig("p07", "https://workshop.example:6443", "token")
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.delenv("WHYK8S_ALLOW_CONTEXT", raising=False)
    # a remote server: accepted all the same (the token's rights end at the namespace)
    assert check_context("whyk8s-workshop-p07", str(path)) == "whyk8s-workshop-p07"
    assert default_namespace(kubeconfig=str(path)) == "whyk8s-p07"


def test_other_contexts_namespace_is_not_the_courses(tmp_path, make_kubeconfig_file):
    path = make_kubeconfig_file(tmp_path, "kwok-whyk8s", namespace="their-own")
    assert default_namespace(kubeconfig=str(path)) == "whyk8s"


def test_labs_code_names_no_namespace_literally():
    # a participant may not use the namespace whyk8s: every lab cell names the course's choice
    import re

    import nbformat
    root = Path(__file__).resolve().parent.parent
    literal = re.compile(r"""namespace\w*\([^)]*["']whyk8s["']|^\s*#?\s*["']whyk8s["'],""", re.M)
    found = []
    for path in sorted(root.glob("labs/**/lab*.ipynb")):
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "code" and literal.search(cell.source):
                found.append(f"{path.relative_to(root)} cell {i}")
    assert not found, found


@pytest.fixture
def make_kubeconfig_file():
    def make(tmp_path, name, namespace=None):
        ctx = {"cluster": "c", "user": "u", **({"namespace": namespace} if namespace else {})}
        cfg = {"apiVersion": "v1", "kind": "Config", "current-context": name,
               "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
               "users": [{"name": "u", "user": {"token": "x"}}], "contexts": [{"name": name, "context": ctx}]}
        path = tmp_path / "kc"
        path.write_text(yaml.safe_dump(cfg))
        return path
    return make


# -- on the cluster ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def room(course_cluster, tmp_path_factory):
    """Two participants on the course cluster; their kubeconfigs in a temporary folder."""
    instructor = connect(context=course_cluster.context)
    out = tmp_path_factory.mktemp("workshop")
    workshop.down(cluster=instructor, out=out)
    result = workshop.up(2, hours=1, hub_url="https://hub.example/", out=out, cluster=instructor)
    yield instructor, result
    workshop.down(cluster=instructor, out=out)


def _as(result, participant):
    """A guarded connection with the participant's kubeconfig."""
    return connect(kubeconfig=str(workshop.kubeconfig_path(result.context, participant, result.folder)))


def _status(call):
    with pytest.raises(client.ApiException) as info:
        call()
    return info.value.status


def _state(instructor):
    """Every workshop object with its resourceVersion."""
    rbac = client.RbacAuthorizationV1Api(instructor.api)
    seen = {}
    for o in rbac.list_cluster_role(label_selector=workshop.SHARED_SELECTOR).items:
        seen[f"ClusterRole {o.metadata.name}"] = o.metadata.resource_version
    for o in rbac.list_cluster_role_binding(label_selector=workshop.PARTICIPANTS_SELECTOR).items:
        seen[f"ClusterRoleBinding {o.metadata.name}"] = o.metadata.resource_version
    for ns in instructor.core.list_namespace(label_selector=workshop.PARTICIPANTS_SELECTOR).items:
        name = ns.metadata.name
        seen[f"Namespace {name}"] = ns.metadata.resource_version
        for kind in ("ServiceAccount", "Role", "RoleBinding", "ResourceQuota", "LimitRange"):
            for o in workshop._fn(instructor, kind, "list")(name).items:
                seen[f"{kind} {name}/{o.metadata.name}"] = o.metadata.resource_version
    demo = workshop.demonstration_namespace()
    for kind in ("Role", "RoleBinding"):
        for o in workshop._fn(instructor, kind, "list")(demo, label_selector="app.kubernetes.io/part-of=whyk8s").items:
            seen[f"{kind} {demo}/{o.metadata.name}"] = o.metadata.resource_version
    for o in instructor.core.list_node(label_selector=workshop.SHARED_SELECTOR).items:
        seen[f"Node {o.metadata.name}"] = o.metadata.resource_version
    return seen


def test_up_makes_each_participants_objects_labelled(room):
    instructor, result = room
    objs = workshop.workshop_objects(instructor)
    for p in (A, B):
        ns = workshop.namespace_of(p)
        for what in (f"Namespace {ns}", f"ServiceAccount {ns}/learner", f"Role {ns}/whyk8s-learner",
                     f"RoleBinding {ns}/whyk8s-learner", f"ResourceQuota {ns}/whyk8s-participant",
                     f"LimitRange {ns}/whyk8s-participant", f"ClusterRoleBinding whyk8s-workshop-{p}"):
            assert what in objs
    assert "ClusterRole whyk8s-workshop-viewer" in objs
    assert "Role whyk8s/whyk8s-workshop-watch" in objs
    assert {f"RoleBinding whyk8s/whyk8s-workshop-{p}" for p in (A, B)} <= set(objs)
    assert (result.folder / "p01.kubeconfig").stat().st_mode & 0o077 == 0


def test_up_twice_changes_nothing(room):
    instructor, result = room
    before = _state(instructor)
    files = {p: (result.folder / f"{p}.kubeconfig").read_bytes() for p in (A, B)}
    again = workshop.up(2, hours=1, hub_url="https://hub.example/", out=result.folder, cluster=instructor)
    assert again.changes["created"] == 0 and again.changes["updated"] == 0, again.changes
    assert again.tokens == []
    assert _state(instructor) == before
    assert {p: (result.folder / f"{p}.kubeconfig").read_bytes() for p in (A, B)} == files


def test_up_repairs_what_was_changed(room):
    instructor, result = room
    ns = workshop.namespace_of(A)
    rbac = client.RbacAuthorizationV1Api(instructor.api)
    rbac.patch_namespaced_role(workshop.ROLE, ns, {"rules": [{"apiGroups": [""], "resources": ["pods"],
                                                              "verbs": ["get"]}]})
    again = workshop.up(2, hours=1, hub_url="https://hub.example/", out=result.folder, cluster=instructor)
    assert again.changes["updated"] == 1
    assert len(rbac.read_namespaced_role(workshop.ROLE, ns).rules) == len(workshop.learner_rules())


def test_participant_is_fenced_out_of_another_namespace(room):
    _, result = room
    a = _as(result, A)
    assert a.namespace == workshop.namespace_of(A)
    other = workshop.namespace_of(B)
    pod = specs.pod("intruder")
    assert _status(lambda: a.core.read_namespaced_pod("anything", other)) == 403
    assert _status(lambda: a.core.list_namespaced_pod(other)) == 403
    assert _status(lambda: a.core.list_namespaced_pod(other, watch=True, timeout_seconds=1,
                                                      _preload_content=False)) == 403
    assert _status(lambda: a.core.create_namespaced_pod(other, pod)) == 403
    assert _status(lambda: a.core.delete_namespaced_pod("anything", other)) == 403
    for list_fn in (a.apps.list_namespaced_deployment, a.batch.list_namespaced_job, a.core.list_namespaced_secret,
                    a.core.list_namespaced_config_map, a.core.list_namespaced_service_account):
        assert _status(lambda fn=list_fn: fn(other)) == 403, list_fn.__name__
    assert _status(lambda: a.core.list_pod_for_all_namespaces()) == 403
    assert _status(lambda: a.core.list_namespace()) == 403


def test_participant_cannot_change_the_cluster_or_their_fence(room):
    _, result = room
    a = _as(result, A)
    assert a.core.list_node().items  # may look
    assert _status(lambda: a.core.patch_node("whyk8s-worker", {"spec": {"unschedulable": True}})) == 403
    body = client.V1PriorityClass(metadata=client.V1ObjectMeta(name="mine"), value=10 ** 6)
    assert _status(lambda: a.scheduling.create_priority_class(body)) == 403
    ns = workshop.namespace_of(A)
    assert _status(lambda: a.core.patch_namespaced_resource_quota(
        workshop.QUOTA, ns, {"spec": {"hard": {"requests.cpu": "1000"}}})) == 403
    assert _status(lambda: a.core.delete_namespaced_limit_range(workshop.QUOTA, ns)) == 403
    assert _status(lambda: client.RbacAuthorizationV1Api(a.api).create_namespaced_role_binding(
        ns, {"metadata": {"name": "more"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                        "kind": "ClusterRole", "name": "cluster-admin"},
             "subjects": [{"kind": "ServiceAccount", "name": "learner", "namespace": ns}]})) == 403


def test_a_privileged_pod_is_refused_in_a_participants_namespace(room):
    """Pod Security Admission (baseline) on every participant's namespace: on real nodes a privileged
    or hostPath pod would be root on the node, beside the other participants' pods."""
    _, result = room
    a = _as(result, A)
    privileged = specs.pod("root-on-the-node")
    privileged.spec.containers[0].security_context = client.V1SecurityContext(privileged=True)
    with pytest.raises(client.ApiException) as info:
        a.core.create_namespaced_pod(a.namespace, privileged)
    assert info.value.status == 403 and "violates PodSecurity" in info.value.body
    host = specs.pod("host-path")
    host.spec.volumes = [client.V1Volume(name="root", host_path=client.V1HostPathVolumeSource(path="/"))]
    assert _status(lambda: a.core.create_namespaced_pod(a.namespace, host)) == 403
    a.core.create_namespaced_pod(a.namespace, specs.pod("plain"))  # the course's own pods pass
    a.core.delete_namespaced_pod("plain", a.namespace, grace_period_seconds=0)


def test_participant_can_only_read_kueue_queues_and_workloads(room):
    """A participant's own LocalQueue or Workload could reserve quota in the instructor's cohort and
    preempt others: reading them is all a participant may do."""
    _, result = room
    a = _as(result, A)
    authz = client.AuthorizationV1Api(a.api)

    def can(verb, resource):
        review = {"spec": {"resourceAttributes": {"namespace": a.namespace, "verb": verb,
                                                  "group": "kueue.x-k8s.io", "resource": resource}}}
        return authz.create_self_subject_access_review(review).status.allowed

    for resource in ("localqueues", "workloads"):
        assert can("list", resource) and can("get", resource)
        assert not can("create", resource) and not can("patch", resource) and not can("delete", resource)


def test_pod_status_is_writable_only_where_nodes_are_simulated():
    def status_verbs(rules):
        return next(r["verbs"] for r in rules if r["resources"] == ["pods/status"])
    assert status_verbs(workshop.learner_rules(simulated_nodes=False)) == ["get"]
    assert "patch" in status_verbs(workshop.learner_rules(simulated_nodes=True))  # chapter 3 on kwok


def test_participant_over_the_claims_quota_is_refused_in_one_sentence(room):
    """The quota's count/resourceclaims.resource.k8s.io line: the fifth ResourceClaim is refused by the
    API server, and the course says so in one sentence naming the quota and the count."""
    from whyk8s.lessons import dra
    _, result = room
    a = _as(result, A)
    res = client.ResourceV1Api(a.api)

    def claim(name):
        return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
                "metadata": {"name": name, "labels": a.labels},
                "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": dra.DEVICE_CLASS}}]}}}

    assert result.quota.claims == 4
    try:
        for i in range(result.quota.claims):
            res.create_namespaced_resource_claim(a.namespace, claim(f"claim-{i}"))
        with pytest.raises(client.ApiException) as info:
            res.create_namespaced_resource_claim(a.namespace, claim("one-too-many"))
        assert info.value.status == 403 and "exceeded quota" in info.value.body
        sentence = explain(info.value)
        assert sentence == ("Refused by ResourceQuota whyk8s-participant: the "
                            "resourceclaim one-too-many would go over it. ResourceClaims: it asks for 1, the "
                            "namespace already uses 4 of at most 4."), sentence
    finally:
        res.delete_collection_namespaced_resource_claim(a.namespace, label_selector=a.selector)


def test_participant_may_exec_in_own_namespace_only(room):
    """Chapter 3 on kind runs a command in a pod (the Python client's websocket GET, authorized as get
    and create on pods/exec): allowed in the participant's namespace, refused in another's and in the
    instructor's; the Pod Security level stays baseline. kubectl auth can-i as the participant too."""
    import subprocess
    instructor, result = room
    kc = str(workshop.kubeconfig_path(result.context, A, result.folder))
    own, other = workshop.namespace_of(A), workshop.namespace_of(B)
    table = workshop.participant_rights(A, other=B, cluster=instructor)
    rows = {(r.resource, r.scope): r for r in table.itertuples()}
    assert rows[("pods/exec", f"namespace {own}")].create == "yes"
    assert rows[("pods/exec", f"namespace {own}")].get == "yes"
    assert rows[("pods/exec", f"namespace {other}")].create == "no"
    for ns, want in ((own, "yes"), (other, "no"), ("whyk8s", "no")):
        for verb in ("create", "get"):
            out = subprocess.run(["kubectl", "--kubeconfig", kc, "auth", "can-i", verb, "pods",
                                  "--subresource=exec", "-n", ns], capture_output=True, text=True)
            assert out.stdout.strip() == want, (verb, ns, out.stdout, out.stderr)
    labels = instructor.core.read_namespace(own).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    # the real request: the API server lets A's exec through to the node in A's namespace (kwok has no
    # container to run it in, so it fails there, but not with 403), and refuses it in B's
    from kubernetes.stream import stream
    a = _as(result, A)
    b = _as(result, B)
    for cluster, name in ((a, "exec-a"), (b, "exec-b")):
        cluster.core.create_namespaced_pod(cluster.namespace, specs.pod(name))
    try:
        from whyk8s.k8s.waits import wait_for_pods
        wait_for_pods(a, lambda pods: "exec-a" in pods and pods["exec-a"].status.phase == "Running", timeout=30)

        def run_in(ns, pod) -> str:
            """What came back: the websocket handshake's refusal, or what the node's side said."""
            try:
                ws = stream(a.core.connect_get_namespaced_pod_exec, pod, ns, command=["true"], stderr=True,
                            stdin=False, stdout=True, tty=False, _preload_content=False)
                ws.run_forever(timeout=5)
                ws.returncode  # noqa: B018 - reads the status channel (kwok: no exec configured)
                return "ran"
            except Exception as exc:  # noqa: BLE001 - the handshake's status is in the message
                return str(exc)
        assert "Handshake status 403" in run_in(other, "exec-b")
        answer = run_in(own, "exec-a")
        assert "403" not in answer and ("ran" == answer or "no exec found" in answer), answer
    finally:
        a.core.delete_namespaced_pod("exec-a", a.namespace, grace_period_seconds=0)
        b.core.delete_namespaced_pod("exec-b", b.namespace, grace_period_seconds=0)


def test_participant_watches_the_instructors_demonstration_read_only(room):
    """The instructor's demonstration namespace: a participant may get, list and watch the pods there
    (the live view lists the instructor's pod and follows a new one), and may not create, change,
    delete or exec into anything there, nor read its Secrets or ConfigMaps."""
    from livewait import wait_until

    from whyk8s.notebook.widgets.workshop import DemonstrationView, demonstration_cluster
    instructor, result = room
    a = _as(result, A)
    demo = workshop.demonstration_namespace()
    assert demonstration_cluster(instructor) is None  # the instructor sees their own boards
    instructor.core.create_namespaced_pod(demo, specs.pod("demo-1"))
    view = None
    try:
        view = DemonstrationView(a)
        assert view.cluster.namespace == demo
        assert wait_until(view, lambda: "demo-1" in view.pods, timeout=30), view.status.value
        instructor.core.create_namespaced_pod(demo, specs.pod("demo-2"))
        assert wait_until(view, lambda: "demo-2" in view.pods and view.pods["demo-2"].node, timeout=30)
        assert "demo-2" in view.html()
        assert all(f"whyk8s-{p}" != demo for p in (A, B))
        assert a.core.list_namespaced_pod(demo).items
        assert _status(lambda: a.core.create_namespaced_pod(demo, specs.pod("mine"))) == 403
        assert _status(lambda: a.core.delete_namespaced_pod("demo-1", demo)) == 403
        assert _status(lambda: a.core.patch_namespaced_pod("demo-1", demo, {"metadata": {"labels": {"x": "y"}}})) == 403
        assert _status(lambda: a.core.list_namespaced_secret(demo)) == 403
        assert _status(lambda: a.core.list_namespaced_config_map(demo)) == 403
        assert _status(lambda: a.apps.create_namespaced_deployment(demo, specs.deployment("mine"))) == 403
        rows = {(r.resource, r.scope): r for r in rights_table(a, a.namespace, other_namespace=demo).itertuples()}
        assert rows[("pods", f"namespace {demo}")].watch == "yes"
        assert all(getattr(rows[("pods", f"namespace {demo}")], v) == "no" for v in ("create", "patch", "delete"))
        assert rows[("pods/exec", f"namespace {demo}")].create == "no"
    finally:
        if view is not None:
            view.stop()
        for name in ("demo-1", "demo-2"):
            try:
                instructor.core.delete_namespaced_pod(name, demo, grace_period_seconds=0)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise


def test_gpu_nodes_on_kwok_and_why_not_elsewhere(room):
    """``up(gpu_nodes=K)`` on the kwok course cluster: K labelled, tainted nodes advertising 4 GPUs that a
    participant's GPU pod can use; running it again changes nothing; K=0 removes them. On kind or
    another cluster it refuses with a sentence saying why."""
    import dataclasses

    from whyk8s.errors import CourseError
    instructor, result = room
    if not instructor.context.startswith("kwok-"):
        pytest.skip("extra GPU nodes are kwok's")
    args = dict(hours=1, hub_url="https://hub.example/", out=result.folder, cluster=instructor)
    try:
        made = workshop.up(2, gpu_nodes=2, **args)
        assert made.gpu_nodes == ["whyk8s-workshop-gpu1", "whyk8s-workshop-gpu2"]
        for name in made.gpu_nodes:
            node = instructor.core.read_node(name)
            assert node.metadata.labels["whyk8s.io/pool"] == "gpu"
            assert node.metadata.labels["app.kubernetes.io/component"] == "workshop"
            assert node.status.allocatable["nvidia.com/gpu"] == "4"
            taints = [(t.key, t.value, t.effect) for t in node.spec.taints]
            assert taints == [("nvidia.com/gpu", "present", "NoSchedule")]
            assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
        assert "Node whyk8s-workshop-gpu2" in workshop.workshop_objects(instructor)
        again = workshop.up(2, gpu_nodes=2, **args)
        assert again.changes["created"] == 0 and again.changes["updated"] == 0, again.changes
        assert workshop.up(2, **args).gpu_nodes == []  # None: the sizing rule's number, none for 2
        assert workshop.up(2, gpu_nodes=1, **args).gpu_nodes == ["whyk8s-workshop-gpu1"]
        for other, why in ((f"kind-{instructor.context.removeprefix('kwok-')}", "on kind each node is a container"),
                           ("gke_prod", "is not the course's kwok cluster")):
            with pytest.raises(CourseError, match=why):
                workshop.up(2, gpu_nodes=1, **{**args, "cluster": dataclasses.replace(instructor, context=other)})
        with pytest.raises(ValueError):
            workshop.up(2, gpu_nodes=-1, **args)
    finally:
        assert workshop.up(2, gpu_nodes=0, **args).gpu_nodes == []
    assert not instructor.core.list_node(label_selector=workshop.SHARED_SELECTOR + ",whyk8s.io/pool=gpu").items


def test_participant_cannot_exceed_the_quota(room):
    _, result = room
    a = _as(result, A)
    too_much = f"{result.quota.cpu_millis + 1000}m"
    exc_status = _status(lambda: a.core.create_namespaced_pod(a.namespace, specs.pod("greedy", cpu=too_much)))
    assert exc_status == 403
    with pytest.raises(client.ApiException) as info:
        a.core.create_namespaced_pod(a.namespace, specs.pod("greedy", cpu=too_much))
    assert "exceeded quota" in info.value.body
    assert "quota" in explain(info.value).lower()


def test_a_participants_gpus_are_capped_but_an_8_gpu_pod_waits_pending(room):
    # chapter 3: gpu-trainer runs and greedy (8 GPUs) waits Pending with the scheduler's reason, as taught;
    # a tenth GPU is refused by the quota in one sentence (before: no GPU line, any number)
    from whyk8s.k8s.pods import pending_reason
    from whyk8s.k8s.waits import wait_for_pods
    _, result = room
    a = _as(result, A)
    a.core.create_namespaced_pod(a.namespace, specs.pod("gpu-trainer", gpus=1))
    a.core.create_namespaced_pod(a.namespace, specs.pod("greedy", gpus=8))
    try:
        pods = wait_for_pods(a, lambda ps: {"gpu-trainer", "greedy"} <= set(ps) and pending_reason(ps["greedy"])
                             and ps["gpu-trainer"].status.phase == "Running", timeout=30)
        assert "Insufficient nvidia.com/gpu" in pending_reason(pods["greedy"])
        with pytest.raises(client.ApiException) as info:
            a.core.create_namespaced_pod(a.namespace, specs.pod("one-more", gpus=1))
        assert info.value.status == 403 and "requests.nvidia.com/gpu" in info.value.body
        assert "quota" in explain(info.value).lower()
    finally:
        for name in ("gpu-trainer", "greedy"):
            a.core.delete_namespaced_pod(name, a.namespace, grace_period_seconds=0)


def test_every_participant_runs_chapter_4a_preprocessing_at_once(room):
    # the room is sized for it: two 96 GiB pods per 256 GiB high-memory node, and the quota admits one
    from whyk8s.k8s.waits import wait_for_pods
    from whyk8s.lessons.placement import preprocessing_pod
    instructor, result = room
    if not instructor.context.startswith("kwok-"):
        pytest.skip("extra high-memory nodes are kwok's")
    assert result.highmem_nodes == workshop.highmem_node_names(workshop.highmem_nodes_for(2)) and result.misfits == []
    people = [_as(result, p) for p in (A, B)]
    for c in people:
        c.core.create_namespaced_pod(c.namespace, preprocessing_pod("preprocess"))
    try:
        for c in people:
            wait_for_pods(c, lambda ps: "preprocess" in ps and ps["preprocess"].status.phase == "Running", timeout=30)
    finally:
        for c in people:
            c.core.delete_namespaced_pod("preprocess", c.namespace, grace_period_seconds=0)


def test_a_pod_without_requests_gets_the_limitranges_and_counts(room):
    instructor, result = room
    a = _as(result, A)
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name="bare", labels=a.labels),
                       spec=client.V1PodSpec(containers=[client.V1Container(name="c", image=specs.DEFAULT_IMAGE)]))
    made = a.core.create_namespaced_pod(a.namespace, pod)
    try:
        assert made.spec.containers[0].resources.requests == workshop.DEFAULT_REQUEST
    finally:
        a.core.delete_namespaced_pod("bare", a.namespace, grace_period_seconds=0)


def _token_user(instructor, ns, sa):
    out = instructor.core.create_namespaced_service_account_token(sa, ns, client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)))
    return out.status.token


def _whoami(instructor, token):
    conf = client.Configuration()
    conf.host = instructor.api.configuration.host
    conf.ssl_ca_cert = instructor.api.configuration.ssl_ca_cert
    conf.api_key = {"authorization": f"Bearer {token}"}
    return client.CoreV1Api(client.ApiClient(conf)).list_namespaced_pod(workshop.namespace_of(A))


def test_a_token_no_longer_valid_is_refused(room):
    instructor, _ = room
    ns = workshop.namespace_of(A)
    sa = client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="short-lived", labels=instructor.labels))
    instructor.core.create_namespaced_service_account(ns, sa)
    try:
        token = _token_user(instructor, ns, "short-lived")
        assert _status(lambda: _whoami(instructor, token)) == 403  # valid, but no rights: 403
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["kubernetes.io"]["serviceaccount"]["name"] = "learner"  # tampered: signature no longer matches
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        assert _status(lambda: _whoami(instructor, f"{header}.{forged}.{signature}")) == 401
    finally:
        instructor.core.delete_namespaced_service_account("short-lived", ns)
    # its ServiceAccount is gone: the authenticator looks it up in the API server's cache, which
    # learns of the deletion within moments
    deadline = time.monotonic() + 15
    while (seen := _status(lambda: _whoami(instructor, token))) != 401 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert seen == 401


def test_token_request_shorter_than_ten_minutes_is_refused(room):
    instructor, _ = room
    body = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=60))
    assert _status(lambda: instructor.core.create_namespaced_service_account_token(
        "learner", workshop.namespace_of(A), body)) == 422  # Invalid: "may not specify a duration less than 10 minutes"
    with pytest.raises(ValueError, match="10 minutes"):
        workshop.up(2, hours=0.1, cluster=instructor)


def test_rights_table_of_the_card(room):
    instructor, result = room
    table = workshop.participant_rights(A, other=B, cluster=instructor)
    rows = {(r.resource, r.scope): r for r in table.itertuples()}
    own, other = f"namespace {workshop.namespace_of(A)}", f"namespace {workshop.namespace_of(B)}"
    assert all(getattr(rows[("pods", own)], v) == "yes" for v in ("get", "list", "watch", "create", "delete"))
    assert all(getattr(rows[(res, other)], v) == "no" for res in ("pods", "jobs.batch", "deployments.apps")
               for v in ("get", "list", "watch", "create", "patch", "delete"))
    assert rows[("nodes", "cluster")].list == "yes" and rows[("nodes", "cluster")].patch == "no"
    assert rows[("priorityclasses.scheduling.k8s.io", "cluster")].create == "no"
    assert rows[("resourcequotas", own)].get == "yes" and rows[("resourcequotas", own)].patch == "no"
    # the progress record is a ConfigMap: the table shows that right too
    assert rows[("configmaps", own)].create == "yes" and rows[("configmaps", other)].get == "no"
    # the participant's own view (SelfSubjectAccessReviews) agrees with the instructor's
    mine = rights_table(_as(result, A), workshop.namespace_of(A), other_namespace=workshop.namespace_of(B))
    assert mine.equals(table)


def test_course_helpers_act_in_the_participants_namespace(room, monkeypatch):
    from whyk8s.notebook.widgets import PodLauncher
    instructor, result = room
    monkeypatch.setenv("KUBECONFIG", str(result.folder / f"{A}.kubeconfig"))
    monkeypatch.delenv("WHYK8S_ALLOW_CONTEXT", raising=False)
    launcher = PodLauncher()  # chapter 3's launcher, no cluster given: the kubeconfig decides
    assert launcher.cluster is not None and launcher.cluster.namespace == workshop.namespace_of(A)
    launcher.name.value = "my-pod"
    sentence = launcher.deploy()
    pod = instructor.core.read_namespaced_pod("my-pod", workshop.namespace_of(A))
    assert pod.metadata.labels["app.kubernetes.io/part-of"] == "whyk8s", sentence
    assert _status(lambda: instructor.core.read_namespaced_pod("my-pod", "whyk8s")) == 404
    from whyk8s.labs.common import NAMESPACE  # noqa: F401 - imported before; the function decides
    assert default_namespace() == workshop.namespace_of(A)


def test_cluster_wide_demonstrations_say_so(room, monkeypatch):
    from whyk8s.lessons import devices, failures, tenancy
    instructor, result = room
    a = _as(result, A)
    for step in (lambda: failures.cordon(a, "whyk8s-worker"), lambda: failures.drain(a, "whyk8s-worker"),
                 lambda: failures.fail_node(a, "whyk8s-worker2"),
                 lambda: failures.jobs_on_lost_node(a, "whyk8s-worker2"),
                 lambda: tenancy.team_namespace(a, "research"),
                 lambda: tenancy.limit_priority_class(a, workshop.namespace_of(A))):
        with pytest.raises(InstructorDemonstration) as info:
            step()
        assert "instructor's demonstration" in explain(info.value)
    assert not instructor.core.read_node("whyk8s-worker").spec.unschedulable
    assert failures.restore(a) == []  # every worker is there: nothing to do, nothing asked
    assert "not sent" in devices.dry_run(a, "device-class")
    assert "accepted" in devices.dry_run(a, "claim-template")
    for pc in tenancy.PRIORITY_CLASSES:
        try:
            instructor.scheduling.delete_priority_class(pc)
        except client.ApiException:
            pass
    with pytest.raises(InstructorDemonstration, match="PriorityClasses"):
        tenancy.priority_classes(a)
    try:
        tenancy.priority_classes(instructor)  # the instructor makes them; the participant reads them
        assert list(tenancy.priority_classes(a).name) == list(tenancy.PRIORITY_CLASSES)
    finally:
        for pc in tenancy.PRIORITY_CLASSES:
            instructor.scheduling.delete_priority_class(pc)


def test_dra_is_the_instructors_until_published_then_shared(room):
    from whyk8s.lessons import dra
    instructor, result = room
    a = _as(result, A)
    dra.clean_up(instructor)
    with pytest.raises(InstructorDemonstration, match="instructor's demonstration"):
        dra.publish(a)
    dra.create_claim_template(a, "gpu-40gi", "40Gi")
    started = time.monotonic()
    with pytest.raises(InstructorDemonstration, match="none is published yet"):
        dra.submit(a, dra.training_job("train-llm", "gpu-40gi"))
    assert time.monotonic() - started < 5  # said at once, not after the 30 s wait
    assert _status(lambda: a.batch.read_namespaced_job("train-llm", a.namespace)) == 404  # nothing created
    try:
        mine = dra.publish(instructor)
        assert dra.publish(a) == mine  # the participant uses the instructor's slice
        allocation = dra.submit(a, dra.training_job("train-llm", "gpu-40gi"))
        assert allocation["node"] == mine["node"]
        from whyk8s.k8s import objects
        objects.cleanup(a)
        dra.clean_up(a)  # the participant's claims go; the instructor's class and slice stay
        assert len(dra.published_devices(instructor)) == mine["devices"]
    finally:
        from whyk8s.k8s import objects
        objects.cleanup(a)
        dra.clean_up(instructor)


def test_labs_needing_cluster_rights_say_so(room, monkeypatch):
    from whyk8s.labs import fairness_lab, queue_lab
    _, result = room
    monkeypatch.setenv("KUBECONFIG", str(result.folder / f"{A}.kubeconfig"))
    monkeypatch.delenv("WHYK8S_ALLOW_CONTEXT", raising=False)
    for step in (fairness_lab.check_teams, fairness_lab.check_priorities, fairness_lab.reset,
                 queue_lab.check_flavor, queue_lab.check_local_queues, queue_lab.reset):
        with pytest.raises(InstructorDemonstration) as info:
            step()
        assert "instructor's demonstration" in explain(info.value), step.__name__
    assert "instructor's demonstration" in queue_lab.submit_backlog()  # a helper that returns its sentence


def test_participant_cleanup_stays_in_their_namespace(room):
    from whyk8s.k8s import objects
    instructor, result = room
    a, b = _as(result, A), _as(result, B)
    objects.create(a, specs.pod("mine"))
    objects.create(b, specs.pod("theirs"))
    objects.cleanup(a)
    assert _status(lambda: instructor.core.read_namespaced_pod("mine", a.namespace)) == 404
    assert instructor.core.read_namespaced_pod("theirs", b.namespace)
    # the instructor's clean-up leaves the participants' namespaces to `workshop reset`/`down`
    objects.cleanup(instructor)
    assert instructor.core.read_namespaced_pod("theirs", b.namespace)
    counts = workshop.reset(B, cluster=instructor)
    assert counts == {"Pod": 1}
    assert _status(lambda: instructor.core.read_namespaced_pod("theirs", b.namespace)) == 404
    assert f"ServiceAccount {b.namespace}/learner" in workshop.workshop_objects(instructor)


def test_reset_empties_the_namespace_of_unlabelled_objects_too(room):
    # `kubectl create deployment unl ...` by the learner: no course label; reset removes it all the same,
    # and keeps what `up` made (and the progress record unless asked)
    from whyk8s.k8s import progress
    instructor, result = room
    b = _as(result, B)
    dep = specs.deployment("unl", replicas=1)
    dep.metadata.labels = {"app": "unl"}
    b.apps.create_namespaced_deployment(b.namespace, dep)
    b.core.create_namespaced_config_map(b.namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="notes")))
    b.core.create_namespaced_config_map(b.namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=progress.CONFIGMAP), data={"lab2.check_pod": "{}"}))
    before = set(workshop.workshop_objects(instructor))
    counts = workshop.reset(B, cluster=instructor)
    assert counts.get("Deployment") == 1 and counts.get("ConfigMap") == 1, counts
    assert not b.apps.list_namespaced_deployment(b.namespace).items
    assert not b.apps.list_namespaced_replica_set(b.namespace).items
    assert not b.core.list_namespaced_pod(b.namespace).items
    names = {c.metadata.name for c in b.core.list_namespaced_config_map(b.namespace).items}
    assert names == {"kube-root-ca.crt", progress.CONFIGMAP}
    assert set(workshop.workshop_objects(instructor)) == before
    assert workshop.reset(B, cluster=instructor, progress=True) == {"ConfigMap": 1}
    assert {c.metadata.name for c in b.core.list_namespaced_config_map(b.namespace).items} == {"kube-root-ca.crt"}
    # only a namespace with the workshop's labels: another is refused
    instructor.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="whyk8s-p99")))
    try:
        with pytest.raises(CourseError, match="not a workshop participant"):
            workshop.reset("p99", cluster=instructor)
    finally:
        instructor.core.delete_namespace("whyk8s-p99")


def test_status_and_cards(room):
    instructor, result = room
    table = workshop.status(cluster=instructor)
    assert list(table.participant) == [A, B]
    assert table.iloc[0].cpu.endswith(f"/{result.quota.cpu_millis}m")
    path = workshop.write_cards(cluster=instructor, out=result.folder)
    page = path.read_text()
    assert page.count('<section class="card">') == 2 and "https://hub.example/" in page


def test_zz_down_leaves_nothing(room):
    instructor, result = room
    a = _as(result, A)
    gone = workshop.down(cluster=instructor, out=result.folder)
    assert "Namespace whyk8s-p01" in gone and "RoleBinding whyk8s/whyk8s-workshop-p01" in gone
    assert workshop.workshop_objects(instructor) == []
    assert instructor.core.read_namespace("whyk8s")  # the instructor's own namespace stays
    assert not list(result.folder.glob("*.kubeconfig")) if result.folder.exists() else True
    # its token is void (401) once the API server's cache has seen the ServiceAccount go
    deadline = time.monotonic() + 15
    while (seen := _status(lambda: a.core.list_namespaced_pod(workshop.namespace_of(A)))) != 401 \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert seen == 401


def test_up_command_takes_the_sizing_options():
    from whyk8s.cli import build_parser
    args = build_parser().parse_args(["workshop", "up", "--participants", "20"])
    assert (args.gpu_nodes, args.highmem_nodes, args.gpus_per_participant) == (None, None, 9)
    args = build_parser().parse_args(["workshop", "up", "--participants", "20", "--highmem-nodes", "3",
                                      "--gpus-per-participant", "1"])
    assert (args.highmem_nodes, args.gpus_per_participant) == (3, 1)
    assert build_parser().parse_args(["workshop", "reset", "p01", "--progress"]).progress
