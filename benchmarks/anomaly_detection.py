"""Anomaly detection: delay to flag a planted spike, and false alarms on spike-free series.

Usage: ``python benchmarks/anomaly_detection.py [--seeds 30] [--weeks 6]``

Generated hourly cost series (``outlook.synthetic.hourly_series``): an office-hours day shape,
a nightly batch hour, quiet weekends, a slow trend and lognormal noise (15 % by default). The
first four weeks are history; the remaining weeks are judged by ``outlook.anomalies.detect``
with the default ``[anomalies]`` settings, exactly as ``spendpilot anomalies`` runs it.

* **Delay**: for each seed and spike size, one spike of 4 hours is planted at a different hour
  of the judged weeks (nights, office hours and weekends among them). Delay = hours of data
  after the spike began until the first flag (0 = flagged on the spike's first hour, i.e.
  one hour of data). "within 2 h" counts delays of 0 or 1.
* **False alarms**: the same seeds without a spike; every flagged run counts as one alarm.
  Also shown per 1,000 judged hours.

A daily series section does the same on daily bills (weekday baseline, period 7).
Prints figures; never passes or fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from spendpilot.outlook.anomalies import HOURS_PER_WEEK, detect, group_flags  # noqa: E402
from spendpilot.outlook.synthetic import Spike, daily_series, hourly_series  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--weeks", type=int, default=6)
    parser.add_argument("--noise", type=float, default=0.15)
    args = parser.parse_args()
    history = 4 * HOURS_PER_WEEK
    judged = (args.weeks - 4) * HOURS_PER_WEEK
    began = time.perf_counter()
    print(f"Hourly: {args.seeds} seeds x {args.weeks} weeks ({judged} judged hours each), noise {args.noise:.0%}\n")
    print(f"  {'spike':>10} {'flagged':>8} {'within 2 h':>11} {'median delay':>13} {'max delay':>10}")
    for factor in (1.5, 2.0, 3.0, 5.0):
        delays: list[int] = []
        missed = 0
        for seed in range(args.seeds):
            at = history + (seed * 53 + 7) % (judged - 6)
            values = hourly_series(args.weeks, seed=seed, noise=args.noise,
                                   spikes=[Spike(at=at, factor=factor, hours=4)])
            later = [f.index for f in detect(values, start=history) if f.index >= at]
            if later and later[0] < at + 4:
                delays.append(later[0] - at)
            else:
                missed += 1
        within = sum(d <= 1 for d in delays)
        median = f"{statistics.median(delays):.0f} h" if delays else "n/a"
        worst = f"{max(delays)} h" if delays else "n/a"
        print(f"  {f'x{factor:g} x 4 h':>10} {len(delays):>4}/{args.seeds:<3} {within:>6}/{args.seeds:<4} "
              f"{median:>13} {worst:>10}")
    alarms = 0
    for seed in range(1000, 1000 + args.seeds):
        alarms += len(group_flags(detect(hourly_series(args.weeks, seed=seed, noise=args.noise), start=history)))
    total_hours = judged * args.seeds
    print(f"\n  false alarms on {args.seeds} spike-free series: {alarms} in {total_hours:,} judged hours "
          f"({1000 * alarms / total_hours:.2f} per 1,000 hours)")

    print("\nDaily: 20 seeds x 120 days, last 56 judged; spike = one day x3")
    flagged = same_day = daily_alarms = 0
    for seed in range(20):
        at = 64 + (seed * 5) % 50
        values = daily_series(120, seed=seed, level=400)
        spiked = list(values)
        spiked[at] *= 3
        hits = [f.index for f in detect(spiked, period=7, start=64) if f.index >= at]
        flagged += bool(hits)
        same_day += bool(hits) and hits[0] == at
        daily_alarms += len(group_flags(detect(values, period=7, start=64)))
    print(f"  flagged {flagged}/20, on the day itself {same_day}/20; false alarms on the spike-free series: "
          f"{daily_alarms} in {20 * 56} judged days")
    print(f"\n({time.perf_counter() - began:.1f} s)")


if __name__ == "__main__":
    main()
