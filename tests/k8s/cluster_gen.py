"""Generated clusters (objects and hourly usage) for allocation tests, the benchmark and checks."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from spendpilot.domain.kubernetes import (
    ClusterState,
    GpuSharing,
    KubeContainer,
    KubeNode,
    KubePod,
    KubeWorkload,
    OwnerRef,
    UsageSeries,
)
from spendpilot.domain.resources import MetricPoint

GIB = 2**30


def node(name: str, itype: str, cores: float, mem_gib: float, gpus: int = 0, sharing: GpuSharing | None = None,
         capacity_type: str = "on_demand", created_at: datetime | None = None) -> KubeNode:
    return KubeNode(name=name, instance_type=itype, region="us-east-1", cpu_cores=cores, memory_bytes=mem_gib * GIB,
                    gpu_count=gpus, gpu_sharing=sharing or GpuSharing(mode="none"), capacity_type=capacity_type,
                    provider_id=f"aws:///us-east-1a/i-{abs(hash(name)) % 10**12:012x}", created_at=created_at)


def pod(namespace: str, name: str, node_name: str, *, cpu: float, mem_gib: float, owner: tuple[str, str] | None = None,
        extra: dict[str, float] | None = None, labels: dict[str, str] | None = None,
        started_at: datetime | None = None, finished_at: datetime | None = None, container: str = "main") -> KubePod:
    requests = {"cpu": cpu, "memory": mem_gib * GIB, **(extra or {})}
    return KubePod(
        namespace=namespace, name=name, node=node_name, owner=OwnerRef(kind=owner[0], name=owner[1]) if owner else None,
        containers=[KubeContainer(name=container, requests=requests, limits=dict(extra or {}))],
        labels=labels or {}, started_at=started_at, finished_at=finished_at,
    )


def hourly(namespace: str, pod_name: str, metric: str, end: datetime, values: list[float],
           container: str | None = "main", labels: dict[str, str] | None = None) -> UsageSeries:
    """One point per hour, the last at ``end`` (a point stands for the hour that ends there)."""
    n = len(values)
    return UsageSeries(
        namespace=namespace, pod=pod_name, container=container, metric=metric, step_seconds=3600,
        points=[MetricPoint(at=end - timedelta(hours=n - 1 - i), value=v) for i, v in enumerate(values)],
        labels=labels or {},
    )


def large_cluster(pods: int, days: int, end: datetime, seed: int = 1) -> ClusterState:
    """``pods`` pods on m5.2xlarge / r5.2xlarge nodes plus time-sliced g5 nodes, ``days`` of hourly
    CPU and memory usage each (some hours above the request)."""
    rng = random.Random(seed)
    hours = days * 24
    nodes: list[KubeNode] = []
    state_pods: list[KubePod] = []
    usage: list[UsageSeries] = []
    workloads: list[KubeWorkload] = []
    per_node = 12
    for _ in range(0, pods, per_node):
        n = len(nodes)
        if n % 10 == 9:
            nodes.append(node(f"gpu-{n}", "g5.12xlarge", 48, 192, gpus=4, sharing=GpuSharing(mode="time_slicing", replicas=4)))
        else:
            nodes.append(node(f"cpu-{n}", "m5.2xlarge" if n % 2 else "r5.2xlarge", 8, 32 if n % 2 else 64))
    for i in range(pods):
        ns = f"team-{i % 17}"
        deployment = f"svc-{i % 97}"
        host = nodes[i // per_node]
        gpu = {"nvidia.com/gpu": 1.0} if host.gpu_count else None
        p = pod(ns, f"{deployment}-{i}", host.name, cpu=0.25 + (i % 3) * 0.1, mem_gib=1 + (i % 4) * 0.5,
                owner=("Deployment", deployment), extra=gpu, labels={"app": deployment, "team": f"t{i % 5}"})
        state_pods.append(p)
        base = rng.uniform(0.05, 0.5)
        usage.append(hourly(ns, p.name, "cpu_cores", end, [base * rng.uniform(0.5, 1.6) for _ in range(hours)]))
        usage.append(hourly(ns, p.name, "memory_bytes", end,
                            [GIB * rng.uniform(0.5, 2.2) for _ in range(hours)]))
    for d in range(97):
        workloads.append(KubeWorkload(kind="Deployment", namespace=f"team-{d % 17}", name=f"svc-{d}", replicas=1,
                                      labels={"app": f"svc-{d}"}))
    return ClusterState(cluster="bench", read_at=end, nodes=nodes, pods=state_pods, workloads=workloads,
                        usage=usage, usage_window_hours=hours)
