"""Saving from letting a workload's pods run on spot nodes.

For each pod: its requests' share of its node's on-demand price (``savings/_k8s``) times the
node type's spot discount, ``1 - spot / on-demand``, from the price book (the reference spot
range, not live prices: a Kubernetes node's live spot price is not read). Times the hours the
workload runs a month: 730 for a Deployment; for a CronJob, its runs in 30 days times the length
of the current run (``hours_basis`` says which). low / expected / high use the high / typical /
low spot price. Assumes the pods land on spot nodes of the same type (a preference, honoured
when spot capacity exists) and ignores re-run cost after interruptions.
"""

from __future__ import annotations

from decimal import Decimal

from spendpilot.actions.k8s_facts import SpotPlacementFacts
from spendpilot.checks.k8s_spot_placement import SpotPlacementCheckFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.savings._k8s import charge_price
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator


@register_estimator("k8s_spot_placement", facts=SpotPlacementFacts)
def estimate_spot_placement(
    finding: Finding[SpotPlacementFacts], prices: PriceBook
) -> Estimate | None:
    facts = finding.facts
    if not isinstance(facts, SpotPlacementCheckFacts) or not facts.pods:
        return None
    hours = Decimal(str(facts.hours_per_month))
    totals = {"low": Decimal(0), "typical": Decimal(0), "high": Decimal(0)}
    inputs: list[Evidence] = []
    currency = "USD"
    for c in facts.pods:
        priced = charge_price(c, prices)
        spot = prices.spot(c.instance_type, c.region or "us-east-1")
        if priced is None or spot is None:
            return None
        od = priced.node_price.per_hour
        currency = priced.node_price.currency
        for name, spot_price in (("low", spot.high), ("typical", spot.typical), ("high", spot.low)):
            totals[name] += priced.per_hour * (1 - spot_price / od) * hours
        inputs.append(Evidence(label=f"Pod {c.pod}", value=priced.explanation,
                               source=f"{priced.node_price.source.name} (as of {priced.node_price.source.as_of})"))  # fmt: skip
        inputs.append(Evidence(
            label=f"Spot {c.instance_type} (high / typical / low)", value=f"{spot.high} / {spot.typical} / {spot.low} $/h vs {od} on demand",
            source=f"{spot.source.name} (as of {spot.source.as_of}" + (f"; {spot.note})" if spot.note else ")"),
        ))  # fmt: skip
    formula = (
        f"Each pod's share of its node's on-demand price x (1 - spot / on-demand) x {hours} h a month ({facts.hours_basis}). "
        "expected uses the typical spot price, low the highest, high the lowest. Assumes the pods land on spot nodes of the "
        "same type; interruptions may add re-run time."
    )
    return Estimate(
        low=Money.of(totals["low"], currency), expected=Money.of(totals["typical"], currency),
        high=Money.of(totals["high"], currency), formula=formula, inputs=inputs,
    )  # fmt: skip
