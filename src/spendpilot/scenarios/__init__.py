"""Scenario folders: a hand-written organisation (resources, metrics, billing, LLM usage,
expected proposals) that the demo seeds into an emulator and the eval runner scores against."""

from spendpilot.scenarios.model import Scenario, load_scenario, locate_scenario

__all__ = ["Scenario", "load_scenario", "locate_scenario"]
