"""Everything a sweep knows at one instant. Checks are pure functions of it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from spendpilot.domain.resources import LlmUsage, MetricSeries, Resource


class Snapshot(BaseModel):
    taken_at: datetime
    resources: list[Resource] = Field(default_factory=list)
    metrics: dict[str, list[MetricSeries]] = Field(default_factory=dict)
    """Resource id -> its metric series."""
    llm_usage: list[LlmUsage] = Field(default_factory=list)
    resource_costs_30d: dict[str, Decimal] = Field(default_factory=dict)
    # Hours each resource was billed within those 30 days: the denominator of its run rate.
    resource_billed_hours_30d: dict[str, float] = Field(default_factory=dict)
    # Share of that cost covered by a commitment (RI / Savings Plan), which stopping does not end.
    resource_commitment_share_30d: dict[str, float] = Field(default_factory=dict)
    """Resource id (or name) -> effective cost over the last 30 days from the FOCUS lake."""
    live_spot_prices: dict[str, Decimal] = Field(default_factory=dict)
    """Instance type -> latest spot price from the provider API, when it reports one."""
    sources: list[str] = Field(default_factory=list)
    """What was read, for the report (e.g. "aws:ec2 us-east-1", "lake:focus 12,345 rows")."""

    def metric(self, resource_id: str, name: str) -> MetricSeries | None:
        for series in self.metrics.get(resource_id, []):
            if series.name == name:
                return series
        return None

    def of_kind(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.ref.kind == kind]
