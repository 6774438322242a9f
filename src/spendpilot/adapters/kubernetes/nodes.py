"""Nodes: instance type, place, capacity type, size and GPUs (whole, MIG slices, time-sliced).

Labels read (all well-known, set by the cloud's node controller, Karpenter, EKS managed node
groups, GKE, and NVIDIA GPU feature discovery):

- ``node.kubernetes.io/instance-type`` (older ``beta.kubernetes.io/instance-type``);
- ``topology.kubernetes.io/zone`` / ``region`` (older ``failure-domain.beta.kubernetes.io/*``);
- capacity type: ``karpenter.sh/capacity-type`` (``spot``/``on-demand``),
  ``eks.amazonaws.com/capacityType`` (``SPOT``/``ON_DEMAND``), ``cloud.google.com/gke-spot`` or
  ``cloud.google.com/gke-preemptible`` (``"true"``);
- GPUs: ``nvidia.com/gpu.product``, ``nvidia.com/gpu.count``, ``nvidia.com/gpu.replicas``
  (time-slicing: each physical GPU advertised that many times; GFD also appends ``-SHARED`` to
  the product), allocatable ``nvidia.com/gpu`` and, with the ``mixed`` MIG strategy,
  ``nvidia.com/mig-<g>g.<mem>gb`` per profile; with the ``single`` strategy the product label
  ends in ``-MIG-<g>g.<mem>gb`` and slices are advertised as ``nvidia.com/gpu``.
"""

from __future__ import annotations

import re
from typing import Any

from spendpilot.adapters.kubernetes._objects import meta, timestamp, where
from spendpilot.adapters.kubernetes.quantity import QuantityError, parse_resources
from spendpilot.domain.kubernetes import GpuSharing, KubeNode
from spendpilot.errors import AdapterError

_MIG_PROFILE = re.compile(r"(\d+)g\.(\d+)gb", re.IGNORECASE)


def compute_slices(product: str | None) -> int:
    """How many compute slices a MIG-capable GPU has: 4 on an A30, 7 on A100/H100/H200/B200."""
    return 4 if product and "A30" in product.upper() else 7


def mig_fraction(profile: str, product: str | None) -> float:
    """The fraction of one physical GPU a MIG profile is ("1g.10gb" on an A100: 1/7)."""
    match = _MIG_PROFILE.search(profile)
    if not match:
        return 1.0
    return min(1.0, int(match.group(1)) / compute_slices(product))


def capacity_type(labels: dict[str, str]) -> str:
    karpenter = labels.get("karpenter.sh/capacity-type", "").lower()
    eks = labels.get("eks.amazonaws.com/capacityType", "").upper()
    gke = (
        labels.get("cloud.google.com/gke-spot", "") == "true"
        or labels.get("cloud.google.com/gke-preemptible", "") == "true"
    )
    return "spot" if karpenter == "spot" or eks == "SPOT" or gke else "on_demand"


def read_node(obj: dict[str, Any]) -> KubeNode:
    m = meta(obj)
    labels: dict[str, str] = dict(m.get("labels") or {})
    status = obj.get("status") or {}
    try:
        allocatable = parse_resources(status.get("allocatable"))
        capacity = parse_resources(status.get("capacity")) or allocatable
    except QuantityError as exc:
        raise AdapterError(f"{where('Node', obj)}: {exc}") from exc
    product = labels.get("nvidia.com/gpu.product")
    replicas = _int(labels.get("nvidia.com/gpu.replicas"), 1)
    advertised = allocatable.get("nvidia.com/gpu", 0.0)
    mig_profiles = {
        r: mig_fraction(r.removeprefix("nvidia.com/mig-"), product)
        for r in allocatable
        if r.startswith("nvidia.com/mig-")
    }
    if (
        product and "-MIG-" in product.upper()
    ):  # the single strategy: every nvidia.com/gpu is one slice
        mig_profiles["nvidia.com/gpu"] = mig_fraction(
            product.upper().rsplit("-MIG-", 1)[1], product
        )
    if mig_profiles:
        sharing = GpuSharing(mode="mig", mig_profiles=mig_profiles)
    elif replicas > 1:
        sharing = GpuSharing(mode="time_slicing", replicas=replicas)
    else:
        sharing = GpuSharing(mode="none")
    gpu_count = _int(labels.get("nvidia.com/gpu.count"), 0)
    if not gpu_count and advertised and not mig_profiles:
        gpu_count = int(advertised // max(replicas, 1))
    spec = obj.get("spec") or {}
    return KubeNode(
        name=str(m.get("name", "")),
        instance_type=labels.get("node.kubernetes.io/instance-type")
        or labels.get("beta.kubernetes.io/instance-type"),
        zone=labels.get("topology.kubernetes.io/zone")
        or labels.get("failure-domain.beta.kubernetes.io/zone"),
        region=labels.get("topology.kubernetes.io/region")
        or labels.get("failure-domain.beta.kubernetes.io/region"),
        capacity_type=capacity_type(labels),
        provider_id=spec.get("providerID"),
        cpu_cores=capacity.get("cpu", 0.0),
        memory_bytes=capacity.get("memory", 0.0),
        gpu_model=product.removesuffix("-SHARED") if product else None,
        gpu_count=gpu_count,
        gpu_sharing=sharing,
        allocatable=allocatable,
        labels=labels,
        created_at=timestamp(m.get("creationTimestamp")),
        taints=[
            {k: str(v) for k, v in t.items() if k in ("key", "value", "effect")}
            for t in spec.get("taints") or []
        ],
    )


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default
