"""Saving from buying a group's capacity as spot instead of on demand."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.actions.switch_to_spot import SpotFacts
from spendpilot.domain import HOURS_PER_MONTH, Estimate, Evidence, Finding, Money
from spendpilot.domain.money import per_unit
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator


@register_estimator("switch_to_spot", facts=SpotFacts)
def estimate_spot_saving(finding: Finding[SpotFacts], prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    itype, region = facts.instance_type, facts.region or "us-east-1"
    on_demand = prices.on_demand(itype, region)
    spot = prices.spot(itype, region, live_price=facts.live_spot_price)
    if on_demand is None or spot is None or spot.currency != on_demand.currency:
        return None
    currency = on_demand.currency
    n = Decimal(str(facts.movable_instances))
    per_instance_hours = n * HOURS_PER_MONTH

    def saving(spot_price: Decimal) -> Money:
        return Money.of(max(Decimal(0), (on_demand.per_hour - spot_price) * per_instance_hours), currency)

    spot_source = f"{spot.source.name} (as of {spot.source.as_of})"
    if spot.note:
        spot_source += f"; {spot.note}"
    inputs = [
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
        Evidence(label="Instances moved to spot", value=f"{n:g}", source="purchase split and desired capacity"),
    ]
    formula = (
        f"saving = (on-demand price - spot price) x {HOURS_PER_MONTH} h x instances moved "
        f"({n:g}). expected uses the typical spot price, low the highest, high the lowest. "
        "Interruptions may add re-run cost; the group's capacity rebalancing replaces "
        "interrupted instances."
    )
    return Estimate(
        low=saving(spot.high),
        expected=saving(spot.typical),
        high=saving(spot.low),
        formula=formula,
        inputs=inputs,
    )
