"""The forecast follows the weekday rhythm and the trend, and its interval covers what happens."""

from __future__ import annotations

from datetime import date, timedelta

from spendpilot.outlook.forecast import backtest, forecast_values
from spendpilot.outlook.synthetic import daily_series

MONDAY = date(2026, 1, 5)


def test_weekends_are_forecast_lower_than_weekdays() -> None:
    values = daily_series(70, seed=1)
    fc = forecast_values(values, MONDAY, 14)
    by_weekday = {p.day.weekday(): float(p.expected) for p in fc.points[:7]}
    assert by_weekday[5] < 0.6 * by_weekday[1]
    assert fc.weekday_profile[6] < 0.6 < fc.weekday_profile[2]
    assert all(p.low <= p.expected <= p.high for p in fc.points)
    assert fc.points[0].day == MONDAY + timedelta(days=70)


def test_a_rising_series_is_forecast_to_keep_rising() -> None:
    values = daily_series(70, seed=2, trend_per_day=0.01)
    fc = forecast_values(values, MONDAY, 28)
    assert fc.trend_per_day > 0
    assert sum(float(p.expected) for p in fc.points[21:28]) > sum(float(p.expected) for p in fc.points[:7])


def test_backtest_error_and_coverage_on_a_seasonal_series() -> None:
    result = backtest(daily_series(120, seed=3), MONDAY, horizon=7, cutoffs=10)
    assert result.cutoffs == 10 and result.days_scored == 70
    assert result.mape_pct is not None and result.mape_pct < 12
    assert result.coverage is not None and 0.6 <= result.coverage <= 1.0


def test_a_flat_forecast_would_score_worse_than_the_weekday_model() -> None:
    """The weekday profile earns its keep: without it (under 14 days) the error is larger."""
    values = daily_series(120, seed=4)
    seasonal = backtest(values, MONDAY, horizon=7, cutoffs=10)
    flat = backtest(values, MONDAY, horizon=7, cutoffs=10, window=13)
    assert seasonal.mape_pct is not None and flat.mape_pct is not None
    assert seasonal.mape_pct < flat.mape_pct / 2


def test_no_history_gives_no_points_and_zeros_stay_zero() -> None:
    assert forecast_values([], MONDAY, 5).points == []
    zeros = forecast_values([0.0] * 30, MONDAY, 5)
    assert all(p.expected == p.low == p.high == 0 for p in zeros.points)
