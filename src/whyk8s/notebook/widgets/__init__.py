"""Live widgets (ipywidgets) that deploy to the course cluster and show what Kubernetes does.

- :class:`PodLauncher` (``launcher``): name, image, CPU, memory, GPUs (and namespace) → Deploy a Pod.
- :class:`PodBoard` (``boards``): the course's pods as ``kubectl get pods`` shows them, live.
- :class:`PlacementBoard` (``boards``): nodes as columns with pods as chips; Pending pods with the
  scheduler's reason.
- :class:`ScaleControl` (``scaling``): replicas slider + Apply; desired vs actual pods, live.
- :class:`RollingUpdate` (``rollout``): change a Deployment's image and watch its two ReplicaSets.
- :class:`QueueBoard` (``queues``): Kueue's ClusterQueues (Workloads pending / admitted / finished,
  quota used and borrowed) and why each waiting Workload waits, live.
- :class:`NodeBoard` (``nodes``): the Nodes with their pool, maker (layout or Karpenter), GPUs and
  age, and the Nodes joining and leaving, live.

Every widget acts through :mod:`whyk8s.k8s.objects` (so the guard and the namespace rules hold),
shows every problem in place as one sentence, and without a course cluster shows the
start-the-cluster panel with a Retry button instead of raising (``base``). Units: CPU in
millicores, memory in bytes (shown in MiB/GiB), GPUs as whole ``nvidia.com/gpu``.
"""

from whyk8s.notebook.widgets.boards import PlacementBoard, PodBoard
from whyk8s.notebook.widgets.launcher import PodLauncher
from whyk8s.notebook.widgets.nodes import NodeBoard
from whyk8s.notebook.widgets.queues import QueueBoard
from whyk8s.notebook.widgets.rollout import RollingUpdate
from whyk8s.notebook.widgets.scaling import MAX_REPLICAS, ScaleControl

__all__ = ["PodLauncher", "PodBoard", "PlacementBoard", "ScaleControl", "RollingUpdate", "QueueBoard", "NodeBoard", "MAX_REPLICAS"]
