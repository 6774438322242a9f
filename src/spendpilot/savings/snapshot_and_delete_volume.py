"""Saving from snapshotting and deleting an unattached EBS volume.

The volume's storage (and provisioned IOPS / throughput) stops being billed; the snapshot kept
for the rollback starts being billed. A standard-tier snapshot stores only blocks that were ever
written, and a volume's first snapshot stores all of them: at most the volume's size. So:

- low = expected = volume's monthly list price - size x snapshot $/GB-month (the snapshot as
  large as the volume: every block written);
- high = the volume's monthly list price (a volume whose blocks were never written snapshots to
  almost nothing; or the owner deletes the snapshot once sure).

A type or region without a sourced price (st1, io2, standard; any region but us-east-1) gets no
estimate, and the sweep says "no price" instead of guessing.
"""

from __future__ import annotations

import logging

from spendpilot.actions.snapshot_and_delete_volume import DeleteVolumeFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.savings._ebs import describe, volume_monthly
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

log = logging.getLogger(__name__)


@register_estimator("snapshot_and_delete_volume", facts=DeleteVolumeFacts)
def estimate_volume_deletion(finding: Finding[DeleteVolumeFacts], prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    region = facts.region or "us-east-1"
    vol_price = prices.ebs_volume(facts.volume_type, region)
    snap_price = prices.ebs_snapshot(region)
    if vol_price is None or snap_price is None:
        log.info("%s: no sourced EBS price for %s (or snapshots) in %s; no estimate",
                 finding.resource.ref.id, facts.volume_type, region)
        return None
    volume = volume_monthly(vol_price, facts.size_gb, facts.iops, facts.throughput)
    snapshot_full = facts.size_gb * snap_price.per_gb_month
    currency = vol_price.currency
    saved, kept = Money.of(volume, currency), Money.of(snapshot_full, currency)
    expected = Money.of(volume - snapshot_full, currency)
    perf = []
    if vol_price.per_iops_month is not None and facts.iops:
        perf.append(f"{facts.iops} IOPS")
    if vol_price.per_mibps_month is not None and facts.throughput:
        perf.append(f"{facts.throughput} MiB/s")
    formula = (
        f"Deleting the volume ends its list price: {facts.size_gb} GB x {vol_price.per_gb_month}"
        + (f" plus provisioned {' and '.join(perf)} beyond what {facts.volume_type} includes" if perf else "")
        + f" = {saved.rounded()}/month. The snapshot kept for the rollback costs at most "
        f"{facts.size_gb} GB x {snap_price.per_gb_month} = {kept.rounded()}/month (standard tier; a first "
        "snapshot stores every block ever written, never more than the volume's size, and no unwritten ones). "
        f"low = expected = {saved.rounded()} - {kept.rounded()} = {expected.rounded()} (the snapshot as large "
        f"as the volume); high = {saved.rounded()} (a nearly empty snapshot, or deleted once the owner is sure). "
        f"The case: unattached since at least {facts.unattached_since:%Y-%m-%d} ({facts.unattached_basis})."
    )
    inputs = [
        Evidence(label=f"EBS {facts.volume_type} list price", value=describe(vol_price),
                 source=f"{vol_price.source.name} ({region}, as of {vol_price.source.as_of}; {vol_price.note})"),
        Evidence(label="EBS snapshot storage (standard tier)", value=describe(snap_price),
                 source=f"{snap_price.source.name} ({region}; {snap_price.note})"),
        Evidence(label="Volume", value=f"{facts.size_gb} GiB {facts.volume_type}"
                 + (f", {facts.iops} IOPS" if facts.iops else "") + (f", {facts.throughput} MiB/s" if facts.throughput else ""),
                 source="EC2 DescribeVolumes"),
    ]
    return Estimate(low=expected, expected=expected, high=saved, formula=formula, inputs=inputs)
