"""A gp2 volume in use that would cost less as gp3 with the same performance.

gp3 is 20% cheaper per GB and includes 3,000 IOPS and 125 MiB/s; matching what gp2 gave (see
``actions/modify_volume_to_gp3``) can add provisioned IOPS (volumes over 1,000 GiB) and
throughput (250 MiB/s over 170 GiB). The check prices both sides and proposes the change only
when gp3 is cheaper by at least ``min_monthly_saving``: a 200 GiB gp2 volume would cost *more* as
gp3 at 250 MiB/s, and an 8 GiB root volume saves cents. Volumes not in use are left to
``unattached_ebs_volume`` (deleting beats retyping); a volume being modified cannot be modified
again until that finishes.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from spendpilot.actions.modify_volume_to_gp3 import (
    ModifyToGp3Facts,
    gp2_baseline_iops,
    gp2_max_throughput,
    gp3_target,
)
from spendpilot.adapters.aws.ebs import BUSY_MODIFICATION_STATES, VOLUME
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.savings._ebs import volume_monthly
from spendpilot.savings.pricebook import PriceBook


class Gp2VolumeSettings(BaseModel):
    enabled: bool = True
    min_monthly_saving: float = Field(
        1.0, ge=0,
        description="Propose only when gp3 with gp2's performance is cheaper by at least this much a month "
        "(in the price book's currency): a change to save cents is not worth a human's attention.",
    )
    ignore_tag: str = Field("spendpilot:ignore", description="Volumes with this tag are skipped.")


@register_check(
    "gp2_volume",
    action_kind="modify_volume_to_gp3",
    settings=Gp2VolumeSettings,
    facts=ModifyToGp3Facts,
    description="gp2 volumes in use that cost less as gp3 with at least the same IOPS and throughput.",
)
def find_gp2_volumes(snapshot: Snapshot, settings: Gp2VolumeSettings, prices: PriceBook) -> list[Finding[ModifyToGp3Facts]]:
    findings: list[Finding[ModifyToGp3Facts]] = []
    for res in snapshot.of_kind(VOLUME):
        a = res.attributes
        if a.get("volume_type") != "gp2" or a.get("state") != "in-use" or settings.ignore_tag in res.tags:
            continue
        if a.get("modification_state") in BUSY_MODIFICATION_STATES:
            continue
        size, region = int(a["size_gb"]), res.ref.region or "us-east-1"
        iops, throughput = gp3_target(size)
        gp2, gp3 = prices.ebs_volume("gp2", region), prices.ebs_volume("gp3", region)
        if gp2 is not None and gp3 is not None:
            saving = volume_monthly(gp2, size, None, None) - volume_monthly(gp3, size, iops, throughput)
            if saving < Decimal(str(settings.min_monthly_saving)):
                continue  # dearer as gp3 at gp2's performance, or not worth it
        # Without prices the finding stands; the estimator says "no price".
        facts = ModifyToGp3Facts(
            size_gb=size, region=res.ref.region, gp2_baseline_iops=gp2_baseline_iops(size),
            gp2_max_throughput=gp2_max_throughput(size), target_iops=iops, target_throughput=throughput,
        )
        findings.append(Finding(
            resource=res,
            summary=f"EBS volume {res.ref.name or res.ref.id} ({size} GiB gp2, in use) costs less as gp3 at {iops} IOPS / {throughput} MiB/s",
            facts=facts,
            evidence=[
                Evidence(label="Volume", value=f"{size} GiB gp2, in use by {', '.join(a.get('attached_to') or [])}",
                         source="EC2 DescribeVolumes"),
                Evidence(label="gp2 performance", value=f"{facts.gp2_baseline_iops} IOPS baseline (3 x GiB, 100-16,000), up to "
                         f"{facts.gp2_max_throughput} MiB/s", source="Amazon EBS User Guide, General Purpose SSD (gp2)"),
            ],
        ))
    return findings
