"""An in-memory ``SpendpilotServices`` for driving the TUI without databases or AWS.

It keeps the rules the real services promise: only pending proposals can be decided, an
approval must name the current plan hash, and errors are ``SpendpilotError`` subclasses.
Every call is recorded so tests can assert on what the TUI asked for.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from spendpilot.domain import (
    ActionPlan,
    AuditEvent,
    Estimate,
    Evidence,
    Money,
    Proposal,
    ProposalStatus,
    ProposalSummary,
    ResourceRef,
    Risk,
)
from spendpilot.domain.reports import DailySpend, ExecutionOutcome, SpendLine, SweepReport
from spendpilot.errors import (
    InvalidTransition,
    NoSpendData,
    PlanHashMismatch,
    ProposalNotFound,
    SpendpilotError,
)
from spendpilot.lake.spend import SpendQuery, SpendResult, run_spend_query
from spendpilot.lake.spend_cube import SpendCube
from spendpilot.lake.spend_cube_cache import SpendCubeCache
from spendpilot.outlook.anomalies import AnomalyReport, find_anomalies
from spendpilot.outlook.budgets import BudgetStatus, evaluate_budget
from spendpilot.outlook.forecast import ForecastResult, forecast_spend
from spendpilot.outlook.settings import AnomalySettings, BudgetSettings
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.realized import RealizedSaving
from spendpilot.state.audit_chain import ChainReport


def make_proposal(
    proposal_id: str,
    expected: str,
    *,
    action: str = "stop_instance",
    name: str | None = None,
    status: ProposalStatus = ProposalStatus.PENDING,
    risk: Risk = Risk.LOW,
) -> Proposal:
    """A realistic proposal built from the real domain types (so the plan hash is real too)."""
    amount = Decimal(expected)
    target = ResourceRef(
        provider="aws",
        kind="ec2_instance",
        id=f"i-{proposal_id}",
        region="us-east-1",
        account="123456789012",
        name=name or f"gpu-box-{proposal_id}",
    )
    return Proposal(
        id=proposal_id,
        rule="idle_gpu_instance",
        action=action,
        target=target,
        summary=f"{target.name} has been idle for 14 days",
        estimate=Estimate(
            low=Money.usd(amount * Decimal("0.8")),
            expected=Money.usd(amount),
            high=Money.usd(amount * Decimal("1.1")),
            formula="hourly on-demand price x 730 h x share of idle hours",
            inputs=[Evidence(label="on-demand price", value="$3.06/h", source="price book")],
        ),
        plan=ActionPlan(
            action=action,
            target=target,
            change={"state": "stopped"},
            expected_pre_state={"state": "running", "instance_type": "g5.xlarge"},
            rollback=ActionPlan(
                action=action, target=target, change={"state": "running"},
                expected_pre_state={"state": "stopped", "instance_type": "g5.xlarge"},
                rollback_description="Stop it again", description=f"Start {target.id} again",
            ),
            rollback_description="Start the instance again",
            description=f"Stop {target.id}",
            permissions=["ec2:StopInstances", "ec2:DescribeInstances"],
        ),
        risk=risk,
        evidence=[
            Evidence(label="GPU utilisation p95", value="0.4%", source="CloudWatch DCGM"),
            Evidence(label="idle days", value="14", source="CloudWatch"),
        ],
        status=status,
        fingerprint=f"fp-{proposal_id}",
        evidence_digest=f"ed-{proposal_id}",
        narrative="Nobody has logged in since the training run ended.",
    )


def _digest(seq: int) -> str:
    return "0" * 64 if seq == 0 else hashlib.sha256(str(seq).encode()).hexdigest()


def audit_events() -> list[AuditEvent]:
    """Three chained events of one proposal: proposed, approved, executed."""
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    kinds = [("sweep", "proposed", "p-big"), ("alice", "approved", "p-big"), ("executor", "executed", "p-big")]
    return [
        AuditEvent(seq=i + 1, at=at.replace(minute=i), actor=actor, kind=kind, proposal_id=pid,
                   payload={}, prev_hash=_digest(i), hash=_digest(i + 1))
        for i, (actor, kind, pid) in enumerate(kinds)
    ]



def dashboard_budgets() -> list[BudgetSettings]:
    """Three team budgets on ``write_spend_lake``'s September: one past 80 %, one past 100 %, one fine."""
    return [
        BudgetSettings(name="ml team", amount=Decimal(3000), scope={"team": "ml"}),
        BudgetSettings(name="llm apps", amount=Decimal(1000), scope={"team": "llm-apps"}),
        BudgetSettings(name="search", amount=Decimal(5000), scope={"team": "search"}),
    ]


