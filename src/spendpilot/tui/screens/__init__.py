"""Screens: the modal dialogs every decision goes through, the audit log and the dashboard."""

from spendpilot.tui.screens.audit import AuditScreen
from spendpilot.tui.screens.confirm import ConfirmApproveScreen
from spendpilot.tui.screens.dashboard import DashboardScreen
from spendpilot.tui.screens.reject import RejectReasonScreen

__all__ = ["AuditScreen", "ConfirmApproveScreen", "DashboardScreen", "RejectReasonScreen"]
