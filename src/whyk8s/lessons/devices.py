"""How a pod gets a device: device plugins, Dynamic Resource Allocation (DRA), and GPU sharing.

Chapter 4a shows these as manifests, not live: they name NVIDIA's driver, which the course cluster
does not run. What the course checks on its real v1.36 API server is that the DRA manifests are valid
there: :func:`dry_run` sends one with ``dryRun=All`` (validated and admitted, never stored). The
chapter then runs DRA live on the kwok route with devices the course publishes itself under its own
driver name (:mod:`whyk8s.lessons.dra`).

- :data:`EXAMPLES` — the manifests, name → YAML text:

  - ``device-class`` — a DeviceClass (``resource.k8s.io/v1``, GA since v1.34) selecting the devices a
    DRA driver published for ``gpu.nvidia.com`` (a CEL expression over each device's driver);
  - ``claim-template`` — a ResourceClaimTemplate asking for exactly one device of that class;
  - ``pod-with-claim`` — a Pod whose container uses a claim made from that template;
  - ``mig-pod`` — a Pod asking the NVIDIA device plugin (MIG "mixed" strategy) for one MIG slice,
    ``nvidia.com/mig-1g.10gb`` (a name that depends on the GPU model);
  - ``time-slicing-config`` — the NVIDIA device plugin's ConfigMap that advertises each GPU 4 times.

Sources: kubernetes.io "Dynamic Resource Allocation" and "Device Plugins"; NVIDIA GPU Operator docs
"GPU Operator with MIG" and "Time-Slicing GPUs in Kubernetes".
"""

from __future__ import annotations

import yaml
from kubernetes import client

from whyk8s.k8s.guard import Cluster
from whyk8s.k8s.rights import Access, can

__all__ = ["EXAMPLES", "DRA_EXAMPLES", "manifest", "dry_run"]

EXAMPLES: dict[str, str] = {
    "device-class": """\
apiVersion: resource.k8s.io/v1
kind: DeviceClass
metadata:
  name: gpu.example.com
spec:
  selectors:
  - cel:
      expression: device.driver == "gpu.nvidia.com"
""",
    "claim-template": """\
apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata:
  name: one-gpu
spec:
  spec:
    devices:
      requests:
      - name: gpu
        exactly:
          deviceClassName: gpu.example.com
          count: 1
""",
    "pod-with-claim": """\
apiVersion: v1
kind: Pod
metadata:
  name: train-dra
spec:
  restartPolicy: Never
  resourceClaims:
  - name: gpu
    resourceClaimTemplateName: one-gpu
  containers:
  - name: train
    image: busybox:1.36
    command: ["sh", "-c", "sleep 5"]
    resources:
      claims:
      - name: gpu
""",
    "mig-pod": """\
apiVersion: v1
kind: Pod
metadata:
  name: notebook-mig
spec:
  containers:
  - name: notebook
    image: busybox:1.36
    command: ["sh", "-c", "sleep 3600"]
    resources:
      limits:
        nvidia.com/mig-1g.10gb: 1
  tolerations:
  - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
""",
    "time-slicing-config": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: time-slicing-config
  namespace: gpu-operator
data:
  any: |-
    version: v1
    sharing:
      timeSlicing:
        resources:
        - name: nvidia.com/gpu
          replicas: 4
""",
}

#: The examples that belong to the Kubernetes API itself (DRA), which :func:`dry_run` can check.
DRA_EXAMPLES = ("device-class", "claim-template", "pod-with-claim")


def manifest(name: str) -> dict:
    """The example ``name`` of :data:`EXAMPLES` as a dict. Raises KeyError naming the choices."""
    if name not in EXAMPLES:
        raise KeyError(f"No example {name!r}; choose one of {', '.join(EXAMPLES)}.")
    return yaml.safe_load(EXAMPLES[name])


def dry_run(cluster: Cluster, name: str) -> str:
    """Send the DRA example ``name`` (one of :data:`DRA_EXAMPLES`) to the course's API server with
    ``dryRun=All``: it is validated and admitted like a real request, but nothing is stored. Returns
    one sentence ("accepted ...") or raises ApiException with the API server's refusal (e.g. 404 if
    the ``resource.k8s.io/v1`` API were not served). The Pod and the template go to the course
    namespace. kubectl: ``kubectl apply --dry-run=server -f <file>``. A user who may not create the
    kind (a workshop participant, for the cluster-wide DeviceClass: even a dry run needs the right)
    gets a sentence saying so instead, and nothing is sent."""
    if name not in DRA_EXAMPLES:
        raise KeyError(f"Only the DRA examples can be sent: {', '.join(DRA_EXAMPLES)}.")
    body = manifest(name)
    ns = cluster.namespace
    resource = client.ResourceV1Api(cluster.api)
    plural = {"DeviceClass": "deviceclasses", "ResourceClaimTemplate": "resourceclaimtemplates"}.get(body["kind"])
    group = "resource.k8s.io" if plural else ""
    access = Access("create", plural or "pods", group, None if body["kind"] == "DeviceClass" else ns)
    if not can(cluster, access):
        return (f"{body['kind']} {body['metadata']['name']}: not sent. Your kubeconfig's user may not "
                f"{access} (a workshop account has rights in its own namespace only): this check is the "
                f"instructor's demonstration.")
    if body["kind"] == "DeviceClass":
        resource.create_device_class(body, dry_run="All")
    elif body["kind"] == "ResourceClaimTemplate":
        resource.create_namespaced_resource_claim_template(ns, body, dry_run="All")
    else:
        cluster.core.create_namespaced_pod(ns, body, dry_run="All")
    return f"{body['kind']} {body['metadata']['name']}: accepted by the API server ({body['apiVersion']}, dry run)."
