"""Plans, proposals, approvals, executions, audit events: the safety-critical types."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from spendpilot.domain.findings import Estimate, Evidence
from spendpilot.domain.resources import ResourceRef
from spendpilot.domain.status import ProposalStatus, Risk

__all__ = [
    "ActionPlan", "Approval", "AuditEvent", "Decision", "Execution", "ExecutionStatus", "Proposal",
    "ProposalStatus", "Risk", "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class ActionPlan(BaseModel):
    """Exactly one change to one resource, and the state it expects to find first.

    The plan hash covers target, change and expected pre-state: an approval of this hash
    approves nothing else.
    """

    action: str
    target: ResourceRef
    change: dict[str, Any]
    expected_pre_state: dict[str, Any]
    rollback: ActionPlan | None = None
    """The plan that undoes this one (same action kind, fields set back, this plan's result
    expected first); ``spendpilot rollback`` executes it. None: the change cannot be undone."""
    rollback_description: str
    description: str
    permissions: list[str] = Field(default_factory=list)
    preconditions: dict[str, Any] = Field(default_factory=dict)
    """Measured evidence the change rests on (e.g. "GPU p95 below 5% until <time>"), re-checked
    by ``Action.evidence_differences`` just before applying. Deliberately outside the plan hash:
    the measured values move with every sweep, and hashing them would give each sweep a new
    proposal id (superseding pending ones, defeating "rejected, evidence unchanged"). They can
    only stop an execution, never widen what was approved."""

    def plan_hash(self) -> str:
        body = {
            "action": self.action,
            "target": self.target.model_dump(mode="json"),
            "change": self.change,
            "expected_pre_state": self.expected_pre_state,
        }
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


class Proposal(BaseModel):
    id: str
    rule: str
    action: str
    target: ResourceRef
    summary: str
    estimate: Estimate
    plan: ActionPlan
    risk: Risk
    evidence: list[Evidence]
    status: ProposalStatus = ProposalStatus.PENDING
    fingerprint: str
    evidence_digest: str
    narrative: str = ""
    narrative_by: str = ""
    """Who wrote ``narrative``: "spendpilot" (built from the numbers) or "model:<name>" (a
    language model's note that passed spendpilot's checks). "" for proposals stored before."""
    note: str = ""
    sweep_id: str | None = None
    rollback_of: str | None = None
    """For a rollback proposal: the executed proposal it undoes."""
    created_at: AwareDatetime = Field(default_factory=utcnow)
    updated_at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def plan_hash(self) -> str:
        return self.plan.plan_hash()

    def public_dict(self) -> dict[str, Any]:
        """The stable JSON shape of ``spendpilot proposals --json``."""
        return {
            "id": self.id,
            "rule": self.rule,
            "action": self.action,
            "target": self.target.model_dump(mode="json"),
            "summary": self.summary,
            "estimated_monthly_savings": {
                "low": str(self.estimate.low.rounded().amount),
                "expected": str(self.estimate.expected.rounded().amount),
                "high": str(self.estimate.high.rounded().amount),
            },
            "currency": self.estimate.expected.currency,
            "formula": self.estimate.formula,
            "risk": self.risk.value,
            "status": self.status.value,
            "plan_hash": self.plan_hash,
            "evidence": [e.model_dump(mode="json") for e in self.evidence + self.estimate.inputs],
            "plan": {
                "description": self.plan.description,
                "change": self.plan.change,
                "expected_pre_state": self.plan.expected_pre_state,
                "rollback": self.plan.rollback_description,
                "permissions": self.plan.permissions,
            },
            "note": self.note,
            "rollback_of": self.rollback_of,
            "created_at": self.created_at.isoformat(),
        }


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Approval(BaseModel):
    proposal_id: str
    plan_hash: str
    decision: Decision
    by: str
    reason: str = ""
    at: AwareDatetime = Field(default_factory=utcnow)


class ExecutionStatus(StrEnum):
    STARTED = "started"
    APPLIED = "applied"
    VERIFIED = "verified"
    FAILED = "failed"
    ABORTED_DRIFT = "aborted_drift"


class Execution(BaseModel):
    proposal_id: str
    idempotency_key: str
    status: ExecutionStatus
    detail: dict[str, Any] = Field(default_factory=dict)
    started_at: AwareDatetime = Field(default_factory=utcnow)
    finished_at: AwareDatetime | None = None


class AuditEvent(BaseModel):
    seq: int
    at: AwareDatetime
    actor: str
    kind: str
    proposal_id: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str
