"""When an approval is good enough to act on.

An approval is for one plan hash; a plan whose target, change or expected pre-state moved is a
different plan and needs its own approval. Approvals also expire: a change approved last month
was approved against last month's world.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from spendpilot.domain import ActionPlan, Approval, Decision, utcnow
from spendpilot.errors import ApprovalExpired, ApprovalRequired, PlanHashMismatch


class ApprovalPolicy(BaseModel):
    max_age: timedelta = Field(timedelta(hours=72), description="Approvals older than this expire.")


def check_approval(
    approval: Approval | None, plan: ActionPlan, policy: ApprovalPolicy | None = None, *, now: datetime | None = None
) -> None:
    """Raise unless ``approval`` is a fresh human approval of exactly ``plan`` (fresh at ``now``)."""
    policy = policy or ApprovalPolicy()
    now = now or utcnow()
    if approval is None or approval.decision is not Decision.APPROVE:
        raise ApprovalRequired("no recorded approval for this proposal; nothing was executed")
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
