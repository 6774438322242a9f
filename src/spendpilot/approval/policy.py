"""When an approval is good enough to act on.

An approval is for one plan hash; a plan whose target, change or expected pre-state moved is a
different plan and needs its own approval. Approvals also expire: a change approved last month
was approved against last month's world. And an approval counts only if the audit log vouches
for it: a ``decisions`` row written into the database by hand, with no matching event in an
intact, anchored audit chain, is refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, Field

from spendpilot.domain import ActionPlan, Approval, Decision, utcnow
from spendpilot.errors import (
    ApprovalExpired,
    ApprovalNotAudited,
    ApprovalRequired,
    PlanHashMismatch,
)

if TYPE_CHECKING:
    from spendpilot.state.store import ApprovalAudit


class ApprovalPolicy(BaseModel):
    max_age: timedelta = Field(timedelta(hours=72), description="Approvals older than this expire.")


class AuditedApprovals(Protocol):
    """Where the audit evidence for an approval comes from (``StateStore`` is one)."""

    def approval_event_for(self, approval: Approval) -> ApprovalAudit: ...


def check_approval(
    approval: Approval | None, plan: ActionPlan, policy: ApprovalPolicy | None = None,
    audit: AuditedApprovals | None = None, *, now: datetime | None = None,
) -> None:
    """Raise unless ``approval`` is a fresh (at ``now``) human approval of exactly ``plan``.

    With ``audit`` (the executor always passes its store), the approval must also be the one
    the audit log records: ``ApprovalNotAudited`` otherwise. Without it only the policy is
    checked, as for an approval that has not been recorded yet.
    """
    policy = policy or ApprovalPolicy()
    now = now or utcnow()
    if approval is None or approval.decision is not Decision.APPROVE:
        raise ApprovalRequired("no recorded approval for this proposal; refusing to execute")
    if audit is not None:
        evidence = audit.approval_event_for(approval)
        if not evidence.found:
            raise ApprovalNotAudited(evidence.problem or "approval not found in the audit log; refusing to execute")
    if approval.plan_hash != plan.plan_hash():
        raise PlanHashMismatch(
            f"the approval by {approval.by} was for plan {approval.plan_hash[:12]}, "
            f"but the plan is now {plan.plan_hash()[:12]}; approve the current plan"
        )
    if now - approval.at > policy.max_age:
        raise ApprovalExpired(
            f"the approval by {approval.by} at {approval.at:%Y-%m-%d %H:%M} UTC has expired "
            f"(older than {policy.max_age}); it is back in the queue for a fresh approval"
        )
