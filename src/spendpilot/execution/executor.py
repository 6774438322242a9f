"""The executor: the only code path that changes a cloud resource.

Order of operations, each step recorded in the ledger and the audit log:
1. the latest decision must approve exactly this plan hash, and the audit log must record that
   decision (``check_approval``); otherwise the proposal goes back to the queue, unexecuted;
2. the ledger row for (proposal, plan hash) is claimed; a second process loses the claim;
3. the resource is re-read; any drift from the expected pre-state aborts and re-queues;
4. the change is applied once; 5. the resource is re-read to verify.

Crash recovery: a ledger row left at "started" or "applied" is taken over only once its owner
has stopped (``lease.py``), then resumed by re-reading the resource. If the change is already
visible it is not applied again. An approval that expired before anything was applied sends
the proposal back to the queue instead of acting on it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from spendpilot._failpoints import failpoint
from spendpilot.actions.advisory import is_advisory
from spendpilot.actions.base import Action, ActionContext, get_action, pre_state_differences
from spendpilot.approval import ApprovalPolicy, check_approval
from spendpilot.domain import ExecutionStatus, Proposal, ProposalStatus
from spendpilot.domain.reports import ExecutionOutcome
from spendpilot.errors import AdapterError, ApprovalExpired, ApprovalRequired
from spendpilot.execution.lease import LEASE, current_owner, is_stale
from spendpilot.state import StateStore

log = logging.getLogger(__name__)
ACTOR = "executor"


def idempotency_key(proposal: Proposal) -> str:
    return f"{proposal.id}:{proposal.plan_hash}"


class Executor:
    def __init__(self, store: StateStore, ctx: ActionContext, policy: ApprovalPolicy | None = None) -> None:
        self.store = store
        self.ctx = ctx
        self.policy = policy or ApprovalPolicy()
        self.owner = current_owner()

    def _now(self) -> Any:
        return self.ctx.now()

    def execute(self, proposal_id: str) -> ExecutionOutcome:
        proposal = self.store.get_proposal(proposal_id)
        if proposal.status is ProposalStatus.EXECUTED:
            return ExecutionOutcome(
                proposal_id=proposal_id, status=proposal.status, applied=True, verified=True,
                message=f"{proposal_id} was already executed; nothing to do",
            )
        if proposal.status is not ProposalStatus.APPROVED:
            return ExecutionOutcome(
                proposal_id=proposal_id, status=proposal.status,
                message=f"{proposal_id} is {proposal.status.value}, not approved; nothing was executed",
            )
        plan = proposal.plan
        expired: ApprovalExpired | None = None
        try:
            check_approval(
                self.store.latest_decision(proposal_id), plan, self.policy, audit=self.store, now=self._now()
            )
        except ApprovalExpired as exc:  # still lets a crash-interrupted change be recognised below
            expired = exc
        except ApprovalRequired as exc:  # no approval the audit log vouches for: never act on it
            return self._refuse_approval(proposal, exc)
        action = get_action(proposal.action)
        key = idempotency_key(proposal)
        ledger = self.store.get_execution(key)

        if ledger is not None and ledger.status is ExecutionStatus.VERIFIED:
            return ExecutionOutcome(
                proposal_id=proposal_id, status=ProposalStatus.EXECUTED, applied=True, verified=True,
                message=f"{proposal_id} already applied and verified",
            )
        if ledger is not None and ledger.status in (ExecutionStatus.ABORTED_DRIFT, ExecutionStatus.FAILED):
            status = ProposalStatus.DRIFTED if ledger.status is ExecutionStatus.ABORTED_DRIFT else ProposalStatus.FAILED
            return ExecutionOutcome(
                proposal_id=proposal_id, status=status,
                message=f"{proposal_id} ended as {status.value} earlier; a new sweep re-proposes it if it still holds",
            )

        resumed = ledger is not None  # started or applied by another process, perhaps a dead one
        lease_until = self._now() + LEASE
        if resumed and not self.store.take_over_execution(
            key, ACTOR, owner=self.owner, lease_until=lease_until, is_stale=is_stale, now=self._now()
        ):
            return self._in_progress(proposal_id)
        try:
            return self._run(proposal, action, key, resumed=resumed, expired=expired, lease_until=lease_until)
        except BaseException:
            if self.store.get_execution(key) is not None:
                self.store.release_execution(key, self.owner, now=self._now())
            raise

    def _run(
        self, proposal: Proposal, action: Action[Any], key: str, *, resumed: bool,
        expired: ApprovalExpired | None, lease_until: datetime,
    ) -> ExecutionOutcome:
        plan = proposal.plan
        state = action.read_state(self.ctx, plan.target)
        if resumed and action.is_applied(state, plan):
            # Applied under a then-valid approval before the crash: finish it, even if that
            # approval has expired since.
            self.store.audit(ACTOR, "recovered_already_applied", proposal.id, {"idempotency_key": key})
        else:
            if expired is not None:
                return self._requeue_expired(proposal, key, expired, claimed=resumed)
            differences = pre_state_differences(plan.expected_pre_state, state)
            if not differences:
                differences = action.evidence_differences(self.ctx, plan)
            if differences:
                return self._abort_for_drift(proposal, key, differences, claimed=resumed)
            if not resumed and not self.store.claim_execution(
                key, proposal.id, ACTOR, owner=self.owner, lease_until=lease_until
            ):
                return self._in_progress(proposal.id)
            failpoint("before_apply")
            try:
                result = action.apply(self.ctx, plan)
            except AdapterError as exc:
                # AWS refused or could not be reached: the change may or may not have landed.
                # Keep the approval; `spendpilot resume` re-reads the resource, then finishes it.
                self.store.release_execution(key, self.owner, now=self._now())
                self.store.audit(ACTOR, "execution_interrupted", proposal.id, {"idempotency_key": key, "error": str(exc)})
                return ExecutionOutcome(
                    proposal_id=proposal.id, status=ProposalStatus.APPROVED, error=type(exc).__name__,
                    message=f"{proposal.id}: not finished, still approved: {exc}. Run `spendpilot resume` once fixed.",
                )
            except Exception as exc:
                self.store.mark_execution(
                    key, ExecutionStatus.FAILED, actor=ACTOR, detail={"error": str(exc)},
                    proposal_status=ProposalStatus.FAILED, note=f"apply failed: {exc}",
                )
                return ExecutionOutcome(
                    proposal_id=proposal.id, status=ProposalStatus.FAILED,
                    message=f"{proposal.id}: applying failed: {exc}",
                )
            failpoint("after_apply")
            self.store.mark_execution(key, ExecutionStatus.APPLIED, actor=ACTOR, detail=result)
            failpoint("after_applied_recorded")

        after = action.read_state(self.ctx, plan.target)
        if action.is_applied(after, plan):
            # An advisory plan changed nothing: say "handed over", never "done and verified".
            advisory = is_advisory(plan)
            self.store.mark_execution(
                key, ExecutionStatus.VERIFIED, actor=ACTOR, detail={"state": after},
                proposal_status=ProposalStatus.EXECUTED,
                note=("runbook handed over (advisory: nothing was changed)" if advisory else "applied and verified")
                + (" (recovered after a crash)" if resumed else ""),
            )
            done = (
                "Handed over: spendpilot changed nothing; follow the runbook (`spendpilot show`)."
                if advisory else "Done and verified."
            )
            return ExecutionOutcome(
                proposal_id=proposal.id, status=ProposalStatus.EXECUTED, applied=True, verified=True,
                message=f"{proposal.id}: {plan.description} {done}",
            )
        self.store.mark_execution(
            key, ExecutionStatus.FAILED, actor=ACTOR, detail={"state": after},
            proposal_status=ProposalStatus.FAILED, note="applied, but verification did not see the change",
        )
        return ExecutionOutcome(
            proposal_id=proposal.id, status=ProposalStatus.FAILED, applied=True,
            message=f"{proposal.id}: applied, but verification did not see the change: {after}",
        )

    @staticmethod
    def _in_progress(proposal_id: str) -> ExecutionOutcome:
        return ExecutionOutcome(
            proposal_id=proposal_id, status=ProposalStatus.APPROVED,
            message=f"{proposal_id} is being executed by another process; nothing done here",
        )

    def _requeue_expired(
        self, proposal: Proposal, key: str, expired: ApprovalExpired, claimed: bool
    ) -> ExecutionOutcome:
        """Nothing was applied and the approval is stale: ask a human again instead of acting."""
        if claimed:
            self.store.release_execution(key, self.owner, now=self._now())
        note = f"not executed: {expired}"
        self.store.set_status(proposal.id, ProposalStatus.PENDING, actor=ACTOR, note=note, event="approval_expired")
        return ExecutionOutcome(proposal_id=proposal.id, status=ProposalStatus.PENDING, message=f"{proposal.id}: {note}")

    def _refuse_approval(self, proposal: Proposal, refused: ApprovalRequired) -> ExecutionOutcome:
        """Back to the queue, audited as ``approval_refused``: a human approves it again (through
        spendpilot, so the audit log records it) or it stays undone."""
        note = f"not executed: {refused}"
        self.store.set_status(proposal.id, ProposalStatus.PENDING, actor=ACTOR, note=note, event="approval_refused")
        return ExecutionOutcome(
            proposal_id=proposal.id, status=ProposalStatus.PENDING, error=type(refused).__name__,
            message=f"{proposal.id}: {note}",
        )

    def _abort_for_drift(
        self, proposal: Proposal, key: str, differences: dict[str, tuple[object, object]], claimed: bool
    ) -> ExecutionOutcome:
        described = "; ".join(f"{k}: expected {a!r}, now {b!r}" for k, (a, b) in differences.items())
        note = f"not executed: the resource or its evidence changed since the sweep ({described}); re-queued"
        if not claimed and not self.store.claim_execution(
            key, proposal.id, ACTOR, owner=self.owner, lease_until=self._now() + LEASE
        ):
            # Another process claimed it after we read the resource: the "drift" we saw is most
            # likely its own change landing. Its ledger row is not ours to overwrite.
            return self._in_progress(proposal.id)
        self.store.mark_execution(
            key, ExecutionStatus.ABORTED_DRIFT, actor=ACTOR,
            detail={"differences": {k: [str(a), str(b)] for k, (a, b) in differences.items()}},
            proposal_status=ProposalStatus.DRIFTED, note=note,
        )
        return ExecutionOutcome(proposal_id=proposal.id, status=ProposalStatus.DRIFTED, message=f"{proposal.id}: {note}")
