"""Wires the real components together behind the ``SpendpilotServices`` facade.

The CLI, the TUI and the daemon all call this; they hold no business logic themselves.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

from langchain_core.language_models import BaseChatModel

from spendpilot._failpoints import failpoint
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.agent.copilot import CopilotTools, answer_offline, answer_with_model
from spendpilot.agent.llm import load_chat_model
from spendpilot.agent.remediation import (
    RemediationThreads,
    build_remediation_graph,
    open_checkpointer,
)
from spendpilot.agent.sweep import SweepDeps, run_sweep
from spendpilot.config import Settings
from spendpilot.domain import Approval, AuditEvent, Decision, Proposal, ProposalStatus
from spendpilot.domain.reports import DailySpend, ExecutionOutcome, SpendLine, SweepReport
from spendpilot.errors import (
    AdapterError,
    BadArgument,
    InvalidTransition,
    PlanHashMismatch,
    SpendpilotError,
)
from spendpilot.execution import Executor
from spendpilot.lake import CostLake
from spendpilot.memory.decisions import DecisionMemory
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scheduler import sweep_lock
from spendpilot.state import StateStore

log = logging.getLogger(__name__)


def _identity(by: str) -> str:
    if not by or not by.strip():
        raise BadArgument("say who is deciding: --by NAME (it is recorded in the audit log)")
    return by.strip()


class LocalServices:
    def __init__(self, settings: Settings, model: BaseChatModel | None = None) -> None:
        self.settings = settings
        settings.ensure_home()
        self.store = StateStore(settings.state_db_url)
        self._model = model

    # --- components, built on first use (chat-only sessions never touch AWS) ------------------
    @cached_property
    def prices(self) -> PriceBook:
        return PriceBook.bundled()

    @cached_property
    def lake(self) -> CostLake:
        return CostLake(self.settings.lake_dir)

    @cached_property
    def aws(self) -> AwsAdapter:
        a = self.settings.aws
        return AwsAdapter(region=a.region, endpoint_url=a.endpoint_url, routing_prefix=a.llm_routing_prefix)

    @cached_property
    def memory(self) -> DecisionMemory:
        return DecisionMemory(self.settings.chroma_dir)

    @cached_property
    def model(self) -> BaseChatModel | None:
        return self._model if self._model is not None else load_chat_model(self.settings.llm)

    @cached_property
    def threads(self) -> RemediationThreads:
        checkpointer = open_checkpointer(self.settings.checkpoint_path)
        return RemediationThreads(build_remediation_graph(lambda: Executor(self.store, self.aws), checkpointer))

    # --- sweep ---------------------------------------------------------------------------------
    def sweep(self) -> SweepReport:
        with sweep_lock(self.settings.sweep_lock_path):
            deps = SweepDeps(
                settings=self.settings,
                store=self.store,
                prices=self.prices,
                aws=self.aws if self.settings.aws.enabled else None,
                memory=self.memory,
                model=self.model,
                start_remediation=self.threads.start,
            )
            return run_sweep(deps)

    # --- queue ---------------------------------------------------------------------------------
    def list_proposals(self, statuses: list[ProposalStatus] | None = None) -> list[Proposal]:
        return self.store.list_proposals(statuses)

    def get_proposal(self, proposal_id: str) -> Proposal:
        return self.store.get_proposal(proposal_id)

    def approve(self, proposal_id: str, by: str, plan_hash: str | None = None) -> ExecutionOutcome:
        by = _identity(by)
        proposal = self.store.get_proposal(proposal_id)
        if proposal.status is not ProposalStatus.PENDING:
            raise InvalidTransition(f"{proposal_id} is {proposal.status.value}; only pending proposals can be approved")
        if plan_hash is not None and len(plan_hash.strip()) < 8:
            raise BadArgument(
                f"--plan-hash {plan_hash!r} is too short to identify a plan; give at least 8 characters "
                f"(`spendpilot show {proposal_id}` prints it)"
            )
        if plan_hash is not None and not proposal.plan_hash.startswith(plan_hash.strip()):
            raise PlanHashMismatch(
                f"you approved plan {plan_hash[:12]}, but {proposal_id}'s plan is {proposal.plan_hash[:12]}; "
                "review the current plan and approve again"
            )
        approval = Approval(proposal_id=proposal_id, plan_hash=proposal.plan_hash, decision=Decision.APPROVE, by=by)
        proposal = self.store.record_decision(approval, ProposalStatus.APPROVED)
        self._remember(proposal, "approve", by, "")
        failpoint("after_approval_recorded")
        return self._run_thread(proposal, {"decision": "approve", "by": by})

    def reject(self, proposal_id: str, by: str, reason: str) -> Proposal:
        by = _identity(by)
        if not reason.strip():
            raise BadArgument("a rejection needs a reason; it is what stops the agent re-proposing it")
        reason = reason.strip()
        proposal = self.store.get_proposal(proposal_id)
        if proposal.status is not ProposalStatus.PENDING:
            raise InvalidTransition(f"{proposal_id} is {proposal.status.value}; only pending proposals can be rejected")
        approval = Approval(
            proposal_id=proposal_id, plan_hash=proposal.plan_hash, decision=Decision.REJECT, by=by, reason=reason
        )
        proposal = self.store.record_decision(approval, ProposalStatus.REJECTED, note=f"rejected by {by}: {reason}")
        self._remember(proposal, "reject", by, reason)
        self.threads.resume(proposal, {"decision": "reject", "by": by})
        return proposal

    def resume_pending(self) -> list[ExecutionOutcome]:
        """Finish approvals a crash interrupted. Safe to run any number of times.

        One proposal's trouble (an unreachable API, a refused approval) is reported as its
        outcome and does not stop the others from being resumed.
        """
        outcomes = []
        for proposal in self.store.list_proposals([ProposalStatus.APPROVED]):
            try:
                outcomes.append(self._run_thread(proposal, {"decision": "approve", "by": "resume"}))
            except SpendpilotError as exc:
                log.warning("resuming %s failed: %s", proposal.id, exc)
                outcomes.append(
                    ExecutionOutcome(
                        proposal_id=proposal.id, status=proposal.status,
                        message=f"{proposal.id}: could not resume: {exc}", error=type(exc).__name__,
                    )
                )
        return outcomes

    def _run_thread(self, proposal: Proposal, decision: dict[str, Any]) -> ExecutionOutcome:
        """Deliver the decision to the proposal's thread; the store, not the thread, has the last word.

        A thread can have finished earlier (its approval expired, the crash came after it,
        another process held the execution): its stored outcome is then stale, and a proposal
        still approved is handed to the executor, whose ledger makes that safe.
        """
        outcome = self.threads.resume(proposal, decision)
        current = self.store.get_proposal(proposal.id)
        if current.status is ProposalStatus.APPROVED:
            return Executor(self.store, self.aws).execute(proposal.id)
        if outcome and outcome.get("status") == current.status.value:
            return ExecutionOutcome.model_validate(outcome)
        done = current.status is ProposalStatus.EXECUTED
        return ExecutionOutcome(
            proposal_id=proposal.id, status=current.status, applied=done, verified=done,
            message=f"{proposal.id} is {current.status.value}" + (f": {current.note}" if current.note else ""),
        )

    def _remember(self, proposal: Proposal, decision: str, by: str, reason: str) -> None:
        try:
            self.memory.remember(proposal, decision, by, reason)
        except Exception as exc:  # memory is advisory; the decision is already recorded
            log.warning("could not record decision in memory: %s", exc)

    # --- reading -------------------------------------------------------------------------------
    def top_spend(self, by: str = "service", days: int = 30, limit: int = 10) -> list[SpendLine]:
        return self.lake.top_spend(by=by, days=days, limit=limit)

    def daily_spend(self, days: int = 30) -> list[DailySpend]:
        return self.lake.daily_spend(days=days)

    def audit_events(self, limit: int = 50) -> list[AuditEvent]:
        return self.store.audit_events(limit=limit)

    def copilot_tools(self) -> CopilotTools:
        def similar(text: str) -> list[dict[str, Any]]:
            return [d.model_dump(mode="json") for d in self.memory.similar(text, k=3)]

        return CopilotTools(
            top_spend=lambda by, days, limit: self.top_spend(by=by, days=days, limit=limit),
            list_proposals=self.store.list_proposals,
            get_proposal=self.store.get_proposal,
            similar_decisions=similar,
        )

    def chat(self, message: str, selected_proposal_id: str | None = None) -> str:
        tools = self.copilot_tools()
        if self.model is None:
            return answer_offline(tools, message, selected_proposal_id)
        try:
            return answer_with_model(self.model, tools, message, selected_proposal_id)
        except SpendpilotError:
            raise
        except Exception as exc:  # provider outages, auth errors: the UI shows them, keeps running
            raise AdapterError(f"the chat model failed ({type(exc).__name__}: {exc})") from exc


def build_services(settings: Settings, model: BaseChatModel | None = None) -> LocalServices:
    return LocalServices(settings, model=model)
