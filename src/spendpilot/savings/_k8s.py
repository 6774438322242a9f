"""A pod's share of its node's price, for the Kubernetes estimators.

The node's price is the price book's Linux on-demand $/h for its instance type (what the node
would cost bought on demand). It is split into CPU, memory and GPU parts in proportion to
OpenCost's default unit prices (``configs/default.json`` of opencost/opencost: 0.031611 $/vCPU-h,
0.004237 $/GiB-h, 0.95 $/GPU-h), the method OpenCost uses when a node's price is known but not
its parts. A pod is charged its requests times those part rates; a GPU it requests is charged by
its fraction of a physical GPU (a MIG slice by its profile, a time-sliced replica by
1/replicas).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel

from spendpilot.domain.kubernetes import ClusterState, GpuSharing, KubeContainer, KubeNode, KubePod
from spendpilot.savings.pricebook import HourlyPrice, PriceBook

CPU_WEIGHT = Decimal("0.031611")
"""OpenCost default $/vCPU-hour, used only as a weight to split a node's price."""
RAM_WEIGHT = Decimal("0.004237")
"""OpenCost default $/GiB-hour (weight)."""
GPU_WEIGHT = Decimal("0.95")
"""OpenCost default $/GPU-hour (weight)."""
GIB = Decimal(2**30)


@dataclass(frozen=True)
class PodPrice:
    per_hour: Decimal
    node_price: HourlyPrice
    cpu_cores: Decimal
    memory_gib: Decimal
    gpus: Decimal
    explanation: str


def gpu_fraction(pod: KubePod, node: KubeNode) -> Decimal:
    """Physical GPUs the pod's requests amount to on this node."""
    total = Decimal(0)
    for resource, fraction in node.gpu_sharing.mig_profiles.items():
        total += Decimal(str(pod.request(resource))) * Decimal(str(fraction))
    if "nvidia.com/gpu" not in node.gpu_sharing.mig_profiles:
        replicas = node.gpu_sharing.replicas if node.gpu_sharing.mode == "time_slicing" else 1
        total += Decimal(str(pod.request("nvidia.com/gpu"))) / Decimal(max(1, replicas))
    return total


def pod_hourly_price(pod: KubePod, node: KubeNode | None, prices: PriceBook) -> PodPrice | None:
    """The pod's requests priced at its node's on-demand rate; None without a node or a price."""
    if node is None or not node.instance_type:
        return None
    price = prices.on_demand(node.instance_type, node.region or "us-east-1")
    if price is None:
        return None
    vcpus = Decimal(str(node.cpu_cores))
    mem_gib = Decimal(str(node.memory_bytes)) / GIB
    gpus = Decimal(node.gpu_count)
    weights = vcpus * CPU_WEIGHT + mem_gib * RAM_WEIGHT + gpus * GPU_WEIGHT
    if weights <= 0:
        return None
    scale = price.per_hour / weights  # node $/h per unit of weight
    cpu = Decimal(str(pod.request("cpu")))
    mem = Decimal(str(pod.request("memory"))) / GIB
    gpu = gpu_fraction(pod, node)
    per_hour = (cpu * CPU_WEIGHT + mem * RAM_WEIGHT + gpu * GPU_WEIGHT) * scale
    explanation = (
        f"node {node.name} ({node.instance_type}, {vcpus:g} vCPU, {mem_gib:.0f} GiB"
        f"{f', {gpus:g} GPU' if gpus else ''}) at {price.per_hour} $/h split by OpenCost's default weights "
        f"(vCPU {CPU_WEIGHT}, GiB {RAM_WEIGHT}, GPU {GPU_WEIGHT}); pod {pod.namespace}/{pod.name} requests "
        f"{cpu:g} vCPU, {mem:.2f} GiB{f', {gpu:g} GPU' if gpu else ''} = {per_hour.quantize(Decimal('0.0001'))} $/h"
    )
    return PodPrice(per_hour, price, cpu, mem, gpu, explanation)


class PodCharge(BaseModel):
    """One pod's requests and its node's size and type: what an estimator prices (facts carry
    this, since an estimator sees the finding, not the cluster)."""

    pod: str
    namespace: str = ""
    node: str
    instance_type: str
    region: str | None = None
    node_vcpus: float
    node_memory_bytes: float
    node_gpus: int
    cpu_cores: float
    memory_bytes: float
    gpus: float
    """Physical GPUs (a MIG slice or time-sliced replica as its fraction)."""


def pod_charges(cluster: ClusterState, pods: list[KubePod]) -> tuple[list[PodCharge], list[str]]:
    """Charges for the pods whose node and instance type are known; the names of the others."""
    charges, unpriced = [], []
    for p in pods:
        node = cluster.node(p.node)
        if node is None or not node.instance_type:
            unpriced.append(p.name)
            continue
        charges.append(PodCharge(
            pod=p.name, namespace=p.namespace, node=node.name, instance_type=node.instance_type, region=node.region,
            node_vcpus=node.cpu_cores, node_memory_bytes=node.memory_bytes, node_gpus=node.gpu_count,
            cpu_cores=p.request("cpu"), memory_bytes=p.request("memory"), gpus=float(gpu_fraction(p, node)),
        ))  # fmt: skip
    return charges, unpriced


def charge_price(c: PodCharge, prices: PriceBook) -> PodPrice | None:
    node = KubeNode(
        name=c.node, instance_type=c.instance_type, region=c.region, cpu_cores=c.node_vcpus,
        memory_bytes=c.node_memory_bytes, gpu_count=c.node_gpus, gpu_sharing=GpuSharing(mode="none"),
    )  # fmt: skip
    requests = {"cpu": c.cpu_cores, "memory": c.memory_bytes, "nvidia.com/gpu": c.gpus}
    pod = KubePod(
        namespace=c.namespace,
        name=c.pod,
        node=c.node,
        containers=[KubeContainer(name="all", requests=requests)],
    )
    return pod_hourly_price(pod, node, prices)
