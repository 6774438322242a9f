"""AWS Budgets, read only: the account's cost budgets (``budgets:DescribeBudgets``).

A budget in AWS Budgets carries its limit, time unit, cost filters and AWS's own actual and
forecast spend. spendpilot turns each monthly COST budget into a ``BudgetSettings`` whose scope
it can evaluate against the lake (``spendpilot.outlook.budgets``), and keeps AWS's figures to
show beside its own. Filters spendpilot cannot express on the FOCUS lake are reported, not
dropped silently: such a budget is skipped with a note naming the filter.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from spendpilot.outlook.settings import BudgetSettings

_FILTER_KEYS = {"Service": "service", "Region": "region", "LinkedAccount": "subaccount"}
"""AWS Budgets cost filter → spendpilot scope key (values as Cost Explorer spells them)."""


class AwsBudget(BaseModel):
    budget: BudgetSettings
    actual: Decimal | None = None
    forecast: Decimal | None = None


class BudgetsApi:
    def __init__(self, client: Any) -> None:
        self._client = client

    def monthly_cost_budgets(self, account_id: str) -> tuple[list[AwsBudget], list[str]]:
        """(budgets spendpilot can evaluate, one note per budget it cannot)."""
        found: list[AwsBudget] = []
        notes: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"AccountId": account_id, "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            reply = self._client.describe_budgets(**kwargs)
            for raw in reply.get("Budgets", []):
                budget, note = _convert(raw)
                if budget is not None:
                    found.append(budget)
                if note:
                    notes.append(note)
            token = reply.get("NextToken")
            if not token:
                return found, notes


def _convert(raw: dict[str, Any]) -> tuple[AwsBudget | None, str | None]:
    name = str(raw.get("BudgetName", "?"))
    if raw.get("BudgetType") != "COST" or raw.get("TimeUnit") != "MONTHLY":
        return None, f"AWS budget {name!r}: {raw.get('TimeUnit')} {raw.get('BudgetType')} budgets are not evaluated (monthly COST only)"
    limit = raw.get("BudgetLimit") or {}
    scope: dict[str, str | list[str]] = {}
    for key, values in (raw.get("CostFilters") or {}).items():
        if key == "TagKeyValue":  # "user:team$ml-platform"
            for value in values:
                tag, _, tag_value = value.removeprefix("user:").partition("$")
                scope[f"tag:{tag}"] = tag_value
        elif key in _FILTER_KEYS:
            scope[_FILTER_KEYS[key]] = list(values)
        else:
            return None, f"AWS budget {name!r}: cost filter {key} cannot be evaluated on the FOCUS lake; skipped"
    calculated = raw.get("CalculatedSpend") or {}
    actual = (calculated.get("ActualSpend") or {}).get("Amount")
    forecast = (calculated.get("ForecastedSpend") or {}).get("Amount")
    budget = BudgetSettings(name=f"aws:{name}", amount=Decimal(str(limit.get("Amount", "0"))),
                            currency=str(limit.get("Unit", "USD")), scope=scope)
    return AwsBudget(budget=budget, actual=Decimal(str(actual)) if actual is not None else None,
                     forecast=Decimal(str(forecast)) if forecast is not None else None), None
