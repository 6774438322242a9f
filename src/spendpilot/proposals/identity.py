"""Who a proposal is: the finding it comes from, the plan it carries, and its generation."""

from __future__ import annotations

import hashlib
import json

from spendpilot.domain import Estimate


def fingerprint(
    rule: str, action: str, provider: str, kind: str, target_id: str, account: str | None = None,
) -> str:
    """Same rule + action on the same resource: the identity memory and dedupe key on.

    ``account``: names are unique per account only (two accounts built from one template both
    have an Auto Scaling group "gpu-workers"), so a resource in a named account is told apart.
    """
    raw = f"{rule}|{action}|{provider}|{kind}|{target_id}" + (f"|{account}" if account else "")
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def evidence_digest(estimate: Estimate, plan_hash: str) -> str:
    """A label of the evidence a human saw (plan + expected saving), for the audit trail.

    Not used to decide re-proposal: a hash of a rounded amount flips at rounding boundaries.
    ``lifecycle.evidence_change`` compares the amounts themselves.
    """
    raw = json.dumps({"plan": plan_hash, "expected": str(estimate.expected.amount)}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def proposal_id(fingerprint: str, plan_hash: str, generation: int = 0) -> str:
    """Stable for a finding while it stays open; a new generation when waste comes back later."""
    return "sp-" + hashlib.sha256(f"{fingerprint}|{plan_hash}|{generation}".encode()).hexdigest()[:8]


def rollback_id(original_id: str, plan_hash: str) -> str:
    """The id of the proposal that undoes ``original_id`` (one per executed plan)."""
    return "rb-" + hashlib.sha256(f"{original_id}|{plan_hash}".encode()).hexdigest()[:8]
