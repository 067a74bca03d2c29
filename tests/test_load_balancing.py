"""Chapter 3's Service: its EndpointSlices follow the pods (created, not Ready, Ready, gone), written
by the real EndpointSlice controller on the course's kwok cluster."""

from __future__ import annotations

import yaml

from whyk8s.k8s import specs
from whyk8s.lessons import load_balancing as lb
from whyk8s.lessons.running_containers import web_service


def test_snapshot_counts_ready_and_not_ready_endpoints():
    rows = [{"pod": "a", "ready": True}, {"pod": "b", "ready": False}, {"pod": "c", "ready": True}]
    assert lb.snapshot(rows, "m") == {"moment": "m", "endpoints": 3, "ready": 2, "not ready": 1}


def test_the_service_manifest_selects_the_deployments_pods():
    body = yaml.safe_load(specs.manifest(web_service("web")))
    dep = yaml.safe_load(specs.manifest(specs.deployment("web", replicas=3)))
    assert body["kind"] == "Service" and body["apiVersion"] == "v1"
    assert body["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()


def test_endpoint_slices_follow_the_pods(cluster):
    """kwok: the Ready condition is written; kind (also in test_kind_provider): a real probe fails."""
    summary, rows = lb.endpoints_follow_pods(cluster)
    assert summary.to_dict("records") == [
        {"moment": "3 pods Ready", "endpoints": 3, "ready": 3, "not ready": 0},
        {"moment": "scaled to 5", "endpoints": 5, "ready": 5, "not ready": 0},
        {"moment": "one pod not Ready", "endpoints": 5, "ready": 4, "not ready": 1},
        {"moment": "Ready again", "endpoints": 5, "ready": 5, "not ready": 0},
        {"moment": "scaled to 2", "endpoints": 2, "ready": 2, "not ready": 0}]
    not_ready = [r for r in rows if not r["ready"]]
    assert len(not_ready) == 1 and not_ready[0]["address"].count(".") == 3  # pods have IPs on both
