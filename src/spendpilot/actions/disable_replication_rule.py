"""Disable one S3 cross-region replication rule whose replicas nobody reads; rollback enables it.

``PutBucketReplication`` writes the bucket's whole replication configuration back with that one
rule's ``Status`` = ``Disabled``; the destination bucket and the replicas already there stay.
Re-enabling replicates new writes again, but **not** the objects written while it was disabled:
those need S3 Batch Replication, and the rollback description says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, Field

from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk

if TYPE_CHECKING:
    from spendpilot.adapters.aws.client import AwsAdapter


class DisableReplicationFacts(Facts):
    bucket: str
    rule_id: str
    region: str | None = None
    destination_bucket: str
    destination_region: str
    get_requests: float = Field(..., ge=0)
    bytes_replicated: float = Field(..., ge=0, description="BytesUploaded to the destination over the window.")
    window_days: float = Field(..., gt=0)
    measured_until: AwareDatetime


@register_action("disable_replication_rule")
class DisableReplicationRule(Action[DisableReplicationFacts]):
    facts_model = DisableReplicationFacts
    permissions = ("s3:GetReplicationConfiguration", "s3:PutReplicationConfiguration", "iam:PassRole")
    # PutBucketReplication is authorised on the source bucket and passes the replication role.
    resources = ("arn:aws:s3:::*", "arn:aws:iam::*:role/*")

    def risk(self, finding: Finding[DisableReplicationFacts]) -> Risk:
        return Risk.MEDIUM  # a disaster-recovery copy stops being current

    def _plan(self, finding: Finding[DisableReplicationFacts], status: str, rollback: ActionPlan | None) -> ActionPlan:
        f = finding.facts
        other = "Enabled" if status == "Disabled" else "Disabled"
        return ActionPlan(
            action=self.kind, target=finding.resource.ref,
            change={"rule_status": status},
            expected_pre_state={"status": other, "destination_bucket": f.destination_bucket},
            rollback=rollback,
            rollback_description=(
                f"Enable rule {f.rule_id} again (`spendpilot rollback`). Objects written to {f.bucket} while it was "
                "disabled are NOT replicated by that; copy them with S3 Batch Replication if the replica must be complete."
                if status == "Disabled" else f"Disable rule {f.rule_id} again."
            ),
            description=(
                f"{'Disable' if status == 'Disabled' else 'Enable'} S3 replication rule {f.rule_id} of bucket {f.bucket} "
                f"(to {f.destination_bucket} in {f.destination_region})"
                + ("; the replicas already there are kept." if status == "Disabled" else ".")
            ),
            permissions=list(self.permissions),
        )

    def build_plan(self, finding: Finding[DisableReplicationFacts]) -> ActionPlan:
        return self._plan(finding, "Disabled", self._plan(finding, "Enabled", None))

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        aws: AwsAdapter = ctx.target(target)
        bucket, rule_id = target.id.split("/", 1)
        rule = aws.s3_replication.describe_rule(bucket, rule_id)
        if rule is None:
            return None
        return {"status": rule.get("Status"),
                "destination_bucket": str(rule.get("Destination", {}).get("Bucket", "")).rsplit(":", 1)[-1]}

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        aws: AwsAdapter = ctx.target(plan.target)
        bucket, rule_id = plan.target.id.split("/", 1)
        aws.s3_replication.set_rule_status(bucket, rule_id, plan.change["rule_status"])
        return {"rule_status": plan.change["rule_status"]}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        return state is not None and state.get("status") == plan.change["rule_status"]
