"""Chargeback and realized-savings tools: who the spend belongs to, and what executed proposals saved.

``chargeback`` is `spendpilot chargeback` (``allocation.chargeback.run_chargeback``) with its
unallocated share and why; ``realized_savings`` is `spendpilot savings`
(``savings.realized.realized_savings``): the bill's answer beside each estimate. Both only read.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from spendpilot.agent.copilot_tools import CopilotDeps, NoArgs, copilot_tool
from spendpilot.errors import NoSpendData


class ChargebackArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: Literal["team", "feature"] = Field("team", description="Allocate to teams or to product features.")
    last_days: int | None = Field(None, ge=1, le=400, description="The last N days of data (default 30).")
    start: date | None = Field(None, description="First day (UTC), included; instead of last_days.")
    end: date | None = Field(None, description="Last day (UTC), included; default the latest full day of data.")


@copilot_tool(
    "chargeback", ChargebackArgs,
    "Chargeback/showback: the period's cost allocated by team or feature across cloud, Kubernetes and "
    "LLM tokens, with the unallocated share and why it is unallocated: 'what does each team cost?'.",
)
def chargeback(deps: CopilotDeps, args: ChargebackArgs) -> str:
    from spendpilot.agent.finance_lines import chargeback_header, chargeback_lines
    from spendpilot.allocation.chargeback import run_chargeback

    try:
        result = run_chargeback(deps.lake_dir, deps.chargeback, by=args.by, start=args.start, end=args.end,
                                last_days=args.last_days)
    except NoSpendData as exc:
        return f"No data to allocate: {exc}"
    return "\n".join([chargeback_header(result), *chargeback_lines(result)])


@copilot_tool(
    "realized_savings", NoArgs,
    "What each executed proposal actually saved according to the bill, beside its estimate, or why it "
    "is not measured yet (measuring until a full billing window follows the change).",
)
def realized_savings(deps: CopilotDeps, args: NoArgs) -> str:
    from spendpilot.agent.finance_lines import realized_header, realized_lines
    from spendpilot.savings.realized import realized_savings as measure_all

    results = measure_all(deps.store, deps.lake_dir, settings=deps.realized, now=deps.clock.now())
    return "\n".join([realized_header(results), *realized_lines(results)])
