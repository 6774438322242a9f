"""Saving from deleting an old EBS snapshot: the storage it alone holds.

A standard-tier snapshot bills the blocks it stores, per GB-month. Snapshots of one volume are
incremental: each stores only the blocks changed since the one before, and deleting one frees
only the blocks no other snapshot of that volume still references (Amazon EBS User Guide, "How
incremental snapshots work"). spendpilot cannot see block counts without the EBS direct APIs, so:

- high = the volume's size x snapshot $/GB-month: the most this snapshot can bill (a volume's
  first snapshot stores every written block, never more than the volume);
- expected = high when it is the only snapshot of its volume (nothing else references its
  blocks), otherwise high x 25%: a stated assumption that later snapshots still reference most
  of its blocks;
- low = high x 10% (most of it shared, or a mostly empty volume).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from spendpilot.actions.delete_ebs_snapshot import DeleteSnapshotFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.savings._ebs import describe
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

log = logging.getLogger(__name__)
SHARED_SHARE = Decimal("0.25")
"""Share of the volume size assumed freed when other snapshots of the same volume exist."""
LOW_SHARE = Decimal("0.10")


@register_estimator("delete_ebs_snapshot", facts=DeleteSnapshotFacts)
def estimate_snapshot_deletion(finding: Finding[DeleteSnapshotFacts], prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    region = facts.region or "us-east-1"
    price = prices.ebs_snapshot(region)
    if price is None:
        log.info("%s: no sourced EBS snapshot price in %s; no estimate", finding.resource.ref.id, region)
        return None
    high = Money.of(facts.volume_size_gb * price.per_gb_month, price.currency)
    alone = facts.snapshots_of_same_volume <= 1
    expected = high if alone else high * SHARED_SHARE
    low = high * LOW_SHARE
    formula = (
        f"Deleting the snapshot ends the storage only it holds. high = {facts.volume_size_gb} GiB (its volume's size) "
        f"x {price.per_gb_month} = {high.rounded()}/month, the most it can bill. "
        + ("expected = high: it is its volume's only snapshot, so no other snapshot shares its blocks. "
           if alone else
           f"expected = high x {SHARED_SHARE:.0%} = {expected.rounded()}: {facts.snapshots_of_same_volume} snapshots of "
           "its volume exist and incremental snapshots share blocks, so deleting one frees only what the others do not "
           "reference (an assumption: block counts are not read). ")
        + f"low = high x {LOW_SHARE:.0%} = {low.rounded()} (mostly shared or mostly empty). Incremental snapshots "
        "usually bill less than their volume's size. The case: "
        f"{facts.age_days:.0f} days old against a {facts.retention_days:g}-day retention."
    )
    inputs = [Evidence(label="EBS snapshot storage (standard tier)", value=describe(price),
                       source=f"{price.source.name} ({region}; {price.note})")]
    return Estimate(low=low, expected=expected, high=high, formula=formula, inputs=inputs)
