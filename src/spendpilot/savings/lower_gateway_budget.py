"""Saving from lowering a non-production team's gateway budget: the overrun it prevents."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.actions.lower_gateway_budget import LowerGatewayBudgetFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

CONFIG_REACH = Decimal("0.5")
"""Low end: the config caps teams the proxy creates; a team already in its database needs the
runbook's /team/update too, so part of the overrun may go on until someone runs it."""


@register_estimator("lower_gateway_budget", facts=LowerGatewayBudgetFacts)
def estimate_gateway_budget_saving(finding: Finding[LowerGatewayBudgetFacts], prices: PriceBook) -> Estimate | None:
    """expected = forecast spend for the rest of the month − what the cap still allows, ≥ 0."""
    f = finding.facts
    currency = f.amount.currency
    rest = f.projected.amount - f.actual.amount
    prevented = max(Decimal(0), rest - f.max_budget)
    return Estimate(
        low=Money.of(prevented * CONFIG_REACH, currency),
        expected=Money.of(prevented, currency),
        high=Money.of(prevented, currency),
        formula=(f"Why cap: budget {f.budget} {f.why}. expected = forecast spend for the rest of the month "
                 f"({Money.of(rest, currency)}) − the cap's allowance ({Money.of(f.max_budget, currency)}); "
                 f"low = {CONFIG_REACH:.0%} of it (teams already in the proxy's database need /team/update too)."),
        inputs=[Evidence(label="Projected month", value=str(f.projected), source=f"budget {f.budget} forecast"),
                Evidence(label="Month to date", value=str(f.actual), source=f"budget {f.budget}")],
    )
