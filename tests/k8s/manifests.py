"""Builders of Kubernetes manifests (the JSON the API serves) for the k8s tests.

Shapes follow the Kubernetes API reference (v1.31): Node, Pod, Deployment, ReplicaSet, Job,
CronJob, StatefulSet, HPA autoscaling/v2, PDB policy/v1, PVC.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any


def ts(hours_ago: float = 0.0, now: datetime | None = None) -> str:
    return ((now or datetime.now(UTC)) - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def node(
    name: str,
    instance_type: str = "m5.2xlarge",
    *,
    capacity: str = "on-demand",
    cpu: str = "8",
    memory: str = "32Gi",
    labels: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    allocatable = {"cpu": cpu, "memory": memory, "pods": "110", **(extra or {})}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "node.kubernetes.io/instance-type": instance_type,
            "topology.kubernetes.io/zone": "us-east-1a", "topology.kubernetes.io/region": "us-east-1",
            "karpenter.sh/capacity-type": capacity, **(labels or {})}},
        "spec": {"providerID": f"aws:///us-east-1a/i-{zlib.crc32(name.encode()):012x}"},
        "status": {"capacity": dict(allocatable), "allocatable": allocatable},
    }  # fmt: skip


def container(
    name: str = "main", requests: dict[str, str] | None = None, limits: dict[str, str] | None = None
) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if requests:
        res["requests"] = requests
    if limits:
        res["limits"] = limits
    return {"name": name, "image": f"registry.example/{name}:1", "resources": res}


def pod(
    name: str,
    namespace: str = "default",
    *,
    node_name: str | None = "node-a",
    owner: tuple[str, str] | None = None,
    containers: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    phase: str = "Running",
    started_hours_ago: float = 5.0,
    pvcs: list[str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1"
                if owner[0] in ("ReplicaSet", "StatefulSet", "DaemonSet")
                else "batch/v1",
                "kind": owner[0],
                "name": owner[1],
                "uid": f"uid-{owner[1]}",
                "controller": True,
            }
        ]
    spec: dict[str, Any] = {
        "containers": containers or [container(requests={"cpu": "500m", "memory": "1Gi"})]
    }
    if node_name:
        spec["nodeName"] = node_name
    if pvcs:
        spec["volumes"] = [{"name": p, "persistentVolumeClaim": {"claimName": p}} for p in pvcs]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": spec,
        "status": {"phase": phase, "startTime": ts(started_hours_ago)},
    }


def template(
    labels: dict[str, str], containers: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "metadata": {"labels": labels},
        "spec": {
            "containers": containers or [container(requests={"cpu": "500m", "memory": "1Gi"})]
        },
    }


def deployment(
    name: str,
    namespace: str = "default",
    replicas: int = 2,
    containers: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    sel = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": sel},
            "template": template(sel, containers),
        },
        "status": {"replicas": replicas, "readyReplicas": replicas},
    }


def replicaset(name: str, deployment_name: str, namespace: str = "default") -> dict[str, Any]:
    sel = {"app": deployment_name}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": deployment_name,
                    "uid": f"uid-{deployment_name}",
                    "controller": True,
                }
            ],
        },
        "spec": {"replicas": 1, "selector": {"matchLabels": sel}, "template": template(sel)},
    }


def statefulset(
    name: str, namespace: str = "default", labels: dict[str, str] | None = None
) -> dict[str, Any]:
    sel = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {
            "replicas": 1,
            "serviceName": name,
            "selector": {"matchLabels": sel},
            "template": template(sel),
        },
    }


def job(
    name: str,
    namespace: str = "default",
    *,
    started_hours_ago: float | None = 2.0,
    active: int = 1,
    completed_hours_ago: float | None = None,
    labels: dict[str, str] | None = None,
    ttl: int | None = None,
    deadline: int | None = None,
    owner_cronjob: str | None = None,
    containers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    sel = {"job-name": name}
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner_cronjob:
        meta["ownerReferences"] = [
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "name": owner_cronjob,
                "uid": f"uid-{owner_cronjob}",
                "controller": True,
            }
        ]
    spec: dict[str, Any] = {
        "backoffLimit": 6,
        "template": {**template({**sel, **(labels or {})}, containers)},
    }
    spec["template"]["spec"]["restartPolicy"] = "Never"
    if ttl is not None:
        spec["ttlSecondsAfterFinished"] = ttl
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    status: dict[str, Any] = {"active": active} if active else {}
    if started_hours_ago is not None:
        status["startTime"] = ts(started_hours_ago)
    if completed_hours_ago is not None:
        status["completionTime"] = ts(completed_hours_ago)
        status["succeeded"] = 1
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": spec,
        "status": status,
    }


def cronjob(
    name: str,
    namespace: str = "default",
    *,
    ttl: int | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    job_spec: dict[str, Any] = {"template": template({"cronjob": name})}
    job_spec["template"]["spec"]["restartPolicy"] = "OnFailure"
    if ttl is not None:
        job_spec["ttlSecondsAfterFinished"] = ttl
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": job_spec}},
    }


def pvc(
    name: str,
    namespace: str = "default",
    modes: tuple[str, ...] = ("ReadWriteOnce",),
    size: str = "100Gi",
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "accessModes": list(modes),
            "resources": {"requests": {"storage": size}},
            "storageClassName": "gp3",
        },
        "status": {"phase": "Bound", "capacity": {"storage": size}},
    }


def pdb(
    name: str,
    namespace: str,
    selector: dict[str, str],
    *,
    max_unavailable: int | str | None = None,
    min_available: int | str | None = None,
    allowed: int = 0,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": selector}}
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    if min_available is not None:
        spec["minAvailable"] = min_available
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
        "status": {
            "disruptionsAllowed": allowed,
            "currentHealthy": 1,
            "desiredHealthy": 1,
            "expectedPods": 1,
        },
    }


def hpa(
    name: str, namespace: str, target: str, resources: tuple[str, ...] = ("cpu",)
) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": r,
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
                for r in resources
            ],
        },
    }


def pod_metrics(name: str, namespace: str, usage: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": "metrics.k8s.io/v1beta1",
        "kind": "PodMetrics",
        "metadata": {"name": name, "namespace": namespace},
        "timestamp": ts(0),
        "window": "30s",
        "containers": [{"name": c, "usage": u} for c, u in usage.items()],
    }
