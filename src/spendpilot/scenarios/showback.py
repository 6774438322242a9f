"""After a scenario's sweep: put its Kubernetes allocation and token cost into the lake, and
write the chargeback / showback report next to its stores.

Why the demo does this itself: chargeback needs the cluster's allocation rows and the token
rows in the lake (``spendpilot allocate --write`` and ``spendpilot token-focus``), and a report
is what finance and team leads look at. Doing it in the demo means the first command a new user
runs already shows allocation across cloud, Kubernetes and tokens, with the unallocated share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spendpilot.config import Settings
    from spendpilot.runtime import LocalServices

ALLOCATED_DAYS = 7
"""Whole UTC days of Kubernetes allocation the demo writes (the report's period is 30 days; the
cluster's earlier days stay on the bill as its node rows, which allocation replaces day by day)."""


@dataclass(frozen=True)
class Showback:
    """What the demo prints: where the report is and how much stayed unallocated."""

    report: Path
    lake_total: Decimal
    """The chargeback total of the main currency (the lake's, less node rows allocation replaced)."""
    unallocated: Decimal
    currency: str
    allocation_rows: int
    token_rows: int
    rules: Path | None = None
    """The owner rules the report used, copied into the home, for later commands' ``--config``."""

    def line(self) -> str:
        share = (self.unallocated / self.lake_total * 100) if self.lake_total else Decimal(0)
        config = f" --config {self.rules}" if self.rules else ""
        return (f"Chargeback report: {self.report} (last 30 days: {share:.1f} % of {self.currency} "
                f"{self.lake_total:,.2f} unallocated; `spendpilot chargeback --home {self.report.parent}{config}` "
                "for the table)")


def write_showback(services: LocalServices, settings: Settings, now: datetime, rules: Path | None = None) -> Showback:
    """Allocate the scenario's clusters, write token FOCUS rows, and render the HTML report.

    ``rules`` (the scenario's ``chargeback.toml``, already in ``settings``) is copied into the
    home so that `spendpilot chargeback` / `report` run later allocate the same way."""
    from spendpilot.adapters.base import SourceContext
    from spendpilot.adapters.kubernetes.source_kubernetes import KubernetesClusterSource
    from spendpilot.adapters.prometheus.source_prometheus import PrometheusSource
    from spendpilot.agent.collect import collect_snapshot
    from spendpilot.allocation.focus_rows import write_allocation
    from spendpilot.allocation.report import build_report, render_report_html
    from spendpilot.allocation.run import allocate_snapshot
    from spendpilot.domain import ProposalStatus
    from spendpilot.lake.token_focus import write_token_focus
    from spendpilot.savings.pricebook import PriceBook

    allocation_rows = 0
    clusters = [s for s in services.sources if isinstance(s, KubernetesClusterSource | PrometheusSource)]
    if clusters:
        snapshot = collect_snapshot(clusters, SourceContext(now=now, prices=services.prices))
        for allocation, _unpriced in allocate_snapshot(snapshot, services.prices, days=ALLOCATED_DAYS):
            if allocation.lines:
                allocation_rows += write_allocation(allocation, settings.lake_dir).rows_stored
    tokens = write_token_focus(settings.lake_dir, PriceBook.bundled())
    proposals = services.list_proposals([ProposalStatus.PENDING, ProposalStatus.APPROVED])
    data = build_report(settings.lake_dir, settings.chargeback, proposals, now=now, last_days=30)
    path = settings.home / "report.html"
    path.write_text(render_report_html(data), encoding="utf-8")
    # The largest currency's summary (the demo bills in USD only; a mixed lake is in the report).
    main = max(data.by_team.currencies, key=lambda c: c.chargeback_effective)
    kept = None
    if rules is not None and rules.is_file():
        kept = settings.home / "chargeback.toml"
        kept.write_text(rules.read_text(encoding="utf-8"), encoding="utf-8")
    return Showback(report=path, lake_total=main.chargeback_effective, unallocated=main.unallocated_effective,
                    currency=main.currency, allocation_rows=allocation_rows, token_rows=tokens.rows_written,
                    rules=kept)
