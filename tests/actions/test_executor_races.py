"""The executor against a second process that won the claim between our read and our claim.

Found by the chaos suite (two rollbacks at once): the loser re-read the resource after the
winner had changed it, saw "drift", and overwrote the winner's ledger row with aborted_drift,
so the winner's own `executed` was refused. A lost claim must leave the row to its holder.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from spendpilot.actions import get_action
from spendpilot.actions.base import ActionContext
from spendpilot.adapters.base import Targets
from spendpilot.approval.service import Approvals
from spendpilot.domain import Execution, ExecutionStatus, ProposalStatus
from spendpilot.domain.reports import ExecutionOutcome
from spendpilot.execution.executor import Executor, idempotency_key
from spendpilot.proposals.lifecycle import make_proposal
from spendpilot.savings.registry import estimate
from spendpilot.state.store import StateStore

from .test_litellm_config import DATA, PRICES, _finding, _sweep


def test_a_lost_claim_after_seeing_the_winners_change_is_in_progress_not_drift(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    shutil.copy(DATA, config)
    snapshot, source = _sweep(config)
    finding = _finding(snapshot)
    est = estimate(finding, PRICES)
    assert est is not None
    proposal = make_proposal(finding, est)
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.upsert_proposal(proposal)
    later = Approvals(
        store, lambda p, _d: ExecutionOutcome(proposal_id=p.id, status=ProposalStatus.APPROVED, message="later"),
        lambda *_a: None,
    )
    later.approve(proposal.id, "alice", proposal.plan_hash)
    ctx = ActionContext(targets=Targets([source]))

    key = idempotency_key(proposal)
    read_ledger = store.get_execution

    def other_process_wins_after_our_ledger_read(k: str) -> Execution | None:
        seen = read_ledger(k)  # None: nobody has claimed yet, as we read it
        if seen is None and store.claim_execution(
            key, proposal.id, "executor", owner="other-host:1:1", lease_until=ctx.now() + timedelta(hours=1)
        ):
            get_action(proposal.action).apply(ctx, proposal.plan)  # ...and its change lands
        return seen

    store.get_execution = other_process_wins_after_our_ledger_read  # type: ignore[method-assign,assignment]
    outcome = Executor(store, ctx).execute(proposal.id)
    store.get_execution = read_ledger  # type: ignore[method-assign]

    assert outcome.status is ProposalStatus.APPROVED, outcome.message
    assert "another process" in outcome.message
    ledger = store.get_execution(key)
    assert ledger is not None and ledger.status is ExecutionStatus.STARTED
    assert store.get_proposal(proposal.id).status is ProposalStatus.APPROVED
