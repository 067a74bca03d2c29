"""What the kubeconfig's user may do, asked of the API server; the instructor's demonstrations.

In a workshop (:mod:`whyk8s.cluster.workshop`) each learner's kubeconfig holds a ServiceAccount token
whose rights end at the learner's own namespace. Some of the course's steps need cluster-wide rights
(cordoning, draining or deleting a node, creating PriorityClasses or namespaces, advertising GPUs):
those steps call :func:`require` first, which asks the API server (a SelfSubjectAccessReview,
kubernetes.io "Authorization": "Checking API access") and, when the answer is no, raises
:class:`InstructorDemonstration`, whose message says in one sentence that this step is the
instructor's to show. :func:`instructor_step` turns a 403 that slips through into the same sentence,
so a learner never sees a 403 traceback.

:func:`rights_table` is ``kubectl auth can-i`` as a table: for each of the objects the course uses,
which verbs a user may use in a namespace or across the cluster.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from kubernetes import client

from whyk8s.errors import CourseError

__all__ = ["InstructorDemonstration", "Access", "can", "require", "instructor_step", "rights_table",
           "VERBS", "COURSE_RESOURCES"]

#: The verbs of ``kubectl auth can-i`` the tables show.
VERBS = ("get", "list", "watch", "create", "patch", "delete")

#: (API group, resource, namespaced) for the objects the course's chapters and labs touch.
COURSE_RESOURCES = (
    ("", "pods", True), ("", "pods/log", True), ("", "pods/eviction", True), ("", "pods/exec", True),
    ("", "services", True), ("", "configmaps", True),
    ("", "events", True), ("", "resourcequotas", True), ("", "limitranges", True),
    ("apps", "deployments", True), ("apps", "replicasets", True), ("batch", "jobs", True),
    ("autoscaling", "horizontalpodautoscalers", True),
    ("", "nodes", False), ("", "namespaces", False), ("scheduling.k8s.io", "priorityclasses", False),
    ("resource.k8s.io", "deviceclasses", False),
)


class InstructorDemonstration(CourseError):
    """A step needs rights the kubeconfig's user lacks (in a workshop: cluster-wide rights, which only
    the instructor holds). The message says which right and that the instructor shows this step."""


@dataclass(frozen=True)
class Access:
    """One question to the API server: may the user ``verb`` the ``resource`` (``"pods"``,
    ``"pods/eviction"``: a subresource after the slash) of API ``group`` (``""`` = core) in
    ``namespace`` (None: across the cluster, or a cluster-scoped kind)."""

    verb: str
    resource: str
    group: str = ""
    namespace: str | None = None

    def attributes(self):
        resource, _, sub = self.resource.partition("/")
        return client.V1ResourceAttributes(verb=self.verb, group=self.group, resource=resource,
                                           subresource=sub or None, namespace=self.namespace)

    def __str__(self) -> str:
        what = self.resource + (f" ({self.group})" if self.group else "")
        return f"{self.verb} {what}" + (f" in namespace {self.namespace}" if self.namespace else "")


def can(cluster, access: Access, user: str | None = None) -> bool:
    """True when the API server says the kubeconfig's user (or ``user``, e.g.
    ``system:serviceaccount:<ns>:<name>``, which needs the right to create SubjectAccessReviews) may
    do ``access``. One SelfSubjectAccessReview (``kubectl auth can-i <verb> <resource>``) or
    SubjectAccessReview (``kubectl auth can-i … --as <user>``). Raises ApiException if the review
    itself is refused."""
    api = client.AuthorizationV1Api(cluster.api)
    if user is None:
        body = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=access.attributes()))
        return bool(api.create_self_subject_access_review(body).status.allowed)
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{user.split(':')[2]}", "system:authenticated"] \
        if user.startswith("system:serviceaccount:") else ["system:authenticated"]
    body = client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
        user=user, groups=groups, resource_attributes=access.attributes()))
    return bool(api.create_subject_access_review(body).status.allowed)


def _sentence(step: str, missing: str) -> str:
    return (f"{step}: this step is the instructor's demonstration. Your kubeconfig's user may not "
            f"{missing} (a workshop account has rights in its own namespace only), so watch it on the "
            f"instructor's screen.")


def require(cluster, step: str, *accesses: Access) -> None:
    """Raise :class:`InstructorDemonstration` naming ``step`` (e.g. ``"Draining a node"``) unless the
    user may do every one of ``accesses``; do nothing when it may (the course cluster's own admin
    kubeconfig may do everything). Each access costs one SelfSubjectAccessReview."""
    for access in accesses:
        if not can(cluster, access):
            raise InstructorDemonstration(_sentence(step, str(access)))


@contextlib.contextmanager
def instructor_step(step: str):
    """Within this block, a 403 refusal of the API server for RBAC reasons (its message says the user
    "cannot" do something) is raised as :class:`InstructorDemonstration` naming ``step``; other errors
    pass unchanged. The safety net behind :func:`require`, for a right it did not ask about."""
    try:
        yield
    except client.ApiException as exc:
        body = exc.body or ""
        if exc.status == 403 and " cannot " in (body if isinstance(body, str) else str(body)):
            from whyk8s.errors import explain
            raise InstructorDemonstration(_sentence(step, f"do what it asked ({explain(exc)})")) from exc
        raise


def rights_table(cluster, namespace: str, user: str | None = None, other_namespace: str | None = None,
                 resources=COURSE_RESOURCES, verbs=VERBS):
    """``kubectl auth can-i`` for the course's objects, as a pandas DataFrame: one row per resource
    and scope, columns ``resource``, ``scope`` (``namespace <ns>``, ``namespace <other>``, or
    ``cluster``) and one yes/no column per verb in ``verbs``. Namespaced resources are asked about in
    ``namespace`` (and in ``other_namespace`` if given, e.g. another participant's); cluster-scoped
    ones across the cluster. ``user`` as in :func:`can` (None: the kubeconfig's own user). Costs
    one review per cell (about 15 × 6 requests per scope)."""
    import pandas as pd
    rows = []
    for group, resource, namespaced in resources:
        scopes = ([namespace] + ([other_namespace] if other_namespace else [])) if namespaced else [None]
        for ns in scopes:
            row = {"resource": resource + (f".{group}" if group else ""),
                   "scope": f"namespace {ns}" if ns else "cluster"}
            for verb in verbs:
                row[verb] = "yes" if can(cluster, Access(verb, resource, group, ns), user=user) else "no"
            rows.append(row)
    return pd.DataFrame(rows, columns=["resource", "scope", *verbs])
