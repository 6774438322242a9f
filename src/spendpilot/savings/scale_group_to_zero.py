"""Saving from scaling an idle GPU Auto Scaling group to zero: its instances stop being billed."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.actions.scale_group_to_zero import IdleGpuGroupFacts
from spendpilot.domain import HOURS_PER_MONTH, Estimate, Evidence, Finding, Money
from spendpilot.domain.money import per_unit
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator
from spendpilot.savings.stop_instance import RESTART_ALLOWANCE


@register_estimator("scale_group_to_zero", facts=IdleGpuGroupFacts)
def estimate_scale_to_zero_saving(finding: Finding[IdleGpuGroupFacts], prices: PriceBook) -> Estimate | None:
    """The group's hourly cost x a month of hours, priced by its purchase split.

    On-demand instances (base + the on-demand share above it) at the on-demand price, the rest at
    spot (live when plausible, else the reference range). expected uses typical spot, high the
    highest spot price; low = expected at the lowest spot x the share of hours every GPU was idle
    x (1 - the restart allowance the stop estimate uses), in case work comes back for part of it.
    """
    f = finding.facts
    region = f.region or "us-east-1"
    on_demand = prices.on_demand(f.instance_type, region)
    if on_demand is None:
        return None
    n = Decimal(f.desired_capacity)
    base = min(n, Decimal(f.on_demand_base_capacity))
    od_n = base + (n - base) * Decimal(f.on_demand_percentage_above_base) / 100
    spot_n = n - od_n
    spot = prices.spot(f.instance_type, region, live_price=f.live_spot_price) if spot_n else None
    if spot_n and (spot is None or spot.currency != on_demand.currency):
        return None
    currency = on_demand.currency

    def monthly(spot_price: Decimal) -> Decimal:
        return (od_n * on_demand.per_hour + spot_n * spot_price) * HOURS_PER_MONTH

    typical = spot.typical if spot else Decimal(0)
    idle = Decimal(str(f.idle_share))
    inputs = [
        Evidence(label=f"On-demand price {f.instance_type}", value=per_unit(on_demand.per_hour, currency, "h"),
                 source=f"{on_demand.source.name} ({on_demand.region}, as of {on_demand.source.as_of})"),
        Evidence(label="Instances priced", value=f"{od_n:g} on demand, {spot_n:g} spot (desired {n})",
                 source="Auto Scaling DescribeAutoScalingGroups: desired capacity and purchase split"),
        Evidence(label="Share of hours every GPU was idle", value=f"{idle:.0%}", source="CloudWatch, one series per GPU"),
    ]
    if spot is not None:
        inputs.append(Evidence(
            label=f"Spot price {f.instance_type} (low / typical / high)",
            value=" / ".join(per_unit(p, currency, "h") for p in (spot.low, spot.typical, spot.high)),
            source=f"{spot.source.name} (as of {spot.source.as_of})" + (f"; {spot.note}" if spot.note else ""),
        ))
    return Estimate(
        low=Money.of(monthly(spot.low if spot else Decimal(0)) * idle * (1 - RESTART_ALLOWANCE), currency),
        expected=Money.of(monthly(typical), currency),
        high=Money.of(monthly(spot.high if spot else Decimal(0)), currency),
        formula=(
            f"saving = (on-demand instances x on-demand price + spot instances x spot price) x {HOURS_PER_MONTH} h. "
            "expected at the typical spot price, high at the highest; low at the lowest spot price x the share of "
            f"hours every GPU was idle x {1 - RESTART_ALLOWANCE:.0%} (work may come back for part of the month). "
            "Volumes end with the instances; nothing else of the group is billed."
        ),
        inputs=inputs,
    )
