"""Deterministic waste detection: one file per check, each a pure function of a Snapshot."""

from spendpilot.checks.registry import CHECKS, CheckSpec, all_checks, register_check, run_checks

__all__ = ["CHECKS", "CheckSpec", "all_checks", "register_check", "run_checks"]
