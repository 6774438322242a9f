"""Everything a sweep knows at one instant. Checks are pure functions of it.

Sources each contribute a ``SourceResult``; the sweep merges them into one ``Snapshot``. A
source that could not be read leaves a ``Gap`` with its name and why, so "nothing found" and
"nothing could be read" never look alike.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, Field

from spendpilot.domain.kubernetes import CURRENT_READING, ClusterState
from spendpilot.domain.llm_requests import LlmRequest, LlmRequestStats
from spendpilot.domain.money import Money
from spendpilot.domain.resources import LlmUsage, MetricSeries, Resource


class Gap(BaseModel):
    """A configured source that could not be read in this sweep."""

    source: str
    """The source's configured name, e.g. "aws prod us-east-1"."""
    error: str
    """One line: what failed and, where known, what to fix."""
    part: str | None = None
    """Set when only this part of the source went unread (e.g. "SageMaker"); the rest was read."""

    def label(self) -> str:
        return f"{self.source} ({self.part})" if self.part else self.source


class BudgetReading(BaseModel):
    """A kill-switch budget's state as the sweep evaluated it (``outlook.budgets``).

    Kept here, not as ``outlook.budgets.BudgetStatus``, because checks are pure functions of the
    snapshot and the domain must not import the outlook (which imports the domain). Only budgets
    with ``kill_switch = true`` are read, so a sweep without one pays nothing for the lake query.
    """

    name: str
    scope: dict[str, str | list[str]] = Field(default_factory=dict)
    amount: Money
    actual: Money
    """Month-to-date spend as of ``as_of``."""
    projected: Money
    """Actual plus the forecast for the rest of the month."""
    as_of: date | None = None
    period_end: date
    top_threshold: float
    """The highest configured threshold, as a share of the amount (e.g. 1.0)."""
    top_crossed_on: date | None = None
    """Day the actual spend crossed the top threshold; None if it has not."""
    full_forecast_on: date | None = None
    """Day the forecast crosses 100 % of the amount within the month; None if not expected."""
    environment: str | None = None
    """The budget's declared environment (``[[budgets]] environment``); None: not declared."""

    @property
    def burn(self) -> Decimal:
        return self.actual.amount / self.amount.amount


class _Readings(BaseModel):
    """What sources read, as one source contributes it and as the merged snapshot holds it."""

    resources: list[Resource] = Field(default_factory=list)
    metrics: dict[str, list[MetricSeries]] = Field(default_factory=dict)
    """Resource id -> its metric series."""
    llm_usage: list[LlmUsage] = Field(default_factory=list)
    llm_request_stats: list[LlmRequestStats] = Field(default_factory=list)
    """Per (provider, model, feature) aggregates of the per-request table (GenAI spans)."""
    llm_requests: list[LlmRequest] = Field(default_factory=list)
    """Per-request rows (from GenAI spans), oldest first; prompt text only when opted in."""
    resource_costs_30d: dict[str, Money] = Field(default_factory=dict)
    """Resource id -> effective cost over the last 30 days, in the currency it was billed in."""
    resource_billed_hours_30d: dict[str, float] = Field(default_factory=dict)
    """Hours each resource was billed within those 30 days: the denominator of its run rate."""
    resource_commitment_share_30d: dict[str, float] = Field(default_factory=dict)
    """Share of that cost covered by a commitment (RI / Savings Plan), which stopping does not end."""
    live_spot_prices: dict[str, Decimal] = Field(default_factory=dict)
    """Instance type -> latest spot price from the provider API, when it reports one."""
    warnings: list[str] = Field(default_factory=list)
    """Partial trouble that did not stop a source (a region skipped, a metric missing)."""
    clusters: list[ClusterState] = Field(default_factory=list)
    """Kubernetes clusters read by this sweep (objects, plus usage when Prometheus was read)."""
    budgets: list[BudgetReading] = Field(default_factory=list)
    """Kill-switch budgets, evaluated by the sweep after its sources (see ``BudgetReading``)."""


class SourceResult(_Readings):
    """What one source contributes to a snapshot."""

    summary: str = ""
    """What was read, for the report (e.g. "12 instances, 3 groups")."""
    gaps: list[Gap] = Field(default_factory=list)
    """Parts of this source that could not be read (e.g. SageMaker denied) while the rest was."""


class Snapshot(_Readings):
    taken_at: AwareDatetime
    sources: list[str] = Field(default_factory=list)
    """What was read, one line per source, for the report."""
    gaps: list[Gap] = Field(default_factory=list)

    def merge(self, name: str, result: SourceResult) -> None:
        """Add one source's contribution (sources read in parallel, merged in config order)."""
        self.resources.extend(result.resources)
        for rid, series in result.metrics.items():
            self.metrics.setdefault(rid, []).extend(series)
        self.llm_usage.extend(result.llm_usage)
        self.llm_request_stats.extend(result.llm_request_stats)
        self.llm_requests.extend(result.llm_requests)
        self.resource_costs_30d.update(result.resource_costs_30d)
        self.resource_billed_hours_30d.update(result.resource_billed_hours_30d)
        self.resource_commitment_share_30d.update(result.resource_commitment_share_30d)
        self.live_spot_prices.update(result.live_spot_prices)
        self.sources.append(f"{name}: {result.summary}" if result.summary else name)
        self.warnings.extend(f"{name}: {w}" for w in result.warnings)
        self.gaps.extend(result.gaps)
        self.budgets.extend(result.budgets)
        for cluster in result.clusters:
            self._merge_cluster(cluster)

    def _merge_cluster(self, cluster: ClusterState) -> None:
        """The Kubernetes source reads objects and the Prometheus source reads usage of the same
        cluster: both name it the same way, and here they become one ``ClusterState``."""
        same = next((c for c in self.clusters if c.cluster == cluster.cluster), None)
        if same is None:
            self.clusters.append(cluster)
            return
        for field in ("nodes", "pods", "workloads", "hpas", "pvcs", "pdbs", "usage"):
            getattr(same, field).extend(getattr(cluster, field))
        same.namespaces.update(cluster.namespaces)
        same.usage_window_hours = max(same.usage_window_hours, cluster.usage_window_hours)
        if same.usage_window_hours > 0:
            # History (Prometheus) was read: metrics-server's one-point readings would only add
            # a second, overlapping answer for the same pods.
            same.usage = [u for u in same.usage if u.labels.get("source") != CURRENT_READING]

    def cluster(self, name: str) -> ClusterState | None:
        return next((c for c in self.clusters if c.cluster == name), None)

    def metric(self, resource_id: str, name: str) -> MetricSeries | None:
        for series in self.metrics.get(resource_id, []):
            if series.name == name:
                return series
        return None

    def metrics_named(self, resource_id: str, name: str) -> list[MetricSeries]:
        """Every series of one metric of a resource (one per GPU for GPU utilisation)."""
        return [s for s in self.metrics.get(resource_id, []) if s.name == name]

    def of_kind(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.ref.kind == kind]

