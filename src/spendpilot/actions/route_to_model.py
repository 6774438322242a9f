"""Point a product feature at a cheaper model by changing its routing parameter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk

if TYPE_CHECKING:
    from spendpilot.adapters.aws.client import AwsAdapter


class RouteFacts(Facts):
    """A feature's model today, the cheaper one proposed, and the usage the saving scales with."""

    model: str
    target_model: str
    days: int = Field(ge=1, description="Days of usage the token counts cover.")
    requests: int = Field(ge=0)
    input_tokens: int = Field(ge=0, description="All input tokens, cached ones included.")
    cached_input_tokens: int = Field(0, ge=0)
    cache_write_input_tokens: int = Field(0, ge=0, description="Cache writes, part of input_tokens.")
    output_tokens: int = Field(ge=0)
    parameter: str | None = None


@register_action("route_to_model")
class RouteToModel(Action[RouteFacts]):
    facts_model = RouteFacts
    permissions = ("ssm:GetParameter", "ssm:GetParametersByPath", "ssm:PutParameter")

    def risk(self, finding: Finding[RouteFacts]) -> Risk:
        return Risk.MEDIUM

    def build_plan(self, finding: Finding[RouteFacts]) -> ActionPlan:
        res, facts = finding.resource, finding.facts
        param = facts.parameter or res.ref.id
        rollback = ActionPlan(
            action=self.kind, target=res.ref, change={"model": facts.model},
            expected_pre_state={"model": facts.target_model},
            rollback_description=f"Route it to {facts.target_model} again.",
            description=f"Route feature '{res.ref.id}' back from {facts.target_model} to {facts.model} (SSM parameter {param}).",
            permissions=list(self.permissions),
        )
        return ActionPlan(
            action=self.kind,
            target=res.ref,
            change={"model": facts.target_model},
            expected_pre_state={"model": facts.model},
            rollback=rollback,
            rollback_description=f"Set {param} back to {facts.model}.",
            description=(
                f"Route feature '{res.ref.id}' from {facts.model} to {facts.target_model} "
                f"(SSM parameter {param})."
            ),
            permissions=list(self.permissions),
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        aws: AwsAdapter = ctx.target(target)
        route = aws.llm_routing.get_route(target.id)
        return None if route is None else {"model": route.attributes["model"]}

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        aws: AwsAdapter = ctx.target(plan.target)
        aws.llm_routing.set_route(plan.target.id, plan.change["model"])
        return {"model": plan.change["model"]}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        return state is not None and state.get("model") == plan.change["model"]
