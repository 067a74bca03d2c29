"""The context guard: course code acts only on the course's own cluster and its own namespaces.

A learner's kubeconfig may point at production. Every function of the course that talks to a cluster
gets its client from :func:`connect`, which refuses unless the kubeconfig context it would use is a
course cluster (``kind-whyk8s`` or ``kwok-whyk8s``) whose API server is on this machine, or the user
opted in to that context by name with ``WHYK8S_ALLOW_CONTEXT=<context>``, or it is a workshop
participant's context (named ``whyk8s-workshop-<participant>``: ``whyk8s workshop up`` writes it, with a
ServiceAccount token whose rights end at that participant's namespace, on whatever cluster the
instructor chose, so its server need not be on this machine). The providers' acts
(``whyk8s cluster up/stop/down``) pass the same check (:func:`check_provider_context`).

The kubeconfig is read as kubectl reads it: ``$KUBECONFIG`` may list several files; the current
context is the first non-empty ``current-context`` in that order (kubernetes.io, "Organizing Cluster
Access Using kubeconfig Files": "the first file to set a particular value or map key wins").

Within a cluster, :meth:`Cluster.check_namespace` is the namespace half of the promise: the course
creates, changes and deletes only in its own namespace (``whyk8s``) or in namespaces it created
(labelled ``app.kubernetes.io/part-of=whyk8s``), never in ``default`` or ``kube-*``. With a
workshop context, the course's own namespace is the one the context names (the participant's,
:func:`default_namespace`); any other context's namespace setting is ignored, so a namespace picked
with ``kubectl config set-context --namespace`` never becomes the course's.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from urllib.parse import urlparse

import yaml
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from whyk8s import COURSE_SELECTOR, DEFAULT_NAMESPACE, PART_OF_LABEL
from whyk8s.errors import ClusterUnreachableError, NamespaceRefused, NotCourseClusterError, explain

__all__ = ["COURSE_CONTEXTS", "ALLOW_ENV", "allowed_contexts", "kubeconfig_files", "kubeconfig_path",
           "current_context", "kubeconfig_contexts", "context_server", "check_context", "check_provider_context",
           "connect", "Cluster", "is_course_labelled", "SYSTEM_NAMESPACES", "WORKSHOP_CONTEXT_PREFIX",
           "is_workshop_context", "context_namespace", "default_namespace"]

#: kubeconfig contexts that kind and kwokctl write for a cluster named ``whyk8s``.
COURSE_CONTEXTS = ("kind-whyk8s", "kwok-whyk8s")
#: Prefix of the contexts ``whyk8s workshop up`` writes into each participant's kubeconfig.
WORKSHOP_CONTEXT_PREFIX = "whyk8s-workshop-"
#: Environment variable naming one extra context the user opts in to.
ALLOW_ENV = "WHYK8S_ALLOW_CONTEXT"
#: Seconds to wait for the API server when checking it is reachable.
PROBE_TIMEOUT = 5
#: Namespaces the course never creates into or deletes from, whatever their labels.
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def allowed_contexts() -> set[str]:
    """The course contexts plus the one named in ``WHYK8S_ALLOW_CONTEXT`` (if set)."""
    allowed = set(COURSE_CONTEXTS)
    extra = opted_in()
    if extra:
        allowed.add(extra)
    return allowed


def opted_in() -> str | None:
    """The context named in ``WHYK8S_ALLOW_CONTEXT``, or None."""
    return os.environ.get(ALLOW_ENV, "").strip() or None


def kubeconfig_files(kubeconfig: str | None = None) -> list[str]:
    """The kubeconfig files kubectl would read, in order: ``kubeconfig`` (a path, or several joined by
    ``os.pathsep``), else ``$KUBECONFIG``, else ``~/.kube/config``. Files that do not exist are left
    out (kubectl skips them too)."""
    spec = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    paths = [os.path.expanduser(p) for p in spec.split(os.pathsep) if p.strip()]
    return [p for p in paths if os.path.isfile(p)]


def kubeconfig_path(kubeconfig: str | None = None) -> str:
    """The same files as :func:`kubeconfig_files`, joined by ``os.pathsep`` for the official client."""
    return os.pathsep.join(kubeconfig_files(kubeconfig))


def _read(path: str) -> dict:
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def current_context(kubeconfig: str | None = None) -> str | None:
    """The context kubectl would use: the first non-empty ``current-context`` among
    :func:`kubeconfig_files`, or None when no file sets one."""
    for path in kubeconfig_files(kubeconfig):
        name = _read(path).get("current-context")
        if name:
            return str(name)
    return None


def context_server(context: str, kubeconfig: str | None = None) -> str | None:
    """The API server URL of ``context`` as kubectl resolves it (the first file defining the context,
    then the first defining its cluster), or None if the kubeconfig does not define it."""
    files = [_read(p) for p in kubeconfig_files(kubeconfig)]
    cluster_name = None
    for data in files:
        for ctx in data.get("contexts") or []:
            if isinstance(ctx, dict) and ctx.get("name") == context:
                cluster_name = (ctx.get("context") or {}).get("cluster")
                break
        if cluster_name:
            break
    if not cluster_name:
        return None
    for data in files:
        for cl in data.get("clusters") or []:
            if isinstance(cl, dict) and cl.get("name") == cluster_name:
                return (cl.get("cluster") or {}).get("server")
    return None


def is_workshop_context(context: str | None) -> bool:
    """True for a workshop participant's context (``whyk8s-workshop-<participant>``)."""
    return bool(context) and context.startswith(WORKSHOP_CONTEXT_PREFIX) and len(context) > len(WORKSHOP_CONTEXT_PREFIX)


