"""Cost Explorer as a sweep source: each sweep stores the last months' daily costs in the lake.

The same reader as ``spendpilot ingest-cost-explorer`` (``lake/cost_explorer.py``), with the same
rule against double counting: months for which the lake holds CUR/FOCUS rows of the payer are left
out. Each read re-asks the whole window (Cost Explorer revises recent days; the months' rows are
restated), and Cost Explorer charges per request, so keep ``months`` small on a frequent schedule.
Throttling or AccessDenied is this source's gap; nothing is stored then.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from spendpilot.adapters.base import Source, SourceContext, SourceSettings, register_source
from spendpilot.domain import SourceResult


class CostExplorerSettings(SourceSettings):
    kind: str = "cost_explorer"
    months: int = Field(2, ge=1, le=14, description="Calendar months read, ending with the current one.")
    group_by: list[str] = Field(["SERVICE", "LINKED_ACCOUNT"], max_length=2,
                                description="Up to two groupings: dimensions or TAG:<key>.")
    billing_account_id: str | None = Field(None, description="The payer; default: the organisation's management "
                                           "account, else the caller's own.")
    endpoint_url: str | None = Field(None, description="API endpoint override (an emulator).")
    lake: Path | None = Field(None, description="Lake folder; default: <home>/lake.")


class CostExplorerSource:
    def __init__(self, settings: CostExplorerSettings, lake_dir: Path) -> None:
        self.name = settings.name or "cost explorer"
        self.settings = settings
        self.lake_dir = lake_dir

    def read(self, ctx: SourceContext) -> SourceResult:
        from spendpilot.lake.cost_explorer import ingest_cost_explorer_months

        s = self.settings
        result = ingest_cost_explorer_months(self.lake_dir, endpoint_url=s.endpoint_url, months=s.months,
                                             group_by=s.group_by, billing_account_id=s.billing_account_id,
                                             today=ctx.now.date())
        stored = result.report.rows_stored if result.report else 0
        left = f"; left to CUR: {', '.join(result.months_left_to_cur)}" if result.months_left_to_cur else ""
        return SourceResult(summary=f"{stored:,} daily Cost Explorer rows stored for payer "
                                    f"{result.billing_account_id} ({result.start}..{result.end}){left}")


@register_source("cost_explorer", settings=CostExplorerSettings,
                 description="AWS Cost Explorer daily costs, stored in the lake as labelled FOCUS rows (CUR wins).",
                 permissions=("ce:GetCostAndUsage", "organizations:DescribeOrganization", "sts:GetCallerIdentity"))
def cost_explorer_sources(settings: CostExplorerSettings, home: Path) -> Sequence[Source]:
    return [CostExplorerSource(settings, settings.lake or home / "lake")]
