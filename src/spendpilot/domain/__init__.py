"""Plain pydantic types shared by every stage. No I/O here.

Every name is imported on first use (PEP 562 ``__getattr__``): importing pydantic and building
the domain's models is a third of what `spendpilot proposals` costs, and a listing needs none of
them (it uses ``domain.status``, ``domain.money_text`` and ``domain.summary``, which are plain
Python). ``from spendpilot.domain import Proposal`` works as before.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spendpilot.domain.findings import Estimate, Evidence, Facts, Finding
    from spendpilot.domain.llm_requests import LlmRequest
    from spendpilot.domain.metrics import EC2_CPU, NVIDIA_GPU, MetricId
    from spendpilot.domain.money import DAYS_PER_MONTH, HOURS_PER_MONTH, Money, totals_by_currency
    from spendpilot.domain.money_text import format_money
    from spendpilot.domain.plans import (
        ActionPlan,
        Approval,
        AuditEvent,
        Decision,
        Execution,
        ExecutionStatus,
        Proposal,
        utcnow,
    )
    from spendpilot.domain.resources import (
        LlmUsage,
        MetricPoint,
        MetricSeries,
        Resource,
        ResourceRef,
    )
    from spendpilot.domain.snapshot import Gap, Snapshot, SourceResult
    from spendpilot.domain.status import ProposalStatus, Risk
    from spendpilot.domain.summary import ProposalSummary

_LAZY = {
    "Estimate": "findings", "Evidence": "findings", "Facts": "findings", "Finding": "findings",
    "LlmRequest": "llm_requests",
    "EC2_CPU": "metrics", "NVIDIA_GPU": "metrics", "MetricId": "metrics",
    "DAYS_PER_MONTH": "money", "HOURS_PER_MONTH": "money", "Money": "money", "totals_by_currency": "money",
    "format_money": "money_text",
    "ActionPlan": "plans", "Approval": "plans", "AuditEvent": "plans", "Decision": "plans",
    "Execution": "plans", "ExecutionStatus": "plans", "Proposal": "plans", "utcnow": "plans",
    "LlmUsage": "resources", "MetricPoint": "resources", "MetricSeries": "resources",
    "Resource": "resources", "ResourceRef": "resources",
    "Gap": "snapshot", "Snapshot": "snapshot", "SourceResult": "snapshot",
    "ProposalStatus": "status", "Risk": "status",
    "ProposalSummary": "summary",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"spendpilot.domain.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'spendpilot.domain' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


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
