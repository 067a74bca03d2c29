"""whyk8s: the package behind the course "Why Kubernetes?".

A thin, safe layer over the official ``kubernetes`` client: every object the course creates lives in
the course namespace and carries the label ``app.kubernetes.io/part-of=whyk8s``, and nothing acts on a
cluster unless its kubeconfig context is the course's own (see :mod:`whyk8s.k8s.guard`).
"""

__version__ = "0.1.0"

#: The label every object the course creates carries (key, value).
PART_OF_LABEL = ("app.kubernetes.io/part-of", "whyk8s")
#: ``key=value`` selector for the course label.
COURSE_SELECTOR = f"{PART_OF_LABEL[0]}={PART_OF_LABEL[1]}"
#: The namespace the course works in unless told otherwise.
DEFAULT_NAMESPACE = "whyk8s"
#: Label on a workshop participant's namespace and the objects ``whyk8s workshop up`` made for them.
PARTICIPANT_LABEL = "whyk8s.io/participant"
#: Label on nodes naming their pool (``cpu``, ``gpu``, ``highmem``).
POOL_LABEL = "whyk8s.io/pool"
#: The extended resource of the GPU node.
GPU_RESOURCE = "nvidia.com/gpu"
