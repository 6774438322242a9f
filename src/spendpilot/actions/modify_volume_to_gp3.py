"""Change a gp2 EBS volume to gp3 with at least the performance gp2 gave it; rollback changes it back.

gp2's performance comes with its size; gp3's is provisioned. So that nothing runs slower after the
change, the target is what gp2 delivered (Amazon EBS User Guide, "General Purpose SSD volumes"):

- IOPS: gp2's baseline is 3 IOPS per GiB, at least 100 and at most 16,000; volumes up to 1,000 GiB
  burst to 3,000. gp3 includes 3,000 IOPS, so the target is ``max(3000, baseline)``: extra IOPS
  are provisioned (and priced) only for volumes above 1,000 GiB.
- Throughput: gp2 gives at most 128 MiB/s up to 170 GiB and 250 MiB/s above (on burst credits
  between 170 and 334 GiB). gp3 includes 125 MiB/s, so the target is 128 or 250: a small extra
  that can make gp3 *dearer* than gp2 for volumes of 171-250 GiB, which the check leaves alone.

ModifyVolume works on an attached volume while it serves I/O (``modifying``, then
``optimizing``, then ``completed``). AWS allows one modification per volume every six hours, so
a rollback right after the change is refused until then (``spendpilot resume`` retries it). The
rollback is ModifyVolume to gp2 (IOPS and throughput return to what gp2's size gives).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.adapters.aws.ebs import BUSY_MODIFICATION_STATES
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk

if TYPE_CHECKING:
    from spendpilot.adapters.aws.client import AwsAdapter

GP3_INCLUDED_IOPS = 3000
GP3_INCLUDED_THROUGHPUT = 125


def gp2_baseline_iops(size_gb: int) -> int:
    """3 IOPS per GiB, at least 100, at most 16,000 (EBS User Guide, gp2)."""
    return max(100, min(16000, 3 * size_gb))


def gp2_max_throughput(size_gb: int) -> int:
    """MiB/s: 128 up to 170 GiB, 250 above.

    Source: Amazon EBS User Guide, "General Purpose SSD volumes", gp2 throughput performance
    (https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html): volumes of 170 GiB
    or less deliver up to 128 MiB/s; 171-333 GiB up to 250 MiB/s while burst credits last; 334
    GiB and more 250 MiB/s regardless. The same table, quoted by size band, is reproduced at
    https://www.saisci.com/aws/gp2-throughput-explained-ebs-volumes/ (checked 2026-12-03). The
    171-333 GiB band reaches 250 only with credits; sizing gp3 at 250 there errs towards keeping
    performance, and the estimator's *high* end shows the saving at gp3's included 125 MiB/s.
    """
    return 128 if size_gb <= 170 else 250


def gp3_target(size_gb: int) -> tuple[int, int]:
    """The gp3 IOPS and throughput that give at least what the gp2 volume of this size gave."""
    return max(GP3_INCLUDED_IOPS, gp2_baseline_iops(size_gb)), max(GP3_INCLUDED_THROUGHPUT, gp2_max_throughput(size_gb))


class ModifyToGp3Facts(Facts):
    """What retyping a gp2 volume needs to be planned, estimated, re-checked and undone."""

    size_gb: int = Field(..., gt=0)
    region: str | None = None
    gp2_baseline_iops: int = Field(..., description="3 x GiB, 100-16,000: what gp2 gave.")
    gp2_max_throughput: int = Field(..., description="MiB/s gp2 gave at most: 128 (<= 170 GiB) or 250.")
    target_iops: int = Field(..., ge=GP3_INCLUDED_IOPS)
    target_throughput: int = Field(..., ge=GP3_INCLUDED_THROUGHPUT)


def _busy(state: str | None) -> bool:
    return state in BUSY_MODIFICATION_STATES


@register_action("modify_volume_to_gp3")
class ModifyVolumeToGp3(Action[ModifyToGp3Facts]):
    facts_model = ModifyToGp3Facts
    permissions = ("ec2:DescribeVolumes", "ec2:DescribeVolumesModifications", "ec2:ModifyVolume")
    # ModifyVolume is authorised on the volume; the Describe* calls have no resource-level permissions.
    resources = ("arn:aws:ec2:*:*:volume/*",)

    def risk(self, finding: Finding[ModifyToGp3Facts]) -> Risk:
        return Risk.LOW  # online, same or better performance, reversible (after six hours)

    def build_plan(self, finding: Finding[ModifyToGp3Facts]) -> ActionPlan:
        res, facts = finding.resource, finding.facts
        vid = res.ref.id
        gp3 = {"volume_type": "gp3", "iops": facts.target_iops, "throughput": facts.target_throughput}
        rollback = ActionPlan(
            action=self.kind,
            target=res.ref,
            change={"volume_type": "gp2", "iops": None, "throughput": None},
            expected_pre_state={**gp3, "size_gb": facts.size_gb, "modification_in_progress": False},
            rollback_description=f"Change {vid} to gp3 again.",
            description=f"Change EBS volume {vid} ({facts.size_gb} GiB) back to gp2.",
            permissions=list(self.permissions),
        )
        return ActionPlan(
            action=self.kind,
            target=res.ref,
            change=gp3,
            expected_pre_state={"volume_type": "gp2", "size_gb": facts.size_gb, "modification_in_progress": False},
            rollback=rollback,
            rollback_description=(
                "ModifyVolume back to gp2 (`spendpilot rollback`); AWS allows it six hours after this change."
            ),
            description=(
                f"Change EBS volume {vid} ({facts.size_gb} GiB) from gp2 to gp3 with {facts.target_iops} IOPS and "
                f"{facts.target_throughput} MiB/s (gp2 gave {facts.gp2_baseline_iops} IOPS baseline, up to "
                f"{facts.gp2_max_throughput} MiB/s); online, no detach."
            ),
            permissions=list(self.permissions),
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        aws: AwsAdapter = ctx.target(target)
        vol = aws.ebs.describe_volume(target.id)
        if vol is None:
            return None
        a = vol.attributes
        gp3 = a["volume_type"] == "gp3"
        return {
            "volume_type": a["volume_type"], "size_gb": a["size_gb"],
            # gp2 reports its size's baseline as Iops: not a setting, so not compared.
            "iops": a["iops"] if gp3 else None, "throughput": a["throughput"] if gp3 else None,
            "modification_in_progress": _busy(a["modification_state"]),
        }

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        aws: AwsAdapter = ctx.target(plan.target)
        c = plan.change
        state = aws.ebs.modify_volume(plan.target.id, c["volume_type"], iops=c.get("iops"), throughput=c.get("throughput"))
        return {"modification_state": state, "volume_type": c["volume_type"]}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        return state is not None and state.get("volume_type") == plan.change["volume_type"]
