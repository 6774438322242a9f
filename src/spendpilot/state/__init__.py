"""Operational state: proposals, decisions, the execution ledger, the hash-chained audit log."""

from spendpilot.state.store import StateStore

__all__ = ["StateStore"]
