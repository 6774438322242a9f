"""The decision use-cases: approve, reject, roll back, resume. Front-ends call these through
the services facade; the rules live here, not in the CLI, the TUI or the composition root.

- a decision names who made it (recorded in the audit log);
- only a pending proposal can be decided, and only on the plan the decider saw (a plan-hash
  prefix of at least 8 characters, when given, must match);
- a rejection needs a reason (it is what stops the same proposal coming back);
- a rollback is itself a proposal, approved by the person who asks for it, of exactly the
  plan recorded when the original was built, and executed by the same executor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from spendpilot._failpoints import failpoint
from spendpilot.clock import SYSTEM_CLOCK, Clock
from spendpilot.domain import Approval, Decision, Proposal, ProposalStatus
from spendpilot.domain.reports import ExecutionOutcome
from spendpilot.errors import BadArgument, InvalidTransition, PlanHashMismatch, SpendpilotError
from spendpilot.proposals.lifecycle import make_rollback
from spendpilot.state import StateStore

log = logging.getLogger(__name__)

MIN_PLAN_HASH_PREFIX = 8

Deliver = Callable[[Proposal, dict[str, str]], ExecutionOutcome]
"""Hands a decision to the proposal's remediation thread and returns what became of it."""
Remember = Callable[[Proposal, str, str, str], None]


def identity(by: str) -> str:
    if not by or not by.strip():
        raise BadArgument("say who is deciding: --by NAME (it is recorded in the audit log)")
    return by.strip()


def check_plan_hash(proposal: Proposal, plan_hash: str | None) -> None:
    if plan_hash is None:
        return
    if len(plan_hash.strip()) < MIN_PLAN_HASH_PREFIX:
        raise BadArgument(
            f"--plan-hash {plan_hash!r} is too short to identify a plan; give at least "
            f"{MIN_PLAN_HASH_PREFIX} characters (`spendpilot show {proposal.id}` prints it)"
        )
    if not proposal.plan_hash.startswith(plan_hash.strip()):
        raise PlanHashMismatch(
            f"you approved plan {plan_hash[:12]}, but {proposal.id}'s plan is {proposal.plan_hash[:12]}; "
            "review the current plan and approve again"
        )


