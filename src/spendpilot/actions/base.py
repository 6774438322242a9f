"""What every action kind provides: a plan (pure), and how to read, apply and verify it.

Reading and applying go through the adapters; an action never opens a connection itself.
Every action declares the permissions it needs, so spendpilot can print a least-privilege policy.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.domain import ActionPlan, Finding, ResourceRef, Risk


class Action(ABC):
    kind: ClassVar[str]
    permissions: ClassVar[tuple[str, ...]]

    @abstractmethod
    def risk(self, finding: Finding) -> Risk: ...

    @abstractmethod
    def build_plan(self, finding: Finding) -> ActionPlan: ...

    @abstractmethod
    def read_state(self, aws: AwsAdapter, target: ResourceRef) -> dict[str, Any] | None:
        """The fields the plan's expected pre-state talks about, as they are now (None: gone)."""

    @abstractmethod
    def apply(self, aws: AwsAdapter, plan: ActionPlan) -> dict[str, Any]: ...

    @abstractmethod
    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        """Whether ``state`` already shows the change: the basis of verify and of crash recovery."""

    def evidence_differences(self, aws: AwsAdapter, plan: ActionPlan) -> dict[str, tuple[Any, Any]]:
        """Field -> (what the plan assumed, what is measured now) for evidence that no longer holds.

        An approval can arrive days after the sweep. The pre-state catches configuration
        changes; this catches a resource whose *behaviour* changed (an idle GPU that is busy
        again). The default re-checks nothing: only actions whose case rests on a measurement
        override it.
        """
        return {}


_ACTIONS: dict[str, Action] = {}


def register_action(cls: type[Action]) -> type[Action]:
    if cls.kind in _ACTIONS:
        raise ValueError(f"action {cls.kind!r} registered twice")
    _ACTIONS[cls.kind] = cls()
    return cls


def _discover() -> None:
    import spendpilot.actions as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in ("base", "proposal") and not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")


def get_action(kind: str) -> Action:
    _discover()
    try:
        return _ACTIONS[kind]
    except KeyError:
        raise KeyError(f"no action registered for {kind!r}") from None


def all_actions() -> dict[str, Action]:
    _discover()
    return dict(sorted(_ACTIONS.items()))


def pre_state_differences(
    expected: dict[str, Any], current: dict[str, Any] | None
) -> dict[str, tuple[Any, Any]]:
    """Field -> (expected, now) for every field of the pre-state that no longer holds."""
    if current is None:
        return {"exists": (True, False)}
    return {k: (v, current.get(k)) for k, v in expected.items() if current.get(k) != v}
