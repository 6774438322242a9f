"""What the usage-based Kubernetes checks share: the workload a finding is about, its pods and
their node's shape, its usage in a window, and quantities written the way the API accepts them.

Not a check (no registration): a private helper of ``k8s_rightsizing``, ``k8s_idle_gpu_pod``,
``k8s_offhours_idle`` and ``k8s_gpu_sharing_hint``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from spendpilot.actions.k8s_facts import ScaleReplicasFacts, WorkloadRef
from spendpilot.domain import Resource, ResourceRef
from spendpilot.domain.kubernetes import ClusterState, KubeNode, KubePod, KubeWorkload, UsageSeries
from spendpilot.domain.resources import MetricPoint

MIB = 2**20
SCALABLE = ("Deployment", "StatefulSet")
"""Kinds with a ``replicas`` field (the scale subresource); DaemonSets and Jobs are not scaled."""


class NodeShape(BaseModel):
    """The node a workload's pods run on, as much as an estimator needs to price them."""

    model_config = ConfigDict(frozen=True)

    name: str
    instance_type: str | None = None
    region: str | None = None
    capacity_type: str = "on_demand"
    cpu_cores: float
    memory_bytes: float
    gpu_count: int = 0
    gpu_model: str | None = None

    @classmethod
    def of(cls, node: KubeNode) -> NodeShape:
        return cls(name=node.name, instance_type=node.instance_type, region=node.region,
                   capacity_type=node.capacity_type, cpu_cores=node.cpu_cores or node.allocatable.get("cpu", 0.0),
                   memory_bytes=node.memory_bytes or node.allocatable.get("memory", 0.0),
                   gpu_count=node.gpu_count, gpu_model=node.gpu_model)

    def as_node(self) -> KubeNode:
        return KubeNode(name=self.name, instance_type=self.instance_type, region=self.region,
                        capacity_type=self.capacity_type, cpu_cores=self.cpu_cores,
                        memory_bytes=self.memory_bytes, gpu_count=self.gpu_count, gpu_model=self.gpu_model)


def workload_resource(cluster: str, workload: KubeWorkload) -> Resource:
    """The finding's resource, named as the Kubernetes target names it (provider ``kubernetes``,
    kind ``k8s_<kind>``, id ``namespace/name``, the cluster as the account)."""
    ref = ResourceRef(provider="kubernetes", kind=f"k8s_{workload.kind.lower()}",
                      id=f"{workload.namespace}/{workload.name}", account=cluster, name=workload.name)
    return Resource(ref=ref, tags=dict(workload.labels),
                    attributes={"cluster": cluster, "namespace": workload.namespace, "replicas": workload.replicas})


def workload_ref(cluster: str, workload: KubeWorkload) -> WorkloadRef:
    return WorkloadRef(cluster=cluster, kind=workload.kind, namespace=workload.namespace, name=workload.name)


def pods_of(state: ClusterState, workload: KubeWorkload) -> list[KubePod]:
    return [p for p in state.pods if p.namespace == workload.namespace and p.owner is not None
            and p.owner.kind == workload.kind and p.owner.name == workload.name and p.phase == "Running"]


def hpa_resources(state: ClusterState, workload: KubeWorkload) -> set[str]:
    """Resources ("cpu", "memory") an HPA scales this workload on."""
    found: set[str] = set()
    for hpa in state.hpas:
        if hpa.namespace == workload.namespace and hpa.target_kind == workload.kind and hpa.target_name == workload.name:
            found.update(hpa.resources or ["cpu"])  # an HPA without metrics defaults to 80% CPU
    return found


def has_hpa(state: ClusterState, workload: KubeWorkload) -> bool:
    return any(h.namespace == workload.namespace and h.target_kind == workload.kind
               and h.target_name == workload.name for h in state.hpas)


def window_points(series: list[UsageSeries], since: datetime) -> list[MetricPoint]:
    return [p for s in series for p in s.points if p.at > since]


def since(state: ClusterState, hours: float) -> datetime:
    return state.read_at - timedelta(hours=hours)


def cpu_quantity(cores: float) -> str:
    """Millicores, rounded up (never below the measurement): ``0.2513`` -> ``"252m"``."""
    milli = max(1, math.ceil(round(cores * 1000, 6)))
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def memory_quantity(bytes_: float) -> str:
    """Mebibytes, rounded up: ``"523Mi"``."""
    return f"{max(1, math.ceil(round(bytes_ / MIB, 6)))}Mi"


class ScaleCostFacts(ScaleReplicasFacts):
    """A scale proposal with what its estimator prices: one replica's requests on its node, and
    for how many hours a month the replicas would be gone."""

    node: NodeShape | None = None
    pod_cpu_cores: float
    pod_memory_bytes: float
    pod_gpus: float = 0.0
    """Physical GPUs one replica holds (a MIG slice or time-sliced replica as its fraction)."""
    hours_per_month: float
    """Hours a month without the replicas: 730 for a scale-down, the off-hours for a schedule."""
    idle_share: float
    """Share of the measured hours (of the kind the proposal removes) that were idle: the low end."""
    basis: str
    """Which hours, in words, for the estimate's formula."""
