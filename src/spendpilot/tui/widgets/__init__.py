"""Widgets of the main screen. They render what they are given and post messages upward."""

from spendpilot.tui.widgets.chat import ChatPane
from spendpilot.tui.widgets.detail import ProposalDetail
from spendpilot.tui.widgets.proposals import ProposalQueue
from spendpilot.tui.widgets.spend import SpendStrip

__all__ = ["ChatPane", "ProposalDetail", "ProposalQueue", "SpendStrip"]
