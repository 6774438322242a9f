"""Action: set the tag ``parking=parked`` on an EC2 instance through the AWS target."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk

TAG = "parking"


class ParkFacts(Facts):
    instance_id: str
    owner: str = Field(description="Who asked for it to be parked.")
    tag_now: str | None = None


@register_action("toy_tag")
class TagParked(Action[ParkFacts]):
    facts_model = ParkFacts
    permissions = ("ec2:DescribeInstances", "ec2:CreateTags")

    def risk(self, finding: Finding[ParkFacts]) -> Risk:
        return Risk.LOW

    def build_plan(self, finding: Finding[ParkFacts]) -> ActionPlan:
        ref, before = finding.resource.ref, finding.facts.tag_now
        undo = ActionPlan(
            action=self.kind, target=ref, change={TAG: before}, expected_pre_state={TAG: "parked"},
            rollback_description="park it again", description=f"Set tag {TAG} of {ref.id} back to {before!r}",
        )
        return ActionPlan(
            action=self.kind, target=ref, change={TAG: "parked"}, expected_pre_state={TAG: before},
            rollback=undo, rollback_description=f"set the tag back to {before!r}",
            description=f"Tag {ref.id} {TAG}=parked", permissions=list(self.permissions),
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        inst = ctx.target(target).ec2.describe_instance(target.id)
        return None if inst is None else {TAG: inst.tags.get(TAG)}

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        ec2 = ctx.target(plan.target).client("ec2")
        value = plan.change[TAG]
        if value is None:
            ec2.delete_tags(Resources=[plan.target.id], Tags=[{"Key": TAG}])
        else:
            ec2.create_tags(Resources=[plan.target.id], Tags=[{"Key": TAG, "Value": value}])
        return {TAG: value}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        return state is not None and state.get(TAG) == plan.change[TAG]
