"""What the Kubernetes actions share: RBAC rules as permissions, paths into pod templates,
and the ``ResourceRef`` a workload is known by.

An action's ``permissions`` are strings ``k8s:<group>/<resource>:<verb>`` (``core`` for the
core group), derived from its ``rbac`` rules, so ``spendpilot policy --kubernetes`` can print a
ClusterRole from the same declarations (and ``spendpilot policy`` keeps them out of the IAM
policy).
"""

from __future__ import annotations

from typing import Any

from spendpilot.actions.k8s_facts import WorkloadRef
from spendpilot.adapters.kubernetes.target import KubeTarget, resource_ref
from spendpilot.domain import Resource, ResourceRef

RbacRule = tuple[str, str, tuple[str, ...]]
"""(API group, resource, verbs): one Kubernetes RBAC rule."""

RESOURCE_OF_KIND: dict[str, tuple[str, str]] = {
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "Job": ("batch", "jobs"),
    "CronJob": ("batch", "cronjobs"),
}

POD_TEMPLATE_PATH: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
"""Where each kind keeps its pod template (a CronJob's is inside its jobTemplate)."""


def permission_strings(rules: tuple[RbacRule, ...]) -> tuple[str, ...]:
    return tuple(
        f"k8s:{group or 'core'}/{resource}:{verb}"
        for group, resource, verbs in rules
        for verb in verbs
    )


def nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """``{"a": {"b": value}}`` for path ("a", "b")."""
    out: Any = value
    for key in reversed(path):
        out = {key: out}
    return dict(out)


def dig(obj: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    cur: Any = obj
    for key in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur


def workload_resource(workload: WorkloadRef, labels: dict[str, str] | None = None) -> Resource:
    """The ``Resource`` a finding about ``workload`` is attached to (its labels as tags)."""
    return Resource(
        ref=resource_ref(workload),
        tags=dict(labels or {}),
        attributes={
            "cluster": workload.cluster,
            "kind": workload.kind,
            "namespace": workload.namespace,
        },
    )


def kube_target(ctx_target: Any, ref: ResourceRef) -> KubeTarget:
    if not isinstance(ctx_target, KubeTarget):
        raise TypeError(
            f"{ref.label()}: the target is {type(ctx_target).__name__}, not a Kubernetes cluster"
        )
    return ctx_target
