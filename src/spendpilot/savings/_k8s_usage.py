"""Pricing a pod's requests at its node's per-resource rates, for the usage-based estimators.

The node's list price (price book, spot or on-demand by its capacity type) is split into CPU,
memory and GPU rates the way the allocation splits it (``allocation/kubernetes.py``, OpenCost's
default ratio), so an estimate and the chargeback agree on what a core-hour costs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from spendpilot.allocation.kubernetes import GIB, NodeRates, node_prices, split_node_price
from spendpilot.checks._k8s_usage import NodeShape
from spendpilot.domain import Evidence
from spendpilot.domain.kubernetes import ClusterState
from spendpilot.savings.pricebook import PriceBook

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def node_rates(shape: NodeShape, prices: PriceBook) -> tuple[NodeRates, Evidence] | None:
    node = shape.as_node()
    found, _ = node_prices(ClusterState(cluster="", read_at=_EPOCH, nodes=[node]), prices)
    price = found.get(node.name)
    if price is None:
        return None
    rates = split_node_price(node, price)
    evidence = Evidence(
        label=f"Node {shape.name} per-resource rates",
        value=(f"{price.per_hour} {price.currency}/h for {shape.cpu_cores:g} cores, {shape.memory_bytes / GIB:.0f} GiB"
               f"{f', {shape.gpu_count} GPU' if shape.gpu_count else ''} = {rates.cpu:.5f}/core-h, "
               f"{rates.ram:.5f}/GiB-h" + (f", {rates.gpu:.4f}/GPU-h" if shape.gpu_count else "")),
        source=f"{price.source}, split in OpenCost's default ratio (0.031611 : 0.004237 : 0.95)",
    )
    return rates, evidence


def hourly_cost(rates: NodeRates, cpu_cores: float, memory_bytes: float, gpus: float = 0.0) -> Decimal:
    return (rates.cpu * Decimal(repr(cpu_cores)) + rates.ram * Decimal(repr(memory_bytes / GIB))
            + rates.gpu * Decimal(repr(gpus)))

