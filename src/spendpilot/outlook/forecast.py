"""Forecasts of daily spend and tokens, with intervals: a weekday profile times a linear trend.

Why this model: cloud and LLM spend is dominated by a level that drifts and a weekly rhythm
(batch jobs and people work on weekdays). Multiplying a weekday profile by a trend captures
both, needs nothing beyond numpy, and is easy to explain in one sentence in the output.

* **Weekday profile** ``s[w]``: mean of weekday ``w`` over the fitted window divided by the
  window's mean (needs two full weeks; otherwise flat).
* **Trend**: a least-squares line through the de-seasonalised values of the fitted window
  (the last ``window`` days, default 56), so a ramp-up is followed but a spike long ago is not.
* **Interval**: empirical, not Gaussian. Residuals ``y - fit`` of the fitted window give the
  ``(1-level)/2`` and ``(1+level)/2`` quantiles of the *relative* error; they are widened by
  ``sqrt(1 + h/7)`` for a forecast ``h`` days ahead, because errors grow with the horizon.

``forecast_values`` is the pure model (floats in, ``SeriesForecast`` out) used by budgets and
the backtest; ``forecast_spend`` and ``forecast_tokens`` read the lake. ``backtest`` replays the
model at several cut-off days and reports MAPE and interval coverage
(``benchmarks/forecast_backtest.py`` prints it for the demo organisation and the FOCUS sample).

Public API (also for the TUI): ``forecast_values``, ``forecast_spend``, ``forecast_tokens``,
``backtest``, and the result models ``ForecastPoint``, ``SeriesForecast``, ``ForecastResult``,
``BacktestResult``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from spendpilot.domain.money import DecimalStr

DEFAULT_WINDOW = 56
DEFAULT_LEVEL = 0.8
MONEY_PLACES = Decimal("0.01")
HALF_CENT = 0.005


class ForecastPoint(BaseModel):
    """One future day: the expected value and the interval around it (``level`` coverage)."""

    day: date
    expected: DecimalStr
    low: DecimalStr
    high: DecimalStr


class HistoryPoint(BaseModel):
    day: date
    value: DecimalStr


class SeriesForecast(BaseModel):
    """One series (a group in one currency, or tokens) and its forecast."""

    keys: dict[str, str] = Field(default_factory=dict)
    unit: str = Field(description="A currency code, or 'tokens'.")
    history: list[HistoryPoint]
    points: list[ForecastPoint]
    weekday_profile: list[float] = Field(description="Monday..Sunday factors (1.0 = average day).")
    trend_per_day: float = Field(description="Change of the de-seasonalised level per day.")
    method: str

    @property
    def total_expected(self) -> Decimal:
        return sum((p.expected for p in self.points), Decimal(0))

    @property
    def total_low(self) -> Decimal:
        """Sum of the daily lows: a conservative (wide) bound of the period's total."""
        return sum((p.low for p in self.points), Decimal(0))

    @property
    def total_high(self) -> Decimal:
        return sum((p.high for p in self.points), Decimal(0))


class ForecastResult(BaseModel):
    kind: str = Field(description="'spend' or 'tokens'.")
    group_by: list[str]
    history_start: date
    history_end: date
    horizon_days: int
    level: float
    series: list[SeriesForecast]
    notes: list[str] = Field(default_factory=list)


def _quantize(value: float, unit: str) -> Decimal:
    if unit == "tokens":
        return Decimal(round(value))
    return Decimal(str(value)).quantize(MONEY_PLACES)


def _fit(values: np.ndarray, weekdays: np.ndarray, window: int) -> tuple[np.ndarray, float, float, float]:
    """(weekday profile[7], intercept, slope, window start index) over the last ``window`` values."""
    n = len(values)
    lo = max(0, n - window)
    y = values[lo:]
    wd = weekdays[lo:]
    mean = float(y.mean()) if len(y) else 0.0
    profile = np.ones(7)
    if len(y) >= 14 and mean > 0:
        for w in range(7):
            on_day = y[wd == w]
            if len(on_day):
                profile[w] = max(float(on_day.mean()) / mean, 0.0)
        profile = profile * (7 / profile.sum()) if profile.sum() > 0 else np.ones(7)
    factors = profile[wd]
    deseasonalised = np.divide(y, factors, out=np.zeros_like(y), where=factors > 0)
    t = np.arange(lo, n, dtype=float)
    if len(y) >= 7:
        slope, intercept = np.polyfit(t, deseasonalised, 1)
    else:
        slope, intercept = 0.0, float(deseasonalised.mean()) if len(y) else 0.0
    return profile, float(intercept), float(slope), float(lo)


