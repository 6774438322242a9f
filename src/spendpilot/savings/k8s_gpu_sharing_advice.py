"""Saving from moving whole-GPU pods to a MIG slice or a time-sliced share (advisory).

expected = pods x GPUs per pod x (1 - fraction of the GPU the share is) x $/GPU-h x 730 h, the
GPU-hour rate being the node's list price split in OpenCost's default ratio
(``savings/_k8s_usage``). low = 0: the freed part of each GPU saves money only once other pods
use it (or a GPU node goes), which repartitioning alone does not do; high = expected.
Without a priced node: no estimate.
"""

from __future__ import annotations

from decimal import Decimal

from spendpilot.checks.k8s_gpu_sharing_hint import GpuSharingFacts
from spendpilot.domain import HOURS_PER_MONTH, Estimate, Evidence, Finding, Money
from spendpilot.savings._k8s_usage import node_rates
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator


@register_estimator("k8s_gpu_sharing_advice", facts=GpuSharingFacts)
def estimate_gpu_sharing(finding: Finding[GpuSharingFacts], prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    if facts.node is None:
        return None
    priced = node_rates(facts.node, prices)
    if priced is None:
        return None
    rates, node_evidence = priced
    freed = Decimal(repr(facts.pods * facts.gpus_per_pod)) * (1 - Decimal(repr(facts.fraction)))
    expected = Money.of(freed * rates.gpu * HOURS_PER_MONTH, rates.currency)
    return Estimate(
        low=Money.of(0, rates.currency), expected=expected, high=expected,
        formula=(
            f"{facts.pods} pod(s) x {facts.gpus_per_pod:g} GPU x (1 - {facts.fraction:.3f}) = {freed:.3f} GPUs freed, "
            f"x {rates.gpu:.4f} {rates.currency}/GPU-h (node price split in OpenCost's ratio) x {HOURS_PER_MONTH} h. "
            "low = 0: the freed share saves money only once other pods use it or a GPU node is removed; high = expected."
        ),
        inputs=[node_evidence, Evidence(label="Share", value=f"{facts.resource} ({facts.fraction:.1%} of a {facts.gpu_model})",
                                        source="k8s_gpu_sharing_hint")],
    )
