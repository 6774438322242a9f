"""Budgets: month-to-date spend, the forecast to the end of the month, and when each threshold
is (or will be) crossed.

A budget (``[[budgets]]`` in ``spendpilot.toml``, or a monthly cost budget read from AWS
Budgets) selects spend with the same filters as ``spendpilot spend --where`` and counts only
its own currency. **Burn** = actual month-to-date + forecast for the rest of the month, where
"today" is the last full day of data (an old export is evaluated as of its own last day, and
the result says which day that was). The forecast is ``forecast.forecast_values`` on the last
90 days of the same scope, so a weekday rhythm is respected.

For each threshold (default 80 % and 100 %) the status says whether the actual spend crossed
it and on which day, or on which day the forecast crosses it, or that it is not expected to
within the month.

**A Kubernetes node counts once** (``lake.k8s_replaced``), in the way the scope asks
(``lake.spend.outlook_counting``). A budget of the whole bill, or scoped by a tag (``team``,
``tag:<key>``), reads the Kubernetes allocation rows in place of the nodes' bill rows on
allocated days: the whole bill is the total ``spendpilot spend`` shows, and a team's budget
includes its allocated share of the cluster (``tag:kubernetes.namespace`` or
``tag:kubernetes.cluster`` scope a namespace or a cluster). A budget scoped by the bill's own
dimensions only (service, account, region, ...) reads the bill as billed, Kubernetes rows left
out: it measures what the provider bills, as AWS Budgets does, and an EC2 budget does not drop
on the day allocation starts. Neither adds a node's bill rows to its allocation.

Public API (also for the TUI): ``evaluate_budget``, ``evaluate_budgets``, ``configured_budgets``
and the models ``BudgetStatus``, ``ThresholdStatus``.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from spendpilot.domain.money import DecimalStr
from spendpilot.outlook.forecast import forecast_values
from spendpilot.outlook.settings import BudgetSettings

HISTORY_DAYS = 90
CENT = Decimal("0.01")


class Crossing(StrEnum):
    CROSSED = "crossed"
    FORECAST = "forecast"
    NOT_EXPECTED = "not expected"


class ThresholdStatus(BaseModel):
    threshold: float = Field(description="Share of the budget, e.g. 0.8.")
    amount: DecimalStr
    state: Crossing
    on: date | None = Field(description="Day the actual spend crossed it, or the forecast will.")


class BudgetStatus(BaseModel):
    name: str
    origin: str = Field(description="'spendpilot.toml' or 'AWS Budgets'.")
    scope: dict[str, str | list[str]]
    currency: str
    amount: DecimalStr
    period_start: date
    period_end: date
    as_of: date | None = Field(description="Last full day of data counted; None without data.")
    actual: DecimalStr
    forecast_rest: DecimalStr = Field(description="Expected spend from the day after as_of to period_end.")
    forecast_rest_high: DecimalStr
    thresholds: list[ThresholdStatus]
    aws_actual: DecimalStr | None = None
    aws_forecast: DecimalStr | None = None
    notes: list[str] = Field(default_factory=list)

    @property
    def projected(self) -> Decimal:
        return self.actual + self.forecast_rest

    @property
    def burn(self) -> Decimal:
        """Actual month-to-date as a share of the budget."""
        return (self.actual / self.amount).quantize(Decimal("0.0001"))

    @property
    def projected_burn(self) -> Decimal:
        return (self.projected / self.amount).quantize(Decimal("0.0001"))

    @property
    def highest_crossed(self) -> ThresholdStatus | None:
        crossed = [t for t in self.thresholds if t.state is Crossing.CROSSED]
        return crossed[-1] if crossed else None

    @property
    def next_forecast(self) -> ThresholdStatus | None:
        ahead = [t for t in self.thresholds if t.state is Crossing.FORECAST]
        return ahead[0] if ahead else None


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _filters(scope: dict[str, str | list[str]]) -> list[Any]:
    from spendpilot.lake.spend import SpendFilter

    return [SpendFilter(key=k, values=tuple([v] if isinstance(v, str) else v)) for k, v in scope.items()]


def evaluate_budget(lake_dir: Path, budget: BudgetSettings, *, as_of: date | None = None, team_tag: str = "team",
                    origin: str = "spendpilot.toml") -> BudgetStatus:
    """The budget's month as of ``as_of`` (default: the last full day of data)."""
    from spendpilot.errors import NoSpendData
    from spendpilot.lake.spend import build_query, outlook_counting, run_spend_query

    notes: list[str] = []
    filters = _filters(budget.scope)
    try:
        result = run_spend_query(lake_dir, build_query(
            group_by=[], last_days=HISTORY_DAYS, end=as_of, granularity="day", where=filters,
            team_tag=team_tag, counting=outlook_counting(where=filters)))
        end: date | None = result.end
        by_day = {r.bucket: r.amount for r in result.rows if r.bucket is not None and r.currency == budget.currency}
        others = sorted({r.currency for r in result.rows} - {budget.currency})
        if others:
            notes.append(f"spend in {', '.join(others)} is not counted in a {budget.currency} budget")
        start = result.start
    except NoSpendData as exc:
        end, by_day, start = None, {}, None
        notes.append(str(exc))
    today = end or as_of or datetime.now(UTC).date()
    period_start, period_end = today.replace(day=1), _month_end(today)
    actual = sum((v for d, v in by_day.items() if period_start <= d <= today), Decimal(0))
    rest = (period_end - today).days
    forecast_rest = forecast_high = Decimal(0)
    expected_by_day: dict[date, Decimal] = {}
    if start is not None and rest > 0:
        values = [float(by_day.get(start + timedelta(days=i), 0)) for i in range((today - start).days + 1)]
        fc = forecast_values(values, start, rest, unit=budget.currency)
        expected_by_day = {p.day: p.expected for p in fc.points}
        forecast_rest, forecast_high = fc.total_expected, fc.total_high
    thresholds = []
    for share in budget.thresholds:
        limit = (budget.amount * Decimal(str(share))).quantize(CENT)
        running, state, on = Decimal(0), Crossing.NOT_EXPECTED, None
        day = period_start
        while day <= period_end:
            running += by_day.get(day, Decimal(0)) if day <= today else expected_by_day.get(day, Decimal(0))
            if running >= limit:
                state, on = (Crossing.CROSSED if day <= today else Crossing.FORECAST), day
                break
            day += timedelta(days=1)
        thresholds.append(ThresholdStatus(threshold=share, amount=limit, state=state, on=on))
    return BudgetStatus(
        name=budget.name, origin=origin, scope=budget.scope, currency=budget.currency, amount=budget.amount,
        period_start=period_start, period_end=period_end, as_of=end, actual=actual.quantize(CENT),
        forecast_rest=forecast_rest, forecast_rest_high=forecast_high, thresholds=thresholds, notes=notes,
    )


