"""What managed spot training typically takes off a SageMaker training job's on-demand price.

Managed spot training bills the seconds run on spot capacity at spot rates; SageMaker publishes
no spot price per ``ml.*`` type, and says only "up to 90%". The figure used here is the EC2 spot
reference range of the instance family the ``ml.*`` type runs on (``ml.g5.2xlarge`` → ``g5.2xlarge``)
as a share of that type's EC2 on-demand price: the price book's sourced spot bands, never a guess.
A type whose EC2 twin has no reference gets no figure (and its estimate is None).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from spendpilot.domain import Evidence
from spendpilot.savings.pricebook import PriceBook


@dataclass(frozen=True)
class SpotShare:
    """Spot price as a share of on-demand: ``low`` (deepest discount) ≤ ``typical`` ≤ ``high``."""

    low: Decimal
    typical: Decimal
    high: Decimal
    evidence: Evidence


def managed_spot_share(prices: PriceBook, ml_type: str, region: str) -> SpotShare | None:
    ec2_type = ml_type.removeprefix("ml.")
    on_demand = prices.on_demand(ec2_type, region)
    spot = prices.spot(ec2_type, region)
    if on_demand is None or spot is None or on_demand.per_hour <= 0:
        return None
    od = on_demand.per_hour
    share = SpotShare(
        low=(spot.low / od).quantize(Decimal("0.01")),
        typical=(spot.typical / od).quantize(Decimal("0.01")),
        high=(spot.high / od).quantize(Decimal("0.01")),
        evidence=Evidence(
            label=f"Spot share of on-demand, {ec2_type} (the EC2 family of {ml_type})",
            value=f"{spot.low}-{spot.high} (typical {spot.typical}) of {od} $/h",
            source=f"{spot.source.name} (as of {spot.source.as_of}; {spot.note}); managed spot training bills "
            "spot rates for the seconds run on spot capacity",
        ),
    )
    return share
