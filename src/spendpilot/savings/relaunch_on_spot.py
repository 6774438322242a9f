"""Saving from running a standalone instance's work on spot instead of on demand."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.actions.relaunch_on_spot import RelaunchSpotFacts
from spendpilot.domain import HOURS_PER_MONTH, Estimate, Evidence, Finding, Money
from spendpilot.domain.money import per_unit
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator


@register_estimator("relaunch_on_spot", facts=RelaunchSpotFacts)
def estimate_relaunch_spot_saving(finding: Finding[RelaunchSpotFacts], prices: PriceBook) -> Estimate | None:
    """(on-demand - spot) $/h x a month of hours, for one instance; None without both prices.

    Spot is the live DescribeSpotPriceHistory price when plausible, else the reference range
    (the price book's rule), so low/expected/high come from the highest/typical/lowest spot price.
    """
    facts = finding.facts
    itype, region = facts.instance_type, facts.region or "us-east-1"
    on_demand = prices.on_demand(itype, region)
    spot = prices.spot(itype, region, live_price=facts.live_spot_price)
    if on_demand is None or spot is None or spot.currency != on_demand.currency:
        return None
    currency = on_demand.currency

    def saving(spot_price: Decimal) -> Money:
        return Money.of(max(Decimal(0), (on_demand.per_hour - spot_price) * HOURS_PER_MONTH), currency)

    spot_source = f"{spot.source.name} (as of {spot.source.as_of})" + (f"; {spot.note}" if spot.note else "")
    return Estimate(
        low=saving(spot.high),
        expected=saving(spot.typical),
        high=saving(spot.low),
        formula=(
            f"saving = (on-demand price - spot price) x {HOURS_PER_MONTH} h for one instance. expected uses the "
            "typical spot price, low the highest, high the lowest. Not counted: the stopped original's EBS volumes "
            "(still billed until it is terminated) and work re-run after an interruption."
        ),
        inputs=[
            Evidence(
                label=f"On-demand price {itype}",
                value=per_unit(on_demand.per_hour, currency, "h"),
                source=f"{on_demand.source.name} ({on_demand.region}, as of {on_demand.source.as_of})",
            ),
            Evidence(
                label=f"Spot price {itype} (low / typical / high)",
                value=" / ".join(per_unit(p, currency, "h") for p in (spot.low, spot.typical, spot.high)),
                source=spot_source,
            ),
        ],
    )
