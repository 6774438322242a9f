"""Approve: the policy (an approval binds to exactly one plan hash, and expires) and the
decision use-cases (``service``)."""

from spendpilot.approval.policy import ApprovalPolicy, check_approval

__all__ = ["ApprovalPolicy", "check_approval"]
