"""An approval binds to one plan hash; the executor refuses anything else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from spendpilot.approval import check_approval
from spendpilot.domain import ActionPlan, Approval, Decision, ResourceRef, utcnow
from spendpilot.errors import ApprovalRequired, PlanHashMismatch


def _plan(**change: object) -> ActionPlan:
    return ActionPlan(
        action="stop_instance",
        target=ResourceRef(provider="aws", kind="ec2_instance", id="i-1"),
        change=change or {"state": "stopped"},
        expected_pre_state={"state": "running"},
        rollback_description="start it", description="stop it",
    )


def test_hash_covers_target_change_and_pre_state_only() -> None:
    a = _plan()
    assert a.plan_hash() == _plan().plan_hash()
    assert a.plan_hash() != _plan(state="terminated").plan_hash()
    assert a.plan_hash() != a.model_copy(update={"expected_pre_state": {"state": "stopped"}}).plan_hash()
    moved = a.model_copy(update={"target": ResourceRef(provider="aws", kind="ec2_instance", id="i-2")})
    assert a.plan_hash() != moved.plan_hash()
    assert a.plan_hash() == a.model_copy(update={"description": "reworded"}).plan_hash()


def test_approval_must_match_fresh_and_approve() -> None:
    plan = _plan()
    ok = Approval(proposal_id="p", plan_hash=plan.plan_hash(), decision=Decision.APPROVE, by="a")
    check_approval(ok, plan)
    with pytest.raises(ApprovalRequired):
        check_approval(None, plan)
    with pytest.raises(ApprovalRequired):
        check_approval(ok.model_copy(update={"decision": Decision.REJECT}), plan)
    with pytest.raises(PlanHashMismatch):
        check_approval(ok, _plan(state="terminated"))
    with pytest.raises(ApprovalRequired, match="expired"):
        check_approval(ok.model_copy(update={"at": utcnow() - timedelta(days=5)}), plan)