def context_namespace(context: str, kubeconfig: str | None = None) -> str | None:
    """The ``namespace`` a kubeconfig context sets (the first file defining the context), or None."""
    for path in kubeconfig_files(kubeconfig):
        for ctx in _read(path).get("contexts") or []:
            if isinstance(ctx, dict) and ctx.get("name") == context:
                ns = (ctx.get("context") or {}).get("namespace")
                return str(ns) if ns else None
    return None


def default_namespace(context: str | None = None, kubeconfig: str | None = None) -> str:
    """The namespace the course works in for ``context`` (default: the current one): a workshop
    context's own namespace (the participant's), else ``whyk8s``. Never raises."""
    context = context or current_context(kubeconfig)
    if is_workshop_context(context):
        return context_namespace(context, kubeconfig) or DEFAULT_NAMESPACE
    return DEFAULT_NAMESPACE


def _is_local(server: str) -> bool:
    host = urlparse(server).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def kubeconfig_contexts(kubeconfig: str | None = None) -> list[str]:
    """Names of the contexts the kubeconfig files define (:func:`kubeconfig_files`), in file order."""
    names: list[str] = []
    for path in kubeconfig_files(kubeconfig):
        for ctx in _read(path).get("contexts") or []:
            if isinstance(ctx, dict) and ctx.get("name") and str(ctx["name"]) not in names:
                names.append(str(ctx["name"]))
    return names


def _switch_hint(kubeconfig: str | None) -> str:
    """How to make a course context current: ``kubectl config use-context`` naming one the kubeconfig
    defines (kubectl writes it into the first file of ``$KUBECONFIG``, so it wins), else ``whyk8s
    cluster up``, which writes the course's context and makes it current."""
    usable = [c for c in kubeconfig_contexts(kubeconfig) if c in allowed_contexts()]
    if usable:
        return (f"Choose the course's with `kubectl config use-context {usable[0]}`, or run "
                f"`whyk8s cluster up` (it starts the course cluster and makes its context current)")
    return ("Run `whyk8s cluster up`: it starts the course cluster and makes its context (kwok-whyk8s or "
            "kind-whyk8s) current")


def _source(kubeconfig: str | None) -> str:
    """Where kubectl found the current context, when ``$KUBECONFIG`` lists several files."""
    files = kubeconfig_files(kubeconfig)
    if len(files) < 2:
        return ""
    for path in files:
        if _read(path).get("current-context"):
            return (f" (KUBECONFIG lists {len(files)} files; kubectl, and the course, take the current "
                    f"context from the first that sets one: {path})")
    return f" (none of the {len(files)} files in KUBECONFIG sets one)"


