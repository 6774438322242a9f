"""Saving from disabling an unread cross-region replication rule: the inter-region transfer.

monthly = bytes replicated over the window (the destination's ``BytesUploaded``) x 30 / window
days / 1e9 x the inter-region transfer price. The price: $0.02 per GB from us-east-1 to another US
or EU region (AWS re:Post, "Cost effective methods for accessing S3 buckets cross-region", prices
verified January 2026; most region pairs; São Paulo, Middle East, Africa and Hong Kong cost more).
It is used only for a us-east-1 source; other sources get no estimate. Not counted, so the figure
is low: the replica storage that stops growing, replication PUT requests, and S3 Replication Time
Control fees. high = expected x 1.5 for those.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from spendpilot.actions.disable_replication_rule import DisableReplicationFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

log = logging.getLogger(__name__)
INTER_REGION_PER_GB = {"us-east-1": Decimal("0.02")}
PRICE_SOURCE = ("AWS re:Post 'Cost effective methods for accessing S3 buckets cross-region' (prices verified January 2026), "
                "https://repost.aws/articles/ARjzluyMS8RbeOOK4MGXRG6Q")
_EXPENSIVE = ("sa-", "me-", "af-", "ap-east-")


@register_estimator("disable_replication_rule", facts=DisableReplicationFacts)
def estimate_replication_disable(finding: Finding[DisableReplicationFacts], prices: PriceBook) -> Estimate | None:
    f = finding.facts
    per_gb = INTER_REGION_PER_GB.get(f.region or "")
    if per_gb is None or f.destination_region.startswith(_EXPENSIVE):
        log.info("%s: no sourced inter-region price %s -> %s; no estimate", finding.resource.ref.id, f.region, f.destination_region)
        return None
    gb_month = (Decimal(str(f.bytes_replicated)) / Decimal("1e9") * Decimal(30) / Decimal(str(f.window_days))).quantize(Decimal("0.1"))
    expected = Money.of(gb_month * per_gb, "USD")
    high = expected * Decimal("1.5")
    formula = (
        f"Disabling the rule ends the inter-region transfer of new writes: {gb_month} GB a month (the destination's "
        f"BytesUploaded over {f.window_days:g} days, scaled to 30) x {per_gb}/GB = {expected.rounded()} = low = expected. "
        f"high = x 1.5 = {high.rounded()} for what is not counted (replica storage that stops growing, replication "
        f"requests, Replication Time Control). The case: {int(f.get_requests)} GETs on the replica in {f.window_days:g} days."
    )
    return Estimate(low=expected, expected=expected, high=high, formula=formula, inputs=[
        Evidence(label=f"Inter-region transfer {f.region} -> {f.destination_region}", value=f"{per_gb}/GB", source=PRICE_SOURCE)])
