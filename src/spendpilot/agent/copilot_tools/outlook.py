"""Forecast, budget and anomaly tools: ``outlook/`` as `spendpilot forecast/budgets/anomalies` show it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from spendpilot.agent.copilot_tools import CopilotDeps, NoArgs, copilot_tool
from spendpilot.domain.money import format_money
from spendpilot.errors import NoSpendData

MAX_SERIES = 8


class ForecastArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["spend", "tokens"] = Field("spend", description="Money from the bill (or LLM usage cost), or LLM tokens.")
    group_by: list[str] = Field(default_factory=list, max_length=2,
                                description="Optional keys, as in spend (tokens: feature, model or provider).")
    days: int = Field(30, ge=1, le=92, description="Days ahead to forecast.")


def _amount(value: object, unit: str) -> str:
    return f"{value:,} tokens" if unit == "tokens" else format_money(value, unit)  # type: ignore[arg-type]


@copilot_tool(
    "forecast", ForecastArgs,
    "Forecast of daily spend or LLM tokens for the next N days (weekday profile x trend, with an "
    "interval), in total or per group: 'what will we spend next month?'.",
)
def forecast(deps: CopilotDeps, args: ForecastArgs) -> str:
    from spendpilot.outlook.forecast import forecast_spend, forecast_tokens

    try:
        if args.kind == "tokens":
            result = forecast_tokens(deps.lake_dir, args.group_by, horizon=args.days)
        else:
            result = forecast_spend(deps.lake_dir, args.group_by, horizon=args.days)
    except NoSpendData as exc:
        return f"No data to forecast from: {exc}"
    lines = [
        f"Forecast of {result.kind} for the {result.horizon_days} days after {result.history_end}, from the "
        f"history {result.history_start} to {result.history_end} ({result.level:.0%} interval):"
    ]
    for s in result.series[:MAX_SERIES]:
        label = " / ".join(f"{k}={v}" for k, v in s.keys.items()) or "total"
        lines.append(
            f"- {label}: {_amount(s.total_expected, s.unit)} expected "
            f"({_amount(s.total_low, s.unit)} to {_amount(s.total_high, s.unit)}); method: {s.method}"
        )
    if len(result.series) > MAX_SERIES:
        lines.append(f"({len(result.series) - MAX_SERIES} smaller series not shown)")
    lines += [f"Note: {n}" for n in result.notes]
    return "\n".join(lines)


@copilot_tool(
    "budgets", NoArgs,
    "Monthly budgets ([[budgets]] in spendpilot.toml, and AWS Budgets if configured): spend to date, "
    "projected month end, thresholds crossed or forecast to cross.",
)
def budgets(deps: CopilotDeps, args: NoArgs) -> str:
    from spendpilot.outlook.budgets import describe

    statuses, notes = deps.budgets()
    if not statuses:
        return "\n".join(["No budgets are configured ([[budgets]] in spendpilot.toml).", *notes])
    lines: list[str] = []
    for status in statuses:
        scope = ", ".join(f"{k}={v}" for k, v in status.scope.items()) or "all spend"
        lines.append(f"Budget {status.name} ({status.origin}, {scope}):")
        lines += [f"  {line}" for line in describe(status)]
        lines += [f"  note: {n}" for n in status.notes]
    return "\n".join(lines + notes)


@copilot_tool(
    "anomalies", NoArgs,
    "Spend anomalies: hourly LLM usage spikes and daily billing jumps per service, largest excess first, "
    "with the driver (model, resource) when known.",
)
def anomalies(deps: CopilotDeps, args: NoArgs) -> str:
    report = deps.anomalies()
    lines = [f"Checked: {', '.join(report.checked) or 'nothing (no data)'}"]
    if report.anomalies:
        lines += [f"- {a.summary()}" + (" (ongoing)" if a.ongoing else "") for a in report.anomalies[:10]]
    else:
        lines.append("No anomalies found.")
    lines += [f"Note: {n}" for n in report.notes]
    return "\n".join(lines)