def forecast_values(
    values: Sequence[float], first_day: date, horizon: int, *, level: float = DEFAULT_LEVEL,
    window: int = DEFAULT_WINDOW, unit: str = "USD", keys: dict[str, str] | None = None,
) -> SeriesForecast:
    """Forecast ``horizon`` days after a daily series that starts on ``first_day``.

    Values must be one per day with no gaps (a missing day is a 0, which the callers fill).
    Forecasts are clipped at 0: spend and tokens cannot be negative.
    """
    y = np.asarray(values, dtype=float)
    n = len(y)
    weekdays = np.array([(first_day + timedelta(days=i)).weekday() for i in range(n)], dtype=int)
    history = [HistoryPoint(day=first_day + timedelta(days=i), value=_quantize(v, unit)) for i, v in enumerate(y)]
    if n == 0:
        return SeriesForecast(keys=keys or {}, unit=unit, history=[], points=[], weekday_profile=[1.0] * 7,
                              trend_per_day=0.0, method="no history")
    profile, intercept, slope, lo = _fit(y, weekdays, window)
    t = np.arange(int(lo), n, dtype=float)
    fitted = np.clip((intercept + slope * t) * profile[weekdays[int(lo):]], 0, None)
    actual = y[int(lo):]
    scale = np.maximum(fitted, max(float(actual.mean()) * 0.05, 1e-9))
    relative = (actual - fitted) / scale
    if len(relative) >= 7:
        q_low, q_high = np.quantile(relative, [(1 - level) / 2, (1 + level) / 2])
    else:
        q_low, q_high = -0.5, 0.5  # too little history to measure: say so with a wide interval
    points = []
    last = first_day + timedelta(days=n - 1)
    for h in range(1, horizon + 1):
        day = last + timedelta(days=h)
        expected = max((intercept + slope * (n - 1 + h)) * profile[day.weekday()], 0.0)
        widen = float(np.sqrt(1 + h / 7))
        base = max(expected, max(float(actual.mean()) * 0.05, 0.0))
        low = max(expected + q_low * widen * base, 0.0)
        high = max(expected + q_high * widen * base, expected)
        points.append(ForecastPoint(day=day, expected=_quantize(expected, unit), low=_quantize(min(low, expected), unit),
                                    high=_quantize(high, unit)))
    method = ("weekday profile x linear trend" if n >= 14 else "linear trend (under 14 days: no weekday profile)"
              ) + f", last {min(n, window)} days, {int(level * 100)}% empirical interval"
    return SeriesForecast(keys=keys or {}, unit=unit, history=history, points=points,
                          weekday_profile=[round(float(p), 4) for p in profile], trend_per_day=round(slope, 6),
                          method=method)


# --- from the lake ---------------------------------------------------------------------------


def _dense(by_day: dict[date, float], start: date, end: date) -> list[float]:
    return [by_day.get(start + timedelta(days=i), 0.0) for i in range((end - start).days + 1)]


def daily_spend_series(lake_dir: Path, group_by: Sequence[str] = (), *, history_days: int = 90,
                       where: Sequence[str] = (), end: date | None = None, team_tag: str = "team",
                       top: int | None = 10) -> tuple[date, date, dict[tuple[tuple[str, ...], str], list[float]]]:
    """Daily spend per (group labels, currency) from the spend query: (first day, last day, series).

    The series start at the first day with data, even when ``history_days`` reaches further back.

    ``where`` takes ``spendpilot spend --where`` filters (``KEY=VALUE``).

    A Kubernetes node counts once, as ``lake.spend.outlook_counting`` says: the whole bill, or
    grouped or filtered by a tag (a team), through the Kubernetes rows that hold each team's
    share; by the bill's own dimensions only (service, account, ...) as billed, so a service's
    history does not drop (and "Kubernetes" start) on the day ``allocate --write`` first ran.
    """
    from spendpilot.lake.spend import build_query, outlook_counting, parse_filter, run_spend_query

    filters = [parse_filter(w) for w in where]
    query = build_query(group_by=list(group_by), last_days=history_days, end=end, granularity="day",
                        where=filters, top=top, team_tag=team_tag,
                        counting=outlook_counting(group_by, filters))
    result = run_spend_query(lake_dir, query)
    sums: dict[tuple[tuple[str, ...], str], dict[date, float]] = defaultdict(dict)
    for row in result.rows:
        if row.bucket is None:
            continue
        labels = tuple(row.keys[k] for k in result.group_by)
        sums[(labels, row.currency)][row.bucket] = float(row.amount)
    # Days before the first data are unknown, not zero: a trend fitted through them would climb.
    first = min((day for by_day in sums.values() for day in by_day), default=result.start)
    start = max(result.start, first)
    return start, result.end, {k: _dense(v, start, result.end) for k, v in sums.items()}


