"""One estimator per action kind: (Finding, PriceBook) -> Estimate with low/expected/high."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from spendpilot.domain import Estimate, Finding
from spendpilot.savings.pricebook import PriceBook

Estimator = Callable[[Finding, PriceBook], Estimate | None]
_ESTIMATORS: dict[str, Estimator] = {}
_NOT_ESTIMATORS = {"registry", "pricebook"}


def register_estimator(action_kind: str) -> Callable[[Estimator], Estimator]:
    def decorate(func: Estimator) -> Estimator:
        if action_kind in _ESTIMATORS:
            raise ValueError(f"estimator for {action_kind!r} registered twice")
        _ESTIMATORS[action_kind] = func
        return func

    return decorate


def _discover() -> None:
    import spendpilot.savings as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in _NOT_ESTIMATORS and not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")


def estimate(finding: Finding, prices: PriceBook) -> Estimate | None:
    """None when a price the estimate needs is unknown: no number beats a made-up one."""
    _discover()
    estimator = _ESTIMATORS.get(finding.action_kind)
    if estimator is None:
        raise KeyError(f"no estimator for action kind {finding.action_kind!r}")
    result = estimator(finding, prices)
    return result.rounded() if result is not None else None
