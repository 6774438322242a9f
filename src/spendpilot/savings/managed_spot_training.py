"""Saving from moving a repeated on-demand training family to managed spot, from its history.

monthly on-demand spend = instance-hours billed in the window x training price x (30 / window days);
saving = that x (1 - spot share of on-demand). The spot share is the EC2 spot reference range of
the ``ml.*`` type's EC2 family (``_sagemaker_spot``; managed spot bills spot rates): expected at its
typical share, low at its highest share, high at its lowest. AWS itself says only "up to 90%".
Interruptions add re-run time, which the low end does not model beyond the band.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from spendpilot.actions.managed_spot_training import ManagedSpotFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.domain.money import per_unit
from spendpilot.savings._sagemaker_spot import managed_spot_share
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

log = logging.getLogger(__name__)


@register_estimator("managed_spot_training", facts=ManagedSpotFacts)
def estimate_managed_spot(finding: Finding[ManagedSpotFacts], prices: PriceBook) -> Estimate | None:
    f = finding.facts
    region = f.region or "us-east-1"
    quote = prices.sagemaker_component("training", f.instance_type, region)
    spot = managed_spot_share(prices, f.instance_type, region)
    if quote is None or spot is None:
        log.info("%s: no sourced training price or spot reference for %s in %s; no estimate",
                 f.family, f.instance_type, region)
        return None
    monthly_hours = (Decimal(str(f.billable_hours)) * Decimal(30) / Decimal(str(f.window_days))).quantize(Decimal("0.1"))
    on_demand = Money.of(quote.per_hour * monthly_hours, quote.currency)
    expected = on_demand * (1 - spot.typical)
    low, high = on_demand * (1 - spot.high), on_demand * (1 - spot.low)
    formula = (
        f"The family billed {f.billable_hours:g} instance-hours on demand in {f.window_days:g} days = {monthly_hours} a "
        f"month; at {quote.per_hour}/instance-h that is {on_demand.rounded()}. Managed spot bills spot rates: expected = "
        f"{on_demand.rounded()} x (1 - {spot.typical}) = {expected.rounded()}; low = x (1 - {spot.high}) = {low.rounded()}; "
        f"high = x (1 - {spot.low}) = {high.rounded()}, the spot share being the EC2 spot reference of the family "
        "(SageMaker publishes no per-type spot price; AWS says 'up to 90%'). Advisory: the saving comes once the "
        "launcher and the training code are changed as the runbook says."
    )
    inputs = [
        Evidence(label=f"SageMaker training price {quote.instance_type}", value=per_unit(quote.per_hour, quote.currency, "instance-h"),
                 source=f"{quote.source.name} ({quote.region}, as of {quote.source.as_of}; {quote.note})"),
        spot.evidence,
    ]
    return Estimate(low=low, expected=expected, high=high, formula=formula, inputs=inputs)
