"""k8s.objects against the real API server (kwok simulates the nodes): what the course creates,
changes and deletes, and the safety promise kept in the module that owns each act — only in the
course's namespaces, only objects carrying the course label, nothing else touched."""

import threading
import uuid

import pytest
from kubernetes import client

from whyk8s import PART_OF_LABEL
from whyk8s.errors import CourseError, NamespaceRefused
from whyk8s.k8s import objects, specs
from whyk8s.k8s.guard import connect
from whyk8s.k8s.informer import Informer
from whyk8s.k8s.waits import wait_for_pods


def _scheduled(name):
    return lambda pods: name in pods and bool(pods[name].spec.node_name)


def test_deploy_and_watch_to_running(cluster):
    seen = []
    running = threading.Event()

    def on_event(kind, pod):
        seen.append((kind, pod.metadata.name, pod.status.phase))
        if pod.metadata.name == "hello" and pod.status.phase == "Running":
            running.set()

    informer = Informer(cluster.core.list_namespaced_pod, cluster.namespace, label_selector=cluster.selector)
    informer.subscribe(on_event=on_event)
    informer.prime()
    informer.start()
    try:
        objects.create(cluster, specs.pod("hello", cpu="250m", memory="64Mi"))
        assert running.wait(30), f"pod never reached Running; saw {seen}"
    finally:
        assert informer.stop(5)
    phases = [p for k, n, p in seen if n == "hello"]
    assert phases[0] == "Pending" and phases[-1] == "Running"
    assert informer.items[f"{cluster.namespace}/hello"].spec.node_name


def test_gpu_pod_lands_on_gpu_node(cluster):
    objects.create(cluster, specs.pod("train", gpus=1))
    pod = wait_for_pods(cluster, _scheduled("train"))["train"]
    node = cluster.core.read_node(pod.spec.node_name)
    assert node.metadata.labels["whyk8s.io/pool"] == "gpu"
    assert node.status.allocatable["nvidia.com/gpu"] == "4"


def test_too_many_gpus_stays_pending_with_scheduler_reason(cluster):
    objects.create(cluster, specs.pod("greedy", gpus=5))

    def unschedulable(pods):
        p = pods.get("greedy")
        return p is not None and any(c.type == "PodScheduled" and c.reason == "Unschedulable"
                                     for c in (p.status.conditions or []))

    pod = wait_for_pods(cluster, unschedulable)["greedy"]
    assert pod.status.phase == "Pending" and not pod.spec.node_name
    cond = next(c for c in pod.status.conditions if c.type == "PodScheduled")
    assert "Insufficient nvidia.com/gpu" in cond.message


def test_pod_without_toleration_avoids_gpu_node(cluster):
    objects.create(cluster, specs.deployment("web", replicas=6, cpu="100m"))
    pods = wait_for_pods(cluster, lambda ps: len(ps) == 6 and all(p.spec.node_name for p in ps.values()),
                         label_selector="app=web")
    assert len(pods) == 6
    assert "whyk8s-worker3" not in {p.spec.node_name for p in pods.values()}  # the tainted GPU worker


def test_replicaset_replaces_deleted_pod(cluster):
    objects.create(cluster, specs.deployment("svc", replicas=2))
    pods = wait_for_pods(cluster, lambda ps: len(ps) == 2 and all(p.status.phase == "Running" for p in ps.values()),
                         label_selector="app=svc")
    first = sorted(pods.values(), key=lambda p: p.metadata.name)[0]
    owner = first.metadata.owner_references[0]
    assert owner.kind == "ReplicaSet"
    objects.delete_pod(cluster, first.metadata.name)
    after = wait_for_pods(cluster, lambda ps: len(ps) == 2 and not set(ps) <= set(pods), label_selector="app=svc")
    (replacement,) = [p for n, p in after.items() if n not in pods]
    assert replacement.metadata.owner_references[0].uid == owner.uid


def test_scale_rejects_negative_and_scales(cluster):
    objects.create(cluster, specs.deployment("svc", replicas=1))
    with pytest.raises(ValueError, match="whole number"):
        objects.scale(cluster, "svc", -1)
    objects.scale(cluster, "svc", 3)
    assert cluster.apps.read_namespaced_deployment_scale("svc", cluster.namespace).spec.replicas == 3


# -- the safety promise, in the module that owns each act ---------------------------------------------
def _pod_names(cluster, namespace):
    return {p.metadata.name for p in cluster.core.list_namespaced_pod(namespace).items}


@pytest.fixture
def foreign_namespace(cluster):
    """An existing namespace the course did not create (no course label), removed afterwards."""
    name = f"their-team-{uuid.uuid4().hex[:6]}"  # a namespace takes seconds to go: a fresh name each time
    cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    cluster.core.delete_namespace(name, grace_period_seconds=0)


