"""Plain pydantic types shared by every stage. No I/O here."""

from spendpilot.domain.findings import Estimate, Evidence, Finding
from spendpilot.domain.money import DAYS_PER_MONTH, HOURS_PER_MONTH, Money
from spendpilot.domain.plans import (
    ActionPlan,
    Approval,
    AuditEvent,
    Decision,
    Execution,
    ExecutionStatus,
    Proposal,
    ProposalStatus,
    Risk,
    utcnow,
)
from spendpilot.domain.resources import LlmUsage, MetricPoint, MetricSeries, Resource, ResourceRef
from spendpilot.domain.snapshot import Snapshot

__all__ = [
    "DAYS_PER_MONTH",
    "HOURS_PER_MONTH",
    "ActionPlan",
    "Approval",
    "AuditEvent",
    "Decision",
    "Estimate",
    "Evidence",
    "Execution",
    "ExecutionStatus",
    "Finding",
    "LlmUsage",
    "MetricPoint",
    "MetricSeries",
    "Money",
    "Proposal",
    "ProposalStatus",
    "Resource",
    "ResourceRef",
    "Risk",
    "Snapshot",
    "utcnow",
]
