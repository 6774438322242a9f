"""Estimator: a flat €10 a month per parked instance (the team's own figure)."""

from __future__ import annotations

from spendpilot.domain import Estimate, Finding, Money
from spendpilot.savings.registry import register_estimator
from spendpilot_toy.action import ParkFacts


@register_estimator("toy_tag", facts=ParkFacts)
def estimate_parking(finding: Finding[ParkFacts], prices: object) -> Estimate:
    return Estimate(
        low=Money.of(5, "EUR"), expected=Money.of(10, "EUR"), high=Money.of(12, "EUR"),
        formula="the platform team's flat figure per parked instance",
    )