@pytest.mark.parametrize("namespace", ["kube-system", "default", "kube-public", "kube-node-lease"])
def test_create_refuses_the_clusters_own_namespaces_and_sends_nothing(cluster, namespace):
    before = _pod_names(cluster, namespace)
    with pytest.raises(NamespaceRefused, match="belongs to the cluster itself"):
        objects.create(cluster, specs.pod("intruder"), namespace=namespace)
    with pytest.raises(NamespaceRefused):
        objects.create(cluster, specs.deployment("intruder"), namespace=namespace)
    assert _pod_names(cluster, namespace) == before and "intruder" not in before
    assert not cluster.apps.list_namespaced_deployment(namespace, field_selector="metadata.name=intruder").items


def test_create_refuses_an_existing_namespace_the_course_did_not_create(cluster, foreign_namespace):
    with pytest.raises(NamespaceRefused, match="was not created by the course"):
        objects.create(cluster, specs.pod("intruder"), namespace=foreign_namespace)
    assert _pod_names(cluster, foreign_namespace) == set()
    labels = cluster.core.read_namespace(foreign_namespace).metadata.labels or {}
    assert labels.get(PART_OF_LABEL[0]) != PART_OF_LABEL[1]  # not relabelled either


def test_create_into_a_new_namespace_creates_it_labelled(cluster):
    created = objects.create(cluster, specs.pod("pioneer"), namespace="whyk8s-new-team")
    assert created.metadata.namespace == "whyk8s-new-team"
    ns = cluster.core.read_namespace("whyk8s-new-team")
    assert ns.metadata.labels[PART_OF_LABEL[0]] == PART_OF_LABEL[1]
    assert created.metadata.labels[PART_OF_LABEL[0]] == PART_OF_LABEL[1]
    # and clean-up removes it, with what is in it
    objects.cleanup(cluster)
    assert "whyk8s-new-team" not in {n.metadata.name for n in cluster.core.list_namespace().items
                                      if n.status.phase != "Terminating"}


def test_create_labels_what_it_creates_even_when_the_spec_did_not(cluster):
    bare = client.V1Pod(metadata=client.V1ObjectMeta(name="bare"),
                        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image=specs.DEFAULT_IMAGE)]))
    objects.create(cluster, bare)
    assert cluster.core.read_namespaced_pod("bare", cluster.namespace).metadata.labels[PART_OF_LABEL[0]] == "whyk8s"
    pc = objects.create(cluster, client.V1PriorityClass(metadata=client.V1ObjectMeta(name="whyk8s-test"), value=5))
    assert pc.metadata.labels[PART_OF_LABEL[0]] == "whyk8s"
    with pytest.raises(CourseError, match="does not create V1ConfigMap"):
        objects.create(cluster, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm")))


@pytest.fixture
def unlabelled(cluster):
    """Objects the course did not create, in the course namespace and across the cluster: a Pod, a
    Deployment (its template unlabelled too), a ConfigMap, a PriorityClass and a Namespace.
    Deleted afterwards with the raw client."""
    ns = cluster.ensure_namespace()
    core, apps = cluster.core, cluster.apps
    their_ns = f"their-namespace-{uuid.uuid4().hex[:6]}"  # a namespace takes seconds to go: a fresh name
    try:
        pod = specs.pod("theirs")
        pod.metadata.labels = {"app": "theirs"}
        core.create_namespaced_pod(ns, pod)
        dep = specs.deployment("their-web", replicas=1)
        dep.metadata.labels = {"app": "their-web"}
        dep.spec.template.metadata.labels = {"app": "their-web"}
        apps.create_namespaced_deployment(ns, dep)
        core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="their-config"),
                                                                 data={"a": "b"}))
        cluster.scheduling.create_priority_class(client.V1PriorityClass(
            metadata=client.V1ObjectMeta(name="their-priority"), value=7))
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=their_ns)))
        yield {"pod": "theirs", "deployment": "their-web", "configmap": "their-config",
               "priorityclass": "their-priority", "namespace": their_ns}
    finally:
        for fn, args in ((core.delete_namespaced_pod, ("theirs", ns)),
                         (apps.delete_namespaced_deployment, ("their-web", ns)),
                         (core.delete_namespaced_config_map, ("their-config", ns)),
                         (cluster.scheduling.delete_priority_class, ("their-priority",)),
                         (core.delete_namespace, (their_ns,))):
            try:
                fn(*args, grace_period_seconds=0)
            except client.ApiException:
                pass


def _still_there(cluster, names) -> dict:
    ns = cluster.namespace
    pod = cluster.core.read_namespaced_pod(names["pod"], ns)
    dep = cluster.apps.read_namespaced_deployment(names["deployment"], ns)
    return {"pod": (pod.metadata.uid, pod.metadata.deletion_timestamp),
            "deployment": (dep.metadata.uid, dep.metadata.deletion_timestamp, dep.spec.replicas,
                           dep.spec.template.spec.containers[0].image),
            "configmap": cluster.core.read_namespaced_config_map(names["configmap"], ns).data,
            "priorityclass": cluster.scheduling.read_priority_class(names["priorityclass"]).value,
            "namespace": cluster.core.read_namespace(names["namespace"]).status.phase}