def forecast_spend(lake_dir: Path, group_by: Sequence[str] = (), *, horizon: int = 30, history_days: int = 90,
                   level: float = DEFAULT_LEVEL, where: Sequence[str] = (), team_tag: str = "team",
                   top: int | None = 10) -> ForecastResult:
    """Daily spend forecast per group (FOCUS billing, or LLM usage cost for feature/model)."""
    start, end, series = daily_spend_series(lake_dir, group_by, history_days=history_days, where=where,
                                            team_tag=team_tag, top=top)
    forecasts = [
        forecast_values(values, start, horizon, level=level, unit=currency,
                        keys=dict(zip(group_by, labels, strict=True)))
        for (labels, currency), values in sorted(series.items(), key=lambda kv: -sum(kv[1]))
    ]
    return ForecastResult(kind="spend", group_by=list(group_by), history_start=start, history_end=end,
                          horizon_days=horizon, level=level, series=forecasts,
                          notes=["the period total's low/high add the daily bounds: a wide, conservative range"])


TOKEN_KEYS = ("feature", "model", "provider")


def forecast_tokens(lake_dir: Path, group_by: Sequence[str] = (), *, horizon: int = 30, history_days: int = 90,
                    level: float = DEFAULT_LEVEL) -> ForecastResult:
    """Daily token (input + output) forecast per feature, model or provider, from LLM usage."""
    from spendpilot.errors import BadArgument, NoSpendData
    from spendpilot.lake.llm_usage import read_llm_usage

    bad = [k for k in group_by if k not in TOKEN_KEYS]
    if bad:
        raise BadArgument(f"tokens can be grouped by {', '.join(TOKEN_KEYS)}, not {', '.join(bad)}")
    usage = read_llm_usage(lake_dir)
    if not usage:
        raise NoSpendData("the lake holds no LLM usage yet; run `spendpilot ingest` with a usage export or spans")
    end = max(u.day for u in usage)
    start = max(end - timedelta(days=history_days - 1), min(u.day for u in usage))
    sums: dict[tuple[str, ...], dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for u in usage:
        if start <= u.day <= end:
            sums[tuple(str(getattr(u, k)) for k in group_by)][u.day] += u.input_tokens + u.output_tokens
    forecasts = [
        forecast_values(_dense(by_day, start, end), start, horizon, level=level, unit="tokens",
                        keys=dict(zip(group_by, labels, strict=True)))
        for labels, by_day in sorted(sums.items(), key=lambda kv: -sum(kv[1].values()))
    ]
    return ForecastResult(kind="tokens", group_by=list(group_by), history_start=start, history_end=end,
                          horizon_days=horizon, level=level, series=forecasts)


# --- backtest --------------------------------------------------------------------------------


class BacktestResult(BaseModel):
    """Rolling-origin backtest: the model refitted at each cut-off, scored on the days after it."""

    cutoffs: int
    horizon: int
    days_scored: int
    mape_pct: float | None = Field(description="Mean |error| / actual over days with actual > 0, in %.")
    total_error_pct: float | None = Field(description="|sum forecast - sum actual| / sum actual per cut-off, mean, %.")
    coverage: float | None = Field(description="Share of scored days whose actual lies inside the interval.")
    level: float


def backtest(values: Sequence[float], first_day: date, *, horizon: int = 7, cutoffs: int = 8,
             min_history: int = 28, level: float = DEFAULT_LEVEL, window: int = DEFAULT_WINDOW) -> BacktestResult:
    """Cut the series at ``cutoffs`` evenly spaced days (each with ``min_history`` days before
    it), forecast ``horizon`` days, and compare with what happened."""
    y = [float(v) for v in values]
    last_cut = len(y) - horizon
    if last_cut < min_history:
        return BacktestResult(cutoffs=0, horizon=horizon, days_scored=0, mape_pct=None, total_error_pct=None,
                              coverage=None, level=level)
    step = max(1, (last_cut - min_history) // max(cutoffs - 1, 1))
    cuts = sorted({min(last_cut, min_history + i * step) for i in range(cutoffs)})
    errors: list[float] = []
    totals: list[float] = []
    inside = scored = 0
    for cut in cuts:
        fc = forecast_values(y[:cut], first_day, horizon, level=level, window=window)
        actual = y[cut:cut + horizon]
        for point, real in zip(fc.points, actual, strict=False):
            scored += 1
            inside += float(point.low) - HALF_CENT <= real <= float(point.high) + HALF_CENT  # bounds are in cents
            if real > 0:
                errors.append(abs(float(point.expected) - real) / real)
        if sum(actual) > 0:
            totals.append(abs(float(fc.total_expected) - sum(actual)) / sum(actual))
    return BacktestResult(
        cutoffs=len(cuts), horizon=horizon, days_scored=scored,
        mape_pct=round(100 * float(np.mean(errors)), 2) if errors else None,
        total_error_pct=round(100 * float(np.mean(totals)), 2) if totals else None,
        coverage=round(inside / scored, 3) if scored else None, level=level,
    )
