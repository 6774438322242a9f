"""Saving from stopping an idle instance: its compute hours stop being billed."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.domain import HOURS_PER_MONTH, Estimate, Evidence, Finding, Money
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

MIN_BILLED_HOURS = Decimal(24)
"""Fewer billed hours than this are scaled up as if a day had been billed (no wild extrapolation)."""

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
        hours = Decimal(str(facts.get("billed_hours_30d") or 0)) or Decimal(30 * 24)
        hours = max(hours, MIN_BILLED_HOURS)  # a few hours of billing is no run rate
        billed_monthly = Decimal(facts["cost_30d"]) / hours * HOURS_PER_MONTH
        inputs.append(
            Evidence(
                label="Billed run rate",
                value=f"${billed_monthly:,.2f}/month",
                source=f"FOCUS lake: EffectiveCost over the {hours / 24:.1f} days it was billed in the "
                f"last 30, x {HOURS_PER_MONTH} h / billed hours",
            )
        )
    # What the account really pays (after discounts) is the best expectation; the list price
    # is the ceiling. Without billing, the list price is all we know.
    expected = billed_monthly if billed_monthly is not None and billed_monthly > 0 else list_monthly
    expected = min(expected, list_monthly) if billed_monthly is not None else expected
    high = max(list_monthly, expected)
    # Usage a reserved instance or Savings Plan covers is paid for whether it runs or not; the
    # freed commitment may cover other usage (hence the high end stays), but can't be counted on.
    committed = Decimal(str(facts.get("commitment_share") or 0))
    if committed:
        expected = expected * (1 - committed)
        inputs.append(
            Evidence(
                label="Commitment-covered share",
                value=f"{committed:.0%}",
                source="FOCUS lake: EffectiveCost of rows with a CommitmentDiscountId, last 30 days",
            )
        )
    idle_share = Decimal(str(facts.get("idle_share", 1.0)))
    low = expected * idle_share * (1 - RESTART_ALLOWANCE)
    formula = (
        "Stopping ends the instance's compute charges. expected = billed run rate from FOCUS "
        "(EffectiveCost over the hours it was billed in the last 30 days, scaled to "
        f"{HOURS_PER_MONTH} h) or, without billing, "
        f"on-demand price x {HOURS_PER_MONTH} h; low = expected x share of hours the GPU was idle "
        f"({idle_share:.0%}) x {1 - RESTART_ALLOWANCE:.0%}, in case the owner starts it again for "
        "part of the month; high = on-demand list price "
        f"x {HOURS_PER_MONTH} h. Attached EBS volumes stay billed and are not counted."
        + (
            f" The {committed:.0%} of its cost covered by a reserved instance or Savings Plan is "
            "paid either way, so it is taken out of expected and low; high keeps it, in case the "
            "freed commitment covers other on-demand usage."
            if committed else ""
        )
    )
    return Estimate(
        low=Money.usd(low),
        expected=Money.usd(expected),
        high=Money.usd(high),
        formula=formula,
        inputs=inputs,
    )