def test_acts_on_one_object_refuse_what_the_course_did_not_create(cluster, unlabelled):
    before = _still_there(cluster, unlabelled)
    with pytest.raises(CourseError, match="was not created by the course"):
        objects.delete_pod(cluster, "theirs")
    with pytest.raises(CourseError, match="was not created by the course"):
        objects.delete_labelled(cluster, "Deployment", "their-web")
    with pytest.raises(CourseError, match="was not created by the course"):
        objects.delete_labelled(cluster, "PriorityClass", "their-priority")
    with pytest.raises(CourseError, match="was not created by the course"):
        objects.scale(cluster, "their-web", 3)
    with pytest.raises(CourseError, match="was not created by the course"):
        objects.set_image(cluster, "their-web", "registry.k8s.io/pause:3.9")
    with pytest.raises(CourseError, match="was not created by the course"):
        objects.rollout(cluster, "their-web", "registry.k8s.io/pause:3.9", timeout=5)
    with pytest.raises(NamespaceRefused):
        objects.delete_labelled(cluster, "Pod", "kube-apiserver", namespace="kube-system")
    assert _still_there(cluster, unlabelled) == before


def test_cleanup_deletes_exactly_the_labelled_objects(cluster, unlabelled):
    objects.create(cluster, specs.deployment("svc", replicas=2))
    objects.create(cluster, specs.job("train", gpus=1))
    objects.create(cluster, specs.pod("solo"))
    objects.create(cluster, specs.pod("other"), namespace="team-a")
    objects.create(cluster, client.V1PriorityClass(metadata=client.V1ObjectMeta(name="whyk8s-test"), value=5))
    before = _still_there(cluster, unlabelled)
    counts = objects.cleanup(cluster)
    assert counts["Deployment"] == 1 and counts["Job"] == 1 and counts["Namespace"] == 1
    assert counts["PriorityClass"] == 1 and counts["Pod"] >= 1
    assert objects.course_objects(cluster, include_namespaces=True) == []
    assert _still_there(cluster, unlabelled) == before
    assert cluster.core.read_namespace(cluster.namespace).status.phase == "Active"  # the course's own stays


def test_connect_writes_nothing_unless_asked(cluster):
    names = lambda: {n.metadata.name for n in cluster.core.list_namespace().items}  # noqa: E731
    before = names()
    fresh = connect(namespace="whyk8s-not-yet", context=cluster.context)
    assert fresh.namespace == "whyk8s-not-yet" and names() == before
    try:
        connect(namespace="whyk8s-not-yet", context=cluster.context, create_namespace=True)
        ns = cluster.core.read_namespace("whyk8s-not-yet")
        assert ns.metadata.labels[PART_OF_LABEL[0]] == PART_OF_LABEL[1]
    finally:
        cluster.core.delete_namespace("whyk8s-not-yet")


def test_rollout_steps_begin_at_the_change_even_when_a_shared_informer_still_delivers_an_earlier_scale(cluster):
    """fresh-user finding: chapter 3's rollout printed `ready pods never fell below 3: False` because a
    shared ReplicaSet informer (a widget's) was still delivering the earlier scale to 5 and back to 2."""
    from whyk8s.k8s.informer import shared_informer
    from whyk8s.k8s.waits import wait_for_rollout
    ns = cluster.namespace
    objects.create(cluster, specs.deployment("web", replicas=3))
    wait_for_rollout(cluster, "web", timeout=60)
    informer = shared_informer(cluster.apps.list_namespaced_replica_set, ns,
                               label_selector=f"{cluster.selector},app=web")
    sub = informer.subscribe(on_event=lambda *_: None)  # a view is showing these ReplicaSets
    try:
        if not informer.running:
            informer.prime()
            informer.start()
        for replicas in (5, 2, 3):  # what the chapter's scaling cells do just before
            objects.scale(cluster, "web", replicas)
            wait_for_rollout(cluster, "web", timeout=60)
        result = objects.rollout(cluster, "web", "registry.k8s.io/pause:3.9", timeout=90)
    finally:
        sub.close()
    assert result.steps[0] == (3, 0), result.steps
    assert min(old + new for old, new in result.steps) >= 3, result.steps
    assert result.steps[-1] == (0, 3), result.steps


def test_created_is_the_one_line_kubectl_prints():
    flavor = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": "gpu"}}
    assert objects.created(flavor) == "resourceflavor.kueue.x-k8s.io/gpu created"
    queue = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "team-a"}}
    assert objects.created(queue) == "clusterqueue.kueue.x-k8s.io/team-a created"
    assert objects.created({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}) == \
        "namespace/team-a created"
    returned = client.V1Job(api_version="batch/v1", kind="Job", metadata=client.V1ObjectMeta(name="urgent-train"))
    assert objects.created(returned) == "job.batch/urgent-train created"
    assert objects.created(specs.pod("p")) == "pod/p created"  # a built object without kind: from its type
    assert objects.created(specs.deployment("web")) == "deployment.apps/web created"
    with pytest.raises(ValueError):
        objects.created({"metadata": {"name": "x"}})
