"""Saving from scaling a workload's replicas down (idle GPU pods) or to zero off-hours.

expected = (current - target replicas) x one replica's requests at its node's per-resource
rates (CPU cores x $/core-h + memory GiB x $/GiB-h + physical GPUs x $/GPU-h; the node's list
price split in OpenCost's default ratio) x hours a month without them (730 for a scale-down; the
schedule's off-hours for an off-hours schedule). low = expected x the share of measured hours
that were idle (the rest is the risk the workload is needed after all); high = expected. What a
pod reserves is what it keeps from other pods, so this is real money once the autoscaler removes
the freed capacity (for a GPU node, usually at once). Without a priced node: no estimate.
"""

from __future__ import annotations

from decimal import Decimal

from spendpilot.checks._k8s_usage import ScaleCostFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.savings._k8s_usage import hourly_cost, node_rates
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator


@register_estimator("k8s_scale_replicas", facts=ScaleCostFacts)
def estimate_scale_saving(finding: Finding[ScaleCostFacts], prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    if facts.node is None:
        return None
    priced = node_rates(facts.node, prices)
    if priced is None:
        return None
    rates, node_evidence = priced
    removed = max(0, facts.current_replicas - facts.target_replicas)
    per_replica_hour = hourly_cost(rates, facts.pod_cpu_cores, facts.pod_memory_bytes, facts.pod_gpus)
    expected = Money.of(per_replica_hour * removed * Decimal(repr(facts.hours_per_month)), rates.currency)
    idle = Decimal(repr(facts.idle_share))
    gpu = f" + {facts.pod_gpus:g} GPU x $/GPU-h" if facts.pod_gpus else ""
    return Estimate(
        low=expected * idle, expected=expected, high=expected,
        formula=(
            f"({facts.current_replicas} - {facts.target_replicas}) replicas x ({facts.pod_cpu_cores:g} cores x $/core-h + "
            f"{facts.pod_memory_bytes / 2**30:.2f} GiB x $/GiB-h{gpu}) = {per_replica_hour.quantize(Decimal('0.0001'))} "
            f"{rates.currency}/h per replica, x {facts.hours_per_month:g} h a month ({facts.basis}); rates from the node's "
            f"price split in OpenCost's ratio. low = expected x idle share of the measured hours ({facts.idle_share:.0%}); "
            "high = expected."
        ),
        inputs=[node_evidence, Evidence(label="Replicas removed", value=f"{removed} of {facts.current_replicas}",
                                        source="the workload's spec.replicas")],
    )
