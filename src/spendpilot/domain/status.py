"""A proposal's status and risk: plain enums, importable without pydantic.

They live apart from the pydantic models in ``plans`` (which re-exports them) so that
``spendpilot --help`` and ``spendpilot proposals`` can name a status without building every
domain model first (importing pydantic and building the models is a third of a listing's cost).
"""

from __future__ import annotations

from enum import StrEnum


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ProposalStatus(StrEnum):
    PENDING = "pending"  # waiting for a human
    APPROVED = "approved"  # approval recorded, execution not finished
    EXECUTED = "executed"  # applied and verified
    REJECTED = "rejected"
    DRIFTED = "drifted"  # resource changed since the sweep; re-queued for a fresh sweep
    FAILED = "failed"
    SUPERSEDED = "superseded"  # a newer sweep replaced it
    ROLLED_BACK = "rolled_back"  # executed, then undone by its rollback plan
