"""Plain pydantic types shared by every stage. No I/O here.

The snapshot types (and the Kubernetes and per-request models they hold) are imported on first
use (PEP 562 ``__getattr__``): building their pydantic classes is a tenth of what
`spendpilot proposals` costs, and a listing never touches them.
"""

from typing import TYPE_CHECKING, Any

from spendpilot.domain.findings import Estimate, Evidence, Facts, Finding
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
from spendpilot.domain.summary import ProposalSummary

if TYPE_CHECKING:
    from spendpilot.domain.llm_requests import LlmRequest
    from spendpilot.domain.snapshot import Gap, Snapshot, SourceResult

_LAZY = {"Gap": "snapshot", "Snapshot": "snapshot", "SourceResult": "snapshot", "LlmRequest": "llm_requests"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"spendpilot.domain.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'spendpilot.domain' has no attribute {name!r}")

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
