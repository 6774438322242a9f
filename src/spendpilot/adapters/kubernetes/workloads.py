"""Controllers (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs), HPAs, PVCs and PDBs."""

from __future__ import annotations

from typing import Any

from spendpilot.adapters.kubernetes._objects import containers, meta, timestamp, where
from spendpilot.adapters.kubernetes.pods import controller_of
from spendpilot.adapters.kubernetes.quantity import QuantityError, parse_quantity
from spendpilot.domain.kubernetes import KubeHpa, KubePdb, KubePvc, KubeWorkload
from spendpilot.errors import AdapterError


def read_workload(kind: str, obj: dict[str, Any]) -> KubeWorkload:
    m, spec, status = meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    job_spec = ((spec.get("jobTemplate") or {}).get("spec") or {}) if kind == "CronJob" else spec
    template = (
        job_spec.get("template") or {} if kind in ("Job", "CronJob") else spec.get("template") or {}
    )
    replicas = (
        spec.get("replicas", 1) if kind in ("Deployment", "StatefulSet", "ReplicaSet") else None
    )
    active = status.get("active")
    pod_spec = template.get("spec") or {}
    return KubeWorkload(
        kind=kind,
        namespace=str(m.get("namespace", "default")),
        name=str(m.get("name", "")),
        replicas=replicas,
        labels=dict(m.get("labels") or {}),
        annotations=dict(m.get("annotations") or {}),
        pod_template_labels=dict((template.get("metadata") or {}).get("labels") or {}),
        containers=containers(kind, obj, template.get("spec")),
        ttl_seconds_after_finished=job_spec.get("ttlSecondsAfterFinished")
        if kind in ("Job", "CronJob")
        else None,
        active_deadline_seconds=job_spec.get("activeDeadlineSeconds")
        if kind in ("Job", "CronJob")
        else None,
        started_at=timestamp(
            status.get("startTime") if kind == "Job" else status.get("lastScheduleTime")
        ),
        completed_at=timestamp(
            status.get("completionTime") if kind == "Job" else status.get("lastSuccessfulTime")
        ),
        # a CronJob's status.active is the list of its running Jobs; a Job's is a count
        active=len(active) if isinstance(active, list) else int(active or 0),
        succeeded=int(status.get("succeeded") or 0),
        failed=int(status.get("failed") or 0),
        suspended=bool(spec.get("suspend", False)),
        created_at=timestamp(m.get("creationTimestamp")),
        owner=controller_of(obj),
        pod_template_node_selector=dict(pod_spec.get("nodeSelector") or {}),
        pod_template_tolerations=[
            {k: str(v) for k, v in t.items()} for t in pod_spec.get("tolerations") or []
        ],
        pod_template_affinity=dict(pod_spec.get("affinity") or {}),
        schedule=spec.get("schedule") if kind == "CronJob" else None,
    )


def read_hpa(obj: dict[str, Any]) -> KubeHpa:
    m, spec = meta(obj), obj.get("spec") or {}
    target = spec.get("scaleTargetRef") or {}
    resources = []
    for metric in spec.get("metrics") or []:
        if metric.get("type") == "Resource":
            resources.append(str((metric.get("resource") or {}).get("name")))
        elif metric.get("type") == "ContainerResource":
            resources.append(str((metric.get("containerResource") or {}).get("name")))
    return KubeHpa(
        namespace=str(m.get("namespace", "default")), name=str(m.get("name", "")),
        target_kind=str(target.get("kind", "")), target_name=str(target.get("name", "")),
        resources=sorted(set(resources)), min_replicas=spec.get("minReplicas"), max_replicas=spec.get("maxReplicas"),
    )  # fmt: skip


def read_pvc(obj: dict[str, Any]) -> KubePvc:
    m, spec, status = meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    size = (status.get("capacity") or {}).get("storage") or (
        (spec.get("resources") or {}).get("requests") or {}
    ).get("storage")
    try:
        storage = parse_quantity(size) if size else 0.0
    except QuantityError as exc:
        raise AdapterError(f"{where('PersistentVolumeClaim', obj)}: {exc}") from exc
    return KubePvc(
        namespace=str(m.get("namespace", "default")), name=str(m.get("name", "")),
        access_modes=list(spec.get("accessModes") or []), storage_bytes=storage, storage_class=spec.get("storageClassName"),
    )  # fmt: skip


def read_pdb(obj: dict[str, Any]) -> KubePdb:
    m, spec, status = meta(obj), obj.get("spec") or {}, obj.get("status") or {}

    def text(v: Any) -> str | None:
        return None if v is None else str(v)

    return KubePdb(
        namespace=str(m.get("namespace", "default")), name=str(m.get("name", "")),
        selector=dict((spec.get("selector") or {}).get("matchLabels") or {}),
        max_unavailable=text(spec.get("maxUnavailable")), min_available=text(spec.get("minAvailable")),
        disruptions_allowed=status.get("disruptionsAllowed"),
    )  # fmt: skip
