"""Saving from changing a gp2 volume to gp3 with the performance gp2 gave it.

expected = low = size x gp2 $/GB-month - (size x gp3 $/GB-month + IOPS above 3,000 x $/IOPS-month
+ MiB/s above 125 x $/MiB/s-month), with the target IOPS and throughput of
``actions.modify_volume_to_gp3.gp3_target``; high = the same without the extra throughput (when
125 MiB/s is enough for the workload, which gp2's burst throughput does not tell). Without a
sourced gp2 or gp3 price for the region: no estimate.
"""

from __future__ import annotations

from spendpilot.actions.modify_volume_to_gp3 import GP3_INCLUDED_THROUGHPUT, ModifyToGp3Facts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.savings._ebs import describe, volume_monthly
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator


@register_estimator("modify_volume_to_gp3", facts=ModifyToGp3Facts)
def estimate_gp3_change(finding: Finding[ModifyToGp3Facts], prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    region = facts.region or "us-east-1"
    gp2, gp3 = prices.ebs_volume("gp2", region), prices.ebs_volume("gp3", region)
    if gp2 is None or gp3 is None:
        return None
    before = volume_monthly(gp2, facts.size_gb, None, None)
    after = volume_monthly(gp3, facts.size_gb, facts.target_iops, facts.target_throughput)
    after_base = volume_monthly(gp3, facts.size_gb, facts.target_iops, GP3_INCLUDED_THROUGHPUT)
    cur = gp2.currency
    expected = Money.of(before - after, cur)
    formula = (
        f"gp2 costs {facts.size_gb} GB x {gp2.per_gb_month} = {Money.of(before, cur).rounded()}/month. gp3 with at "
        f"least gp2's performance ({facts.target_iops} IOPS = max(3000, gp2 baseline 3 x {facts.size_gb} GiB within "
        f"100-16,000 = {facts.gp2_baseline_iops}); {facts.target_throughput} MiB/s = gp2's maximum for its size) costs "
        f"{facts.size_gb} x {gp3.per_gb_month} + {max(0, facts.target_iops - gp3.included_iops)} IOPS x "
        f"{gp3.per_iops_month} + {max(0, facts.target_throughput - gp3.included_throughput_mibps)} MiB/s x "
        f"{gp3.per_mibps_month} = {Money.of(after, cur).rounded()}/month. low = expected = the difference "
        f"= {expected.rounded()}; high = {Money.of(before - after_base, cur).rounded()} if the included 125 MiB/s "
        "is enough (no extra throughput)."
    )
    inputs = [
        Evidence(label="EBS gp2 list price", value=describe(gp2), source=f"{gp2.source.name} ({region}; {gp2.note})"),
        Evidence(label="EBS gp3 list price", value=describe(gp3), source=f"{gp3.source.name} ({region}; {gp3.note})"),
    ]
    return Estimate(low=expected, expected=expected, high=Money.of(before - after_base, cur), formula=formula, inputs=inputs)
