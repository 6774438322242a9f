"""One file per action kind: the plan, the pre-state it expects, the rollback plan."""

from spendpilot.actions.base import (
    ACTIONS,
    Action,
    ActionContext,
    all_actions,
    get_action,
    pre_state_differences,
    register_action,
)

__all__ = ["ACTIONS", "Action", "ActionContext", "all_actions", "get_action", "pre_state_differences", "register_action"]
