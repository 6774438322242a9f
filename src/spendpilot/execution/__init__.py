"""Approval check -> drift re-check -> idempotent apply -> verify -> audit."""

from spendpilot.execution.executor import Executor

__all__ = ["Executor"]
