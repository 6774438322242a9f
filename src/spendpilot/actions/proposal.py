"""Turn a finding and its estimate into a proposal: plan, risk, identity."""

from __future__ import annotations

import hashlib
import json

from spendpilot.actions.base import get_action
from spendpilot.domain import Estimate, Finding, Proposal


def fingerprint(rule: str, action: str, provider: str, kind: str, target_id: str) -> str:
    """Same rule + action on the same resource: the identity memory and dedupe key on."""
    raw = f"{rule}|{action}|{provider}|{kind}|{target_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def evidence_digest(estimate: Estimate, plan_hash: str) -> str:
    """Changes when the plan or the expected saving moves by more than ~10%.

    Rounding the saving to two significant figures keeps metric noise from making every
    sweep look like new evidence.
    """
    amount = estimate.expected.amount
    significant = f"{float(amount):.2g}"
    raw = json.dumps({"plan": plan_hash, "expected": significant}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def make_proposal(finding: Finding, estimate: Estimate, sweep_id: str | None = None) -> Proposal:
    action = get_action(finding.action_kind)
    plan = action.build_plan(finding)
    fp = fingerprint(
        finding.rule, action.kind, plan.target.provider, plan.target.kind, plan.target.id
    )
    digest = evidence_digest(estimate, plan.plan_hash())
    return Proposal(
        id="sp-" + hashlib.sha256(f"{fp}|{digest}".encode()).hexdigest()[:8],
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
