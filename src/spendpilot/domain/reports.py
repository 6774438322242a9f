"""Results the services hand to the CLI and the TUI (formatting lives with them, not here)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from spendpilot.domain.money import DecimalStr, Money
from spendpilot.domain.plans import ProposalStatus


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
    total_expected_monthly: Money = Field(default_factory=lambda: Money.usd(0))


class ExecutionOutcome(BaseModel):
    proposal_id: str
    status: ProposalStatus
    message: str
    applied: bool = False
    verified: bool = False
    error: str | None = None  # the error class when the attempt itself failed (e.g. AdapterError)
    realized_hint: Decimal | None = None
