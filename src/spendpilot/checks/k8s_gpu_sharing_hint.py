"""Whole GPUs held by pods that would fit a MIG slice or a time-sliced share (advisory).

Over ``history_days`` of DCGM readings, a workload's GPU need is its peak framebuffer use
(``DCGM_FI_DEV_FB_USED``) and its 95th-percentile utilisation (``DCGM_FI_DEV_GPU_UTIL``), each
with ``headroom_percent`` on top. On a MIG-capable GPU (A100, H100, A30) the smallest MIG
profile with at least that memory and that share of the GPU's compute slices is proposed; on
others (A10G, L4, T4, V100, L40S) a time-sliced share of 1/2, 1/3 or 1/4 when both memory and
utilisation fit in it. The finding is advisory: repartitioning a node's GPUs (the GPU operator's
``nvidia.com/mig.config`` label, or the device plugin's ``sharing.timeSlicing`` config) and moving
the workload to the new resource is a platform decision spendpilot does not make; the runbook
says how. Time-slicing isolates neither memory nor faults, which the runbook also says.

MIG profiles are NVIDIA's (MIG User Guide, "Supported MIG Profiles"): ``<n>g.<m>gb`` is n of
the GPU's 7 compute slices (4 on an A30) with m GB of memory. Workloads idle throughout (every
hour below 5 %) are left to ``k8s_idle_gpu_pod``: scaling those down beats sharing them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from spendpilot.actions.k8s_facts import K8sWorkloadFacts
from spendpilot.checks._k8s_usage import (
    NodeShape,
    pods_of,
    since,
    window_points,
    workload_ref,
    workload_resource,
)
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.domain.kubernetes import ClusterState, KubeWorkload
from spendpilot.savings.pricebook import PriceBook

MIG_PROFILES: dict[str, tuple[int, list[tuple[str, int, int]]]] = {
    # model key -> (compute slices, [(profile, slices, memory GB)])
    "A100-40GB": (7, [("1g.5gb", 1, 5), ("2g.10gb", 2, 10), ("3g.20gb", 3, 20), ("4g.20gb", 4, 20)]),
    "A100-80GB": (7, [("1g.10gb", 1, 10), ("2g.20gb", 2, 20), ("3g.40gb", 3, 40), ("4g.40gb", 4, 40)]),
    "H100-80GB": (7, [("1g.10gb", 1, 10), ("2g.20gb", 2, 20), ("3g.40gb", 3, 40), ("4g.40gb", 4, 40)]),
    "A30-24GB": (4, [("1g.6gb", 1, 6), ("2g.12gb", 2, 12)]),
}
TIME_SLICED_MEMORY_GB = {"A10G": 24, "L4": 24, "T4": 16, "V100": 16, "L40S": 48}
USABLE = 0.95
"""Share of a profile's nominal memory a workload can count on (the driver keeps some)."""
IDLE_PERCENT = 5.0


def gpu_model_key(model: str | None) -> str | None:
    """``NVIDIA-A100-SXM4-80GB`` / ``NVIDIA A100-SXM4-40GB`` / ``Tesla-T4`` -> a key of the tables."""
    if not model:
        return None
    m = model.upper().replace(" ", "-")
    if "A100" in m:
        return "A100-80GB" if "80GB" in m else "A100-40GB"
    if "H100" in m:
        return "H100-80GB"
    if "A30" in m:
        return "A30-24GB"
    for key in TIME_SLICED_MEMORY_GB:
        if key in m.split("-") or f"-{key}" in m or m.endswith(key):
            return key
    return None


class GpuSharingSettings(BaseModel):
    enabled: bool = True
    history_days: float = Field(14, gt=0, description="Days of DCGM readings the need is measured over.")
    min_points: int = Field(72, ge=1, description="Hourly readings needed per GPU before a hint is made.")
    headroom_percent: float = Field(20, ge=0, description="Added to peak memory and p95 utilisation before fitting.")
    util_percentile: float = Field(95, gt=0, le=100, description="Utilisation percentile taken as the compute need.")


class GpuSharingFacts(K8sWorkloadFacts):
    mode: str
    """"mig" or "time_slicing"."""
    resource: str
    """What the pods would request instead: ``nvidia.com/mig-2g.20gb``, or ``nvidia.com/gpu`` on a
    time-sliced node."""
    fraction: float
    """Share of one physical GPU the new resource is."""
    replicas_per_gpu: int = 1
    """For time-slicing: how many replicas the device plugin advertises per GPU."""
    gpu_model: str
    gpus_per_pod: float
    pods: int
    util_p95: float
    fb_peak_mib: float
    points: int
    node: NodeShape | None = None


