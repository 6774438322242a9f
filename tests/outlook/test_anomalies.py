"""Anomaly detection on generated hourly series with weekly seasonality: planted spikes are
flagged within 2 hours of data, spike-free series raise no alarm, and the driver is named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from spendpilot.outlook.anomalies import HOURS_PER_WEEK, _runs_to_anomalies, detect, group_flags
from spendpilot.outlook.settings import AnomalySettings
from spendpilot.outlook.synthetic import Spike, hourly_series

WEEKS = 6
WATCHED_FROM = 4 * HOURS_PER_WEEK  # four weeks of history, then two weeks judged


@pytest.mark.parametrize("seed", range(6))
def test_a_planted_spike_is_flagged_within_two_hours(seed: int) -> None:
    at = WATCHED_FROM + 29 + seed * 41  # office hours, nights and a weekend among the seeds
    values = hourly_series(WEEKS, seed=seed, spikes=[Spike(at=at, factor=3.0, hours=4)])
    flags = detect(values, start=WATCHED_FROM)
    after = [f.index for f in flags if f.index >= at]
    assert after, f"spike at hour {at} not flagged"
    assert after[0] - at <= 1, f"flagged {after[0] - at} hours late"
    assert all(f.index >= at for f in flags), "no alarm before the spike"


@pytest.mark.parametrize("seed", range(100, 106))
def test_spike_free_series_raise_no_alarm(seed: int) -> None:
    assert detect(hourly_series(WEEKS, seed=seed), start=WATCHED_FROM) == []


def test_a_weekday_peak_is_not_an_anomaly_on_a_quiet_weekend_baseline() -> None:
    """Monday morning is 2.5x Sunday morning every week: seasonal, not anomalous."""
    values = hourly_series(WEEKS, seed=7, noise=0.05)
    monday_9 = 5 * HOURS_PER_WEEK + 9
    sunday_9 = monday_9 - 24
    assert values[monday_9] > 2 * values[sunday_9]
    assert detect(values, start=WATCHED_FROM) == []


def test_a_spike_below_min_excess_is_ignored() -> None:
    values = hourly_series(WEEKS, seed=3, level=0.1, spikes=[Spike(at=WATCHED_FROM + 30, factor=4, hours=2)])
    assert detect(values, start=WATCHED_FROM, settings=AnomalySettings(min_excess=Decimal("5"))) == []
    assert detect(values, start=WATCHED_FROM, settings=AnomalySettings(min_excess=Decimal("0"))) != []


def test_an_anomaly_names_its_driver_and_the_excess_so_far() -> None:
    import numpy as np

    quiet = np.asarray(hourly_series(WEEKS, seed=11, level=10))
    noisy = np.asarray(hourly_series(WEEKS, seed=12, level=10, spikes=[Spike(at=WATCHED_FROM + 50, factor=5, hours=3)]))
    total = quiet + noisy
    flags = detect(total, start=WATCHED_FROM)
    runs = group_flags(flags)
    assert len(runs) == 1
    first = datetime(2026, 1, 5, tzinfo=UTC)
    [anomaly] = _runs_to_anomalies(
        runs, first=first, step=timedelta(hours=1), n=len(total), source="llm_requests", granularity="hour",
        dimension="feature", value="support-bot", currency="USD",
        breakdown={("model", "gpt-4.1-mini"): quiet, ("model", "gpt-4.1"): noisy},
        period=HOURS_PER_WEEK, neighbours=0, weeks=4)
    assert anomaly.drivers[0].value == "gpt-4.1"
    assert anomaly.start == first + timedelta(hours=WATCHED_FROM + 50)
    assert anomaly.excess == anomaly.observed - anomaly.expected > 0
    assert anomaly.excess > 2 * anomaly.expected
