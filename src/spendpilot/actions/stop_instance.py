"""Stop an instance. Its EBS volumes and configuration stay; starting it again is the rollback."""

from __future__ import annotations

from typing import Any

from spendpilot.actions.base import Action, register_action
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.domain import ActionPlan, Finding, ResourceRef, Risk


@register_action
class StopInstance(Action):
    kind = "stop_instance"
    permissions = ("ec2:DescribeInstances", "ec2:StopInstances", "ec2:StartInstances")

    def risk(self, finding: Finding) -> Risk:
        env = finding.resource.tags.get("env", "").lower()
        return Risk.HIGH if env in ("prod", "production") else Risk.LOW

    def build_plan(self, finding: Finding) -> ActionPlan:
        res = finding.resource
        return ActionPlan(
            action=self.kind,
            target=res.ref,
            change={"state": "stopped"},
            expected_pre_state={
                "state": "running",
                "instance_type": res.attributes["instance_type"],
                "tags": dict(sorted(res.tags.items())),
            },
            rollback={"action": "start_instance", "instance_id": res.ref.id},
            rollback_description=f"Start instance {res.ref.id} again (aws ec2 start-instances).",
            description=f"Stop EC2 instance {res.ref.id} ({res.ref.name or 'unnamed'}, "
            f"{res.attributes['instance_type']}).",
            permissions=list(self.permissions),
        )

    def read_state(self, aws: AwsAdapter, target: ResourceRef) -> dict[str, Any] | None:
        inst = aws.ec2.describe_instance(target.id)
        if inst is None:
            return None
        return {
            "state": inst.attributes["state"],
            "instance_type": inst.attributes["instance_type"],
            "tags": dict(sorted(inst.tags.items())),
        }

    def apply(self, aws: AwsAdapter, plan: ActionPlan) -> dict[str, Any]:
        return {"state_after_call": aws.ec2.stop_instance(plan.target.id)}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        return state is not None and state.get("state") in ("stopping", "stopped")