def check_context(context: str | None, kubeconfig: str | None = None) -> str:
    """Return ``context`` if the course may act on it, else raise.

    Raises :class:`ClusterUnreachableError` when there is no context (no kubeconfig file: the hint is
    ``whyk8s cluster up``; or files that set no ``current-context``: the hint is ``kubectl config
    use-context`` with a course context they define), and :class:`NotCourseClusterError` for a context
    that is not a course context, or a course-named context whose API server is not on this machine
    (kind and kwokctl always write a loopback address), unless ``WHYK8S_ALLOW_CONTEXT`` names it.
    Each message says how to go on, and which file the current context came from when ``$KUBECONFIG``
    lists several.
    """
    if context is None:
        if kubeconfig_files(kubeconfig):
            raise ClusterUnreachableError(
                f"Your kubeconfig has no current context{_source(kubeconfig)}, so neither kubectl nor the "
                f"course knows which cluster to use. {_switch_hint(kubeconfig)}.")
        raise ClusterUnreachableError(
            "No kubeconfig found. Start the course cluster with `whyk8s cluster up` "
            "(or `make lab`); it writes the context kind-whyk8s or kwok-whyk8s.")
    if context == opted_in() or is_workshop_context(context):
        return context
    if context not in COURSE_CONTEXTS:
        raise NotCourseClusterError(
            f"Refusing to act on kubeconfig context {context!r}{_source(kubeconfig)}: it is not a course "
            f"cluster ({', '.join(COURSE_CONTEXTS)}). A kubeconfig may point at production, so the course "
            f"only touches its own cluster. {_switch_hint(kubeconfig)}; if you really mean this cluster, "
            f"set {ALLOW_ENV}={context}.")
    server = context_server(context, kubeconfig)
    if server and not _is_local(server):
        raise NotCourseClusterError(
            f"Refusing to act on kubeconfig context {context!r}: it has a course cluster's name but its "
            f"API server {server} is not on this machine (kind and kwok clusters listen on 127.0.0.1). "
            f"If you really mean that cluster, set {ALLOW_ENV}={context}.")
    return context


def check_provider_context(context: str, kubeconfig: str | None = None) -> str:
    """The guard for the providers' acts (create, start, stop, delete a cluster): the context the
    provider would write or remove must be a course context or opted in by name, and, where the
    kubeconfig already defines it, point at this machine. Returns ``context``; raises
    :class:`NotCourseClusterError` (before any command runs). Example: ``WHYK8S_CLUSTER=mine whyk8s
    cluster down --provider kind`` is refused unless ``WHYK8S_ALLOW_CONTEXT=kind-mine`` says the user
    means that cluster."""
    if context != opted_in() and context not in COURSE_CONTEXTS:
        raise NotCourseClusterError(
            f"Refusing to create, start, stop or delete the cluster of context {context!r}: it is not a "
            f"course cluster ({', '.join(COURSE_CONTEXTS)}), and WHYK8S_CLUSTER may name a cluster of "
            f"yours. If you really mean that cluster, set {ALLOW_ENV}={context}.")
    return check_context(context, kubeconfig)


def is_course_labelled(obj) -> bool:
    """True when ``obj`` (a client object with ``metadata``) carries ``app.kubernetes.io/part-of=whyk8s``."""
    labels = (obj.metadata.labels if obj is not None and obj.metadata else None) or {}
    return labels.get(PART_OF_LABEL[0]) == PART_OF_LABEL[1]


