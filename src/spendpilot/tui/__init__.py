"""The Textual front-end: ``run_tui(services)`` or embed ``SpendpilotApp`` yourself."""

from spendpilot.tui.app import SpendpilotApp, run_tui

__all__ = ["SpendpilotApp", "run_tui"]
