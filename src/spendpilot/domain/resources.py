"""What the read-side adapters return: resources, their metrics, and LLM usage."""

from __future__ import annotations

import statistics
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from spendpilot.domain.money import DecimalStr


class ResourceRef(BaseModel):
    """Enough to find a resource again: where it lives and what it is called."""

    model_config = ConfigDict(frozen=True)

    provider: str  # "aws", "kubernetes", "openai", ...
    kind: str  # "ec2_instance", "autoscaling_group", "llm_feature", ...
    id: str
    region: str | None = None
    account: str | None = None
    name: str | None = None

    def label(self) -> str:
        return f"{self.kind}:{self.name or self.id}"

    def location(self) -> str:
        """Where it lives, "account 111122223333 eu-west-1" ("cluster acme-eks" for Kubernetes,
        whose sources put the cluster where AWS puts the account); "" when neither is known."""
        scope = "cluster" if self.provider == "kubernetes" else "account"
        return " ".join(x for x in (f"{scope} {self.account}" if self.account else None, self.region) if x)


class Resource(BaseModel):
    ref: ResourceRef
    tags: dict[str, str] = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(default_factory=dict)
    """Kind-specific facts (instance_type, state, desired_capacity, on_demand_percentage, ...)."""


class MetricPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: AwareDatetime
    value: float


class MetricSeries(BaseModel):
    """One metric of one resource. Utilisation is in percent (0-100).

    A resource may have several series of one metric: the CloudWatch agent publishes GPU
    utilisation once per GPU. ``dimensions`` are the series' own CloudWatch dimensions (e.g.
    ``index``, ``name``, ``host``), which tell those series apart.
    """

    resource_id: str
    namespace: str
    name: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    unit: str = "Percent"
    period_seconds: int = 3600
    statistic: str = "Average"
    points: list[MetricPoint] = Field(default_factory=list)

    def values(self) -> list[float]:
        return [p.value for p in self.points]

    def percentile(self, q: float) -> float | None:
        values = sorted(self.values())
        if not values:
            return None
        if len(values) == 1:
            return values[0]
        k = (len(values) - 1) * q / 100.0
        lo = int(k)
        hi = min(lo + 1, len(values) - 1)
        return values[lo] + (values[hi] - values[lo]) * (k - lo)

    def mean(self) -> float | None:
        values = self.values()
        return statistics.fmean(values) if values else None

    def share_below(self, threshold: float) -> float | None:
        values = self.values()
        if not values:
            return None
        return sum(1 for v in values if v < threshold) / len(values)

    def hours_covered(self) -> float:
        return len(self.points) * self.period_seconds / 3600.0


class LlmUsage(BaseModel):
    """One day of one model's use by one product feature, as provider usage APIs report it.

    ``input_tokens`` counts every input token, cached or not (OpenAI's meaning); the cache
    reads (``cached_input_tokens``) and cache writes (``cache_write_input_tokens``) are parts
    of it. Sources whose provider counts them apart (Anthropic) add them up first.
    """

    day: date
    provider: str
    model: str
    feature: str
    project_id: str | None = None
    requests: int
    input_tokens: int
    cached_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    output_tokens: int
    cost: DecimalStr = Decimal("0")
    currency: str = "USD"
