"""Reading Kubernetes Events (core/v1 ``Event``): when one happened, and the newest about an object.

Events are best-effort notes the control plane writes about objects ("Scheduled", "FailedScheduling",
"Preempted" …). Old-style events carry second-resolution ``firstTimestamp``/``lastTimestamp``;
new-style ones (events.k8s.io, written by the scheduler) carry a microsecond ``eventTime``. The
API server keeps them about an hour (``--event-ttl``). Source: kubernetes.io, "Event v1" API reference.
"""

from __future__ import annotations

from datetime import datetime, timezone

from kubernetes import client

from whyk8s.k8s.guard import Cluster

__all__ = ["event_time", "events_about", "newest_event"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def event_time(event: client.CoreV1Event) -> datetime:
    """When ``event`` last happened: ``lastTimestamp``, else ``eventTime``, else ``firstTimestamp``,
    else its creation time (a timezone-aware datetime; the Unix epoch if it has none of them)."""
    return (event.last_timestamp or event.event_time or event.first_timestamp
            or event.metadata.creation_timestamp or _EPOCH)


def events_about(cluster: Cluster, namespace: str, name: str | None = None,
                 reason: str | None = None) -> list[client.CoreV1Event]:
    """Events of ``namespace`` about the object ``name`` (any object if None) with ``reason`` (any if
    None), oldest first. kubectl: ``kubectl get events --field-selector involvedObject.name=<name>``."""
    selectors = ([f"involvedObject.name={name}"] if name else []) + ([f"reason={reason}"] if reason else [])
    items = cluster.core.list_namespaced_event(namespace, field_selector=",".join(selectors) or None).items
    return sorted(items, key=event_time)


def newest_event(cluster: Cluster, namespace: str, name: str, reason: str) -> client.CoreV1Event | None:
    """The newest Event with ``reason`` about object ``name`` in ``namespace``, or None."""
    found = events_about(cluster, namespace, name, reason)
    return found[-1] if found else None