def configured_budgets(settings: Any) -> tuple[list[tuple[BudgetSettings, str, Any]], list[str]]:
    """(budget, origin, AWS figures or None) from ``[[budgets]]`` and, if enabled, AWS Budgets;
    plus notes. An AWS Budgets read that fails is a note naming the error, not an exception:
    the file's budgets are still evaluated."""
    from spendpilot.adapters.aws.client import AwsAdapter
    from spendpilot.errors import SpendpilotError

    found: list[tuple[BudgetSettings, str, Any]] = [(b, "spendpilot.toml", None) for b in settings.budgets]
    notes: list[str] = []
    aws_cfg = settings.aws_budgets
    if aws_cfg.enabled:
        adapter = AwsAdapter(region="us-east-1", endpoint_url=aws_cfg.endpoint_url or settings.aws.endpoint_url)
        try:
            account = aws_cfg.account_id or adapter.account_id()
            if not account:
                raise SpendpilotError("AWS Budgets: no account id (set aws_budgets.account_id)")
            budgets, skipped = adapter.budgets.monthly_cost_budgets(account)
            notes += skipped
            found += [(b.budget, "AWS Budgets", b) for b in budgets]
        except SpendpilotError as exc:
            notes.append(f"AWS Budgets not read: {exc}")
    return found, notes


