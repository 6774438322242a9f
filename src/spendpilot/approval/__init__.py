"""Approval policy and the rule that an approval binds to exactly one plan hash."""

from spendpilot.approval.policy import ApprovalPolicy, check_approval

__all__ = ["ApprovalPolicy", "check_approval"]
