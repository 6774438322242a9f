"""Start-up validation of the plug-ins: every check can be estimated and acted on.

A check whose action kind has no action or no estimator, or whose facts its action or
estimator cannot read, is refused with one line saying which and why; the sweep runs the
other checks. Nothing is discovered to be missing in the middle of a sweep.
"""

from __future__ import annotations

from typing import Any

from spendpilot.actions.base import ACTIONS
from spendpilot.checks.registry import CheckSpec, all_checks
from spendpilot.savings.registry import ESTIMATORS


def refusal(spec: CheckSpec[Any]) -> str | None:
    """Why ``spec`` cannot run, or None when its action and estimator accept its facts."""
    kind = spec.action_kind
    if kind not in ACTIONS:
        return f"check {spec.rule} is refused: its action kind {kind!r} has no registered action"
    if kind not in ESTIMATORS:
        return f"check {spec.rule} is refused: its action kind {kind!r} has no registered estimator"
    action, estimator = ACTIONS.get(kind), ESTIMATORS.get(kind)
    for who, wants in (("action", action.facts_model), ("estimator", estimator.facts_model)):
        if not issubclass(spec.facts_model, wants):
            return (
                f"check {spec.rule} is refused: it emits {spec.facts_model.__name__} facts but the "
                f"{kind} {who} reads {wants.__name__}"
            )
    return None


def refused_checks() -> dict[str, str]:
    """Rule -> the one-line reason it is refused (empty when every check is sound)."""
    return {rule: why for rule, spec in all_checks().items() if (why := refusal(spec)) is not None}
