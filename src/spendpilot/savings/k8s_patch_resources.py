"""Saving from setting a workload's container requests to what it uses (rightsizing).

expected = replicas x sum over containers of ((current CPU request - proposed) x $/core-h +
(current memory request - proposed) x $/GiB-h) x 730 h, the rates being the workload's node's
list price split in OpenCost's default ratio (``savings/_k8s_usage``); a request that was unset
counts as 0, so adding one is a cost. low = expected x 50 %: freed requests become money only when
the cluster autoscaler (or Karpenter) packs pods onto fewer nodes, which a single workload's change
may not trigger; high = expected. Without a priced node: no estimate.
"""

from __future__ import annotations

from decimal import Decimal

from spendpilot.checks.k8s_rightsizing import RightsizingFacts
from spendpilot.domain import HOURS_PER_MONTH, Estimate, Evidence, Finding, Money
from spendpilot.savings._k8s_usage import hourly_cost, node_rates
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

CONSOLIDATION_SHARE = Decimal("0.5")
"""Share of freed requests assumed to turn into removed nodes at the low end."""


@register_estimator("k8s_patch_resources", facts=RightsizingFacts)
def estimate_rightsizing(finding: Finding[RightsizingFacts], prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    if facts.node is None:
        return None
    priced = node_rates(facts.node, prices)
    if priced is None:
        return None
    rates, node_evidence = priced
    per_replica = Decimal(0)
    for c in facts.containers:
        cpu_before = c.current_cpu_cores or 0.0
        mem_before = c.current_memory_bytes or 0.0
        cpu_after = c.proposed_cpu_cores if c.proposed_cpu_cores is not None else cpu_before
        mem_after = c.proposed_memory_bytes if c.proposed_memory_bytes is not None else mem_before
        per_replica += hourly_cost(rates, cpu_before, mem_before) - hourly_cost(rates, cpu_after, mem_after)
    monthly = per_replica * facts.replicas * HOURS_PER_MONTH
    expected = Money.of(monthly, rates.currency)
    return Estimate(
        low=expected * CONSOLIDATION_SHARE, expected=expected, high=expected,
        formula=(
            f"replicas ({facts.replicas}) x sum over containers of (current - proposed CPU request) x $/core-h "
            f"+ (current - proposed memory request) x $/GiB-h, x {HOURS_PER_MONTH} h; rates from the node's price "
            f"split in OpenCost's ratio. low = {CONSOLIDATION_SHARE:.0%} of expected: freed requests save money only "
            "when the autoscaler removes nodes; high = expected."
        ),
        inputs=[node_evidence, Evidence(label="Replicas", value=str(facts.replicas), source="the workload's spec.replicas")],
    )
