"""What the dashboard shows, computed in a worker from the spend explorer's query.

Every figure comes from ``services.spend(SpendQuery)``, the query behind ``spendpilot spend``
and the chat, so the dashboard never disagrees with the CLI. This module only chooses the
queries and reshapes their results; it is pure and tested without an app.

Budgets, the spend forecast and anomalies come from the outlook services (``Outlook``), each
in its own panel. Adding a panel: give ``Dashboard`` a field, fill it in ``load_dashboard`` from
a service call (a ``SpendpilotError`` becomes that panel's note, never the whole dashboard's
failure), and add a widget to the screen's ``#dash-panels`` row that renders it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from spendpilot.errors import SpendpilotError
from spendpilot.lake.spend import OTHER, Granularity, SpendQuery, SpendResult, SpendRow, build_query

GROUPINGS: tuple[tuple[str, str], ...] = (
    ("service", "service"),
    ("subaccount", "account"),
    ("region", "region"),
    ("team", "team"),
    ("feature", "feature"),
    ("model", "model"),
)
"""(group key, label) in the order ``g`` steps through. Accounts are FOCUS sub-accounts, shown
by ``SubAccountName`` (the explorer falls back to the id when an export has no name)."""

PERIODS: tuple[int, ...] = (30, 7, 90)
"""Days the ``p`` key steps through."""

SERIES = 5
"""Groups drawn on the plot; the rest is one ``(other)`` line."""

MOVERS = 8

SpendCall = Callable[[SpendQuery], SpendResult]

FORECAST_DAYS = 30

if TYPE_CHECKING:
    from spendpilot.outlook.anomalies import AnomalyReport
    from spendpilot.outlook.budgets import BudgetStatus
    from spendpilot.outlook.forecast import ForecastResult


@dataclass(frozen=True)
class Outlook:
    """The outlook services the dashboard reads (``SpendpilotServices`` methods)."""

    budgets: Callable[[], tuple[list[BudgetStatus], list[str]]]
    forecast: Callable[[list[str], int], ForecastResult]
    anomalies: Callable[[], AnomalyReport]


@dataclass(frozen=True)
class BudgetRow:
    name: str
    currency: str
    actual: Decimal
    amount: Decimal
    burn: Decimal
    projected_burn: Decimal
    state: str
    """The highest threshold crossed (and when), else the next one the forecast crosses, else "ok"."""


@dataclass(frozen=True)
class AnomalyRow:
    what: str
    since: datetime
    ongoing: bool
    excess: Decimal
    currency: str
    ratio: float
    driver: str


@dataclass(frozen=True)
class ForecastTotal:
    currency: str
    expected: Decimal
    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float]
    """One value per day of ``Dashboard.days``; floats only because a plot draws them."""


@dataclass(frozen=True)
class Mover:
    label: str
    currency: str
    amount: Decimal
    previous: Decimal
    delta: Decimal
    delta_pct: Decimal | None


@dataclass(frozen=True)
class UnitRow:
    feature: str
    currency: str
    amount: Decimal
    requests: int | None
    tokens: int | None
    cost_per_request: Decimal | None
    cost_per_1k_tokens: Decimal | None


@dataclass
class Dashboard:
    group_key: str
    group_label: str
    period_days: int
    source: str = ""
    start: date | None = None
    end: date | None = None
    totals: list[tuple[str, Decimal, Decimal | None]] = field(default_factory=list)
    """(currency, this period, previous period)."""
    currency: str = ""
    """The currency the plot draws (the largest); others are in ``totals`` only."""
    days: list[date] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    movers: list[Mover] = field(default_factory=list)
    units: list[UnitRow] = field(default_factory=list)
    forecast: list[ForecastTotal] = field(default_factory=list)
    """The next ``FORECAST_DAYS`` days of the whole bill, per currency."""
    budgets: list[BudgetRow] = field(default_factory=list)
    anomalies: list[AnomalyRow] = field(default_factory=list)
    outlook_read: set[str] = field(default_factory=set)
    """Which of "budgets", "anomalies" were read: an empty panel says "none" only then."""
    notes: list[str] = field(default_factory=list)
    """Why a panel is empty (no data, a source that failed): said, never left blank."""


def _series(result: SpendResult, key: str) -> tuple[str, list[date], list[Series]]:
    by_currency: dict[str, Decimal] = {}
    for row in result.rows:
        by_currency[row.currency] = by_currency.get(row.currency, Decimal(0)) + row.amount
    if not by_currency:
        return "", result.buckets, []
    currency = max(by_currency, key=lambda c: by_currency[c])
    days = result.buckets
    index = {day: i for i, day in enumerate(days)}
    lines: dict[str, list[float]] = {}
    for row in result.rows:
        if row.currency != currency or row.bucket is None:
            continue
        label = row.keys.get(key, OTHER)
        values = lines.setdefault(label, [0.0] * len(days))
        values[index[row.bucket]] += float(row.amount)
    return currency, days, [Series(label, values) for label, values in lines.items()]


def _movers(result: SpendResult, key: str) -> list[Mover]:
    rows: list[SpendRow] = [r for r in result.rows if r.delta is not None and r.keys.get(key) != OTHER]
    rows.sort(key=lambda r: (-abs(Decimal(str(r.delta or 0))), r.keys.get(key, "")))
    return [
        Mover(
            label=r.keys.get(key, ""), currency=r.currency, amount=r.amount,
            previous=r.previous or Decimal(0), delta=r.delta or Decimal(0), delta_pct=r.delta_pct,
        )
        for r in rows[:MOVERS]
        if r.delta
    ]


def _budget_row(status: BudgetStatus) -> BudgetRow:
    crossed = [t for t in status.thresholds if t.state.value == "crossed"]
    coming = [t for t in status.thresholds if t.state.value == "forecast"]
    if crossed:
        t = crossed[-1]
        state = f"{t.threshold:.0%} crossed" + (f" {t.on:%m-%d}" if t.on else "")
    elif coming:
        t = coming[0]
        state = f"{t.threshold:.0%} forecast" + (f" {t.on:%m-%d}" if t.on else "")
    else:
        state = "ok"
    return BudgetRow(name=status.name, currency=status.currency, actual=status.actual, amount=status.amount,
                     burn=status.burn, projected_burn=status.projected_burn, state=state)


def _load_outlook(board: Dashboard, outlook: Outlook) -> None:
    try:
        statuses, notes = outlook.budgets()
    except SpendpilotError as error:
        board.notes.append(f"budgets: {error}")
    else:
        board.budgets = [_budget_row(s) for s in statuses]
        board.outlook_read.add("budgets")
        board.notes += [f"budgets: {n}" for n in notes]
    try:
        forecast = outlook.forecast([], FORECAST_DAYS)
    except SpendpilotError as error:
        board.notes.append(f"forecast: {error}")
    else:
        board.forecast = [
            ForecastTotal(s.unit, s.total_expected, s.total_low, s.total_high) for s in forecast.series
        ]
    try:
        report = outlook.anomalies()
    except SpendpilotError as error:
        board.notes.append(f"anomalies: {error}")
    else:
        board.anomalies = [
            AnomalyRow(
                what=f"{a.dimension} {a.value}", since=a.start, ongoing=a.ongoing, excess=a.excess,
                currency=a.currency, ratio=a.ratio,
                driver=f"{a.drivers[0].dimension} {a.drivers[0].value}" if a.drivers else "",
            )
            for a in report.anomalies
        ]
        board.outlook_read.add("anomalies")


def load_dashboard(spend: SpendCall, group_index: int, period_index: int, outlook: Outlook | None = None
                   ) -> Dashboard:
    """Run the dashboard's queries (blocking: call it from a worker)."""
    key, label = GROUPINGS[group_index % len(GROUPINGS)]
    days = PERIODS[period_index % len(PERIODS)]
    board = Dashboard(group_key=key, group_label=label, period_days=days)
    try:
        compared = spend(build_query(group_by=[key], last_days=days, compare=True))
    except SpendpilotError as error:
        board.notes.append(f"spend by {label}: {error}")
    else:
        board.source = compared.source.value
        board.start, board.end = compared.start, compared.end
        board.totals = [(t.currency, t.amount, t.previous) for t in compared.totals]
        board.movers = _movers(compared, key)
        try:
            daily = spend(build_query(group_by=[key], last_days=days, granularity=Granularity.DAY, top=SERIES))
        except SpendpilotError as error:
            board.notes.append(f"daily spend by {label}: {error}")
        else:
            board.currency, board.days, board.series = _series(daily, key)
    try:
        units = spend(build_query(group_by=["feature"], last_days=days, source="llm_usage"))
    except SpendpilotError as error:
        board.notes.append(f"unit economics: {error}")
    else:
        board.units = [
            UnitRow(
                feature=r.keys.get("feature", ""), currency=r.currency, amount=r.amount,
                requests=r.requests, tokens=r.tokens, cost_per_request=r.cost_per_request,
                cost_per_1k_tokens=r.cost_per_1k_tokens,
            )
            for r in units.rows
        ]
    if outlook is not None:
        _load_outlook(board, outlook)
    return board
