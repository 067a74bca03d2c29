"""Namespaces, quotas, priorities and preemption against the real API server and scheduler."""

import pytest
from kubernetes import client

from whyk8s.errors import NamespaceRefused, explain
from whyk8s.k8s import objects, specs
from whyk8s.k8s.waits import wait_for_event, wait_for_pods, watch_until
from whyk8s.lessons import placement, tenancy


def test_quota_refusal_is_one_readable_sentence(cluster):
    ns = tenancy.team_namespace(cluster, "team-a", cpu="4", memory="16Gi", gpus=1)
    with pytest.raises(client.ApiException) as err:
        objects.create(cluster, specs.pod("big", cpu="8", memory="1Gi"), namespace=ns)
    assert err.value.status == 403
    assert explain(err.value, ns) == (
        "Refused by ResourceQuota team-quota in namespace team-a: the pod big would go over it. "
        "CPU requests: it asks for 8000m, the namespace already uses 0m of at most 4000m.")
    assert cluster.core.list_namespaced_pod(ns).items == []


def test_quota_usage_counts_requests(cluster):
    ns = tenancy.team_namespace(cluster, "team-b", cpu="2", memory="4Gi", gpus=1)
    objects.create(cluster, specs.pod("small", cpu="500m", memory="1Gi"), namespace=ns)

    def counted(quotas):  # the quota controller fills status.used; wait for it
        q = quotas.get(tenancy.QUOTA_NAME)
        return q is not None and q.status is not None and (q.status.used or {}).get("requests.cpu") == "500m"

    assert counted(watch_until(cluster.core.list_namespaced_resource_quota, ns, done=counted, timeout=30))
    table = tenancy.quota_usage(cluster, ns).set_index("resource")
    assert table.loc["requests.cpu", ["used", "hard", "unit"]].tolist() == [500, 2000, "millicores"]
    assert table.loc["requests.memory", ["used", "hard", "unit"]].tolist() == [1024.0, 4096.0, "MiB"]
    assert table.loc["requests.nvidia.com/gpu", ["used", "hard"]].tolist() == [0, 1]
    ns_obj = cluster.core.read_namespace(ns)
    assert ns_obj.metadata.labels["app.kubernetes.io/part-of"] == "whyk8s"


def test_bad_quota_input_creates_nothing(cluster):
    with pytest.raises(ValueError, match="Did you mean 16Mi"):
        tenancy.team_namespace(cluster, "team-c", memory="16m")
    with pytest.raises(ValueError, match="not a valid Kubernetes name"):
        tenancy.team_namespace(cluster, "Team_C")
    names = {n.metadata.name for n in cluster.core.list_namespace().items}
    assert "team-c" not in names


def test_priority_classes_are_labelled_and_idempotent(cluster):
    first = tenancy.priority_classes(cluster)
    again = tenancy.priority_classes(cluster)
    assert first.equals(again)
    assert first[["name", "value", "preemption_policy"]].values.tolist() == [
        ["whyk8s-low", 1000, "PreemptLowerPriority"], ["whyk8s-high", 100000, "PreemptLowerPriority"]]
    labelled = cluster.scheduling.list_priority_class(label_selector=cluster.selector).items
    assert {pc.metadata.name for pc in labelled} == {"whyk8s-low", "whyk8s-high"}


def test_high_priority_job_preempts_and_who_killed_says_so(cluster):
    tenancy.priority_classes(cluster)
    research = tenancy.team_namespace(cluster, "research", cpu="16", memory="64Gi", gpus=4)
    prod = tenancy.team_namespace(cluster, "production", cpu="8", memory="32Gi", gpus=2)
    for i in range(1, 5):
        objects.create(cluster, placement.training_pod(f"sweep-{i}", priority_class="whyk8s-low"),
                       namespace=research)
    running = wait_for_pods(cluster, lambda ps: len(ps) == 4 and all(p.status.phase == "Running" for p in ps.values()),
                            namespace=research)
    assert len(running) == 4
    objects.create(cluster, placement.training_job("urgent", priority_class="whyk8s-high"), namespace=prod)
    event = wait_for_event(cluster, research, "Preempted", lambda name: name.startswith("sweep-"), timeout=60)
    assert event is not None, "no pod was preempted"
    victims = [event.involved_object.name]
    assert len(victims) == 1 and victims[0].startswith("sweep-")
    answer = tenancy.who_killed(cluster, victims[0], namespace=research)
    assert answer.startswith(f"Pod {victims[0]} was preempted by pod production/urgent-")
    assert ("(namespace production, PriorityClass whyk8s-high, priority 100000) on node whyk8s-worker3"
            in answer), answer
    survivor = next(f"sweep-{i}" for i in range(1, 5) if f"sweep-{i}" != victims[0])
    assert tenancy.who_killed(cluster, survivor, namespace=research).startswith(
        f"No preemption of {survivor} is recorded")
    table = tenancy.preemptions(cluster, research)
    assert table["victim"].tolist() == victims and table["node"].tolist() == ["whyk8s-worker3"]
    assert table["preemptor"][0].startswith("production/urgent-")


def test_who_killed_without_preemption_says_so(cluster):
    objects.create(cluster, specs.pod("calm"))
    assert tenancy.who_killed(cluster, "calm") == (
        "No preemption of calm is recorded in namespace whyk8s: the scheduler did not evict it "
        "(events are kept for about an hour).")


