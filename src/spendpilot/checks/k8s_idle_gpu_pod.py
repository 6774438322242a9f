"""A Deployment or StatefulSet whose GPU pods have sat idle for hours: scale it down.

Idle is measured by the DCGM exporter's ``DCGM_FI_DEV_GPU_UTIL`` (hourly average, per GPU,
attributed to the pod holding it): the workload is idle in an hour when every GPU of every one
of its pods stayed below ``max_gpu_util_percent``. It is proposed for a scale to zero when the
most recent ``min_idle_hours`` in a row were idle, so one burst inside that stretch (a batch
inference job firing every few hours) rules it out, however quiet the rest of the day is.

Not proposed: workloads an HPA scales (it would scale them back), workloads carrying the
``ignore_label``, pods without DCGM readings (no reading is not idleness), and workloads whose
GPU pods do not all have readings for the whole stretch.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from spendpilot.allocation.kubernetes import gpu_share
from spendpilot.checks._k8s_usage import (
    SCALABLE,
    NodeShape,
    ScaleCostFacts,
    has_hpa,
    pods_of,
    workload_ref,
    workload_resource,
)
from spendpilot.checks.registry import register_check
from spendpilot.domain import HOURS_PER_MONTH, Evidence, Finding, Snapshot
from spendpilot.domain.kubernetes import ClusterState, KubeWorkload
from spendpilot.savings.pricebook import PriceBook

STALE_HOURS = 3
"""The last reading must be this recent (hours before the sweep) for the stretch to count."""


class IdleGpuPodSettings(BaseModel):
    enabled: bool = True
    max_gpu_util_percent: float = Field(5.0, description="An hour is idle when every GPU's hourly average stays below this.")
    min_idle_hours: int = Field(24, ge=1, description="Idle hours in a row, up to the sweep, before a scale-down is proposed.")
    ignore_label: str = Field("spendpilot.io/ignore", description="Workloads with this label are skipped.")


class IdleGpuPodFacts(ScaleCostFacts):
    idle_hours: float
    """Idle hours in a row up to the last reading."""
    max_util_in_stretch: float
    gpu_series: int
    last_busy_at: datetime | None = None
    """End of the last hour any GPU was at or above the threshold, when the history shows one."""


@register_check(
    "k8s_idle_gpu_pod",
    action_kind="k8s_scale_replicas",
    settings=IdleGpuPodSettings,
    facts=IdleGpuPodFacts,
    description="GPU Deployments/StatefulSets whose GPUs (DCGM utilisation) have been idle for hours in a row.",
)
def find_idle_gpu_pods(snapshot: Snapshot, settings: IdleGpuPodSettings, prices: PriceBook) -> list[Finding[IdleGpuPodFacts]]:
    findings: list[Finding[IdleGpuPodFacts]] = []
    for state in snapshot.clusters:
        for workload in state.workloads:
            if workload.kind in SCALABLE and (workload.replicas or 0) > 0 and settings.ignore_label not in workload.labels:
                found = _idle(state, workload, settings)
                if found is not None:
                    findings.append(found)
    return findings


def _idle(state: ClusterState, workload: KubeWorkload, settings: IdleGpuPodSettings) -> Finding[IdleGpuPodFacts] | None:
    if has_hpa(state, workload):
        return None
    pods = pods_of(state, workload)
    placed = [(p, state.node(p.node)) for p in pods]
    gpu_pods = [(p, n) for p, n in placed if n is not None and gpu_share(p, n) > 0]
    if not gpu_pods:
        return None
    # Busiest GPU per hour (by the hour's end), over all the workload's GPU pods.
    busiest: dict[datetime, float] = {}
    series = 0
    step_seconds = 3600
    for p, _ in gpu_pods:
        readings = state.usage_of(p.namespace, p.name, "gpu_util_percent")
        if not readings:
            return None  # a GPU pod without DCGM readings: its idleness is unknown
        series += len(readings)
        step_seconds = min(step_seconds, *(s.step_seconds for s in readings))
        for s in readings:
            for point in s.points:
                busiest[point.at] = max(busiest.get(point.at, 0.0), point.value)
    hours = sorted(busiest)
    if not hours or hours[-1] < state.read_at - timedelta(hours=STALE_HOURS):
        return None  # readings that stopped are no evidence about now
    stretch = 0
    last_busy: datetime | None = None
    expected = hours[-1]
    for at in reversed(hours):
        if at != expected:
            break  # a gap in the readings ends the stretch: an unread hour is not an idle one
        if busiest[at] >= settings.max_gpu_util_percent:
            last_busy = at
            break
        stretch += 1
        expected = at - timedelta(seconds=step_seconds)
    idle_hours = stretch * step_seconds / 3600
    if idle_hours < settings.min_idle_hours:
        return None
    recent = hours[-stretch:]
    max_util = max(busiest[at] for at in recent)
    idle_share = sum(1 for v in busiest.values() if v < settings.max_gpu_util_percent) / len(busiest)
    hours_read = len(busiest) * step_seconds / 3600
    pod, node = gpu_pods[0]
    replicas = workload.replicas or len(pods)
    in_stretch = set(recent)
    fb = [pt.value for p, _ in gpu_pods for s in state.usage_of(p.namespace, p.name, "gpu_fb_used_mib")
          for pt in s.points if pt.at in in_stretch]
    evidence = [
        Evidence(label="GPU utilisation",
                 value=(f"every GPU below {settings.max_gpu_util_percent:g}% (hourly average) for the last {idle_hours:g} h "
                        f"({recent[0] - timedelta(seconds=step_seconds):%Y-%m-%d %H:%M} to {recent[-1]:%Y-%m-%d %H:%M} UTC); "
                        f"highest hour {max_util:.1f}%"),
                 source=f"DCGM_FI_DEV_GPU_UTIL via Prometheus, {series} GPU series of {len(gpu_pods)} pod(s)"),
        Evidence(label="Idle share of the history", value=f"{idle_share:.0%} of {hours_read:g} hours read",
                 source="DCGM_FI_DEV_GPU_UTIL via Prometheus"),
    ]
    if last_busy is not None:
        evidence.append(Evidence(label="Last busy hour", value=f"ended {last_busy:%Y-%m-%d %H:%M} UTC",
                                 source="DCGM_FI_DEV_GPU_UTIL via Prometheus"))
    if fb:
        evidence.append(Evidence(label="GPU memory held while idle", value=f"up to {max(fb):,.0f} MiB",
                                 source="DCGM_FI_DEV_FB_USED via Prometheus"))
    facts = IdleGpuPodFacts(
        workload=workload_ref(state.cluster, workload), current_replicas=replicas, target_replicas=0,
        node=NodeShape.of(node), pod_cpu_cores=pod.request("cpu"), pod_memory_bytes=pod.request("memory"),
        pod_gpus=gpu_share(pod, node), hours_per_month=float(HOURS_PER_MONTH), idle_share=round(idle_share, 3),
        basis="all month: the replicas are removed", idle_hours=idle_hours, max_util_in_stretch=round(max_util, 2),
        gpu_series=series, last_busy_at=last_busy,
    )
    return Finding(
        resource=workload_resource(state.cluster, workload),
        summary=(f"{workload.kind} {workload.namespace}/{workload.name}: {replicas} GPU replica(s) idle for "
                 f"{idle_hours:g} h (every GPU below {settings.max_gpu_util_percent:g}%); scale to 0"),
        facts=facts, evidence=evidence,
    )
