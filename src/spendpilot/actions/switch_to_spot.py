"""Move an Auto Scaling group's on-demand share to spot via its mixed-instances policy."""

from __future__ import annotations

from typing import Any

from spendpilot.actions.base import Action, register_action
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.domain import ActionPlan, Finding, ResourceRef, Risk


@register_action
class SwitchToSpot(Action):
    kind = "switch_to_spot"
    permissions = (
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:UpdateAutoScalingGroup",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:RunInstances",
        "iam:CreateServiceLinkedRole",
    )
    allocation_strategy = "price-capacity-optimized"

    def risk(self, finding: Finding) -> Risk:
        return Risk.MEDIUM

    def build_plan(self, finding: Finding) -> ActionPlan:
        res, facts = finding.resource, finding.facts
        target_pct = int(facts["target_on_demand_percentage"])
        base = int(facts["on_demand_base_capacity"])
        # None: the group has no mixed-instances policy yet, or leaves the strategy to AWS's default.
        strategy_before = res.attributes.get("spot_allocation_strategy")
        return ActionPlan(
            action=self.kind,
            target=res.ref,
            change={
                "on_demand_percentage_above_base": target_pct,
                "on_demand_base_capacity": base,
                "spot_allocation_strategy": self.allocation_strategy,
            },
            expected_pre_state={
                "on_demand_percentage_above_base": int(facts["on_demand_percentage_above_base"]),
                "on_demand_base_capacity": base,
                "instance_type": facts["instance_type"],
                "launch_template": res.attributes.get("launch_template"),
                "spot_allocation_strategy": strategy_before,
            },
            rollback={
                "action": "switch_to_spot",
                "on_demand_percentage_above_base": int(facts["on_demand_percentage_above_base"]),
                "on_demand_base_capacity": base,
                "spot_allocation_strategy": strategy_before,
            },
            rollback_description=(
                f"Set the group's on-demand share back to "
                f"{facts['on_demand_percentage_above_base']}% above a base of {base} and its spot "
                f"allocation strategy back to {strategy_before or 'unset (the AWS default)'}; "
                "the group replaces spot instances with on-demand ones as it scales."
            ),
            description=(
                f"Set Auto Scaling group '{res.ref.id}' to {target_pct}% on demand above a base "
                f"of {base} ({self.allocation_strategy} spot allocation). Running instances are "
                "replaced gradually as the group scales or refreshes."
            ),
            permissions=list(self.permissions),
        )

    def read_state(self, aws: AwsAdapter, target: ResourceRef) -> dict[str, Any] | None:
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

    def apply(self, aws: AwsAdapter, plan: ActionPlan) -> dict[str, Any]:
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
