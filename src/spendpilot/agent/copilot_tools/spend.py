"""The ``spend`` tool: the spend explorer's query (``lake/spend.py``), as `spendpilot spend` runs it.

The model picks the grouping, the period and the filters; the lake does the sums. Every amount
in the answer is a row of ``run_spend_query`` in its own currency, never added across.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from spendpilot.agent.copilot_tools import CopilotDeps, copilot_tool
from spendpilot.domain.money import format_money
from spendpilot.errors import NoSpendData


class SpendArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_by: list[str] = Field(
        default_factory=lambda: ["service"], max_length=3,
        description="Group keys: service, account, subaccount, region, provider, category, resource, sku, "
        "charge_category, team, feature, model, or tag:<key> (e.g. tag:env).",
    )
    last_days: int | None = Field(None, ge=1, le=400, description="The last N days of data (default 30).")
    start: date | None = Field(None, description="First day (UTC), included; instead of last_days.")
    end: date | None = Field(None, description="Last day (UTC), included; default the latest day of data.")
    where: list[str] = Field(default_factory=list, max_length=5,
                             description="Filters KEY=VALUE, e.g. service=Amazon SageMaker or team=ml.")
    top: int = Field(10, ge=1, le=50, description="Keep the N largest groups; the rest is one (other) line.")
    compare: bool = Field(False, description="Also show the previous period of the same length.")
    source: Literal["focus", "llm_usage"] | None = Field(
        None, description="focus = the cloud bill; llm_usage = LLM usage exports (tokens, requests). "
        "Default: llm_usage when grouping by feature or model alone, else focus.")


def _row_line(keys: dict[str, str], amount: str, extra: list[str]) -> str:
    label = " / ".join(f"{k}={v}" for k, v in keys.items()) or "total"
    return f"- {label}: {amount}" + (f" ({', '.join(extra)})" if extra else "")


@copilot_tool(
    "spend", SpendArgs,
    "Spend from the FOCUS cost lake (as `spendpilot spend`): grouped by service, account, region, team, "
    "feature, model or tag:<key>, over a period, with filters; LLM usage adds tokens and unit costs.",
)
def spend(deps: CopilotDeps, args: SpendArgs) -> str:
    from spendpilot.lake.spend import build_query, parse_filter, run_spend_query
    from spendpilot.spend_output import header_line, total_lines

    query = build_query(
        group_by=args.group_by, last_days=args.last_days, start=args.start, end=args.end, top=args.top,
        compare=args.compare, source=args.source, where=[parse_filter(w) for w in args.where],
    )
    try:
        result = run_spend_query(deps.lake_dir, query)
    except NoSpendData as exc:
        return f"No data to answer from: {exc}"
    lines = [header_line(result), *total_lines(result), *result.notes]
    for row in result.rows:
        extra = [f"{row.share * 100:.1f}% of {row.currency}"]
        if row.delta_pct is not None:
            extra.append(f"{row.delta_pct:+.1f}% vs previous period")
        if row.tokens is not None:
            extra.append(f"{row.tokens:,} tokens, {row.requests or 0:,} requests")
        lines.append(_row_line(row.keys, format_money(row.amount, row.currency), extra))
    if not result.rows:
        lines.append("No rows match this query in the period.")
    return "\n".join(lines)
