"""Building a proposal from a finding, and queueing it against what is already open.

The rules, in one place:
- one finding has at most one open (pending or approved) proposal;
- the same plan keeps its id (and any approval in flight); its estimate is refreshed when the
  saving moved by more than ``SAVING_GROWTH_TO_REPROPOSE``;
- a changed plan supersedes a pending proposal; an approved one is left to the executor,
  whose drift check decides;
- a finding whose earlier proposal ended (executed, failed, drifted, superseded, rolled back,
  or rejected on evidence that has since changed) is the waste coming back: a new id, the
  next generation, so the old one's history stays intact;
- a rejection stands until the plan changes or the saving grows by more than that share.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from spendpilot.actions.base import get_action
from spendpilot.domain import Estimate, Finding, Proposal, ProposalStatus
from spendpilot.domain.money import format_money
from spendpilot.proposals.identity import evidence_digest, fingerprint, proposal_id, rollback_id

if TYPE_CHECKING:
    from spendpilot.state import StateStore

SAVING_GROWTH_TO_REPROPOSE = Decimal("0.10")
"""A rejected proposal comes back when its expected saving grows by more than this share."""


def make_proposal(finding: Finding[Any], estimate: Estimate, sweep_id: str | None = None) -> Proposal:
    action = get_action(finding.action_kind)
    plan = action.build_plan(finding)
    fp = fingerprint(
        finding.rule, action.kind, plan.target.provider, plan.target.kind, plan.target.id, plan.target.account
    )
    return Proposal(
        id=proposal_id(fp, plan.plan_hash()),
        rule=finding.rule,
        action=action.kind,
        target=plan.target,
        summary=finding.summary,
        estimate=estimate,
        plan=plan,
        risk=action.risk(finding),
        evidence=finding.evidence,
        fingerprint=fp,
        evidence_digest=evidence_digest(estimate, plan.plan_hash()),
        sweep_id=sweep_id,
    )


def evidence_change(proposal: Proposal, rejected_plan_hash: str, rejected_expected: Decimal | None) -> str | None:
    """Why ``proposal`` deserves a new look after an earlier rejection, or None if it doesn't.

    The plan changed (the resource's configuration moved), or the expected saving grew by more
    than ``SAVING_GROWTH_TO_REPROPOSE``. A saving that shrank, or wobbles with metric noise,
    does not reopen a question a human has answered.
    """
    if proposal.plan_hash != rejected_plan_hash:
        return "the plan is different (the resource changed)"
    if rejected_expected is None:
        return None
    now = proposal.estimate.expected.amount
    if now > rejected_expected * (1 + SAVING_GROWTH_TO_REPROPOSE):
        currency = proposal.estimate.expected.currency
        return (
            f"the expected saving grew from {format_money(rejected_expected, currency)} to "
            f"{format_money(now, currency)} a month"
        )
    return None


def queue_proposal(
    store: StateStore, found: Proposal, open_one: Proposal | None, *, actor: str = "sweep",
    detail: dict[str, Any] | None = None,
) -> Proposal | None:
    """Queue ``found`` unless an open proposal already covers it; None means it was covered.

    ``actor`` and ``detail`` are what the audit log records of who proposed it and why."""
    if open_one is not None and open_one.plan_hash == found.plan_hash:
        old = open_one.estimate.expected.amount
        moved = abs(found.estimate.expected.amount - old) > abs(old) * SAVING_GROWTH_TO_REPROPOSE
        if open_one.status is ProposalStatus.PENDING and moved:
            store.refresh_estimate(open_one.id, found.estimate, found.evidence, found.sweep_id)
        return None
    if open_one is not None and open_one.status is ProposalStatus.APPROVED:
        return None  # approved and executing under the old plan; the executor's drift check decides
    if open_one is not None:
        store.set_status(
            open_one.id, ProposalStatus.SUPERSEDED, actor=actor,
            note="superseded: the plan changed (the resource changed since that sweep)",
        )
    generation = store.count_proposals(found.fingerprint, found.plan_hash)
    fresh = found.model_copy(update={"id": proposal_id(found.fingerprint, found.plan_hash, generation)})
    store.upsert_proposal(fresh, actor=actor, detail=detail)
    return fresh


def make_rollback(original: Proposal) -> Proposal:
    """The proposal that undoes an executed one: its recorded rollback plan, its own id.

    Its estimate is the original's saving given back (negative). Its fingerprint is distinct
    from the original's, so sweeps never mistake it for the waste coming back.
    """
    from spendpilot.errors import InvalidTransition

    plan = original.plan.rollback
    if plan is None:
        raise InvalidTransition(f"{original.id} has no rollback plan: {original.plan.rollback_description}")
    estimate = original.estimate.negated()
    return Proposal(
        id=rollback_id(original.id, plan.plan_hash()),
        rule=original.rule,
        action=plan.action,
        target=plan.target,
        summary=f"Roll back {original.id}: {original.summary}",
        estimate=estimate.model_copy(
            update={"formula": f"Undoing {original.id} gives back its expected saving. {original.estimate.formula}"}
        ),
        plan=plan,
        risk=original.risk,
        evidence=original.evidence,
        fingerprint=f"{original.fingerprint}:rollback",
        evidence_digest=evidence_digest(estimate, plan.plan_hash()),
        rollback_of=original.id,
    )
