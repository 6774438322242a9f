"""The composition root: wires the real components behind the ``SpendpilotServices`` facade.

It holds no business rules (decisions live in ``approval/``, proposal rules in ``proposals/``,
execution in ``execution/``). Every component is built on first use and imported there, so a
command pays only for what it touches: ``spendpilot proposals`` opens the state database and
never imports LangGraph, Chroma, DuckDB or boto3.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from spendpilot.clock import SYSTEM_CLOCK, Clock
from spendpilot.config import Settings
from spendpilot.domain import AuditEvent, Proposal, ProposalStatus, ProposalSummary
from spendpilot.errors import AdapterError, SpendpilotError

if TYPE_CHECKING:
    from datetime import date

    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

    from spendpilot.actions.base import ActionContext
    from spendpilot.adapters.base import Source, Targets
    from spendpilot.agent.copilot import CopilotTools
    from spendpilot.agent.copilot_tools import CopilotDeps
    from spendpilot.agent.llm_usage import UsageTotal
    from spendpilot.agent.remediation import RemediationThreads
    from spendpilot.allocation.chargeback import ChargebackResult
    from spendpilot.approval.service import Approvals
    from spendpilot.domain.reports import DailySpend, ExecutionOutcome, SpendLine, SweepReport
    from spendpilot.execution import Executor
    from spendpilot.lake import CostLake
    from spendpilot.lake.spend import SpendQuery, SpendResult
    from spendpilot.lake.spend_cube import SpendCube
    from spendpilot.lake.spend_cube_cache import SpendCubeCache
    from spendpilot.memory.decisions import DecisionMemory
    from spendpilot.outlook.anomalies import AnomalyReport
    from spendpilot.outlook.budgets import BudgetStatus
    from spendpilot.outlook.forecast import ForecastResult
    from spendpilot.savings.pricebook import PriceBook
    from spendpilot.savings.realized import RealizedSaving
    from spendpilot.state import StateStore
    from spendpilot.state.audit_chain import ChainReport

log = logging.getLogger(__name__)

CHAT_MEMORY_TURNS = 6
"""Earlier questions and answers the copilot sees in a conversation (bounded: each is paid for again)."""


class LocalServices:
    def __init__(self, settings: Settings, model: BaseChatModel | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings
        settings.ensure_home()
        self._store: StateStore | None = None
        self._store_lock = threading.Lock()
        self.clock = clock
        self._model = model
        self.chat_user: str | None = None
        self._chat_history: list[tuple[BaseMessage, BaseMessage]] = []
        """Who is chatting (the TUI sets its approver name); recorded with what the copilot queues."""

    @property
    def store(self) -> StateStore:
        """The state store, opened on first use: listings read a SQLite state file with the
        standard library (``proposals.listing``) and never import SQLAlchemy. Locked because
        the TUI's workers and the daemon's jobs may ask at once, and one store means one engine."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    from spendpilot.state import StateStore

                    self._store = StateStore(self.settings.state_db_url)
        return self._store

    # --- components, built on first use (chat-only sessions never touch AWS) ------------------
    @cached_property
    def prices(self) -> PriceBook:
        from spendpilot.savings.pricebook import PriceBook

        return PriceBook.for_home(self.settings.home)

    @cached_property
    def lake(self) -> CostLake:
        from spendpilot.lake import CostLake

        return CostLake(self.settings.lake_dir)

    @cached_property
    def sources(self) -> list[Source]:
        from spendpilot.adapters.base import build_sources

        return build_sources(self.settings.source_configs(), self.settings.home)

    @cached_property
    def targets(self) -> Targets:
        from spendpilot.adapters.base import Targets

        return Targets(self.sources)

    @cached_property
    def action_context(self) -> ActionContext:
        from spendpilot.actions.base import ActionContext
        from spendpilot.outlook.budgets import KillSwitchBudgets

        return ActionContext(targets=self.targets, clock=self.clock, budgets=KillSwitchBudgets(self.settings))

    @cached_property
    def memory(self) -> DecisionMemory:
        from spendpilot.memory.decisions import DecisionMemory

        return DecisionMemory(self.settings.chroma_dir)

    @cached_property
    def model(self) -> BaseChatModel | None:
        from spendpilot.agent.llm import load_chat_model

        return self._model if self._model is not None else load_chat_model(self.settings.llm)

    def executor(self) -> Executor:
        from spendpilot.execution import Executor

        return Executor(self.store, self.action_context)

    @cached_property
    def threads(self) -> RemediationThreads:
        from spendpilot.agent.remediation import (
            RemediationThreads,
            build_remediation_graph,
            open_checkpointer,
        )

        checkpointer = open_checkpointer(self.settings.checkpoint_path)
        return RemediationThreads(build_remediation_graph(self.executor, checkpointer))

    @cached_property
    def approvals(self) -> Approvals:
        from spendpilot.approval.service import Approvals

        def deliver(proposal: Proposal, decision: dict[str, str]) -> ExecutionOutcome:
            return self.threads.deliver(proposal, decision, self.store, lambda pid: self.executor().execute(pid))

        return Approvals(
            self.store, deliver, lambda p, d, by, reason: self.memory.remember(p, d, by, reason), clock=self.clock
        )

    # --- sweep ---------------------------------------------------------------------------------
    def sweep(self) -> SweepReport:
        from spendpilot.agent.sweep import SweepDeps, run_sweep
        from spendpilot.locks import sweep_lock

        with sweep_lock(self.settings.sweep_lock_path):
            deps = SweepDeps(
                settings=self.settings,
                store=self.store,
                prices=self.prices,
                sources=self.sources,
                memory=self.memory,
                model=self.model,
                start_remediation=self.threads.start,
            )
            report = run_sweep(deps, now=self.clock.now())
            # Inside the lock, so two sweeps cannot both announce the same alert; a no-op
            # without [notifications].
            from spendpilot.outlook.notify import notify_after_sweep

            notify_after_sweep(self.settings, self.store, report)
        return report

    # --- queue and decisions -------------------------------------------------------------------
    def list_proposals(self, statuses: list[ProposalStatus] | None = None) -> list[Proposal]:
        return self.store.list_proposals(statuses)

    def proposal_summaries(self, statuses: list[ProposalStatus] | None = None) -> list[ProposalSummary]:
        from spendpilot.proposals.listing import summaries_at

        return summaries_at(self.settings.state_db_url, statuses, lambda: self.store)

    def public_proposals(self, statuses: list[ProposalStatus] | None = None) -> list[dict[str, Any]]:
        from spendpilot.proposals.listing import public_at

        return public_at(self.settings.state_db_url, statuses, lambda: self.store)

    def get_proposal(self, proposal_id: str) -> Proposal:
        return self.store.get_proposal(proposal_id)

    def approve(self, proposal_id: str, by: str, plan_hash: str | None = None) -> ExecutionOutcome:
        return self.approvals.approve(proposal_id, by, plan_hash)

    def reject(self, proposal_id: str, by: str, reason: str) -> Proposal:
        return self.approvals.reject(proposal_id, by, reason)

    def rollback(self, proposal_id: str, by: str, plan_hash: str | None = None) -> ExecutionOutcome:
        return self.approvals.rollback(proposal_id, by, plan_hash)

    def resume_pending(self) -> list[ExecutionOutcome]:
        return self.approvals.resume_pending()

    # --- reading -------------------------------------------------------------------------------
    def top_spend(self, by: str = "service", days: int = 30, limit: int = 10) -> list[SpendLine]:
        """The largest ``limit`` groups per currency and an ``(other)`` line, from the spend
        explorer's query, so the TUI, the chat and `spendpilot spend` show the same numbers."""
        from spendpilot.domain.reports import SpendLine
        from spendpilot.errors import NoSpendData
        from spendpilot.lake.spend import build_query, run_spend_query

        query = build_query(group_by=[by], last_days=days, top=limit)
        try:
            result = run_spend_query(self.settings.lake_dir, query)
        except NoSpendData:
            return []
        key = query.group_by[0]
        return [SpendLine(key=r.keys[key], cost=r.amount, currency=r.currency) for r in result.rows]

    def daily_spend(self, days: int = 30) -> list[DailySpend]:
        return self.lake.daily_spend(days=days)

    def forecast(self, group_by: list[str] | None = None, days: int = 30) -> ForecastResult:
        from spendpilot.outlook.forecast import forecast_spend

        return forecast_spend(self.settings.lake_dir, group_by or [], horizon=days)
    def spend(self, query: SpendQuery) -> SpendResult:
        from spendpilot.lake.spend import run_spend_query

        return run_spend_query(self.settings.lake_dir, query)

    @cached_property
    def spend_cubes(self) -> SpendCubeCache:
        """One per process, so the TUI's start-up read and the dashboard share one scan."""
        from spendpilot.lake.spend_cube_cache import SpendCubeCache

        return SpendCubeCache(self.settings.lake_dir)

    def spend_cube(self, keys: Sequence[str], days: int) -> SpendCube | None:
        return self.spend_cubes.get(keys, days)


    def anomalies(self) -> AnomalyReport:
        from spendpilot.outlook.anomalies import find_anomalies

        hourly = [s for s in self.sources if hasattr(s, "hourly_llm_usage")] if self.settings.anomalies.cloudwatch_hourly else []
        return find_anomalies(self.settings.lake_dir, self.prices, self.settings.anomalies, sources=hourly)

    def budgets(self) -> tuple[list[BudgetStatus], list[str]]:
        from spendpilot.outlook.budgets import evaluate_budgets

        return evaluate_budgets(self.settings)

    def audit_events(self, limit: int = 50, proposal_id: str | None = None) -> list[AuditEvent]:
        return self.store.audit_events(proposal_id=proposal_id, limit=limit)

    def verify_audit(self) -> tuple[ChainReport, int, list[str]]:
        total, problems = self.store.check_decisions()
        return self.store.check_audit_chain(), total, problems

    def realized_savings(self, proposal_ids: Sequence[str] | None = None) -> list[RealizedSaving]:
        from spendpilot.savings.realized import realized_savings

        return realized_savings(self.store, self.settings.lake_dir, settings=self.settings.realized,
                                now=self.clock.now(), proposal_ids=proposal_ids)

    def chargeback(self, by: str = "team", *, start: date | None = None, end: date | None = None,
                   last_days: int | None = None) -> ChargebackResult:
        from spendpilot.allocation.chargeback import run_chargeback
        from spendpilot.errors import BadArgument

        if by not in ("team", "feature"):
            raise BadArgument(f"chargeback by {by!r}: costs are allocated to teams or features")
        return run_chargeback(self.settings.lake_dir, self.settings.chargeback, by="feature" if by == "feature" else "team",
                              start=start, end=end, last_days=last_days)

    def copilot_tools(self) -> CopilotTools:
        from spendpilot.agent.copilot import CopilotTools

        def similar(text: str) -> list[dict[str, Any]]:
            return [d.model_dump(mode="json") for d in self.memory.similar(text, k=3)]

        return CopilotTools(
            top_spend=lambda by, days, limit: self.top_spend(by=by, days=days, limit=limit),
            list_proposals=self.store.list_proposals,
            get_proposal=self.store.get_proposal,
            similar_decisions=similar,
            data=self,
        )

    @cached_property
    def conversation_id(self) -> str:
        """One chat conversation per services object (a TUI session): its tokens are counted together."""
        import uuid

        return "cv-" + uuid.uuid4().hex[:10]

    def copilot_deps(self, on_behalf_of: str | None = None) -> CopilotDeps:
        import getpass

        from spendpilot.agent.copilot_tools import CopilotDeps
        from spendpilot.agent.llm import describe_model

        def similar(text: str) -> list[dict[str, Any]]:
            return [d.model_dump(mode="json") for d in self.memory.similar(text, k=3)]

        return CopilotDeps(
            lake_dir=self.settings.lake_dir, store=self.store, budgets=self.budgets, anomalies=self.anomalies,
            similar_decisions=similar, conversation_id=self.conversation_id,
            on_behalf_of=on_behalf_of or self.chat_user or getpass.getuser(),
            model_name=describe_model(self.model) if self.model is not None else "none",
            chargeback=self.settings.chargeback, realized=self.settings.realized, clock=self.clock,
        )

    def chat(self, message: str, selected_proposal_id: str | None = None) -> str:
        from spendpilot.agent.copilot import answer_offline, answer_with_model
        from spendpilot.agent.llm import describe_model
        from spendpilot.agent.llm_usage import UsageTally, record_usage

        if self.model is None:
            return answer_offline(self.copilot_tools(), message, selected_proposal_id)
        tally = UsageTally(default_model=describe_model(self.model))
        try:
            turn = answer_with_model(self.model, self.copilot_deps(), message, selected_proposal_id, tally=tally,
                                     history=[m for pair in self._chat_history for m in pair])
            self._remember_turn(message, turn.answer)
            return turn.answer
        except SpendpilotError:
            raise
        except Exception as exc:  # provider outages, auth errors: the UI shows them, keeps running
            raise AdapterError(f"the chat model failed ({type(exc).__name__}: {exc})") from exc
        finally:
            try:
                record_usage(self.store, "conversation", self.conversation_id, tally.calls, self.prices)
            except Exception:  # counting must never cost the answer
                log.exception("could not record the copilot's token usage")

    def _remember_turn(self, question: str, answer: str) -> None:
        """The last ``CHAT_MEMORY_TURNS`` questions and answers (not tool output) open the next
        turn, so "and by team?" follows the question before it."""
        from langchain_core.messages import AIMessage, HumanMessage

        self._chat_history.append((HumanMessage(content=question), AIMessage(content=answer)))
        del self._chat_history[:-CHAT_MEMORY_TURNS]

    def copilot_usage(self) -> UsageTotal | None:
        """Tokens and cost of this conversation so far (None before any model call)."""
        from spendpilot.agent.llm_usage import usage_totals

        totals = usage_totals(self.store, scope="conversation", scope_id=self.conversation_id)
        return totals[0] if totals else None

    def agent_usage(self, limit: int | None = None) -> list[UsageTotal]:
        """Tokens and cost of spendpilot's own model calls, per conversation and per sweep, latest first."""
        from spendpilot.agent.llm_usage import usage_totals

        return usage_totals(self.store, limit=limit)


def build_services(settings: Settings, model: BaseChatModel | None = None, clock: Clock = SYSTEM_CLOCK) -> LocalServices:
    return LocalServices(settings, model=model, clock=clock)
