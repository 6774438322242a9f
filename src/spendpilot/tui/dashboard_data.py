"""What the dashboard shows, computed in a worker from the spend explorer's query.

Every figure is the spend explorer's answer to a ``SpendQuery``, the query behind
``spendpilot spend`` and the chat, so the dashboard never disagrees with the CLI. This module
only chooses the queries and reshapes their results; it is pure and tested without an app.

Budgets, the spend forecast and anomalies come from the outlook services (``Outlook``), each
in its own panel. They do not depend on the grouping or the period, so the screen reads them
once (``load_outlook``) and keeps them across ``g`` / ``p``; the spend panels
(``load_spend_panels``) read through a ``CachedSpend``, which answers the bill's questions from
one ``SpendCube`` scan of the lake (through the explorer's own ``_assemble``) and remembers
every answer until ``R``.

Adding a panel: give ``Dashboard`` a field, fill it in ``load_spend_panels`` (or, when it does
not depend on the grouping and period, in ``load_outlook`` / ``OutlookPanels``) from a service
call (a ``SpendpilotError`` becomes that panel's note, never the whole dashboard's failure), and
add a widget to the screen's ``#dash-panels`` row that renders it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from spendpilot.errors import SpendpilotError
from spendpilot.lake.spend import (
    OTHER,
    Granularity,
    Source,
    SpendQuery,
    SpendResult,
    SpendRow,
    build_query,
)

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

CUBE_KEYS: tuple[str, ...] = tuple(
    key for key, _ in GROUPINGS if build_query(group_by=[key]).resolved_source is Source.FOCUS
)
"""The groupings read from the bill (feature and model are read from LLM usage): the cube's keys."""
CUBE_DAYS = 2 * max(PERIODS)
"""The longest period and the one before it, for ``--compare``."""

if TYPE_CHECKING:
    from spendpilot.lake.spend_cube import SpendCube
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


@dataclass(frozen=True)
class OutlookPanels:
    """Forecast, budgets and anomalies: the same whatever the grouping and period."""

    forecast: list[ForecastTotal] = field(default_factory=list)
    budgets: list[BudgetRow] = field(default_factory=list)
    anomalies: list[AnomalyRow] = field(default_factory=list)
    read: frozenset[str] = frozenset()
    notes: list[str] = field(default_factory=list)

    def on(self, board: Dashboard) -> Dashboard:
        """``board`` (spend panels only) with these panels added, its notes first."""
        return replace(board, forecast=self.forecast, budgets=self.budgets, anomalies=self.anomalies,
                       outlook_read=set(self.read), notes=[*board.notes, *self.notes])


def load_outlook(outlook: Outlook) -> OutlookPanels:
    """Read budgets, the forecast and anomalies (blocking: call it from a worker)."""
    notes: list[str] = []
    read: set[str] = set()
    budgets: list[BudgetRow] = []
    forecast_totals: list[ForecastTotal] = []
    anomalies: list[AnomalyRow] = []
    try:
        statuses, budget_notes = outlook.budgets()
    except SpendpilotError as error:
        notes.append(f"budgets: {error}")
    else:
        budgets = [_budget_row(s) for s in statuses]
        read.add("budgets")
        notes += [f"budgets: {n}" for n in budget_notes]
    try:
        forecast = outlook.forecast([], FORECAST_DAYS)
    except SpendpilotError as error:
        notes.append(f"forecast: {error}")
    else:
        forecast_totals = [
            ForecastTotal(s.unit, s.total_expected, s.total_low, s.total_high) for s in forecast.series
        ]
    try:
        report = outlook.anomalies()
    except SpendpilotError as error:
        notes.append(f"anomalies: {error}")
    else:
        anomalies = [
            AnomalyRow(
                what=f"{a.dimension} {a.value}", since=a.start, ongoing=a.ongoing, excess=a.excess,
                currency=a.currency, ratio=a.ratio,
                driver=f"{a.drivers[0].dimension} {a.drivers[0].value}" if a.drivers else "",
            )
            for a in report.anomalies
        ]
        read.add("anomalies")
    return OutlookPanels(forecast_totals, budgets, anomalies, frozenset(read), notes)


class CachedSpend:
    """A ``SpendCall`` for one dashboard session: the bill's single-key questions answered from
    a ``SpendCube`` (built on first use, in the calling worker), every answer remembered.

    ``g`` and ``p`` then cost a lookup, not a scan of the lake. ``R`` starts a new one. Without
    a cube (no factory, an empty lake, a sum too large for the cube) every question goes to
    ``spend``, the explorer itself, which also says what is wrong (``NoSpendData``).
    """

    def __init__(self, spend: SpendCall, cube: Callable[[], SpendCube | None] | None = None) -> None:
        self._spend = spend
        self._cube_factory = cube
        self._cube: SpendCube | None = None
        self._lock = threading.Lock()
        self._answers: dict[str, SpendResult] = {}

    def _cube_or_none(self) -> SpendCube | None:
        with self._lock:
            if self._cube_factory is not None:
                factory, self._cube_factory = self._cube_factory, None
                try:
                    self._cube = factory()
                except SpendpilotError:
                    self._cube = None  # the explorer's own query will say why
            return self._cube

    def __call__(self, query: SpendQuery) -> SpendResult:
        key = query.model_dump_json()
        known = self._answers.get(key)
        if known is not None:
            return known
        cube = self._cube_or_none()
        answer = cube.answer(query) if cube is not None else None
        if answer is None:
            answer = self._spend(query)
        self._answers[key] = answer
        return answer


def load_dashboard(spend: SpendCall, group_index: int, period_index: int, outlook: Outlook | None = None
                   ) -> Dashboard:
    """Run all the dashboard's queries (blocking: call it from a worker)."""
    board = load_spend_panels(spend, group_index, period_index)
    return load_outlook(outlook).on(board) if outlook is not None else board


def load_spend_panels(spend: SpendCall, group_index: int, period_index: int) -> Dashboard:
    """The panels that depend on the grouping and period: title totals, plot, movers, units."""
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
    return board
