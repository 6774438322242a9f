"""The state store enforces one table of legal status changes; no caller can go around it."""

from __future__ import annotations

from pathlib import Path

import pytest

from spendpilot.domain import (
    ActionPlan,
    Estimate,
    Money,
    Proposal,
    ProposalStatus,
    ResourceRef,
    Risk,
)
from spendpilot.errors import InvalidTransition
from spendpilot.proposals.lifecycle import make_rollback
from spendpilot.proposals.transitions import LEGAL_TRANSITIONS
from spendpilot.state import StateStore

S = ProposalStatus


def _proposal(pid: str = "sp-1") -> Proposal:
    target = ResourceRef(provider="aws", kind="ec2_instance", id="i-1", region="us-east-1")
    undo = ActionPlan(action="stop_instance", target=target, change={"state": "running"},
                      expected_pre_state={"state": "stopped"}, rollback_description="stop it", description="start it")
    plan = ActionPlan(action="stop_instance", target=target, change={"state": "stopped"},
                      expected_pre_state={"state": "running"}, rollback=undo,
                      rollback_description="start it", description="stop it")
    money = Money.of(100, "EUR")
    return Proposal(
        id=pid, rule="idle_gpu_instance", action="stop_instance", target=target, summary="idle",
        estimate=Estimate(low=money * 0, expected=money, high=money * 2, formula="f"), plan=plan, risk=Risk.LOW,
        evidence=[], fingerprint="fp", evidence_digest="d",
    )


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")


def _walk(store: StateStore, *path: ProposalStatus) -> None:
    for status in path:
        store.set_status("sp-1", status, actor="test")


def test_an_executed_proposal_cannot_go_back_to_the_queue(store: StateStore) -> None:
    store.upsert_proposal(_proposal())
    _walk(store, S.APPROVED, S.EXECUTED)
    with pytest.raises(InvalidTransition, match="sp-1 is executed; it cannot become pending"):
        store.set_status("sp-1", S.PENDING, actor="test")
    assert store.get_proposal("sp-1").status is S.EXECUTED
    assert store.count_audit("status:pending", "sp-1") == 0, "a refused change leaves no audit event"


@pytest.mark.parametrize("final", [S.REJECTED, S.DRIFTED, S.FAILED, S.SUPERSEDED, S.ROLLED_BACK])
def test_final_states_are_final(store: StateStore, final: ProposalStatus) -> None:
    store.upsert_proposal(_proposal())
    path = {
        S.REJECTED: [S.REJECTED], S.SUPERSEDED: [S.SUPERSEDED], S.DRIFTED: [S.APPROVED, S.DRIFTED],
        S.FAILED: [S.APPROVED, S.FAILED], S.ROLLED_BACK: [S.APPROVED, S.EXECUTED, S.ROLLED_BACK],
    }[final]
    _walk(store, *path)
    for other in S:
        with pytest.raises(InvalidTransition):
            store.set_status("sp-1", other, actor="test")


def test_every_status_has_a_row_and_pending_cannot_skip_to_executed(store: StateStore) -> None:
    assert set(LEGAL_TRANSITIONS) == set(S)
    store.upsert_proposal(_proposal())
    with pytest.raises(InvalidTransition):
        store.set_status("sp-1", S.EXECUTED, actor="test")


def test_a_rollback_is_its_own_proposal_giving_the_saving_back() -> None:
    original = _proposal()
    rollback = make_rollback(original)
    assert rollback.id.startswith("rb-") and rollback.rollback_of == "sp-1"
    assert rollback.plan == original.plan.rollback and rollback.fingerprint != original.fingerprint
    assert rollback.estimate.expected == Money.of(-100, "EUR")
    assert (rollback.estimate.low, rollback.estimate.high) == (Money.of(-200, "EUR"), Money.of(0, "EUR"))
