"""Saving from stopping an idle instance: its compute hours stop being billed."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.domain import HOURS_PER_MONTH, Estimate, Evidence, Finding, Money
from spendpilot.domain.money import DAYS_PER_MONTH
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

RESTART_ALLOWANCE = Decimal("0.2")
"""Share of the month a stopped instance may be started again by its owner (the low end)."""


@register_estimator("stop_instance")
def estimate_stop_saving(finding: Finding, prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    quote = prices.on_demand(facts["instance_type"], facts.get("region") or "us-east-1")
    if quote is None:
        return None
    list_monthly = quote.per_hour * HOURS_PER_MONTH
    inputs = [
        Evidence(
            label=f"On-demand price {quote.instance_type}",
            value=f"${quote.per_hour}/h",
            source=f"{quote.source.name} ({quote.region}, as of {quote.source.as_of})",
        )
    ]
    billed_monthly: Decimal | None = None
    if facts.get("cost_30d") is not None:
        billed_monthly = Decimal(facts["cost_30d"]) / Decimal(30) * DAYS_PER_MONTH
        inputs.append(
            Evidence(
                label="Billed run rate",
                value=f"${billed_monthly:,.2f}/month",
                source="FOCUS lake: EffectiveCost, last 30 days x 30.42/30",
            )
        )
    # What the account really pays (after discounts) is the best expectation; the list price
    # is the ceiling. Without billing, the list price is all we know.
    expected = billed_monthly if billed_monthly is not None and billed_monthly > 0 else list_monthly
    expected = min(expected, list_monthly) if billed_monthly is not None else expected
    idle_share = Decimal(str(facts.get("idle_share", 1.0)))
    low = expected * idle_share * (1 - RESTART_ALLOWANCE)
    high = max(list_monthly, expected)
    formula = (
        "Stopping ends the instance's compute charges. expected = billed run rate from FOCUS "
        "(EffectiveCost over the last 30 days, scaled to a month) or, without billing, "
        f"on-demand price x {HOURS_PER_MONTH} h; low = expected x share of hours the GPU was idle "
        f"({idle_share:.0%}) x {1 - RESTART_ALLOWANCE:.0%}, in case the owner starts it again for "
        "part of the month; high = on-demand list price "
        f"x {HOURS_PER_MONTH} h. Attached EBS volumes stay billed and are not counted."
    )
    return Estimate(
        low=Money.usd(low),
        expected=Money.usd(expected),
        high=Money.usd(high),
        formula=formula,
        inputs=inputs,
    )
