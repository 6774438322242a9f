"""One file per action kind: the plan, the pre-state it expects, the rollback."""

from spendpilot.actions.base import Action, all_actions, get_action, pre_state_differences
from spendpilot.actions.proposal import make_proposal

__all__ = ["Action", "all_actions", "get_action", "make_proposal", "pre_state_differences"]
