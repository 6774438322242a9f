"""Saving from stopping an idle instance: its compute hours stop being billed.

The billed run rate is in the bill's own currency; the reference list price is in the price
book's (USD). When the two differ, nothing is converted: the estimate stays in the bill's
currency and the list price is shown as evidence only.
"""

from __future__ import annotations

from decimal import Decimal

from spendpilot.actions.stop_instance import StopInstanceFacts
from spendpilot.domain import HOURS_PER_MONTH, Estimate, Evidence, Finding, Money
from spendpilot.domain.money import per_unit
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

MIN_BILLED_HOURS = Decimal(24)
"""Fewer billed hours than this are scaled up as if a day had been billed (no wild extrapolation)."""

RESTART_ALLOWANCE = Decimal("0.2")
"""Share of the month a stopped instance may be started again by its owner (the low end)."""


@register_estimator("stop_instance", facts=StopInstanceFacts)
def estimate_stop_saving(finding: Finding[StopInstanceFacts], prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    quote = prices.on_demand(facts.instance_type, facts.region or "us-east-1")
    billed = facts.cost_30d
    if quote is None and billed is None:
        return None
    inputs: list[Evidence] = []
    list_monthly: Money | None = None
    if quote is not None:
        list_monthly = Money.of(quote.per_hour * HOURS_PER_MONTH, quote.currency)
        inputs.append(
            Evidence(
                label=f"On-demand price {quote.instance_type}",
                value=per_unit(quote.per_hour, quote.currency, "h"),
                source=f"{quote.source.name} ({quote.region}, as of {quote.source.as_of})",
            )
        )
    billed_monthly: Money | None = None
    if billed is not None:
        hours = Decimal(str(facts.billed_hours_30d or 0)) or Decimal(30 * 24)
        hours = max(hours, MIN_BILLED_HOURS)  # a few hours of billing is no run rate
        billed_monthly = Money.of(billed.amount / hours * HOURS_PER_MONTH, billed.currency)
        inputs.append(
            Evidence(
                label="Billed run rate",
                value=f"{billed_monthly}/month",
                source=f"FOCUS lake: EffectiveCost over the {hours / 24:.1f} days it was billed in the "
                f"last 30, x {HOURS_PER_MONTH} h / billed hours",
            )
        )
    # What the account really pays (after discounts) is the best expectation; the list price
    # is the ceiling. Without billing, the list price is all we know.
    comparable = list_monthly is not None and billed_monthly is not None and list_monthly.currency == billed_monthly.currency
    if billed_monthly is not None and billed_monthly.amount > 0:
        expected = billed_monthly
        if comparable and list_monthly is not None:
            expected = Money.of(min(expected.amount, list_monthly.amount), expected.currency)
    elif list_monthly is not None:
        expected = list_monthly
    else:
        return None
    if list_monthly is not None and list_monthly.currency == expected.currency:
        high = Money.of(max(list_monthly.amount, expected.amount), expected.currency)
        ceiling = f"on-demand list price x {HOURS_PER_MONTH} h"
    else:  # billed in another currency than the price book's: no conversion, no ceiling
        high = expected
        ceiling = f"the billed run rate (the list price is in {quote.currency if quote else 'no currency'}, not converted)"
    # Usage a reserved instance or Savings Plan covers is paid for whether it runs or not; the
    # freed commitment may cover other usage (hence the high end stays), but can't be counted on.
    committed = Decimal(str(facts.commitment_share))
    if committed:
        expected = expected * (1 - committed)
        inputs.append(
            Evidence(
                label="Commitment-covered share",
                value=f"{committed:.0%}",
                source="FOCUS lake: EffectiveCost of rows with a CommitmentDiscountId, last 30 days",
            )
        )
    idle_share = Decimal(str(facts.idle_share))
    low = expected * idle_share * (1 - RESTART_ALLOWANCE)
    formula = (
        "Stopping ends the instance's compute charges. expected = billed run rate from FOCUS "
        "(EffectiveCost over the hours it was billed in the last 30 days, scaled to "
        f"{HOURS_PER_MONTH} h) or, without billing, "
        f"on-demand price x {HOURS_PER_MONTH} h; low = expected x share of hours {facts.idle_basis} "
        f"{'were' if facts.idle_basis.endswith('s') else 'was'} idle "
        f"({idle_share:.0%}) x {1 - RESTART_ALLOWANCE:.0%}, in case the owner starts it again for "
        f"part of the month; high = {ceiling}. Attached EBS volumes stay billed and are not counted."
        + (
            f" The {committed:.0%} of its cost covered by a reserved instance or Savings Plan is "
            "paid either way, so it is taken out of expected and low; high keeps it, in case the "
            "freed commitment covers other on-demand usage."
            if committed else ""
        )
    )
    if facts.reason:
        formula = f"Why stop: {facts.reason}. " + formula
    return Estimate(low=low, expected=expected, high=high, formula=formula, inputs=inputs)
