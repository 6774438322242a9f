"""Results the services hand to the CLI and the TUI (formatting lives with them, not here)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from spendpilot.domain.money import DecimalStr, Money
from spendpilot.domain.plans import ProposalStatus
from spendpilot.domain.snapshot import Gap


class SpendLine(BaseModel):
    """One row of a spend breakdown (by service, resource, tag value, ...)."""

    key: str
    cost: DecimalStr
    currency: str = "USD"


class DailySpend(BaseModel):
    day: date
    cost: DecimalStr
    currency: str = "USD"


class SweepReport(BaseModel):
    sweep_id: str
    new_proposals: list[str] = Field(default_factory=list)
    unchanged_proposals: list[str] = Field(default_factory=list)
    suppressed: list[str] = Field(default_factory=list)
    """Findings not proposed because a human rejected the same thing on the same evidence."""
    findings: int = 0
    sources: list[str] = Field(default_factory=list)
    """One line per source that was read."""
    gaps: list[Gap] = Field(default_factory=list)
    """Configured sources that could not be read: the sweep says nothing about what they hold."""
    sources_configured: int = 0
    warnings: list[str] = Field(default_factory=list)
    totals: list[Money] = Field(default_factory=list)
    """Expected monthly savings of the pending queue, one total per currency (never summed across)."""

    @property
    def blind(self) -> bool:
        """Every configured source failed: "nothing found" would be a lie."""
        unread = [g for g in self.gaps if g.part is None]  # a partial gap: the source was still read
        return self.sources_configured > 0 and len(unread) >= self.sources_configured

    def totals_text(self) -> str:
        return " + ".join(str(m) for m in self.totals) if self.totals else str(Money.usd(0))


class ExecutionOutcome(BaseModel):
    proposal_id: str
    status: ProposalStatus
    message: str
    applied: bool = False
    verified: bool = False
    error: str | None = None  # the error class when the attempt itself failed (e.g. AdapterError)
