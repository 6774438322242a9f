"""A non-production budget past its limit: propose stopping the GPU instances it pays for.

The kill switch is opt-in per budget (``kill_switch = true`` in ``[[budgets]]``) and only ever
*proposes*: each stop is an ordinary ``stop_instance`` proposal that waits for approval, is
re-checked for drift before it runs and can be rolled back (started again). Production is never
proposed, whatever the budget says: an instance is a candidate only when its environment tag
names a non-production environment (``env`` in dev, staging, test, sandbox by default); an
untagged instance is not assumed to be non-production.

A budget reaches the check through ``Snapshot.budgets``, which the sweep fills after its
sources (``agent.sweep._read_kill_switch_budgets``). An instance is "in the budget's scope"
when every scope key that describes an instance matches it: ``tag:KEY`` on its tags, ``team``
on the team tag, ``account`` and ``region`` on where it lives. A budget scoped by something
an instance does not carry (feature, model, provider, subaccount, or a service other than EC2)
stops nothing: the spend it counts is not these instances'.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from spendpilot.actions.budget_guard import guard_of, trigger
from spendpilot.actions.stop_instance import StopInstanceFacts
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Resource, Snapshot
from spendpilot.domain.snapshot import BudgetReading
from spendpilot.savings.pricebook import PriceBook

PRODUCTION = frozenset({"prod", "production", "prd", "live"})
"""Never stopped by a kill switch, even when listed in ``non_production_values`` by mistake."""


class BudgetKillFacts(StopInstanceFacts):
    """A stop whose case is a budget past its limit, not idleness."""

    budget: str
    burn: float
    """Month-to-date spend as a share of the budget."""
    crossed_on: date | None = None
    forecast_full_on: date | None = None


class BudgetKillSwitchSettings(BaseModel):
    enabled: bool = True
    env_tag: str = Field("env", description="Tag naming an instance's environment.")
    non_production_values: list[str] = Field(
        ["dev", "development", "staging", "test", "sandbox"],
        description="Environment tag values that a kill switch may stop (case-insensitive); prod never.",
    )
    on_forecast: bool = Field(
        True, description="Also trigger when the forecast crosses 100 % of the budget before the month ends."
    )
    team_tag: str = Field("team", description="Tag a budget's `team` scope matches (as `spendpilot spend`).")
    ignore_tag: str = Field("spendpilot:ignore", description="Instances with this tag are skipped.")


_EC2_SERVICES = ("elastic compute cloud", "ec2")


def _values(value: str | list[str]) -> set[str]:
    return {v.lower() for v in ([value] if isinstance(value, str) else value)}


def in_scope(res: Resource, scope: dict[str, str | list[str]], team_tag: str) -> bool:
    """Whether the budget's scope, read as instance attributes, selects this instance."""
    tags = {k: v.lower() for k, v in res.tags.items()}
    for key, value in scope.items():
        wanted = _values(value)
        if key.startswith("tag:"):
            ok = tags.get(key[4:]) in wanted
        elif key == "team":
            ok = tags.get(team_tag) in wanted
        elif key == "account":
            ok = (res.ref.account or "").lower() in wanted
        elif key == "region":
            ok = (res.ref.region or "").lower() in wanted
        elif key == "service":
            ok = any(s in w for w in wanted for s in _EC2_SERVICES)
        else:  # feature, model, provider, subaccount: not spend of an instance
            ok = False
        if not ok:
            return False
    return True


@register_check(
    "budget_kill_switch",
    action_kind="stop_instance",
    settings=BudgetKillSwitchSettings,
    facts=BudgetKillFacts,
    description="Non-production GPU instances in the scope of a kill-switch budget past its limit.",
)
def find_budget_kill_switch(
    snapshot: Snapshot, settings: BudgetKillSwitchSettings, prices: PriceBook
) -> list[Finding[BudgetKillFacts]]:
    allowed = {v.lower() for v in settings.non_production_values} - PRODUCTION
    findings: list[Finding[BudgetKillFacts]] = []
    seen: set[str] = set()
    for budget in snapshot.budgets:
        why = trigger(budget, settings.on_forecast)
        if why is None:
            continue
        for res in snapshot.of_kind("ec2_instance"):
            attrs = res.attributes
            if res.ref.id in seen or attrs.get("state") != "running" or settings.ignore_tag in res.tags:
                continue
            if res.tags.get(settings.env_tag, "").lower() not in allowed:
                continue
            if attrs.get("autoscaling_group"):
                continue  # its group would start a replacement
            itype = attrs["instance_type"]
            if not prices.is_gpu(itype) or not in_scope(res, budget.scope, settings.team_tag):
                continue
            seen.add(res.ref.id)
            findings.append(_finding(snapshot, res, budget, why, settings))
    return findings


def _finding(snapshot: Snapshot, res: Resource, budget: BudgetReading, why: str,
             settings: BudgetKillSwitchSettings) -> Finding[BudgetKillFacts]:
    env_tag = settings.env_tag
    itype = res.attributes["instance_type"]
    scope = ", ".join(f"{k}={v}" for k, v in budget.scope.items()) or "the whole bill"
    forecast = (f"crosses 100% on {budget.full_forecast_on}" if budget.full_forecast_on
                else "not expected to cross 100% this month")
    evidence = [
        Evidence(
            label=f"Budget {budget.name}",
            value=f"{budget.actual} of {budget.amount} ({float(budget.burn):.0%}) as of {budget.as_of}; {why}",
            source=f"[[budgets]] {budget.name} (scope {scope}), FOCUS lake month to date",
        ),
        Evidence(
            label="Forecast to month end",
            value=f"{budget.projected} by {budget.period_end}; {forecast}",
            source="outlook.forecast on the budget's last 90 days (weekday-aware)",
        ),
        Evidence(
            label="Environment",
            value=f"{env_tag}={res.tags.get(env_tag)} (non-production), GPU instance {itype}",
            source="EC2 DescribeInstances tags",
        ),
    ]
    cost_30d = snapshot.resource_costs_30d.get(res.ref.id)
    if cost_30d is not None:
        evidence.append(Evidence(label="Effective cost, last 30 days", value=str(cost_30d),
                                 source="FOCUS lake: sum(EffectiveCost) by ResourceId"))
    facts = BudgetKillFacts(
        instance_type=itype,
        region=res.ref.region,
        idle_share=1.0,
        idle_basis="the instance",
        cost_30d=cost_30d,
        billed_hours_30d=snapshot.resource_billed_hours_30d.get(res.ref.id),
        commitment_share=snapshot.resource_commitment_share_30d.get(res.ref.id, 0.0),
        reason=(f"budget {budget.name} {why} ({budget.actual} of {budget.amount}); the kill switch stops "
                "its non-production GPU instances, not because they are idle, so every hour counts (share 100%)"),
        budget=budget.name,
        burn=float(budget.burn),
        crossed_on=budget.top_crossed_on,
        forecast_full_on=budget.full_forecast_on,
        budget_guard=guard_of(budget, on_forecast=settings.on_forecast),
    )
    return Finding(
        resource=res,
        summary=(f"Budget {budget.name} {why}: stop non-production GPU instance "
                 f"{res.ref.name or res.ref.id} ({itype}) until the budget is reviewed."),
        facts=facts,
        evidence=evidence,
    )
