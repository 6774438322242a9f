"""Kill switch, LLM side: lower a non-production team's budget in the LiteLLM proxy config.

The plan sets ``max_budget`` (what is left of the spendpilot budget this month) and
``budget_duration`` on the team's entry of ``litellm_settings.default_team_settings`` (LiteLLM's
config.yaml shape for team budgets, docs.litellm.ai/docs/proxy/team_budgets), as a diff against
the exact text the sweep read (``LiteLLMConfigAction``: the file's hash is the drift check,
comments are kept, the previous file is kept beside it and restored by rollback).

Like the instance kill switch, the case is a budget that is over (or forecast to be), and the
approval may come later: the plan carries the budget in ``preconditions`` and
``evidence_differences`` re-evaluates it just before the write (``actions.budget_guard``). A
budget raised, or back under its limit, in the meantime is drift: nothing is written.

Teams already in the proxy's database take their budget from ``/team/update``; config.yaml
applies to teams the proxy creates (JWT ``team_id_upsert``). The runbook says both, and that the
proxy reads config.yaml at start-up.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field

from spendpilot.actions.base import ActionContext, register_action
from spendpilot.actions.budget_guard import BudgetGuard, budget_differences, budget_preconditions
from spendpilot.actions.litellm_config import LiteLLMConfigAction, LiteLLMConfigChange
from spendpilot.domain import ActionPlan, Facts, Finding, Money, Risk
from spendpilot.domain.money import DecimalStr


class LowerGatewayBudgetFacts(Facts):
    """A non-production team's budget is over; the gateway cap that stops it spending more."""

    budget: str
    team: str = Field(description="LiteLLM team_id (the budget's `team` scope).")
    environment: str
    amount: Money
    actual: Money
    """Month-to-date spend in the budget's scope."""
    projected: Money
    """Actual plus the forecast for the rest of the month."""
    max_budget: DecimalStr = Field(description="Proposed LiteLLM max_budget: what is left of the budget this month.")
    budget_duration: str = Field(description="Proposed LiteLLM budget_duration (when its spend counter resets).")
    previous_max_budget: DecimalStr | None = None
    previous_budget_duration: str | None = None
    why: str
    budget_guard: BudgetGuard
    litellm: LiteLLMConfigChange | None = None


@register_action("lower_gateway_budget")
class LowerGatewayBudget(LiteLLMConfigAction[LowerGatewayBudgetFacts]):
    facts_model = LowerGatewayBudgetFacts

    def risk(self, finding: Finding[LowerGatewayBudgetFacts]) -> Risk:
        # Refusing a non-production team's calls is the point; it breaks no production traffic.
        return Risk.MEDIUM

    def change(self, finding: Finding[LowerGatewayBudgetFacts]) -> LiteLLMConfigChange | None:
        return finding.facts.litellm

    def describe(self, finding: Finding[LowerGatewayBudgetFacts]) -> str:
        f = finding.facts
        before = (f"from max_budget {f.previous_max_budget} " if f.previous_max_budget is not None
                  else "(it has no max_budget) ")
        return (f"Lower LiteLLM team '{f.team}' ({f.environment}) {before}to {f.max_budget} per "
                f"{f.budget_duration}: budget {f.budget} {f.why}")

    def runbook(self, finding: Finding[LowerGatewayBudgetFacts]) -> list[str]:
        f = finding.facts
        return [
            f"LiteLLM: team '{f.team}' gets max_budget {f.max_budget}, budget_duration {f.budget_duration} in "
            "config.yaml (litellm_settings.default_team_settings). Restart the proxy to load it.",
            f"If team '{f.team}' already exists in the proxy's database, set the same with POST /team/update "
            f"{{\"team_id\": \"{f.team}\", \"max_budget\": {f.max_budget}, \"budget_duration\": \"{f.budget_duration}\"}}.",
            f"Review budget {f.budget} with the team; `spendpilot rollback` restores the previous config.",
        ]

    def build_plan(self, finding: Finding[LowerGatewayBudgetFacts]) -> ActionPlan:
        plan = super().build_plan(finding)
        plan.preconditions = budget_preconditions(finding.facts.budget_guard)
        return plan

    def evidence_differences(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, tuple[Any, Any]]:
        return budget_differences(ctx, plan.preconditions)


def remaining(amount: Money, actual: Money) -> Decimal:
    """What is left of the budget this month, never below zero (an overrun team gets 0)."""
    return max(Decimal(0), amount.amount - actual.amount).quantize(Decimal("0.01"))
