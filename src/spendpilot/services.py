"""The one facade the CLI, the TUI and the daemon call. No business logic in front-ends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from spendpilot.domain import AuditEvent, Proposal, ProposalStatus, ProposalSummary
from spendpilot.domain.reports import DailySpend, ExecutionOutcome, SpendLine, SweepReport

if TYPE_CHECKING:  # the outlook modules import numpy and the spend explorer DuckDB: front-ends that never ask should not pay
    from datetime import date

    from spendpilot.agent.llm_usage import UsageTotal
    from spendpilot.allocation.chargeback import ChargebackResult
    from spendpilot.lake.spend import SpendQuery, SpendResult
    from spendpilot.lake.spend_cube import SpendCube
    from spendpilot.outlook.anomalies import AnomalyReport
    from spendpilot.outlook.budgets import BudgetStatus
    from spendpilot.outlook.forecast import ForecastResult
    from spendpilot.savings.realized import RealizedSaving
    from spendpilot.state.audit_chain import ChainReport


class SpendpilotServices(Protocol):
    chat_user: str | None
    """Who is chatting (the TUI sets its approver); recorded with anything the copilot queues."""

    def list_proposals(self, statuses: list[ProposalStatus] | None = None) -> list[Proposal]: ...

    def proposal_summaries(self, statuses: list[ProposalStatus] | None = None) -> list[ProposalSummary]:
        """Queue lines only (no evidence or plans): what a list of thousands needs, fast."""
        ...

    def public_proposals(self, statuses: list[ProposalStatus] | None = None) -> list[dict[str, Any]]:
        """Every proposal in the stable ``--json`` shape (``Proposal.public_dict``), in queue
        order (``summary_order``): for thousands, without validating each one."""
        ...

    def get_proposal(self, proposal_id: str) -> Proposal: ...

    def approve(self, proposal_id: str, by: str, plan_hash: str | None = None) -> ExecutionOutcome:
        """Record the approval of exactly this plan, then execute it (drift-checked)."""
        ...

    def reject(self, proposal_id: str, by: str, reason: str) -> Proposal: ...

    def rollback(self, proposal_id: str, by: str, plan_hash: str | None = None) -> ExecutionOutcome:
        """Approve and execute the recorded rollback plan of an executed proposal."""
        ...

    def resume_pending(self) -> list[ExecutionOutcome]:
        """Finish approved executions a crash or an outage interrupted."""
        ...

    def sweep(self) -> SweepReport: ...

    def top_spend(self, by: str = "service", days: int = 30, limit: int = 10) -> list[SpendLine]: ...

    def daily_spend(self, days: int = 30) -> list[DailySpend]: ...

    def spend(self, query: SpendQuery) -> SpendResult:
        """The spend explorer's query (as `spendpilot spend`), for the TUI dashboard; raises
        ``NoSpendData`` when the lake holds nothing the query can read."""
        ...

    def spend_cube(self, keys: Sequence[str], days: int) -> SpendCube | None:
        """The bill per ``keys`` and day over the last ``days`` days of data, read in one scan,
        answering ``spend`` questions from memory (the TUI dashboard's ``g`` / ``p``). None when
        a sum is too large for it; ``NoSpendData`` when the lake holds no bill. Kept (in memory
        and next to the lake) while the lake's files are unchanged: cheap to ask again."""
        ...

    def audit_events(self, limit: int = 50, proposal_id: str | None = None) -> list[AuditEvent]: ...

    def verify_audit(self) -> tuple[ChainReport, int, list[str]]:
        """Recompute the audit chain and its anchor; check every decision has its audit event:
        (chain report, decisions recorded, one line per decision problem)."""
        ...

    def chat(self, message: str, selected_proposal_id: str | None = None) -> str:
        """Answer from read-only tools (LLM if configured, honest offline mode otherwise)."""
        ...

    def copilot_usage(self) -> UsageTotal | None:
        """The LLM tokens and cost of this chat conversation so far; None before any model call."""
        ...

    def agent_usage(self, limit: int | None = None) -> list[UsageTotal]:
        """spendpilot's own LLM tokens and cost per conversation and per sweep, latest first."""
        ...

    def forecast(self, group_by: list[str] | None = None, days: int = 30) -> ForecastResult:
        """Daily spend forecast per group with an interval (as `spendpilot forecast`,
        ``outlook.forecast.forecast_spend``); ``NoSpendData`` without data."""
        ...

    def anomalies(self) -> AnomalyReport:
        """Hourly LLM and daily billing anomalies with their drivers (``outlook.anomalies``)."""
        ...

    def budgets(self) -> tuple[list[BudgetStatus], list[str]]:
        """Every configured budget this month, and notes (``outlook.budgets.evaluate_budgets``)."""
        ...

    def realized_savings(self, proposal_ids: Sequence[str] | None = None) -> list[RealizedSaving]:
        """What each executed proposal saved according to the bill, beside its estimate
        (``savings.realized``); ``measuring`` until a full window of billing follows it."""
        ...

    def chargeback(self, by: str = "team", *, start: date | None = None, end: date | None = None,
                   last_days: int | None = None) -> ChargebackResult:
        """The lake's cost allocated by team or feature (as `spendpilot chargeback`,
        ``allocation.chargeback.run_chargeback``); ``NoSpendData`` on an empty lake."""
        ...
