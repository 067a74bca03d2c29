"""The context guard: course code acts only on the course's own cluster.

A learner's kubeconfig may point at production. Every function of the course that talks to a cluster
gets its client from :func:`connect`, which refuses unless the kubeconfig context it would use is a
course cluster (``kind-whyk8s`` or ``kwok-whyk8s``) or the user opted in to another context by name
with the environment variable ``WHYK8S_ALLOW_CONTEXT=<context>``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from whyk8s import COURSE_SELECTOR, DEFAULT_NAMESPACE, PART_OF_LABEL
from whyk8s.errors import ClusterUnreachableError, NotCourseClusterError

__all__ = ["COURSE_CONTEXTS", "ALLOW_ENV", "allowed_contexts", "current_context", "check_context",
           "connect", "Cluster"]

#: kubeconfig contexts that kind and kwokctl write for a cluster named ``whyk8s``.
COURSE_CONTEXTS = ("kind-whyk8s", "kwok-whyk8s")
#: Environment variable naming one extra context the user opts in to.
ALLOW_ENV = "WHYK8S_ALLOW_CONTEXT"
#: Seconds to wait for the API server when checking it is reachable.
PROBE_TIMEOUT = 5


def allowed_contexts() -> set[str]:
    """The course contexts plus the one named in ``WHYK8S_ALLOW_CONTEXT`` (if set)."""
    allowed = set(COURSE_CONTEXTS)
    extra = os.environ.get(ALLOW_ENV, "").strip()
    if extra:
        allowed.add(extra)
    return allowed


def kubeconfig_path(kubeconfig: str | None = None) -> str:
    """The kubeconfig to read: ``kubeconfig``, else ``$KUBECONFIG`` (read now, so a change made after
    import counts; ``:``-separated lists are merged by the client), else ``~/.kube/config``."""
    path = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    return os.pathsep.join(os.path.expanduser(p) for p in path.split(os.pathsep))


def current_context(kubeconfig: str | None = None) -> str | None:
    """Name of the current context in ``kubeconfig`` (default: ``$KUBECONFIG`` or ``~/.kube/config``).

    Returns None when there is no kubeconfig or it has no current context.
    """
    try:
        _, active = config.list_kube_config_contexts(config_file=kubeconfig_path(kubeconfig))
    except (ConfigException, OSError, TypeError, ValueError):
        return None
    return (active or {}).get("name")


def check_context(context: str | None) -> str:
    """Return ``context`` if the course may act on it, else raise :class:`NotCourseClusterError`.

    The error says which context was refused and the two ways forward.
    """
    if context is None:
        raise ClusterUnreachableError(
            "No kubeconfig context found. Start the course cluster with `whyk8s cluster up` "
            "(or `make lab`); it writes the context kind-whyk8s or kwok-whyk8s."
        )
    if context not in allowed_contexts():
        raise NotCourseClusterError(
            f"Refusing to act on kubeconfig context {context!r}: it is not a course cluster "
            f"({', '.join(COURSE_CONTEXTS)}). A kubeconfig may point at production, so the course "
            f"only touches its own cluster. Run `whyk8s cluster up` and use its context "
            f"(`kubectl config use-context kwok-whyk8s` or `kind-whyk8s`), or, if you really mean "
            f"this cluster, set {ALLOW_ENV}={context}."
        )
    return context


@dataclass
class Cluster:
    """A guarded connection to the course cluster.

    Attributes: ``context`` (kubeconfig context name), ``namespace`` (where course objects live),
    ``api`` (:class:`kubernetes.client.ApiClient`), and the typed APIs ``core``, ``apps``, ``batch``,
    ``scheduling``.
    """

    context: str
    namespace: str
    api: client.ApiClient
    core: client.CoreV1Api = field(init=False)
    apps: client.AppsV1Api = field(init=False)
    batch: client.BatchV1Api = field(init=False)
    scheduling: client.SchedulingV1Api = field(init=False)

    def __post_init__(self) -> None:
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.batch = client.BatchV1Api(self.api)
        self.scheduling = client.SchedulingV1Api(self.api)

    @property
    def labels(self) -> dict[str, str]:
        """Labels every object the course creates carries."""
        return {PART_OF_LABEL[0]: PART_OF_LABEL[1]}

    @property
    def selector(self) -> str:
        """Label selector matching exactly the course's objects."""
        return COURSE_SELECTOR

    def ensure_namespace(self, name: str | None = None) -> str:
        """Create namespace ``name`` (default: the course namespace) with the course label if missing.

        Returns the name. Raises :class:`kubernetes.client.ApiException` (e.g. 403) on refusal.
        """
        from whyk8s.k8s.specs import validate_name  # local import: specs imports nothing from here

        name = validate_name(name or self.namespace, kind="namespace")
        try:
            self.core.read_namespace(name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
            body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=self.labels))
            try:
                self.core.create_namespace(body)
            except client.ApiException as exc2:
                if exc2.status != 409:
                    raise
        return name


def connect(namespace: str = DEFAULT_NAMESPACE, context: str | None = None,
            kubeconfig: str | None = None, create_namespace: bool = True) -> Cluster:
    """Connect to the course cluster and return a :class:`Cluster`.

    ``context`` defaults to the kubeconfig's current context; ``kubeconfig`` to ``$KUBECONFIG`` or
    ``~/.kube/config``. The context must pass :func:`check_context`. The API server is probed
    (``/version``, :data:`PROBE_TIMEOUT` seconds) and the namespace created if missing.

    Raises :class:`NotCourseClusterError` for a foreign context and :class:`ClusterUnreachableError`
    when there is no kubeconfig or no API server answers.
    """
    kubeconfig = kubeconfig_path(kubeconfig)
    context = check_context(context or current_context(kubeconfig))
    try:
        api = config.new_client_from_config(config_file=kubeconfig, context=context)
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        raise ClusterUnreachableError(
            f"Could not load the kubeconfig for context {context!r} ({exc}). "
            "Start the course cluster with `whyk8s cluster up`."
        ) from exc
    cluster = Cluster(context=context, namespace=namespace, api=api)
    try:
        client.VersionApi(api).get_code(_request_timeout=PROBE_TIMEOUT)
    except client.ApiException:
        pass  # it answered: reachable, even if /version is forbidden
    except Exception as exc:  # urllib3 connection errors and friends
        raise ClusterUnreachableError(
            f"The course cluster (context {context}) did not answer at {api.configuration.host}. "
            "Start it with `whyk8s cluster up` (or `make lab`), then try again."
        ) from exc
    if create_namespace:
        cluster.ensure_namespace()
    return cluster