@dataclass
class Cluster:
    """A guarded connection to the course cluster.

    Attributes: ``context`` (kubeconfig context name), ``namespace`` (where course objects live),
    ``api`` (:class:`kubernetes.client.ApiClient`), and the typed APIs ``core``, ``apps``, ``batch``,
    ``scheduling``, ``coordination``, ``autoscaling`` (``autoscaling/v2``).
    """

    context: str
    namespace: str
    api: client.ApiClient
    core: client.CoreV1Api = field(init=False)
    apps: client.AppsV1Api = field(init=False)
    batch: client.BatchV1Api = field(init=False)
    scheduling: client.SchedulingV1Api = field(init=False)
    coordination: client.CoordinationV1Api = field(init=False)
    autoscaling: client.AutoscalingV2Api = field(init=False)

    def __post_init__(self) -> None:
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.batch = client.BatchV1Api(self.api)
        self.scheduling = client.SchedulingV1Api(self.api)
        self.coordination = client.CoordinationV1Api(self.api)
        self.autoscaling = client.AutoscalingV2Api(self.api)

    @property
    def labels(self) -> dict[str, str]:
        """Labels every object the course creates carries."""
        return {PART_OF_LABEL[0]: PART_OF_LABEL[1]}

    @property
    def selector(self) -> str:
        """Label selector matching exactly the course's objects."""
        return COURSE_SELECTOR

    def check_namespace(self, name: str | None = None) -> str:
        """Return ``name`` (default: the course namespace) if the course may create, change or delete
        there: the course namespace, or an existing namespace carrying the course label. A namespace
        that does not exist yet is allowed (the course would create it, labelled).

        Raises :class:`~whyk8s.errors.NamespaceRefused` for ``default``, ``kube-*`` and any existing
        namespace the course did not create; ValueError for an invalid name; ApiException if the API
        server refuses to say.
        """
        from whyk8s.k8s.specs import validate_name  # specs imports nothing from here

        name = validate_name(name or self.namespace, kind="namespace")
        if name in SYSTEM_NAMESPACES or name.startswith("kube-"):
            raise NamespaceRefused(f"Namespace {name!r} belongs to the cluster itself: the course never "
                                   f"creates or deletes anything there. Use {self.namespace!r}.")
        if name == self.namespace:
            return name
        try:
            obj = self.core.read_namespace(name)
        except client.ApiException as exc:
            if exc.status == 404:
                return name
            raise
        if not is_course_labelled(obj):
            raise NamespaceRefused(
                f"Namespace {name!r} was not created by the course (it lacks the label "
                f"{COURSE_SELECTOR}): the course only acts in {self.namespace!r} or in namespaces it "
                f"created.")
        return name

    def ensure_namespace(self, name: str | None = None) -> str:
        """Create namespace ``name`` (default: the course namespace) with the course label if missing,
        after :meth:`check_namespace`. Returns the name. Raises what :meth:`check_namespace` raises,
        and ApiException (e.g. 403) if the API server refuses to create it."""
        name = self.check_namespace(name)
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


def connect(namespace: str | None = None, context: str | None = None,
            kubeconfig: str | None = None, create_namespace: bool = False) -> Cluster:
    """Connect to the course cluster and return a :class:`Cluster`.

    ``context`` defaults to the kubeconfig's current context as kubectl picks it (:func:`current_context`);
    ``kubeconfig`` to ``$KUBECONFIG`` or ``~/.kube/config``. The context must pass :func:`check_context`.
    ``namespace`` defaults to :func:`default_namespace` (``whyk8s``, or a workshop participant's own).
    The API server is probed (``/version``, :data:`PROBE_TIMEOUT` seconds). With ``create_namespace``,
    the course namespace is created (labelled) if missing; nothing else is written.

    Raises :class:`NotCourseClusterError` for a foreign context and :class:`ClusterUnreachableError`
    when there is no kubeconfig context or no API server answers (the message says which).
    """
    context = check_context(context or current_context(kubeconfig), kubeconfig)
    files = kubeconfig_path(kubeconfig)
    try:
        api = config.new_client_from_config(config_file=files or None, context=context)
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        raise ClusterUnreachableError(
            f"Could not load the kubeconfig for context {context!r} ({exc}). "
            "Run `whyk8s cluster up` to write it again."
        ) from exc
    cluster = Cluster(context=context, namespace=namespace or default_namespace(context, kubeconfig), api=api)
    try:
        client.VersionApi(api).get_code(_request_timeout=PROBE_TIMEOUT)
    except client.ApiException as exc:
        if exc.status == 0:  # the client's way of reporting a TLS failure: nothing answered
            raise ClusterUnreachableError(f"Context {context} ({api.configuration.host}): {explain(exc)}") from exc
        # else it answered: reachable, even if /version is forbidden
    except Exception as exc:  # urllib3 connection errors and friends
        raise ClusterUnreachableError(f"Context {context} ({api.configuration.host}): {explain(exc)}") from exc
    if create_namespace:
        cluster.ensure_namespace()
    return cluster
