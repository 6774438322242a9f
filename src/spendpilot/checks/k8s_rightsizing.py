"""CPU and memory requests far from what the containers use: KRR's ``simple`` strategy.

The rule is robusta-dev/krr's default strategy (``robusta_krr/strategies/simple.py``, MIT):
over ``history_days`` (14) of usage, a container's CPU request is the ``cpu_percentile`` (95th)
of its CPU usage across all the workload's pods, its memory request *and limit* the maximum
working set plus ``memory_buffer_percentage`` (15 %); no recommendation from fewer than
``points_required`` (100) points; a resource an HPA scales on is left alone unless
``allow_hpa``. The CPU limit is not touched (KRR recommends none; a patch never removes one).

A proposal is made only when the change lowers what the workload reserves by at least
``min_saving_percent`` of its priced requests (the recommendation may still raise memory where
it is under-provisioned: KRR's recommendation is proposed whole). Every proposal names the
strategy, its window and settings. Deployments and StatefulSets only (a Job's template is
immutable; DaemonSets run one per node and are left to their owners).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from spendpilot.actions.k8s_facts import ContainerResources, PatchResourcesFacts
from spendpilot.checks._k8s_usage import (
    MIB,
    NodeShape,
    cpu_quantity,
    hpa_resources,
    memory_quantity,
    pods_of,
    since,
    window_points,
    workload_ref,
    workload_resource,
)
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.domain.kubernetes import ClusterState, KubeContainer, KubeWorkload
from spendpilot.savings.pricebook import PriceBook

STRATEGY = "simple"
KINDS = ("Deployment", "StatefulSet")


class RightsizingSettings(BaseModel):
    enabled: bool = True
    cpu_percentile: float = Field(95, gt=0, le=100, description="CPU request = this percentile of CPU usage (KRR simple).")
    memory_buffer_percentage: float = Field(15, ge=0, description="Memory request and limit = peak usage plus this % (KRR simple).")
    points_required: int = Field(100, ge=1, description="Fewer usage points than this: no recommendation (KRR simple).")
    history_days: float = Field(14, gt=0, description="Days of usage the recommendation is made from (KRR's default window).")
    allow_hpa: bool = Field(False, description="Recommend a resource even when an HPA scales the workload on it.")
    min_saving_percent: float = Field(
        20, ge=0, description="Propose only when the requests' priced cost falls by at least this % (no churn for small gains)."
    )


class ContainerRecommendation(BaseModel):
    container: str
    cpu_points: int
    memory_points: int
    cpu_percentile_cores: float | None = None
    memory_peak_bytes: float | None = None
    current_cpu_cores: float | None = None
    current_memory_bytes: float | None = None
    proposed_cpu_cores: float | None = None
    proposed_memory_bytes: float | None = None
    skipped: list[str] = Field(default_factory=list)
    """Resources left as they are, each with why (too few points, HPA)."""


class RightsizingFacts(PatchResourcesFacts):
    strategy: str = STRATEGY
    settings: dict[str, float | int | bool | str]
    history_hours: float
    replicas: int
    node: NodeShape | None = None
    """The node the workload's first pod runs on: what its requests are priced at."""
    containers: list[ContainerRecommendation]


@register_check(
    "k8s_rightsizing",
    action_kind="k8s_patch_resources",
    settings=RightsizingSettings,
    facts=RightsizingFacts,
    description="Container CPU/memory requests far from usage, by KRR's simple strategy (p95 CPU, peak memory + 15%).",
)
def find_rightsizing(snapshot: Snapshot, settings: RightsizingSettings, prices: PriceBook) -> list[Finding[RightsizingFacts]]:
    findings: list[Finding[RightsizingFacts]] = []
    for state in snapshot.clusters:
        for workload in state.workloads:
            if workload.kind in KINDS:
                found = _recommend(state, workload, settings)
                if found is not None:
                    findings.append(found)
    return findings


def _template(state: ClusterState, workload: KubeWorkload) -> list[KubeContainer]:
    if workload.containers:
        return workload.containers
    pods = pods_of(state, workload)
    return pods[0].containers if pods else []


def recommend_container(cpu: list[float], memory: list[float], settings: RightsizingSettings
                        ) -> tuple[float | None, float | None]:
    """KRR simple: (CPU percentile, memory peak x (1 + buffer)); None below points_required."""
    cpu_rec = float(np.percentile(cpu, settings.cpu_percentile)) if len(cpu) >= settings.points_required else None
    mem_rec = max(memory) * (1 + settings.memory_buffer_percentage / 100) if len(memory) >= settings.points_required else None
    return cpu_rec, mem_rec


