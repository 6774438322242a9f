"""One estimator per action kind: (Finding, PriceBook) -> Estimate with low/expected/high.

An estimator declares the facts type it reads (the action kind's facts model or a base of it),
so start-up validation can refuse a check whose facts it cannot read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spendpilot.domain import Estimate, Facts, Finding
from spendpilot.registry import Registry
from spendpilot.savings.pricebook import PriceBook

EstimatorFunc = Callable[[Finding[Any], PriceBook], Estimate | None]


@dataclass(frozen=True)
class EstimatorSpec:
    action_kind: str
    facts_model: type[Facts]
    func: EstimatorFunc


ESTIMATORS: Registry[EstimatorSpec] = Registry("estimators", ("spendpilot.savings",))


def register_estimator(action_kind: str, *, facts: type[Facts]) -> Callable[[EstimatorFunc], EstimatorFunc]:
    def decorate(func: EstimatorFunc) -> EstimatorFunc:
        ESTIMATORS.add(action_kind, EstimatorSpec(action_kind, facts, func), origin=func.__module__)
        return func

    return decorate


def estimate(finding: Finding[Any], prices: PriceBook) -> Estimate | None:
    """None when a price the estimate needs is unknown: no number beats a made-up one."""
    result = ESTIMATORS.get(finding.action_kind).func(finding, prices)
    return result.rounded() if result is not None else None
