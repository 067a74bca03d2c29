"""The HorizontalPodAutoscaler of chapter 3: its formula (unit tests, worked examples from
kubernetes.io "Horizontal Pod Autoscaling", *Algorithm details*) and what a real HPA controller
reports on the course cluster, which runs no metrics-server."""

from __future__ import annotations

import re

import pytest
import yaml

from whyk8s.k8s import objects, specs
from whyk8s.k8s.waits import wait_for_pods
from whyk8s.lessons import autoscaling as au


def test_utilization_is_the_pods_use_over_their_requests_rounded_down():
    assert au.utilization([450, 480, 420], 500) == 90
    assert au.utilization([100, 101], 300) == 33  # 33.5 % → 33, as the controller's integer division
    with pytest.raises(ValueError, match="request"):
        au.utilization([100], 0)
    with pytest.raises(ValueError, match="no pods"):
        au.utilization([], 100)


@pytest.mark.parametrize("current, value, target, kwargs, want", [
    (3, 90, 60, {}, 5),                          # ceil(3 × 1.5) = ceil(4.5)
    (1, 200, 100, {}, 2),                        # kubernetes.io's example: 200m against 100m doubles
    (1, 50, 100, {}, 1),                         # ... and 50m halves: ceil(0.5) = 1
    (4, 30, 60, {"min_replicas": 2}, 2),         # ceil(4 × 0.5) = 2
    (4, 64, 60, {}, 4),                          # ratio 1.067: within the 10 % tolerance, no change
    (4, 67, 60, {}, 5),                          # ratio 1.117: outside it, ceil(4.47) = 5
    (3, 400, 60, {"max_replicas": 10}, 10),      # ceil(20) capped at the maximum
    (4, 10, 60, {"min_replicas": 3}, 3),         # ceil(0.67) = 1 raised to the minimum
])
def test_desired_replicas_follows_the_hpa_formula(current, value, target, kwargs, want):
    assert au.desired_replicas(current, value, target, **kwargs) == want


def test_desired_replicas_refuses_a_target_of_zero():
    with pytest.raises(ValueError, match="target"):
        au.desired_replicas(3, 50, 0)


@pytest.mark.parametrize("current, kwargs, want", [
    (3, {}, 7),                       # +4 pods beats +100 % (6): the exercise's first write
    (7, {}, 14),                      # +100 % beats +4 (11)
    (7, {"max_replicas": 10}, 10),    # ... and the maximum still caps it
    (1, {}, 5), (0, {}, 4),
])
def test_scale_up_limit_is_the_larger_of_double_and_four_more(current, kwargs, want):
    assert au.scale_up_limit(current, **kwargs) == want
    with pytest.raises(ValueError):
        au.scale_up_limit(-1)


def test_the_api_server_defaults_scale_up_to_the_policies_scale_up_limit_applies(cluster):
    """An HPA that sets part of ``behavior`` gets the rest filled in by the API server (a dry run:
    nothing is stored). The scale-up policies must be those :func:`scale_up_limit` computes with."""
    from kubernetes import client
    body = specs.hpa("web", min_replicas=2, max_replicas=10, cpu_utilization=60)
    body.spec.behavior = client.V2HorizontalPodAutoscalerBehavior(
        scale_down=client.V2HPAScalingRules(stabilization_window_seconds=300))
    namespace = cluster.ensure_namespace(cluster.namespace)
    stored = cluster.autoscaling.create_namespaced_horizontal_pod_autoscaler(namespace, body, dry_run="All")
    up = stored.spec.behavior.scale_up
    assert (up.select_policy, up.stabilization_window_seconds) == ("Max", 0)
    assert sorted((p.type, p.value, p.period_seconds) for p in up.policies) == [("Percent", 100, 15), ("Pods", 4, 15)]
    assert objects.course_objects(cluster) == []


def test_the_hpa_builder_is_the_manifest_kubectl_autoscale_makes():
    body = yaml.safe_load(specs.manifest(specs.hpa("web", min_replicas=2, max_replicas=10, cpu_utilization=60)))
    assert body["apiVersion"] == "autoscaling/v2" and body["kind"] == "HorizontalPodAutoscaler"
    assert body["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert body["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]
    assert (body["spec"]["minReplicas"], body["spec"]["maxReplicas"]) == (2, 10)
    with pytest.raises(ValueError, match="min_replicas"):
        specs.hpa("web", min_replicas=5, max_replicas=2)


def test_without_metrics_the_hpa_says_so_and_still_enforces_its_minimum(cluster):
    """On the course cluster (no metrics-server) the real HPA controller can read and write the
    scale but not the metric: ScalingActive False, FailedGetResourceMetric; a Deployment below
    minReplicas is raised to it all the same."""
    objects.create(cluster, specs.deployment("web", replicas=1))
    objects.create(cluster, specs.hpa("web", min_replicas=2, max_replicas=10, cpu_utilization=60))
    lines = _shown_lines(lambda: au.wait_for_hpa(cluster, "web", timeout=90))
    hpa = lines.pop("result")
    # learner trial 7: half a minute with only [*]; now a line says what it waits for, then the seconds
    assert lines["first"].startswith("⏱ Waiting for the HorizontalPodAutoscaler controller's first pass over web")
    assert any(re.search(r": [1-9]\d* s so far$", u) for u in lines["updates"]), lines["updates"]
    assert lines["updates"][-1] == "⏱ done: The HorizontalPodAutoscaler controller has made its first pass over web."
    table = au.conditions_table(hpa)
    rows = {r.type: (r.status, r.reason) for r in table.itertuples()}
    assert rows["AbleToScale"] == ("True", "SucceededGetScale")
    assert rows["ScalingActive"] == ("False", "FailedGetResourceMetric")
    assert "metrics.k8s.io" in table.set_index("type").loc["ScalingActive", "message"]
    pods = wait_for_pods(cluster, lambda ps: len(ps) == 2, f"{cluster.selector},app=web", timeout=30)
    assert len(pods) == 2
    assert cluster.apps.read_namespaced_deployment_scale("web", cluster.namespace).spec.replicas == 2
    objects.cleanup(cluster)
    assert objects.course_objects(cluster) == []  # the HPA is a course kind: clean-up removes it


def _shown_lines(fn) -> dict:
    """Run ``fn`` in an IPython shell; return its result, the first line it displayed and the text of
    each in-place update of that line (the capture records each update as one more output)."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    InteractiveShell.instance()
    with capture_output() as cap:
        result = fn()
    shown = [o.data.get("text/plain", "") for o in cap.outputs]
    return {"result": result, "first": shown[0] if shown else "", "updates": shown[1:]}


def test_the_conditions_table_keeps_whole_messages_in_a_notebook():
    """Learner trial 7: pandas cut each message at 50 characters ("the HPA was unable to compute the
    replica coun..."); a course notebook's kernel shows cells whole."""
    import pandas as pd

    from whyk8s.notebook import display
    long = "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics"
    frame = pd.DataFrame([["ScalingActive", "False", "FailedGetResourceMetric", long]],
                         columns=["type", "status", "reason", "message"])
    with pd.option_context("display.max_colwidth", 50):
        assert long not in frame._repr_html_()
        display.notebook_defaults()
        assert long in frame._repr_html_()
