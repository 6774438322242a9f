"""Terminal tables for ``spendpilot forecast``, ``anomalies`` and ``budgets`` (computing lives in
the sibling modules; this one only formats)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from spendpilot.outlook.anomalies import AnomalyReport
from spendpilot.outlook.budgets import BudgetStatus, Crossing
from spendpilot.outlook.forecast import ForecastResult

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    top = max(values, default=0) or 1
    return "".join(_BARS[min(len(_BARS) - 1, int(v / top * (len(_BARS) - 1)))] for v in values)


def forecast_table(result: ForecastResult) -> Table:
    table = Table(title=f"{result.kind} forecast, next {result.horizon_days} days "
                  f"(history {result.history_start} to {result.history_end}, {int(result.level * 100)}% interval)")
    for key in result.group_by:
        table.add_column(key)
    table.add_column("unit")
    table.add_column("last 28 d", justify="right")
    table.add_column("expected", justify="right")
    table.add_column("low", justify="right")
    table.add_column("high", justify="right")
    table.add_column("history → forecast")
    for s in result.series:
        last = sum(float(p.value) for p in s.history[-28:])
        shape = sparkline([float(p.value) for p in s.history[-28:]]) + "│" + sparkline(
            [float(p.expected) for p in s.points[:28]])
        table.add_row(*[s.keys.get(k, "") for k in result.group_by], s.unit, f"{last:,.2f}",
                      f"{s.total_expected:,}", f"{s.total_low:,}", f"{s.total_high:,}", shape)
    return table


def anomalies_table(report: AnomalyReport) -> Table:
    table = Table(title="anomalies")
    for column in ("series", "since (UTC)", "last", "observed", "expected", "excess", "x", "z", "drivers"):
        table.add_column(column, justify="right" if column in ("observed", "expected", "excess", "x", "z") else "left")
    for a in report.anomalies:
        fmt = "%Y-%m-%d %H:%M" if a.granularity == "hour" else "%Y-%m-%d"
        drivers = ", ".join(f"{d.dimension} {d.value} (+{d.excess})" for d in a.drivers)
        table.add_row(f"{a.dimension} {a.value}", a.start.strftime(fmt),
                      a.last.strftime(fmt) + (" (ongoing)" if a.ongoing else ""),
                      f"{a.observed} {a.currency}", str(a.expected), str(a.excess), f"{a.ratio:.1f}",
                      f"{a.peak_z:.1f}", drivers)
    return table


def budgets_table(statuses: Sequence[BudgetStatus]) -> Table:
    table = Table(title="budgets (this month)")
    for column in ("budget", "origin", "scope", "amount", "actual", "burn", "projected", "thresholds"):
        table.add_column(column, justify="right" if column in ("amount", "actual", "burn", "projected") else "left")
    for s in statuses:
        marks = []
        for t in s.thresholds:
            label = {Crossing.CROSSED: "crossed", Crossing.FORECAST: "forecast", Crossing.NOT_EXPECTED: "not expected"}[t.state]
            marks.append(f"{int(t.threshold * 100)}% {label}" + (f" {t.on}" if t.on else ""))
        scope = ", ".join(f"{k}={v if isinstance(v, str) else ','.join(v)}" for k, v in s.scope.items()) or "(all)"
        table.add_row(s.name, s.origin, scope, f"{s.amount:,} {s.currency}", f"{s.actual:,}",
                      f"{float(s.burn) * 100:.0f}%", f"{s.projected:,.2f} ({float(s.projected_burn) * 100:.0f}%)",
                      "; ".join(marks))
    return table
