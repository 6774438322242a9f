"""An approval counts only if the audit log records it: the executor's approval check.

The executor runs for real against ``AwsRecorder``: an accepted approval reaches it (the
executor reads the instance first), a refused one sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from tests.state.builders import (
    AwsRecorder,
    Home,
    build_home,
    execute,
    forge_approval,
    mark_approved,
)

from spendpilot.domain import Approval, Decision, ProposalStatus, utcnow
from spendpilot.domain.reports import ExecutionOutcome
from spendpilot.errors import AdapterError

REFUSED = "approval not found in the audit log; refusing to execute"


@pytest.fixture
def recorder() -> Iterator[AwsRecorder]:
    with AwsRecorder() as r:
        yield r


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return build_home(tmp_path / "home")


def test_a_genuine_approval_is_acted_on(home: Home, recorder: AwsRecorder) -> None:
    outcome = execute(home, recorder, home.proposals["approved"].id)
    assert isinstance(outcome, AdapterError)  # it went to AWS, which (the recorder) refused
    assert recorder.requests == ["DescribeInstances"]


def test_a_decision_written_into_the_database_is_refused_and_requeued(home: Home, recorder: AwsRecorder) -> None:
    p = home.proposals["pending"]
    forge_approval(home, p.id, p.plan_hash)
    outcome = execute(home, recorder, p.id)
    assert isinstance(outcome, ExecutionOutcome), outcome
    assert outcome.status is ProposalStatus.PENDING and outcome.error == "ApprovalNotAudited"
    assert REFUSED in outcome.message and "'mallory'" in outcome.message
    assert recorder.requests == [], "a refused approval must not reach AWS"
    store = home.fresh_store()
    assert store.get_proposal(p.id).status is ProposalStatus.PENDING
    assert REFUSED in store.get_proposal(p.id).note
    assert store.count_audit("approval_refused", p.id) == 1
    assert store.count_audit("execution_started", p.id) == 0
    assert store.check_audit_chain().intact  # the refusal itself is a proper audit event


def test_after_a_refusal_a_real_approval_of_the_same_plan_is_acted_on(home: Home, recorder: AwsRecorder) -> None:
    p = home.proposals["pending"]
    forge_approval(home, p.id, p.plan_hash)
    execute(home, recorder, p.id)
    home.fresh_store().record_decision(
        Approval(proposal_id=p.id, plan_hash=p.plan_hash, decision=Decision.APPROVE, by="dana"), ProposalStatus.APPROVED
    )
    assert isinstance(execute(home, recorder, p.id), AdapterError)
    assert recorder.requests == ["DescribeInstances"]


@pytest.mark.parametrize(
    "change",
    [
        {"by": "bob "},
        {"plan_hash": "f" * 64},
        {"at": "+1us"},
        {"proposal_id": "sp-pend0001"},
    ],
    ids=["decider", "plan_hash", "decision_time", "proposal"],
)
def test_the_audit_event_must_match_every_field_of_the_decision(home: Home, change: dict) -> None:
    store = home.fresh_store()
    genuine = store.latest_decision(home.proposals["approved"].id)
    assert genuine is not None and store.approval_event_for(genuine).found
    if change.get("at") == "+1us":
        change = {"at": genuine.at + timedelta(microseconds=1)}
    assert not store.approval_event_for(genuine.model_copy(update=change)).found


def test_a_withdrawn_approval_does_not_come_back_by_copying_its_row(home: Home, recorder: AwsRecorder) -> None:
    """bob's approval expired (audited as approval_expired); re-inserting his exact decision row
    does not revive it: the latest decision the log records for it is the withdrawal."""
    p = home.proposals["approved"]
    store = home.fresh_store()
    store.set_status(p.id, ProposalStatus.PENDING, actor="executor", note="expired", event="approval_expired")
    home.sql(
        "INSERT INTO decisions (proposal_id, plan_hash, decision, by, reason, at) "
        "SELECT proposal_id, plan_hash, decision, by, reason, at FROM decisions WHERE proposal_id = ?", p.id,
    )
    mark_approved(home, p.id)
    outcome = execute(home, recorder, p.id)
    assert isinstance(outcome, ExecutionOutcome) and outcome.status is ProposalStatus.PENDING
    assert "'approval_expired'" in outcome.message
    assert recorder.requests == []


def test_a_decision_time_in_another_timezone_is_matched(tmp_path: Path, recorder: AwsRecorder) -> None:
    home = build_home(tmp_path / "home")
    p = home.proposals["pending"]
    at = utcnow().astimezone(timezone(timedelta(hours=-5)))
    home.store.record_decision(
        Approval(proposal_id=p.id, plan_hash=p.plan_hash, decision=Decision.APPROVE, by="erin", at=at),
        ProposalStatus.APPROVED,
    )
    assert isinstance(execute(home, recorder, p.id), AdapterError)
    assert recorder.requests == ["DescribeInstances"]