def _recommend(state: ClusterState, workload: KubeWorkload, settings: RightsizingSettings) -> Finding[RightsizingFacts] | None:
    pods = pods_of(state, workload)
    template = _template(state, workload)
    if not pods or not template:
        return None
    start = since(state, settings.history_days * 24)
    scaled_on = set() if settings.allow_hpa else hpa_resources(state, workload)
    recs: list[ContainerRecommendation] = []
    current: list[ContainerResources] = []
    proposed: list[ContainerResources] = []
    for container in template:
        cpu = [p.value for pod in pods for p in window_points(
            [u for u in state.usage_of(pod.namespace, pod.name, "cpu_cores") if u.container == container.name], start)]
        mem = [p.value for pod in pods for p in window_points(
            [u for u in state.usage_of(pod.namespace, pod.name, "memory_bytes") if u.container == container.name], start)]
        cpu_rec, mem_rec = recommend_container(cpu, mem, settings)
        rec = ContainerRecommendation(
            container=container.name, cpu_points=len(cpu), memory_points=len(mem),
            cpu_percentile_cores=cpu_rec, memory_peak_bytes=max(mem) if mem else None,
            current_cpu_cores=container.requests.get("cpu"), current_memory_bytes=container.requests.get("memory"),
        )
        new_requests: dict[str, str] = {}
        new_limits: dict[str, str] = {}
        if cpu_rec is None:
            rec.skipped.append(f"cpu: {len(cpu)} points < {settings.points_required}")
        elif "cpu" in scaled_on:
            rec.skipped.append("cpu: an HPA scales on it")
        else:
            limit = container.limits.get("cpu")
            value = min(cpu_rec, limit) if limit else cpu_rec  # a request above the limit is refused
            new_requests["cpu"] = cpu_quantity(value)
            rec.proposed_cpu_cores = _cores(new_requests["cpu"])
        if mem_rec is None:
            rec.skipped.append(f"memory: {len(mem)} points < {settings.points_required}")
        elif "memory" in scaled_on:
            rec.skipped.append("memory: an HPA scales on it")
        else:
            new_requests["memory"] = new_limits["memory"] = memory_quantity(mem_rec)
            rec.proposed_memory_bytes = float(int(new_requests["memory"][:-2]) * MIB)
        recs.append(rec)
        if new_requests:
            current.append(ContainerResources(
                container=container.name,
                requests={k: _quantity(k, v) for k, v in container.requests.items() if k in new_requests},
                limits={k: _quantity(k, v) for k, v in container.limits.items() if k in new_limits},
            ))
            proposed.append(ContainerResources(container=container.name, requests=new_requests, limits=new_limits))
    if not proposed:
        return None
    node = state.node(pods[0].node)
    shape = NodeShape.of(node) if node else None
    before, after = _weighted(recs, shape, before=True), _weighted(recs, shape, before=False)
    if before <= 0 or (before - after) / before * 100 < settings.min_saving_percent:
        return None
    replicas = workload.replicas if workload.replicas is not None else len(pods)
    facts = RightsizingFacts(
        workload=workload_ref(state.cluster, workload), current=current, proposed=proposed,
        settings=settings.model_dump(exclude={"enabled", "min_saving_percent"}),
        history_hours=settings.history_days * 24, replicas=replicas, node=shape, containers=recs,
    )
    return Finding(
        resource=workload_resource(state.cluster, workload),
        summary=(f"{workload.kind} {workload.namespace}/{workload.name}: requests "
                 + "; ".join(_change_text(r) for r in recs if r.proposed_cpu_cores or r.proposed_memory_bytes)
                 + f" (KRR {STRATEGY})"),
        facts=facts,
        evidence=_evidence(recs, settings, len(pods), state),
    )


def _cores(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def _quantity(resource: str, value: float) -> str:
    return cpu_quantity(value) if resource == "cpu" else memory_quantity(value) if resource == "memory" else f"{value:g}"


def _weighted(recs: list[ContainerRecommendation], shape: NodeShape | None, *, before: bool) -> float:
    """Requests weighted by OpenCost's default price ratio (a core = 7.46 GiB), for the
    min_saving test; the estimator prices the change at the node's own rates."""
    total = 0.0
    for r in recs:
        cpu = r.current_cpu_cores if before or r.proposed_cpu_cores is None else r.proposed_cpu_cores
        mem = r.current_memory_bytes if before or r.proposed_memory_bytes is None else r.proposed_memory_bytes
        total += (cpu or 0.0) * 0.031611 + (mem or 0.0) / 2**30 * 0.004237
    return total


def _change_text(r: ContainerRecommendation) -> str:
    parts = []
    if r.proposed_cpu_cores is not None:
        parts.append(f"cpu {cpu_quantity(r.current_cpu_cores) if r.current_cpu_cores else 'unset'} -> {cpu_quantity(r.proposed_cpu_cores)}")
    if r.proposed_memory_bytes is not None:
        cur = memory_quantity(r.current_memory_bytes) if r.current_memory_bytes else "unset"
        parts.append(f"memory {cur} -> {memory_quantity(r.proposed_memory_bytes)}")
    return f"{r.container}: " + ", ".join(parts)


def _evidence(recs: list[ContainerRecommendation], settings: RightsizingSettings, pods: int,
              state: ClusterState) -> list[Evidence]:
    rule = (f"KRR '{STRATEGY}' strategy: CPU request = p{settings.cpu_percentile:g} of CPU usage; memory request "
            f"and limit = peak working set + {settings.memory_buffer_percentage:g}%; window {settings.history_days:g} days; "
            f"at least {settings.points_required} points; HPA-scaled resources "
            f"{'included (allow_hpa)' if settings.allow_hpa else 'skipped'}")
    out = [Evidence(label="Strategy", value=rule, source="robusta-dev/krr robusta_krr/strategies/simple.py defaults")]
    for r in recs:
        value = (f"{r.cpu_points} CPU points, p{settings.cpu_percentile:g} "
                 + (f"{r.cpu_percentile_cores:.3f} cores" if r.cpu_percentile_cores is not None else "n/a")
                 + f"; {r.memory_points} memory points, peak "
                 + (f"{r.memory_peak_bytes / MIB:.0f} MiB" if r.memory_peak_bytes is not None else "n/a")
                 + f" across {pods} pod(s)")
        if r.skipped:
            value += "; left alone: " + ", ".join(r.skipped)
        out.append(Evidence(label=f"Container {r.container} usage", value=value,
                            source=f"Prometheus via the usage of cluster {state.cluster} "
                                   "(container_cpu_usage_seconds_total rate, container_memory_working_set_bytes)"))
    return out
