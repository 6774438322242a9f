"""Generated spend series with weekly seasonality and planted spikes, for tests and evals.

Real hourly spend has an hour-of-day shape (busy office hours, a nightly batch), a weekday
shape (quiet weekends), a slow trend and multiplicative noise. These generators produce that,
seeded, so the anomaly detector's delay and false alarms and the forecast's error can be
measured on series whose truth is known.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

WEEKDAY_LEVEL = (1.0, 1.05, 1.05, 1.0, 0.95, 0.45, 0.4)
"""Monday..Sunday."""


class Spike(BaseModel):
    """``factor`` x the normal value for ``hours`` buckets from ``at`` (an index)."""

    at: int
    factor: float = 3.0
    hours: int = 3


def hourly_series(weeks: int, *, seed: int, level: float = 20.0, noise: float = 0.15, trend_per_week: float = 0.02,
                  spikes: Sequence[Spike] = ()) -> list[float]:
    """Hourly cost starting on a Monday 00:00: day shape x weekday shape x trend x lognormal noise."""
    rng = np.random.default_rng(seed)
    values = []
    for t in range(weeks * 168):
        day, hour = divmod(t, 24)
        office = 0.35 + 0.65 * max(0.0, math.sin(math.pi * (hour - 7) / 12)) if 7 <= hour <= 19 else 0.35
        batch = 0.5 if hour == 2 else 0.0
        mean = level * (office + batch) * WEEKDAY_LEVEL[day % 7] * (1 + trend_per_week * t / 168)
        values.append(mean * float(rng.lognormal(-noise**2 / 2, noise)))
    for s in spikes:
        for t in range(s.at, min(s.at + s.hours, len(values))):
            values[t] *= s.factor
    return values


def daily_series(days: int, *, seed: int, level: float = 400.0, noise: float = 0.08,
                 trend_per_day: float = 0.003) -> list[float]:
    """Daily spend starting on a Monday: weekday shape x trend x lognormal noise."""
    rng = np.random.default_rng(seed)
    return [level * WEEKDAY_LEVEL[d % 7] * (1 + trend_per_day * d) * float(rng.lognormal(-noise**2 / 2, noise))
            for d in range(days)]
