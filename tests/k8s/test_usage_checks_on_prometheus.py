"""The usage checks on history read back from a real Prometheus, joined to the cluster's objects."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from tests.k8s.cluster_gen import GIB, node, pod

from spendpilot.adapters.base import SourceContext
from spendpilot.adapters.prometheus.client import PrometheusClient
from spendpilot.adapters.prometheus.source_prometheus import PrometheusSettings, PrometheusSource
from spendpilot.checks.k8s_idle_gpu_pod import IdleGpuPodSettings
from spendpilot.checks.k8s_rightsizing import RightsizingSettings
from spendpilot.checks.registry import all_checks
from spendpilot.domain import Snapshot, SourceResult
from spendpilot.domain.kubernetes import ClusterState, KubeContainer, KubeWorkload
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios.prometheus_seed import History, PrometheusServer, add_container, add_gpu

Start = Callable[[History], AbstractContextManager[PrometheusServer]]
HOURS = 5 * 24


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    lo = math.floor(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def test_rightsizing_and_idle_gpu_from_prometheus(prometheus: Start) -> None:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    rng = random.Random(5)
    history = History()
    cpu_all: list[float] = []
    mem_all: list[float] = []
    for r in range(2):
        cpu = [round(rng.uniform(0.05, 0.4), 3) for _ in range(HOURS)]
        mem = [float(rng.randrange(200, 600) * 2**20) for _ in range(HOURS)]
        add_container(history, end, namespace="shop", pod=f"api-{r}", container="app", cpu_cores=cpu, memory_bytes=mem)
        cpu_all += cpu
        mem_all += mem
    add_gpu(history, end, gpu="0", uuid="GPU-1", util_percent=[70.0] * 48 + [0.0] * (HOURS - 48),
            fb_used_mib=[12000.0] * HOURS, namespace="ml", pod="eval-0", container="serve")
    add_container(history, end, namespace="ml", pod="eval-0", container="serve", cpu_cores=[0.5] * HOURS,
                  memory_bytes=[4.0 * GIB] * HOURS, node="g1")

    objects = ClusterState(
        cluster="prod", read_at=end,
        nodes=[node("n1", "m5.2xlarge", 8, 32), node("g1", "g5.xlarge", 4, 16, gpus=1)],
        workloads=[
            KubeWorkload(kind="Deployment", namespace="shop", name="api", replicas=2,
                         containers=[KubeContainer(name="app", requests={"cpu": 2.0, "memory": 4 * GIB})]),
            KubeWorkload(kind="Deployment", namespace="ml", name="eval", replicas=1),
        ],
        pods=[pod("shop", f"api-{r}", "n1", cpu=2.0, mem_gib=4, owner=("Deployment", "api"), container="app") for r in range(2)]
        + [pod("ml", "eval-0", "g1", cpu=1.0, mem_gib=8, owner=("Deployment", "eval"), extra={"nvidia.com/gpu": 1.0},
               container="serve")],
    )
    with prometheus(history) as server:
        settings = PrometheusSettings(url=server.url, cluster="prod", lookback_days=7)
        usage = PrometheusSource(settings, PrometheusClient(server.url)).read(
            SourceContext(now=end + timedelta(minutes=5), prices=None))
    snapshot = Snapshot(taken_at=end)
    snapshot.merge("kubernetes prod", SourceResult(clusters=[objects]))
    snapshot.merge("prometheus prod", usage)
    [cluster] = snapshot.clusters
    assert len(cluster.usage) == 2 * 2 + 2 + 2

    prices = PriceBook.bundled()
    [rightsize] = [f for f in all_checks()["k8s_rightsizing"].run(snapshot, RightsizingSettings(), prices)
                   if f.facts.workload.name == "api"]
    [proposed] = rightsize.facts.proposed
    assert proposed.requests["cpu"] == f"{math.ceil(round(_percentile(cpu_all, 95) * 1000, 6))}m"
    assert proposed.requests["memory"] == f"{math.ceil(max(mem_all) * 1.15 / 2**20)}Mi"

    [idle] = all_checks()["k8s_idle_gpu_pod"].run(snapshot, IdleGpuPodSettings(), prices)
    assert idle.facts.workload.name == "eval" and idle.facts.idle_hours == HOURS - 48
