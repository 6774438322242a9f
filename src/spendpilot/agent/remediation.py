"""One remediation thread per proposal: wait for a human (``interrupt``), then execute.

The thread's checkpoints live in SQLite, so the approval can arrive hours later from another
process; the executor's ledger makes resuming twice harmless.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from spendpilot.domain import Proposal, ProposalStatus
from spendpilot.domain.reports import ExecutionOutcome
from spendpilot.state import StateStore


class RemediationState(TypedDict, total=False):
    proposal_id: str
    plan_hash: str
    decision: dict[str, Any]
    outcome: dict[str, Any]


def open_checkpointer(path: Path) -> SqliteSaver:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    return SqliteSaver(conn)


def build_remediation_graph(executor_factory: Callable[[], Any], checkpointer: SqliteSaver) -> Any:
    def await_decision(state: RemediationState) -> RemediationState:
        decision = interrupt(
            {"proposal_id": state["proposal_id"], "plan_hash": state["plan_hash"], "ask": "approve or reject"}
        )
        return {"decision": decision}

    def route(state: RemediationState) -> str:
        return "execute" if state["decision"].get("decision") == "approve" else "closed"

    def execute(state: RemediationState) -> RemediationState:
        outcome = executor_factory().execute(state["proposal_id"])
        return {"outcome": outcome.model_dump(mode="json")}

    def closed(state: RemediationState) -> RemediationState:
        return {"outcome": {"proposal_id": state["proposal_id"], "status": "rejected"}}

    graph = StateGraph(RemediationState)
    graph.add_node("await_decision", await_decision)
    graph.add_node("execute", execute)
    graph.add_node("closed", closed)
    graph.add_edge(START, "await_decision")
    graph.add_conditional_edges("await_decision", route, {"execute": "execute", "closed": "closed"})
    graph.add_edge("execute", END)
    graph.add_edge("closed", END)
    return graph.compile(checkpointer=checkpointer)


class RemediationThreads:
    """Start, inspect and resume the per-proposal threads."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph

    @staticmethod
    def _config(proposal_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": proposal_id}}

    def start(self, proposal: Proposal) -> None:
        self.graph.invoke({"proposal_id": proposal.id, "plan_hash": proposal.plan_hash}, self._config(proposal.id))

    def waiting_for_decision(self, proposal_id: str) -> bool:
        state = self.graph.get_state(self._config(proposal_id))
        return any(task.interrupts for task in state.tasks)

    def resume(self, proposal: Proposal, decision: dict[str, Any]) -> dict[str, Any] | None:
        """Deliver a decision, or finish a thread a crash left mid-way. Returns the outcome."""
        config = self._config(proposal.id)
        state = self.graph.get_state(config)
        if not state.values:  # created before threads existed, or the checkpoint file was lost
            self.start(proposal)
            state = self.graph.get_state(config)
        if any(task.interrupts for task in state.tasks):
            self.graph.invoke(Command(resume=decision), config)
        elif state.next:
            self.graph.invoke(None, config)
        outcome: dict[str, Any] | None = self.graph.get_state(config).values.get("outcome")
        return outcome

    def deliver(
        self, proposal: Proposal, decision: dict[str, Any], store: StateStore,
        execute: Callable[[str], ExecutionOutcome],
    ) -> ExecutionOutcome:
        """Deliver the decision to the proposal's thread; the store, not the thread, has the last word.

        A thread can have finished earlier (its approval expired, the crash came after it,
        another process held the execution): its stored outcome is then stale, and a proposal
        still approved is handed to the executor, whose ledger makes that safe.
        """
        outcome = self.resume(proposal, decision)
        current = store.get_proposal(proposal.id)
        if current.status is ProposalStatus.APPROVED:
            return execute(proposal.id)
        if outcome and outcome.get("status") == current.status.value and "message" in outcome:
            return ExecutionOutcome.model_validate(outcome)
        done = current.status is ProposalStatus.EXECUTED
        return ExecutionOutcome(
            proposal_id=proposal.id, status=current.status, applied=done, verified=done,
            message=f"{proposal.id} is {current.status.value}" + (f": {current.note}" if current.note else ""),
        )


__all__ = ["RemediationThreads", "build_remediation_graph", "open_checkpointer"]