@register_check(
    "k8s_gpu_sharing_hint",
    action_kind="k8s_gpu_sharing_advice",
    settings=GpuSharingSettings,
    facts=GpuSharingFacts,
    description="Pods holding whole GPUs whose memory and utilisation fit a MIG slice or a time-sliced share (advisory).",
)
def find_gpu_sharing(snapshot: Snapshot, settings: GpuSharingSettings, prices: PriceBook) -> list[Finding[GpuSharingFacts]]:
    findings: list[Finding[GpuSharingFacts]] = []
    for state in snapshot.clusters:
        for workload in state.workloads:
            found = _hint(state, workload, settings)
            if found is not None:
                findings.append(found)
    return findings


def fit(model_key: str, fb_need_mib: float, util_need_percent: float) -> tuple[str, str, float, int] | None:
    """(mode, resource, fraction, replicas per GPU) of the smallest share that holds the need."""
    if model_key in MIG_PROFILES:
        slices, profiles = MIG_PROFILES[model_key]
        for name, n, gb in profiles:
            if gb * 1000 * USABLE >= fb_need_mib and n / slices * 100 >= util_need_percent:
                return "mig", f"nvidia.com/mig-{name}", n / slices, 1
        return None
    memory_gb = TIME_SLICED_MEMORY_GB.get(model_key)
    if memory_gb is None:
        return None
    for replicas in (4, 3, 2):
        if memory_gb * 1000 * USABLE / replicas >= fb_need_mib and 100 / replicas >= util_need_percent:
            return "time_slicing", "nvidia.com/gpu", 1 / replicas, replicas
    return None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _hint(state: ClusterState, workload: KubeWorkload, settings: GpuSharingSettings) -> Finding[GpuSharingFacts] | None:
    pods = pods_of(state, workload)
    whole = []
    for p in pods:
        node = state.node(p.node)
        gpus = p.request("nvidia.com/gpu") or max((c.limits.get("nvidia.com/gpu", 0.0) for c in p.containers), default=0.0)
        if node is None or gpus < 1 or node.gpu_sharing.mode != "none":
            continue
        whole.append((p, node, gpus))
    if not whole or len(whole) != len(pods):
        return None
    start = since(state, settings.history_days * 24)
    util: list[float] = []
    fb: list[float] = []
    model: str | None = None
    for p, node, _ in whole:
        u_series = state.usage_of(p.namespace, p.name, "gpu_util_percent")
        f_series = state.usage_of(p.namespace, p.name, "gpu_fb_used_mib")
        for s in u_series:
            points = window_points([s], start)
            if len(points) < settings.min_points:
                return None  # one GPU without enough readings: the need is not known
            util += [pt.value for pt in points]
            model = model or s.labels.get("modelName")
        fb += [pt.value for pt in window_points(f_series, start)]
        model = model or node.gpu_model
    if not util or not fb or max(util) < IDLE_PERCENT:
        return None
    key = gpu_model_key(model)
    if key is None:
        return None
    util_p = _percentile(util, settings.util_percentile)
    fb_peak = max(fb)
    factor = 1 + settings.headroom_percent / 100
    share = fit(key, fb_peak * factor, util_p * factor)
    if share is None or share[2] >= 1:
        return None
    mode, resource, fraction, replicas_per_gpu = share
    pod, node, gpus = whole[0]
    facts = GpuSharingFacts(
        workload=workload_ref(state.cluster, workload), mode=mode, resource=resource, fraction=round(fraction, 6),
        replicas_per_gpu=replicas_per_gpu, gpu_model=model or key, gpus_per_pod=gpus, pods=len(whole),
        util_p95=round(util_p, 2), fb_peak_mib=round(fb_peak, 1), points=len(util), node=NodeShape.of(node),
    )
    target = (f"a MIG {resource.removeprefix('nvidia.com/mig-')} slice ({fraction:.0%} of the GPU)" if mode == "mig"
              else f"a 1/{replicas_per_gpu} time-sliced share")
    evidence = [
        Evidence(label="GPU need", value=(f"p{settings.util_percentile:g} utilisation {util_p:.1f}%, peak memory "
                                          f"{fb_peak:,.0f} MiB over {len(util)} GPU-hours of {len(whole)} pod(s); "
                                          f"+{settings.headroom_percent:g}% headroom"),
                 source="DCGM_FI_DEV_GPU_UTIL and DCGM_FI_DEV_FB_USED via Prometheus"),
        Evidence(label="Fits", value=f"{target} of a {model or key}",
                 source="NVIDIA MIG User Guide supported profiles" if mode == "mig"
                 else "NVIDIA device plugin time-slicing (sharing.timeSlicing.resources.replicas)"),
    ]
    return Finding(
        resource=workload_resource(state.cluster, workload),
        summary=(f"{workload.kind} {workload.namespace}/{workload.name} holds {gpus:g} whole {model or key} per pod "
                 f"but fits {target}"),
        facts=facts, evidence=evidence,
    )
