"""The budget a kill-switch action rests on, re-checked just before the change.

A kill switch (stop a non-production GPU instance, lower a gateway team's budget) is proposed
because a budget is over, or forecast to be; the approval may come days later, after the
budget was raised, the month rolled over or the spend was booked elsewhere. The plan records the
budget in ``preconditions`` (outside the plan hash, like the idle measurement of a stop), and the
executor's evidence re-check (``Action.evidence_differences``) evaluates the budget again through
``ActionContext.budgets``: if it no longer triggers the switch, the execution stops as drift.

No budget reader wired (a context built without one) is drift too: the switch acts only on a
budget it can confirm is still over.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from spendpilot.actions.base import ActionContext
from spendpilot.domain.snapshot import BudgetReading

BUDGET_OVER = "budget_over"
"""The ``preconditions`` key of the budget assumption."""


class BudgetGuard(BaseModel):
    """Which budget the change rests on, and what counted as over when it was proposed."""

    budget: str
    on_forecast: bool = Field(description="A forecast crossing of 100 % before month end also counts.")
    as_of: date | None = None
    burn: float = Field(description="Actual month-to-date as a share of the amount, at the sweep.")


def guard_of(budget: BudgetReading, *, on_forecast: bool) -> BudgetGuard:
    return BudgetGuard(budget=budget.name, on_forecast=on_forecast, as_of=budget.as_of, burn=float(budget.burn))


def trigger(budget: BudgetReading, on_forecast: bool) -> str | None:
    """Why this budget pulls its switch, or None: the one rule the checks and the re-check share."""
    if budget.top_crossed_on is not None:
        return f"crossed {budget.top_threshold:.0%} on {budget.top_crossed_on}"
    if on_forecast and budget.full_forecast_on is not None:
        return f"forecast to cross 100% on {budget.full_forecast_on}, before {budget.period_end}"
    return None


def budget_preconditions(guard: BudgetGuard | None) -> dict[str, Any]:
    return {} if guard is None else {BUDGET_OVER: guard.model_dump(mode="json")}


def budget_differences(ctx: ActionContext, preconditions: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{label: (assumed, now)}`` when the plan's budget no longer triggers its kill switch."""
    raw = preconditions.get(BUDGET_OVER)
    if not raw:
        return {}
    guard = BudgetGuard.model_validate(raw)
    label = f"budget {guard.budget}"
    assumed = f"over ({guard.burn:.0%} of its amount as of {guard.as_of})"
    if ctx.budgets is None:
        return {label: (assumed, "not re-checked: no budget reader in this context")}
    now = ctx.budgets.reading(guard.budget)
    if now is None:
        return {label: (assumed, "no longer a kill-switch budget with spend data")}
    if trigger(now, guard.on_forecast) is None:
        forecast = f", forecast {now.projected} by {now.period_end}" if guard.on_forecast else ""
        return {label: (assumed, f"under: {now.actual} of {now.amount} ({float(now.burn):.0%}) "
                                 f"as of {now.as_of}{forecast}")}
    return {}
