"""Forecast backtest: how wrong is ``spendpilot forecast``, and does its interval hold?

Usage: ``python benchmarks/forecast_backtest.py [--demo-home DIR] [--horizon 7] [--cutoffs 8]``

Rolling origin: the model is refitted at several cut-off days using only the days before each,
forecasts ``--horizon`` days, and is scored on what happened (``outlook.forecast.backtest``):

* **MAPE**: mean |forecast - actual| / actual over days with actual > 0, in %;
* **period error**: |sum forecast - sum actual| / sum actual over each horizon, mean, in %
  (what a budget's month-end projection depends on);
* **coverage**: the share of days whose actual lay inside the 80 % interval.

Series:

1. the demo organisation's lake (90 days of FOCUS billing and LLM usage): total daily spend, the
   largest services, and daily tokens. ``--demo-home`` reuses a home made by
   ``spendpilot demo --home DIR``; otherwise the demo is built in a temporary folder (local AWS
   emulator included, about 15 s);
2. the real FOCUS 1.0 sample (``tests/data/focus-sample``, 1,000 rows, 30 days of September 2024):
   total daily spend, with 14 days of minimum history since it is only 30 days long;
3. generated daily series with a weekday rhythm, trend and noise (``outlook.synthetic``), 8 seeds.

Prints figures; never passes or fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from spendpilot.outlook.forecast import BacktestResult, backtest, daily_spend_series  # noqa: E402
from spendpilot.outlook.synthetic import daily_series  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "focus-sample" / "focus_1.0_sample_1000.csv"


def _fmt(name: str, r: BacktestResult, total: float) -> str:
    mape = f"{r.mape_pct:7.2f}%" if r.mape_pct is not None else "     n/a"
    period = f"{r.total_error_pct:7.2f}%" if r.total_error_pct is not None else "     n/a"
    cover = f"{r.coverage * 100:5.1f}%" if r.coverage is not None else "  n/a"
    return f"  {name:<44} {total:>14,.2f} {r.cutoffs:>4} {r.days_scored:>5} {mape} {period} {cover}"


HEADER = f"  {'series':<44} {'history sum':>14} {'cuts':>4} {'days':>5} {'MAPE':>8} {'period':>8} {'cover':>6}"


def _demo_home(given: Path | None, tmp: Path) -> Path:
    if given is not None:
        return given
    from spendpilot.config import Settings
    from spendpilot.demo import prepare_scenario
    from spendpilot.scenarios import load_scenario, locate_scenario
    from spendpilot.scenarios.emulator import local_emulator

    spec = load_scenario(locate_scenario("demo"))
    home = tmp / "demo"
    with local_emulator() as emulator:
        settings = Settings(home=home, aws=spec.aws_settings(emulator.endpoint_url))
        settings.ensure_home()
        prepare_scenario(settings, spec, emulator.endpoint_url or "")
    return home


def _lake_rows(lake: Path, horizon: int, cutoffs: int, min_history: int, services: int) -> list[str]:
    lines = []
    start, _end, total = daily_spend_series(lake, [], history_days=400, top=None)
    for (_, currency), values in total.items():
        r = backtest(values, start, horizon=horizon, cutoffs=cutoffs, min_history=min_history)
        lines.append(_fmt(f"total daily spend ({currency})", r, sum(values)))
    start, _end, by_service = daily_spend_series(lake, ["service"], history_days=400, top=services)
    for (labels, _currency), values in sorted(by_service.items(), key=lambda kv: -sum(kv[1]))[:services]:
        r = backtest(values, start, horizon=horizon, cutoffs=cutoffs, min_history=min_history)
        lines.append(_fmt(f"service {labels[0]}"[:44], r, sum(values)))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-home", type=Path)
    parser.add_argument("--horizon", type=int, default=7)
    parser.add_argument("--cutoffs", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print(f"Rolling-origin backtest, horizon {args.horizon} days, 80% interval\n")
        print("1. demo organisation (90 days)")
        print(HEADER)
        home = _demo_home(args.demo_home, tmp)
        for line in _lake_rows(home / "lake", args.horizon, args.cutoffs, 28, 4):
            print(line)
        from spendpilot.outlook.forecast import forecast_tokens

        tokens = forecast_tokens(home / "lake", [], horizon=1, history_days=90)
        for s in tokens.series:
            values = [float(p.value) for p in s.history]
            r = backtest(values, tokens.history_start, horizon=args.horizon, cutoffs=args.cutoffs)
            print(_fmt("daily LLM tokens (input + output)", r, sum(values)))

        print("\n2. FOCUS 1.0 sample (30 days, September 2024; lumpy: most days cost under $0.01)")
        print(HEADER)
        from spendpilot.lake.ingest import ingest_file

        ingest_file(SAMPLE, tmp / "sample-lake")
        for line in _lake_rows(tmp / "sample-lake", args.horizon, min(args.cutoffs, 4), 14, 3):
            print(line)

        print("\n3. generated daily series (weekday rhythm x trend x 8% noise), 120 days, 8 seeds")
        print(HEADER)
        results = [backtest(daily_series(120, seed=s), daily_start(), horizon=args.horizon, cutoffs=args.cutoffs)
                   for s in range(8)]
        for s, r in enumerate(results):
            print(_fmt(f"seed {s}", r, 0.0))
        mapes = [r.mape_pct for r in results if r.mape_pct is not None]
        covers = [r.coverage for r in results if r.coverage is not None]
        print(f"  mean MAPE {statistics.mean(mapes):.2f}%, mean coverage {statistics.mean(covers) * 100:.1f}%")


def daily_start():  # noqa: ANN201 - a date
    from datetime import date

    return date(2026, 1, 5)  # a Monday


if __name__ == "__main__":
    main()
