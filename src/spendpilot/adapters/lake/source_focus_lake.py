"""The FOCUS lake as a source: per-resource cost, billed hours and commitment cover over the
30 days up to the newest charge in the lake (not up to today: exports lag by a day or more)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from pydantic import Field

from spendpilot.adapters.base import Source, SourceContext, SourceSettings, register_source
from spendpilot.domain import Money, SourceResult

WINDOW = timedelta(days=30)


class FocusLakeSettings(SourceSettings):
    kind: str = "focus_lake"
    path: Path | None = Field(None, description="Lake folder; default: <home>/lake.")


class FocusLakeSource:
    def __init__(self, settings: FocusLakeSettings, lake_dir: Path) -> None:
        self.name = settings.name or "lake"
        self.lake_dir = lake_dir

    def read(self, ctx: SourceContext) -> SourceResult:
        from spendpilot.lake import CostLake

        lake = CostLake(self.lake_dir)
        rows = lake.row_count()
        result = SourceResult(summary=f"{rows:,} FOCUS rows")
        if not rows:
            return result
        latest = lake.latest_charge_time() or ctx.now
        since = latest - WINDOW
        warnings: list[str] = []
        costs: dict[str, Money] = {}
        for resource, by_currency in lake.resource_costs(since=since, until=latest).items():
            # A resource is billed in its billing account's currency; keep the larger if a
            # restatement mixed two, and say so rather than adding across currencies.
            currency, amount = max(by_currency.items(), key=lambda kv: abs(kv[1]))
            if len(by_currency) > 1:
                warnings.append(f"{resource} is billed in {', '.join(sorted(by_currency))}; using {currency}")
            costs[resource] = Money.of(amount, currency)
        result.resource_costs_30d = costs
        result.resource_billed_hours_30d = lake.resource_billed_hours(since=since, until=latest)
        result.resource_commitment_share_30d = lake.resource_commitment_share(since=since, until=latest)
        result.warnings = warnings
        return result


@register_source("focus_lake", settings=FocusLakeSettings, description="Billed cost per resource from the local FOCUS lake.")
def focus_lake_sources(settings: FocusLakeSettings, home: Path) -> Sequence[Source]:
    return [FocusLakeSource(settings, settings.path or home / "lake")]
