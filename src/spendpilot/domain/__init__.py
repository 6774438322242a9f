"""Plain pydantic types shared by every stage. No I/O here."""

from spendpilot.domain.findings import Estimate, Evidence, Facts, Finding
from spendpilot.domain.llm_requests import LlmRequest
from spendpilot.domain.metrics import EC2_CPU, NVIDIA_GPU, MetricId
from spendpilot.domain.money import (
    DAYS_PER_MONTH,
    HOURS_PER_MONTH,
    Money,
    format_money,
    totals_by_currency,
)
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
from spendpilot.domain.snapshot import Gap, Snapshot, SourceResult
from spendpilot.domain.summary import ProposalSummary

__all__ = [
    "ProposalSummary",
    "EC2_CPU",
    "NVIDIA_GPU",
    "Facts",
    "Gap",
    "LlmRequest",
    "MetricId",
    "SourceResult",
    "format_money",
    "totals_by_currency",
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
