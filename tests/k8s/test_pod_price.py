"""A pod's share of its node's price: OpenCost's default weights split the node's on-demand price;
a time-sliced replica or a MIG slice is charged its fraction of the GPU."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.domain.kubernetes import GpuSharing, KubeContainer, KubeNode, KubePod
from spendpilot.savings._k8s import CPU_WEIGHT, GPU_WEIGHT, RAM_WEIGHT, pod_hourly_price
from spendpilot.savings.pricebook import PriceBook

PRICES = PriceBook.bundled()
GIB = 2**30


def _pod(requests: dict[str, float]) -> KubePod:
    return KubePod(
        namespace="ml", name="p", node="n", containers=[KubeContainer(name="c", requests=requests)]
    )


def _node(sharing: GpuSharing) -> KubeNode:
    return KubeNode(
        name="n",
        instance_type="g5.2xlarge",
        region="us-east-1",
        cpu_cores=8,
        memory_bytes=32 * GIB,
        gpu_count=1,
        gpu_sharing=sharing,
    )


def test_the_whole_node_costs_the_node_price() -> None:
    node = _node(GpuSharing(mode="none"))
    price = pod_hourly_price(
        _pod({"cpu": 8, "memory": 32 * GIB, "nvidia.com/gpu": 1}), node, PRICES
    )
    od = PRICES.on_demand("g5.2xlarge", "us-east-1")
    assert price is not None and od is not None and price.per_hour == od.per_hour


def test_a_time_sliced_gpu_shared_by_four_charges_each_a_quarter() -> None:
    node = _node(GpuSharing(mode="time_slicing", replicas=4))
    one = pod_hourly_price(_pod({"nvidia.com/gpu": 1}), node, PRICES)
    od = PRICES.on_demand("g5.2xlarge", "us-east-1")
    assert one is not None and od is not None and one.gpus == Decimal("0.25")
    weights = 8 * CPU_WEIGHT + 32 * RAM_WEIGHT + GPU_WEIGHT
    cent = Decimal("0.0000000001")
    assert one.per_hour.quantize(cent) == (od.per_hour * GPU_WEIGHT / 4 / weights).quantize(cent)
    gpu_part = od.per_hour * GPU_WEIGHT / weights
    assert (4 * one.per_hour).quantize(cent) == gpu_part.quantize(
        cent
    )  # four replicas make the GPU's part


def test_a_mig_slice_is_its_profile_fraction() -> None:
    node = _node(GpuSharing(mode="mig", mig_profiles={"nvidia.com/mig-3g.20gb": 3 / 7}))
    price = pod_hourly_price(_pod({"nvidia.com/mig-3g.20gb": 1}), node, PRICES)
    assert price is not None and abs(price.gpus - Decimal(3) / 7) < Decimal("1e-9")


def test_no_price_no_number() -> None:
    node = KubeNode(name="n", instance_type="x9.nonexistent", cpu_cores=8, memory_bytes=GIB)
    assert pod_hourly_price(_pod({"cpu": 1}), node, PRICES) is None
    assert pod_hourly_price(_pod({"cpu": 1}), None, PRICES) is None
