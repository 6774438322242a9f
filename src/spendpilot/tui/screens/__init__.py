"""Modal screens: every decision a human makes goes through one of these."""

from spendpilot.tui.screens.confirm import ConfirmApproveScreen
from spendpilot.tui.screens.reject import RejectReasonScreen

__all__ = ["ConfirmApproveScreen", "RejectReasonScreen"]