def test_cleanup_removes_team_namespaces_and_priority_classes(cluster):
    tenancy.priority_classes(cluster)
    ns = tenancy.team_namespace(cluster, "team-a", gpus=2)
    objects.create(cluster, specs.pod("p", cpu="100m"), namespace=ns)
    objects.cleanup(cluster, timeout=90)
    assert objects.course_objects(cluster, include_namespaces=True) == []
    assert cluster.scheduling.list_priority_class(label_selector=cluster.selector).items == []
    remaining = cluster.core.list_namespace(label_selector=cluster.selector).items
    assert [n.metadata.name for n in remaining] == [cluster.namespace]


def test_team_namespace_refuses_a_namespace_the_course_did_not_create(cluster):
    import uuid
    name = f"their-{uuid.uuid4().hex[:6]}"
    cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        with pytest.raises(NamespaceRefused):
            tenancy.team_namespace(cluster, name)
        assert cluster.core.list_namespaced_resource_quota(name).items == []
        assert "whyk8s.io/team" not in (cluster.core.read_namespace(name).metadata.labels or {})
        with pytest.raises(NamespaceRefused):
            tenancy.team_namespace(cluster, "kube-system")
        assert cluster.core.list_namespaced_resource_quota("kube-system").items == []
    finally:
        cluster.core.delete_namespace(name)


def test_quota_refuses_a_bare_pod_but_accepts_an_over_quota_job_whose_pods_fail_to_create(cluster):
    ns = tenancy.team_namespace(cluster, "team-j", cpu="4", memory="16Gi", gpus=0)
    with pytest.raises(client.ApiException) as err:
        objects.create(cluster, specs.pod("big-pod", cpu="8", memory="1Gi"), namespace=ns)
    assert err.value.status == 403
    objects.create(cluster, specs.job("big-job", cpu="8", memory="1Gi"), namespace=ns)   # no exception
    said = tenancy.job_creation_refused(cluster, "big-job", namespace=ns, timeout=30)
    assert said.startswith("Job big-job was accepted, but its pod was refused")
    assert "exceeded quota: team-quota" in said and "requests.cpu=8" in said
    assert cluster.batch.read_namespaced_job("big-job", ns) is not None
    assert cluster.core.list_namespaced_pod(ns).items == []


def test_job_creation_refused_says_so_when_nothing_was_refused(cluster):
    ns = tenancy.team_namespace(cluster, "team-k", cpu="4", memory="16Gi", gpus=0)
    objects.create(cluster, specs.job("fits", cpu="1", memory="1Gi"), namespace=ns)
    assert tenancy.job_creation_refused(cluster, "fits", namespace=ns, timeout=3).startswith(
        "No FailedCreate event about Job fits")


def test_any_namespace_may_use_the_high_class_until_a_scoped_quota_forbids_it(cluster):
    tenancy.priority_classes(cluster)
    ns = tenancy.team_namespace(cluster, "team-p", cpu="16", memory="64Gi", gpus=4)
    objects.create(cluster, placement.training_pod("before", gpus=1, priority_class="whyk8s-high"), namespace=ns)
    quota = tenancy.limit_priority_class(cluster, ns, "whyk8s-high")
    assert quota.spec.scope_selector.match_expressions[0].values == ["whyk8s-high"]
    with pytest.raises(client.ApiException) as err:
        objects.create(cluster, placement.training_pod("after", gpus=1, priority_class="whyk8s-high"), namespace=ns)
    assert err.value.status == 403
    assert explain(err.value, ns).startswith("Refused by ResourceQuota no-high-priority in namespace team-p")
    # the scope counts only that class: low-priority work is still admitted
    objects.create(cluster, placement.training_pod("low", gpus=1, priority_class="whyk8s-low"), namespace=ns)
    names = {p.metadata.name for p in cluster.core.list_namespaced_pod(ns).items}
    assert names == {"before", "low"}


def test_priority_quota_input_is_checked():
    with pytest.raises(ValueError, match="whole number"):
        tenancy.priority_quota_spec("whyk8s-high", pods=-1)
    with pytest.raises(ValueError, match="not a valid Kubernetes name"):
        tenancy.priority_quota_spec("High_Class")


def test_a_deployment_over_quota_is_accepted_and_its_replicaset_gets_failed_create(cluster):
    """Chapter 4b's exercise: 2 cores used of 16, then 3 replicas of 6 cores: two pods admitted, one refused."""
    ns = tenancy.team_namespace(cluster, "team-d", cpu="16", memory="64Gi", gpus=0)
    objects.create(cluster, specs.pod("notebook", cpu="2", memory="1Gi"), namespace=ns)
    objects.create(cluster, specs.deployment("sweep", replicas=3, cpu="6", memory="1Gi"), namespace=ns)
    event = wait_for_event(cluster, ns, "FailedCreate", lambda name: name.startswith("sweep-"), timeout=30)
    assert event is not None and event.involved_object.kind == "ReplicaSet"
    assert "exceeded quota: team-quota" in event.message
    pods = wait_for_pods(cluster, lambda ps: len(ps) >= 2, label_selector="app=sweep", namespace=ns, timeout=10)
    assert len(pods) == 2


def test_a_high_priority_job_in_a_namespace_without_the_class_sits_with_failed_create(cluster):
    tenancy.priority_classes(cluster)
    ns = tenancy.team_namespace(cluster, "team-q", cpu="16", memory="64Gi", gpus=4)
    tenancy.limit_priority_class(cluster, ns, "whyk8s-high")
    objects.create(cluster, placement.training_job("urgent", gpus=1, priority_class="whyk8s-high"), namespace=ns)
    said = tenancy.job_creation_refused(cluster, "urgent", namespace=ns, timeout=30)
    assert "exceeded quota: no-high-priority" in said
