"""The executor: the only code path that changes a cloud resource.

Order of operations, each step recorded in the ledger and the audit log:
1. the latest decision must approve exactly this plan hash (``check_approval``);
2. the ledger row for (proposal, plan hash) is claimed; a second process loses the claim;
3. the resource is re-read; any drift from the expected pre-state aborts and re-queues;
4. the change is applied once; 5. the resource is re-read to verify.

Crash recovery: a ledger row left at "started" or "applied" is resumed by re-reading the
resource. If the change is already visible it is not applied again.
"""

from __future__ import annotations

import logging

from spendpilot._failpoints import failpoint
from spendpilot.actions import get_action, pre_state_differences
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.approval import ApprovalPolicy, check_approval
from spendpilot.domain import ExecutionStatus, Proposal, ProposalStatus
from spendpilot.domain.reports import ExecutionOutcome
from spendpilot.state import StateStore

log = logging.getLogger(__name__)
ACTOR = "executor"


def idempotency_key(proposal: Proposal) -> str:
    return f"{proposal.id}:{proposal.plan_hash}"


class Executor:
    def __init__(self, store: StateStore, aws: AwsAdapter, policy: ApprovalPolicy | None = None) -> None:
        self.store = store
        self.aws = aws
        self.policy = policy or ApprovalPolicy()

    def execute(self, proposal_id: str) -> ExecutionOutcome:
        proposal = self.store.get_proposal(proposal_id)
        if proposal.status is ProposalStatus.EXECUTED:
            return ExecutionOutcome(
                proposal_id=proposal_id, status=proposal.status, applied=True, verified=True,
                message=f"{proposal_id} was already executed; nothing to do",
            )
        check_approval(self.store.latest_decision(proposal_id), proposal.plan, self.policy)
        action = get_action(proposal.action)
        plan = proposal.plan
        key = idempotency_key(proposal)
        ledger = self.store.get_execution(key)
        state = action.read_state(self.aws, plan.target)

        if ledger is not None and ledger.status is ExecutionStatus.VERIFIED:
            return ExecutionOutcome(
                proposal_id=proposal_id, status=ProposalStatus.EXECUTED, applied=True, verified=True,
                message=f"{proposal_id} already applied and verified",
            )
        if ledger is not None and ledger.status is ExecutionStatus.ABORTED_DRIFT:
            return ExecutionOutcome(
                proposal_id=proposal_id, status=ProposalStatus.DRIFTED,
                message=f"{proposal_id} was aborted for drift earlier; a new sweep re-proposes it",
            )

        resumed = ledger is not None  # started/applied by a process that died
        if resumed and action.is_applied(state, plan):
            self.store.audit(ACTOR, "recovered_already_applied", proposal_id, {"idempotency_key": key})
        else:
            differences = pre_state_differences(plan.expected_pre_state, state)
            if not differences:
                differences = action.evidence_differences(self.aws, plan)
            if differences:
                return self._abort_for_drift(proposal, key, differences, claimed=resumed)
            if not resumed and not self.store.claim_execution(key, proposal_id, ACTOR):
                return ExecutionOutcome(
                    proposal_id=proposal_id, status=ProposalStatus.APPROVED,
                    message=f"{proposal_id} is being executed by another process",
                )
            failpoint("before_apply")
            try:
                result = action.apply(self.aws, plan)
            except Exception as exc:
                self.store.mark_execution(
                    key, ExecutionStatus.FAILED, actor=ACTOR, detail={"error": str(exc)},
                    proposal_status=ProposalStatus.FAILED, note=f"apply failed: {exc}",
                )
                return ExecutionOutcome(
                    proposal_id=proposal_id, status=ProposalStatus.FAILED,
                    message=f"{proposal_id}: applying failed: {exc}",
                )
            failpoint("after_apply")
            self.store.mark_execution(key, ExecutionStatus.APPLIED, actor=ACTOR, detail=result)

        after = action.read_state(self.aws, plan.target)
        if action.is_applied(after, plan):
            self.store.mark_execution(
                key, ExecutionStatus.VERIFIED, actor=ACTOR, detail={"state": after},
                proposal_status=ProposalStatus.EXECUTED,
                note="applied and verified" + (" (recovered after a crash)" if resumed else ""),
            )
            return ExecutionOutcome(
                proposal_id=proposal_id, status=ProposalStatus.EXECUTED, applied=True, verified=True,
                message=f"{proposal_id}: {plan.description} Done and verified.",
            )
        self.store.mark_execution(
            key, ExecutionStatus.FAILED, actor=ACTOR, detail={"state": after},
            proposal_status=ProposalStatus.FAILED, note="applied, but verification did not see the change",
        )
        return ExecutionOutcome(
            proposal_id=proposal_id, status=ProposalStatus.FAILED, applied=True,
            message=f"{proposal_id}: applied, but verification did not see the change: {after}",
        )

    def _abort_for_drift(
        self, proposal: Proposal, key: str, differences: dict[str, tuple[object, object]], claimed: bool
    ) -> ExecutionOutcome:
        described = "; ".join(f"{k}: expected {a!r}, now {b!r}" for k, (a, b) in differences.items())
        note = f"not executed: the resource or its evidence changed since the sweep ({described}); re-queued"
        if not claimed:
            self.store.claim_execution(key, proposal.id, ACTOR)
        self.store.mark_execution(
            key, ExecutionStatus.ABORTED_DRIFT, actor=ACTOR,
            detail={"differences": {k: [str(a), str(b)] for k, (a, b) in differences.items()}},
            proposal_status=ProposalStatus.DRIFTED, note=note,
        )
        return ExecutionOutcome(proposal_id=proposal.id, status=ProposalStatus.DRIFTED, message=f"{proposal.id}: {note}")
