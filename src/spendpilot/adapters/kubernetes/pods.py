"""Pods, with their top-level owner: a ReplicaSet resolved to its Deployment, a Job to its CronJob.

A pod's ``ownerReferences`` name its direct controller; a Deployment's pods are owned by a
ReplicaSet and a CronJob's by a Job, and what a person changes (and what spendpilot patches) is
the Deployment or CronJob, so the owner is followed one step up where there is one.
"""

from __future__ import annotations

from typing import Any

from spendpilot.adapters.kubernetes._objects import containers, meta, timestamp
from spendpilot.domain.kubernetes import KubePod, OwnerRef


def controller_of(obj: dict[str, Any]) -> OwnerRef | None:
    refs = meta(obj).get("ownerReferences") or []
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    return OwnerRef(kind=str(ref.get("kind", "")), name=str(ref.get("name", ""))) if ref else None


def owner_index(
    replicasets: list[dict[str, Any]], jobs: list[dict[str, Any]]
) -> dict[tuple[str, str, str], OwnerRef]:
    """(kind, namespace, name) of a ReplicaSet or Job -> its own controller (Deployment, CronJob)."""
    index: dict[tuple[str, str, str], OwnerRef] = {}
    for kind, objs in (("ReplicaSet", replicasets), ("Job", jobs)):
        for obj in objs:
            parent = controller_of(obj)
            if parent is not None:
                index[(kind, meta(obj).get("namespace", ""), meta(obj).get("name", ""))] = parent
    return index


def read_pod(obj: dict[str, Any], owners: dict[tuple[str, str, str], OwnerRef]) -> KubePod:
    m, spec, status = meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    namespace = str(m.get("namespace", "default"))
    owner = controller_of(obj)
    if owner is not None:
        owner = owners.get((owner.kind, namespace, owner.name), owner)
    finished = [
        timestamp(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        for cs in status.get("containerStatuses") or []
    ]
    return KubePod(
        namespace=namespace,
        name=str(m.get("name", "")),
        node=spec.get("nodeName"),
        phase=str(status.get("phase", "Pending")),
        owner=owner,
        containers=containers("Pod", obj, spec),
        labels=dict(m.get("labels") or {}),
        annotations=dict(m.get("annotations") or {}),
        pvc_names=[
            v["persistentVolumeClaim"]["claimName"]
            for v in spec.get("volumes") or []
            if (v.get("persistentVolumeClaim") or {}).get("claimName")
        ],
        node_selector=dict(spec.get("nodeSelector") or {}),
        tolerations=[{k: str(v) for k, v in t.items()} for t in spec.get("tolerations") or []],
        started_at=timestamp(status.get("startTime")),
        finished_at=max((f for f in finished if f), default=None)
        if status.get("phase") in ("Succeeded", "Failed")
        else None,
    )