def evaluate_budgets(settings: Any, *, as_of: date | None = None) -> tuple[list[BudgetStatus], list[str]]:
    """Every configured budget, evaluated against the lake under ``settings.lake_dir``."""
    budgets, notes = configured_budgets(settings)
    statuses = []
    for budget, origin, aws in budgets:
        status = evaluate_budget(settings.lake_dir, budget, as_of=as_of, origin=origin)
        if aws is not None:
            status.aws_actual, status.aws_forecast = aws.actual, aws.forecast
        statuses.append(status)
    return statuses, notes


def describe(status: BudgetStatus) -> Sequence[str]:
    """Plain lines for a terminal, a message or a log."""
    lines = [f"{status.name}: {status.actual} of {status.amount} {status.currency} "
             f"({float(status.burn) * 100:.0f}%) in {status.period_start:%B %Y} as of {status.as_of}; "
             f"projected {status.projected.quantize(CENT)} ({float(status.projected_burn) * 100:.0f}%)"]
    for t in status.thresholds:
        when = f" on {t.on}" if t.on else ""
        lines.append(f"  {int(t.threshold * 100)}% ({t.amount}): {t.state.value}{when}")
    return lines


def kill_switch_readings(settings: Any, *, as_of: date | None = None,
                         names: Sequence[str] | None = None) -> tuple[list[Any], list[str]]:
    """The ``[[budgets]]`` with ``kill_switch = true`` as the snapshot carries them
    (``domain.snapshot.BudgetReading``), plus notes (e.g. no spend data for a budget).

    100 % is always evaluated, whatever the budget's thresholds, so the check can tell when the
    forecast runs past the whole amount before the month ends.
    """
    from spendpilot.domain.money import Money
    from spendpilot.domain.snapshot import BudgetReading

    readings: list[Any] = []
    notes: list[str] = []
    for budget in settings.budgets:
        if not budget.kill_switch or (names is not None and budget.name not in names):
            continue
        probe = budget.model_copy(update={"thresholds": sorted({*budget.thresholds, 1.0})})
        status = evaluate_budget(settings.lake_dir, probe, as_of=as_of)
        notes += [f"budget {budget.name}: {n}" for n in status.notes]
        if status.as_of is None:
            continue  # no data: nothing to judge, and the note says why
        top = max(budget.thresholds)
        by_share = {t.threshold: t for t in status.thresholds}
        full, top_t = by_share[1.0], by_share[top]
        readings.append(BudgetReading(
            name=budget.name, scope=budget.scope, amount=Money.of(budget.amount, budget.currency),
            actual=Money.of(status.actual, budget.currency),
            projected=Money.of(status.projected.quantize(CENT), budget.currency),
            as_of=status.as_of, period_end=status.period_end, top_threshold=top,
            top_crossed_on=top_t.on if top_t.state is Crossing.CROSSED else None,
            full_forecast_on=full.on if full.state is not Crossing.NOT_EXPECTED else None,
            environment=budget.environment,
        ))
    return readings, notes


class KillSwitchBudgets:
    """``actions.base.BudgetReader`` on the lake: a kill-switch budget evaluated as the sweep
    evaluates it, at the moment an approved kill switch is about to act. Reads the budget as it
    is configured *now*, so a raised amount or a removed ``kill_switch`` stops the change."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def reading(self, name: str) -> Any:
        readings, _ = kill_switch_readings(self.settings, names=[name])
        return readings[0] if readings else None
