"""Delete an EBS snapshot kept past its retention. Irreversible, and the plan says so.

Chosen over moving it to the archive tier (``ModifySnapshotTier``), which would be reversible:
an archived snapshot stores its *full* data rather than the blocks it adds to its volume's chain,
is billed for at least 90 days, and costs a per-GB fee to restore, so for the old incremental
snapshots this check finds, archiving can cost more than keeping them (Amazon EBS User Guide,
"Archive Amazon EBS snapshots"). A deleted snapshot is gone: there is no rollback plan, and the
risk is high when its source volume no longer exists (the snapshot is then the data's last copy).

Before deleting, the executor compares the snapshot with what the sweep saw: still ``completed``,
the same tags (a keep tag added since approval is drift), and still used by no registered AMI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, Field

from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk

if TYPE_CHECKING:
    from spendpilot.adapters.aws.client import AwsAdapter


class DeleteSnapshotFacts(Facts):
    volume_size_gb: int = Field(..., ge=0)
    region: str | None = None
    started_at: AwareDatetime
    age_days: float = Field(..., ge=0)
    retention_days: float = Field(..., gt=0)
    volume_id: str | None = None
    volume_exists: bool
    snapshots_of_same_volume: int = Field(1, ge=1)


@register_action("delete_ebs_snapshot")
class DeleteEbsSnapshot(Action[DeleteSnapshotFacts]):
    facts_model = DeleteSnapshotFacts
    permissions = ("ec2:DescribeSnapshots", "ec2:DescribeImages", "ec2:DeleteSnapshot")
    # DeleteSnapshot supports resource-level permissions on the snapshot ARN; the describes do not.
    resources = ("arn:aws:ec2:*::snapshot/*",)

    def risk(self, finding: Finding[DeleteSnapshotFacts]) -> Risk:
        return Risk.MEDIUM if finding.facts.volume_exists else Risk.HIGH

    def build_plan(self, finding: Finding[DeleteSnapshotFacts]) -> ActionPlan:
        res, facts = finding.resource, finding.facts
        source = (f"its volume {facts.volume_id} still exists" if facts.volume_exists
                  else f"its volume {facts.volume_id or '(unknown)'} is gone: this snapshot may be the data's last copy")
        return ActionPlan(
            action=self.kind, target=res.ref,
            change={"snapshot": "deleted"},
            expected_pre_state={"state": "completed", "used_by_images": [], "tags": dict(sorted(res.tags.items()))},
            rollback=None,
            rollback_description=(
                "IRREVERSIBLE: a deleted EBS snapshot cannot be restored (unless the account has a Recycle Bin "
                f"retention rule for snapshots). To keep it cheaply instead, reject this and archive it by hand "
                f"(aws ec2 modify-snapshot-tier --snapshot-id {res.ref.id} --storage-tier archive)."
            ),
            description=(
                f"Delete EBS snapshot {res.ref.id} ({facts.volume_size_gb} GiB volume, {facts.age_days:.0f} days old, "
                f"retention {facts.retention_days:g} days); {source}. Cannot be undone."
            ),
            permissions=list(self.permissions),
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        aws: AwsAdapter = ctx.target(target)
        snap = aws.ebs_snapshots.describe_snapshot(target.id)
        if snap is None:
            return None
        return {
            "state": snap.attributes["state"],
            "used_by_images": snap.attributes["used_by_images"],
            "tags": dict(sorted(snap.tags.items())),
        }

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        aws: AwsAdapter = ctx.target(plan.target)
        aws.ebs_snapshots.delete_snapshot(plan.target.id)
        return {"deleted": plan.target.id}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        return state is None
