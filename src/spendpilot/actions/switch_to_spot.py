"""Move an Auto Scaling group's on-demand share to spot via its mixed-instances policy."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import Field

from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk

if TYPE_CHECKING:
    from spendpilot.adapters.aws.client import AwsAdapter


class SpotFacts(Facts):
    """A group's purchase split now, and the split the plan moves it to."""

    instance_type: str
    region: str | None = None
    desired_capacity: int = Field(ge=0)
    on_demand_percentage_above_base: int = Field(ge=0, le=100)
    on_demand_base_capacity: int = Field(ge=0)
    target_on_demand_percentage: int = Field(ge=0, le=100)
    movable_instances: float = Field(ge=0, description="Instances that move from on demand to spot.")
    launch_template: Any = None
    spot_allocation_strategy: str | None = None
    live_spot_price: Decimal | None = None


@register_action("switch_to_spot")
class SwitchToSpot(Action[SpotFacts]):
    facts_model = SpotFacts
    permissions = (
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:UpdateAutoScalingGroup",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:RunInstances",
        "iam:CreateServiceLinkedRole",
    )
    allocation_strategy = "price-capacity-optimized"

    def risk(self, finding: Finding[SpotFacts]) -> Risk:
        return Risk.MEDIUM

    def build_plan(self, finding: Finding[SpotFacts]) -> ActionPlan:
        res, facts = finding.resource, finding.facts
        base = facts.on_demand_base_capacity
        # None: the group has no mixed-instances policy yet, or leaves the strategy to AWS's default.
        strategy_before = facts.spot_allocation_strategy
        before = {
            "on_demand_percentage_above_base": facts.on_demand_percentage_above_base,
            "on_demand_base_capacity": base,
            "spot_allocation_strategy": strategy_before,
        }
        after = {
            "on_demand_percentage_above_base": facts.target_on_demand_percentage,
            "on_demand_base_capacity": base,
            "spot_allocation_strategy": self.allocation_strategy,
        }
        fixed = {"instance_type": facts.instance_type, "launch_template": facts.launch_template}
        back = (
            f"Set the group's on-demand share back to {facts.on_demand_percentage_above_base}% above a "
            f"base of {base} and its spot allocation strategy back to "
            f"{strategy_before or 'unset (the AWS default)'}; the group replaces spot instances with "
            "on-demand ones as it scales."
        )
        rollback = ActionPlan(
            action=self.kind, target=res.ref, change=before, expected_pre_state={**after, **fixed},
            rollback_description="Move the group to spot again.",
            description=f"Auto Scaling group '{res.ref.id}': {back}", permissions=list(self.permissions),
        )
        return ActionPlan(
            action=self.kind,
            target=res.ref,
            change=after,
            expected_pre_state={**before, **fixed},
            rollback=rollback,
            rollback_description=back,
            description=(
                f"Set Auto Scaling group '{res.ref.id}' to {facts.target_on_demand_percentage}% on demand "
                f"above a base of {base} ({self.allocation_strategy} spot allocation). Running instances "
                "are replaced gradually as the group scales or refreshes."
            ),
            permissions=list(self.permissions),
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        aws: AwsAdapter = ctx.target(target)
        group = aws.autoscaling.describe_group(target.id)
        if group is None:
            return None
        a = group.attributes
        return {
            "on_demand_percentage_above_base": a["on_demand_percentage_above_base"],
            "on_demand_base_capacity": a["on_demand_base_capacity"],
            "instance_type": a["instance_type"],
            "launch_template": a["launch_template"],
            "spot_allocation_strategy": a["spot_allocation_strategy"],
        }

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        aws: AwsAdapter = ctx.target(plan.target)
        aws.autoscaling.set_on_demand_split(
            plan.target.id,
            on_demand_percentage_above_base=plan.change["on_demand_percentage_above_base"],
            on_demand_base_capacity=plan.change["on_demand_base_capacity"],
            spot_allocation_strategy=plan.change["spot_allocation_strategy"],
        )
        return {"updated": plan.target.id}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        """Every field the change sets (the split and the spot allocation strategy) shows."""
        return state is not None and all(state.get(f) == v for f, v in plan.change.items())