class Approvals:
    def __init__(self, store: StateStore, deliver: Deliver, remember: Remember, clock: Clock = SYSTEM_CLOCK) -> None:
        self.store = store
        self.clock = clock
        self._deliver = deliver
        self._remember = remember

    def approve(self, proposal_id: str, by: str, plan_hash: str | None = None) -> ExecutionOutcome:
        by = identity(by)
        proposal = self.store.get_proposal(proposal_id)
        if proposal.status is not ProposalStatus.PENDING:
            raise InvalidTransition(f"{proposal_id} is {proposal.status.value}; only pending proposals can be approved")
        check_plan_hash(proposal, plan_hash)
        approval = Approval(
            proposal_id=proposal_id, plan_hash=proposal.plan_hash, decision=Decision.APPROVE, by=by, at=self.clock.now()
        )
        proposal = self.store.record_decision(approval, ProposalStatus.APPROVED)
        self._remember_safely(proposal, Decision.APPROVE.value, by, "")
        failpoint("after_approval_recorded")
        outcome = self._deliver(proposal, {"decision": Decision.APPROVE.value, "by": by})
        self._finish_rollback(proposal, outcome)
        return outcome

    def reject(self, proposal_id: str, by: str, reason: str) -> Proposal:
        by = identity(by)
        if not reason.strip():
            raise BadArgument("a rejection needs a reason; it is what stops the agent re-proposing it")
        reason = reason.strip()
        proposal = self.store.get_proposal(proposal_id)
        if proposal.status is not ProposalStatus.PENDING:
            raise InvalidTransition(f"{proposal_id} is {proposal.status.value}; only pending proposals can be rejected")
        approval = Approval(
            proposal_id=proposal_id, plan_hash=proposal.plan_hash, decision=Decision.REJECT, by=by, reason=reason,
            at=self.clock.now(),
        )
        proposal = self.store.record_decision(approval, ProposalStatus.REJECTED, note=f"rejected by {by}: {reason}")
        failpoint("after_rejection_recorded")
        if proposal.rollback_of is None:  # a declined rollback says nothing about the original finding
            self._remember_safely(proposal, Decision.REJECT.value, by, reason)
        self._deliver(proposal, {"decision": Decision.REJECT.value, "by": by})
        return proposal

    def rollback(self, proposal_id: str, by: str, plan_hash: str | None = None) -> ExecutionOutcome:
        """Undo an executed proposal by executing its recorded rollback plan.

        The person asking approves exactly that plan (``plan_hash`` pins it, as for approve).
        A rollback proposal left pending by an earlier attempt is reused, not duplicated.
        """
        by = identity(by)
        original = self.store.get_proposal(proposal_id)
        if original.rollback_of is not None:
            raise InvalidTransition(f"{proposal_id} is itself a rollback; approve the original's proposal again instead")
        if original.status is not ProposalStatus.EXECUTED:
            raise InvalidTransition(
                f"{proposal_id} is {original.status.value}; only executed proposals can be rolled back"
            )
        rollback = make_rollback(original)
        self.store.upsert_proposal(rollback, actor=by)
        failpoint("rollback_proposal_stored")
        current = self.store.get_proposal(rollback.id)
        if current.status is ProposalStatus.EXECUTED:  # done earlier; a crash came before the original was marked
            outcome = self._finish_executed_rollback(current)
            if outcome is not None:
                return outcome
        if current.status is ProposalStatus.APPROVED:  # an earlier attempt was interrupted
            outcome = self._deliver(current, {"decision": Decision.APPROVE.value, "by": by})
            self._finish_rollback(current, outcome)
            return outcome
        return self.approve(rollback.id, by, plan_hash)

    def resume_pending(self) -> list[ExecutionOutcome]:
        """Finish approvals a crash interrupted. Safe to run any number of times.

        One proposal's trouble (an unreachable API, a refused approval) is reported as its
        outcome and does not stop the others from being resumed.
        """
        outcomes = []
        for proposal in self.store.list_proposals([ProposalStatus.APPROVED]):
            failpoint("resume_next")
            try:
                outcome = self._deliver(proposal, {"decision": Decision.APPROVE.value, "by": "resume"})
                self._finish_rollback(proposal, outcome)
            except SpendpilotError as exc:
                log.warning("resuming %s failed: %s", proposal.id, exc)
                outcome = ExecutionOutcome(
                    proposal_id=proposal.id, status=proposal.status,
                    message=f"{proposal.id}: could not resume: {exc}", error=type(exc).__name__,
                )
            outcomes.append(outcome)
        for rollback in self.store.list_proposals([ProposalStatus.EXECUTED]):
            if rollback.rollback_of is not None and (done := self._finish_executed_rollback(rollback)):
                outcomes.append(done)
        return outcomes

    def _finish_executed_rollback(self, rollback: Proposal) -> ExecutionOutcome | None:
        """A rollback executed and verified whose original is still marked executed (the process
        died in between): mark the original rolled back. None when there is nothing to finish."""
        if rollback.rollback_of is None:
            return None
        if self.store.get_proposal(rollback.rollback_of).status is not ProposalStatus.EXECUTED:
            return None
        outcome = ExecutionOutcome(
            proposal_id=rollback.id, status=ProposalStatus.EXECUTED, applied=True, verified=True,
            message=f"{rollback.id}: the rollback was already executed and verified; "
            f"{rollback.rollback_of} is now marked rolled back",
        )
        self._finish_rollback(rollback, outcome)
        return outcome

    def _finish_rollback(self, proposal: Proposal, outcome: ExecutionOutcome) -> None:
        if proposal.rollback_of is None or outcome.status is not ProposalStatus.EXECUTED:
            return
        failpoint("before_finish_rollback")
        original = self.store.get_proposal(proposal.rollback_of)
        if original.status is ProposalStatus.EXECUTED:
            self.store.set_status(
                original.id, ProposalStatus.ROLLED_BACK, actor=ACTOR_ROLLBACK,
                note=f"rolled back by {proposal.id}", event="rolled_back", payload={"rollback": proposal.id},
            )

    def _remember_safely(self, proposal: Proposal, decision: str, by: str, reason: str) -> None:
        try:
            self._remember(proposal, decision, by, reason)
        except Exception as exc:  # memory is advisory; the decision is already recorded
            log.warning("could not record decision in memory: %s", exc)


ACTOR_ROLLBACK = "executor"
