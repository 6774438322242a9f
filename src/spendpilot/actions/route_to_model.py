"""Point a product feature at a cheaper model by changing its routing parameter."""

from __future__ import annotations

from typing import Any

from spendpilot.actions.base import Action, register_action
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.domain import ActionPlan, Finding, ResourceRef, Risk


@register_action
class RouteToModel(Action):
    kind = "route_to_model"
    permissions = ("ssm:GetParameter", "ssm:GetParametersByPath", "ssm:PutParameter")

    def risk(self, finding: Finding) -> Risk:
        return Risk.MEDIUM

    def build_plan(self, finding: Finding) -> ActionPlan:
        res, facts = finding.resource, finding.facts
        param = res.attributes.get("parameter")
        return ActionPlan(
            action=self.kind,
            target=res.ref,
            change={"model": facts["target_model"]},
            expected_pre_state={"model": facts["model"]},
            rollback={"action": "route_to_model", "model": facts["model"]},
            rollback_description=f"Set {param} back to {facts['model']}.",
            description=(
                f"Route feature '{res.ref.id}' from {facts['model']} to {facts['target_model']} "
                f"(SSM parameter {param})."
            ),
            permissions=list(self.permissions),
        )

    def read_state(self, aws: AwsAdapter, target: ResourceRef) -> dict[str, Any] | None:
        route = aws.llm_routing.get_route(target.id)
        return None if route is None else {"model": route.attributes["model"]}

    def apply(self, aws: AwsAdapter, plan: ActionPlan) -> dict[str, Any]:
        aws.llm_routing.set_route(plan.target.id, plan.change["model"])
        return {"model": plan.change["model"]}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        return state is not None and state.get("model") == plan.change["model"]
