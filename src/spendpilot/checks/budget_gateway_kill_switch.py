"""A non-production team's budget past its limit: propose lowering its budget in the LLM gateway.

The LLM-side twin of ``budget_kill_switch`` (which stops GPU instances). A ``[[budgets]]`` entry
with ``kill_switch = true``, a ``team`` scope and a declared non-production ``environment``
(dev, staging, ...) that has crossed its top threshold (or, with ``on_forecast``, is forecast
to cross 100 % before the month ends) gets a ``lower_gateway_budget`` proposal per team: the
team's ``max_budget`` in the LiteLLM config becomes what is left of the budget this month.

Production is never a target: a budget without an environment, or with a production one
(prod, production, prd, live, even if listed as non-production by mistake), proposes nothing,
and neither does a team whose id itself names production (``search-prod``). Nothing is proposed
without a LiteLLM config to change (``[[sources]] kind = "litellm_config"``), nor when the
team's entry already caps it at or below the proposed amount.

Scoped by ``feature`` or a virtual key, a budget has no config-file lever: LiteLLM keeps
virtual keys in its database (``/key/update``), not in config.yaml.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from pydantic import BaseModel, Field

from spendpilot.actions.budget_guard import guard_of, trigger
from spendpilot.actions.litellm_config import config_change, litellm_config
from spendpilot.actions.lower_gateway_budget import LowerGatewayBudgetFacts, remaining
from spendpilot.adapters.litellm.source_litellm_config import ConfigEdit
from spendpilot.checks.budget_kill_switch import PRODUCTION
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Resource, ResourceRef, Snapshot
from spendpilot.domain.snapshot import BudgetReading
from spendpilot.savings.pricebook import PriceBook

TEAMS = ("litellm_settings", "default_team_settings")


class BudgetGatewayKillSwitchSettings(BaseModel):
    enabled: bool = True
    non_production_values: list[str] = Field(
        ["dev", "development", "staging", "test", "sandbox"],
        description="Budget `environment` values whose kill switch may lower a gateway budget; prod never.",
    )
    on_forecast: bool = Field(
        True, description="Also trigger when the forecast crosses 100 % of the budget before the month ends."
    )
    budget_duration: str = Field(
        "1mo", description="LiteLLM budget_duration for the lowered team budget (its spend counter resets then)."
    )


def names_production(team: str) -> bool:
    """Whether a team id says production in one of its words (``search-prod``, ``prod_api``)."""
    return any(word in PRODUCTION for word in re.split(r"[^a-z0-9]+", team.lower()))


def team_entry(text: str, team: str) -> dict[str, Any]:
    """The team's item of ``default_team_settings`` in the config text ({} when absent)."""
    doc = yaml.safe_load(text)
    settings = doc.get(TEAMS[0]) if isinstance(doc, dict) else None
    items = settings.get(TEAMS[1]) if isinstance(settings, dict) else None
    if not isinstance(items, list):
        return {}
    return next((i for i in items if isinstance(i, dict) and str(i.get("team_id")) == team), {})


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


@register_check(
    "budget_gateway_kill_switch",
    action_kind="lower_gateway_budget",
    settings=BudgetGatewayKillSwitchSettings,
    facts=LowerGatewayBudgetFacts,
    description="Non-production teams of a kill-switch budget past its limit: lower their LiteLLM budget.",
)
def find_budget_gateway_kill_switch(
    snapshot: Snapshot, settings: BudgetGatewayKillSwitchSettings, prices: PriceBook
) -> list[Finding[LowerGatewayBudgetFacts]]:
    config = litellm_config(snapshot)
    if config is None:
        return []
    allowed = {v.lower() for v in settings.non_production_values} - PRODUCTION
    findings: list[Finding[LowerGatewayBudgetFacts]] = []
    seen: set[str] = set()  # one proposal per team, from the first budget that pulls its switch
    for budget in snapshot.budgets:
        env = (budget.environment or "").lower()
        why = trigger(budget, settings.on_forecast)
        if why is None or env not in allowed or "team" not in budget.scope:
            continue
        teams = budget.scope["team"]
        for team in [teams] if isinstance(teams, str) else teams:
            if team in seen or names_production(team):
                continue
            finding = _finding(snapshot, config, budget, team, why, settings)
            if finding is not None:
                seen.add(team)
                findings.append(finding)
    return findings


def _finding(snapshot: Snapshot, config: Resource, budget: BudgetReading, team: str, why: str,
             settings: BudgetGatewayKillSwitchSettings) -> Finding[LowerGatewayBudgetFacts] | None:
    text = str(config.attributes["text"])
    entry = team_entry(text, team)
    previous = _decimal(entry.get("max_budget"))
    cap = remaining(budget.amount, budget.actual)
    if previous is not None and previous <= cap:
        return None  # already capped at or below what is left: nothing to lower
    path: list[str | dict[str, str]] = [*TEAMS, {"team_id": team}]
    change = config_change(snapshot, [
        ConfigEdit(path=[*path, "max_budget"], value=float(cap)),
        ConfigEdit(path=[*path, "budget_duration"], value=settings.budget_duration),
    ])
    where = str(config.attributes["path"])
    now = (f"max_budget {previous}, budget_duration {entry.get('budget_duration')}" if entry
           else "no entry for this team (no config budget)")
    evidence = [
        Evidence(label=f"Budget {budget.name}",
                 value=f"{budget.actual} of {budget.amount} ({float(budget.burn):.0%}) as of {budget.as_of}; {why}",
                 source=f"[[budgets]] {budget.name} (scope team={team}), FOCUS lake month to date"),
        Evidence(label="Forecast to month end", value=f"{budget.projected} by {budget.period_end}",
                 source="outlook.forecast on the budget's last 90 days (weekday-aware)"),
        Evidence(label="Environment", value=f"{budget.environment} (declared on the budget; non-production)",
                 source=f"[[budgets]] {budget.name} environment"),
        Evidence(label=f"LiteLLM team {team}", value=now, source=f"{where}: litellm_settings.default_team_settings"),
    ]
    facts = LowerGatewayBudgetFacts(
        budget=budget.name, team=team, environment=str(budget.environment), amount=budget.amount,
        actual=budget.actual, projected=budget.projected, max_budget=cap, budget_duration=settings.budget_duration,
        previous_max_budget=previous,
        previous_budget_duration=str(entry["budget_duration"]) if entry.get("budget_duration") else None,
        why=why, budget_guard=guard_of(budget, on_forecast=settings.on_forecast), litellm=change,
    )
    resource = Resource(ref=ResourceRef(provider="litellm", kind="litellm_team", id=team, name=f"litellm-team-{team}"),
                        attributes={"config": where})
    return Finding(
        resource=resource,
        summary=(f"Budget {budget.name} ({budget.environment}) {why}: lower LiteLLM team '{team}' to "
                 f"max_budget {cap} until the budget is reviewed."),
        facts=facts,
        evidence=evidence,
    )