class FakeServices:
    """Implements ``spendpilot.services.SpendpilotServices`` in memory.

    ``failures`` maps a method name to the error its next call raises (once), which is how tests
    make a service fail without patching the app.
    """

    def __init__(self, proposals: list[Proposal] | None = None, *, lake_dir: Path | None = None) -> None:
        self.proposals: dict[str, Proposal] = {p.id: p for p in proposals or []}
        self.lake_dir = lake_dir
        """A real DuckDB lake the spend explorer reads; None means no data was ever ingested."""
        self.spend_cubes: SpendCubeCache | None = None
        """The real cube cache, as the runtime's services keep one (its counters tell scans)."""
        self.audit: list[AuditEvent] = []
        self.chain = ChainReport(intact=True, events=0, anchor="no anchor", anchored=False)
        self.decision_problems: list[str] = []
        self.resume_outcomes: list[ExecutionOutcome] = []
        self.approve_outcome = ProposalStatus.EXECUTED
        """What an approval's execution ends in; APPROVED is an execution that failed and is kept."""
        self.budget_settings: list[BudgetSettings] = []
        """Monthly budgets, evaluated by the real outlook code on ``lake_dir``."""
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, SpendpilotError] = {}
        self.chat_answer = "The [bold]biggest[/bold] saving is p-big."
        self.chat_user: str | None = None
        self._lock = threading.Lock()

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == method]

    def _record(self, method: str, **kwargs: Any) -> None:
        with self._lock:
            self.calls.append((method, kwargs))
            error = self.failures.pop(method, None)
        if error is not None:
            raise error

    def list_proposals(self, statuses: list[ProposalStatus] | None = None) -> list[Proposal]:
        self._record("list_proposals", statuses=statuses)
        return [p for p in self.proposals.values() if statuses is None or p.status in statuses]

    def proposal_summaries(self, statuses: list[ProposalStatus] | None = None) -> list[ProposalSummary]:
        self._record("proposal_summaries", statuses=statuses)
        return [ProposalSummary.of(p) for p in self.proposals.values() if statuses is None or p.status in statuses]

    def public_proposals(self, statuses: list[ProposalStatus] | None = None) -> list[dict[str, Any]]:
        self._record("public_proposals", statuses=statuses)
        listed = [p for p in self.proposals.values() if statuses is None or p.status in statuses]
        return [p.public_dict() for p in sorted(listed, key=lambda p: (p.status is not ProposalStatus.PENDING, -p.estimate.expected.amount, p.id))]

    def get_proposal(self, proposal_id: str) -> Proposal:
        self._record("get_proposal", proposal_id=proposal_id)
        try:
            return self.proposals[proposal_id]
        except KeyError:
            raise ProposalNotFound(f"no proposal {proposal_id}") from None

    def _pending(self, proposal_id: str, verb: str) -> Proposal:
        proposal = self.proposals.get(proposal_id)
        if proposal is None:
            raise ProposalNotFound(f"no proposal {proposal_id}")
        if proposal.status is not ProposalStatus.PENDING:
            raise InvalidTransition(f"cannot {verb} {proposal_id}: it is {proposal.status.value}")
        return proposal

    def approve(self, proposal_id: str, by: str, plan_hash: str | None = None) -> ExecutionOutcome:
        self._record("approve", proposal_id=proposal_id, by=by, plan_hash=plan_hash)
        proposal = self._pending(proposal_id, "approve")
        if plan_hash is not None and plan_hash != proposal.plan_hash:
            raise PlanHashMismatch(f"plan of {proposal_id} changed since it was shown")
        status = self.approve_outcome
        self.proposals[proposal_id] = proposal.model_copy(update={"status": status})
        if status is ProposalStatus.APPROVED:  # recorded, but the execution did not finish
            return ExecutionOutcome(
                proposal_id=proposal_id, status=status, error="AdapterError",
                message=f"{proposal_id}: could not stop {proposal.target.id}: AWS unreachable",
            )
        return ExecutionOutcome(
            proposal_id=proposal_id,
            status=status,
            message=f"Stopped {proposal.target.id}; verified.",
            applied=True,
            verified=True,
        )

    def reject(self, proposal_id: str, by: str, reason: str) -> Proposal:
        self._record("reject", proposal_id=proposal_id, by=by, reason=reason)
        proposal = self._pending(proposal_id, "reject")
        rejected = proposal.model_copy(update={"status": ProposalStatus.REJECTED, "note": reason})
        self.proposals[proposal_id] = rejected
        return rejected

    def sweep(self) -> SweepReport:
        self._record("sweep")
        return SweepReport(
            sweep_id="sw-1",
            unchanged_proposals=list(self.proposals),
            findings=len(self.proposals),
            sources=["aws"],
            totals=[Money.usd(sum((p.estimate.expected.amount for p in self.proposals.values()), Decimal(0)))],
        )

    def top_spend(self, by: str = "service", days: int = 30, limit: int = 10) -> list[SpendLine]:
        self._record("top_spend", by=by, days=days, limit=limit)
        lines = [
            SpendLine(key="Amazon EC2", cost=Decimal("12000.50")),
            SpendLine(key="OpenAI", cost=Decimal("4200.00")),
            SpendLine(key="Amazon S3", cost=Decimal("800.25")),
            SpendLine(key="Amazon EKS", cost=Decimal("300.00")),
        ]
        return lines[:limit]

    def daily_spend(self, days: int = 30) -> list[DailySpend]:
        self._record("daily_spend", days=days)
        start = date(2026, 4, 1)
        return [
            DailySpend(day=start + timedelta(days=i), cost=Decimal(500 + (i % 7) * 40))
            for i in range(days)
        ]

    def spend(self, query: SpendQuery) -> SpendResult:
        self._record("spend", query=query)
        if self.lake_dir is None:
            raise NoSpendData("the lake is empty: run `spendpilot ingest` first")
        return run_spend_query(self.lake_dir, query)

    def spend_cube(self, keys: Sequence[str], days: int) -> SpendCube | None:
        self._record("spend_cube", keys=list(keys), days=days)
        lake = self._lake()
        if self.spend_cubes is None:
            self.spend_cubes = SpendCubeCache(lake)
        return self.spend_cubes.get(keys, days)

    def _lake(self) -> Path:
        if self.lake_dir is None:
            raise NoSpendData("the lake is empty: run `spendpilot ingest` first")
        return self.lake_dir

    def budgets(self) -> tuple[list[BudgetStatus], list[str]]:
        """The real budget evaluation on the real lake, for ``self.budget_settings``."""
        self._record("budgets")
        lake = self._lake()
        return [evaluate_budget(lake, b) for b in self.budget_settings], []

    def forecast(self, group_by: list[str] | None = None, days: int = 30) -> ForecastResult:
        self._record("forecast", group_by=group_by, days=days)
        return forecast_spend(self._lake(), group_by or [], horizon=days)

    def anomalies(self) -> AnomalyReport:
        self._record("anomalies")
        return find_anomalies(self._lake(), PriceBook.bundled(), AnomalySettings())

    def audit_events(self, limit: int = 50, proposal_id: str | None = None) -> list[AuditEvent]:
        self._record("audit_events", limit=limit)
        return self.audit[-limit:] if limit else list(self.audit)

    def verify_audit(self) -> tuple[ChainReport, int, list[str]]:
        self._record("verify_audit")
        decisions = sum(1 for e in self.audit if e.kind in ("approved", "rejected"))
        return self.chain, decisions, list(self.decision_problems)

    def rollback(self, proposal_id: str, by: str, plan_hash: str | None = None) -> ExecutionOutcome:
        self._record("rollback", proposal_id=proposal_id, by=by, plan_hash=plan_hash)
        proposal = self.proposals[proposal_id]
        if proposal.status is not ProposalStatus.EXECUTED:
            raise InvalidTransition(f"{proposal_id} is {proposal.status.value}; only executed proposals can be rolled back")
        self.proposals[proposal_id] = proposal.model_copy(update={"status": ProposalStatus.ROLLED_BACK})
        return ExecutionOutcome(
            proposal_id=proposal_id, status=ProposalStatus.EXECUTED, applied=True, verified=True,
            message=f"{proposal_id} rolled back",
        )

    def resume_pending(self) -> list[ExecutionOutcome]:
        """Finishes every approved proposal with the next queued outcome (as the executor would)."""
        self._record("resume_pending")
        outcomes, self.resume_outcomes = self.resume_outcomes, []
        for outcome in outcomes:
            proposal = self.proposals[outcome.proposal_id]
            self.proposals[outcome.proposal_id] = proposal.model_copy(update={"status": outcome.status})
        return outcomes

    def chat(self, message: str, selected_proposal_id: str | None = None) -> str:
        self._record("chat", message=message, selected_proposal_id=selected_proposal_id)
        return self.chat_answer

    def copilot_usage(self) -> Any:
        return None  # offline: no model calls to count

    def agent_usage(self, limit: int | None = None) -> list[Any]:
        return []

    def realized_savings(self, proposal_ids: Sequence[str] | None = None) -> list[RealizedSaving]:
        """The fake has no execution ledger, so nothing is measured (the real measurement is
        driven through ``LocalServices`` in tests/tui/test_realized_detail.py)."""
        self._record("realized_savings", proposal_ids=proposal_ids)
        return []
