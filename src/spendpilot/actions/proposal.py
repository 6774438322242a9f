"""Turn a finding and its estimate into a proposal: plan, risk, identity."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from spendpilot.actions.base import get_action
from spendpilot.domain import Estimate, Finding, Proposal


def fingerprint(rule: str, action: str, provider: str, kind: str, target_id: str) -> str:
    """Same rule + action on the same resource: the identity memory and dedupe key on."""
    raw = f"{rule}|{action}|{provider}|{kind}|{target_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


SAVING_GROWTH_TO_REPROPOSE = Decimal("0.10")
"""A rejected proposal comes back when its expected saving grows by more than this share."""


def evidence_digest(estimate: Estimate, plan_hash: str) -> str:
    """A label of the evidence a human saw (plan + expected saving), for the audit trail.

    Not used to decide re-proposal: a hash of a rounded amount flips at rounding boundaries.
    ``evidence_change`` compares the amounts themselves.
    """
    raw = json.dumps({"plan": plan_hash, "expected": str(estimate.expected.amount)}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def evidence_change(
    proposal: Proposal, rejected_plan_hash: str, rejected_expected: Decimal
) -> str | None:
    """Why ``proposal`` deserves a new look after an earlier rejection, or None if it doesn't.

    The plan changed (the resource's configuration moved), or the expected saving grew by more
    than ``SAVING_GROWTH_TO_REPROPOSE``. A saving that shrank, or wobbles with metric noise,
    does not reopen a question a human has answered.
    """
    if proposal.plan_hash != rejected_plan_hash:
        return "the plan is different (the resource changed)"
    now = proposal.estimate.expected.amount
    if now > rejected_expected * (1 + SAVING_GROWTH_TO_REPROPOSE):
        return f"the expected saving grew from ${rejected_expected:,.2f} to ${now:,.2f} a month"
    return None


def proposal_id(fingerprint: str, plan_hash: str, generation: int = 0) -> str:
    """Stable for a finding while it stays open; a new generation when waste comes back later."""
    return "sp-" + hashlib.sha256(f"{fingerprint}|{plan_hash}|{generation}".encode()).hexdigest()[:8]


def make_proposal(finding: Finding, estimate: Estimate, sweep_id: str | None = None) -> Proposal:
    action = get_action(finding.action_kind)
    plan = action.build_plan(finding)
    fp = fingerprint(
        finding.rule, action.kind, plan.target.provider, plan.target.kind, plan.target.id
    )
    digest = evidence_digest(estimate, plan.plan_hash())
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
        evidence_digest=digest,
        sweep_id=sweep_id,
    )
