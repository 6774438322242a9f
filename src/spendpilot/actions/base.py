"""What every action kind provides: a plan (pure), and how to read, apply and verify it.

Reading and applying go through the *target* of the resource (``ctx.target(ref)``: the AWS
client of its account and region, a Kubernetes API, a gateway config); an action never opens a
connection itself. Every action declares the permissions it needs, so spendpilot can print a
least-privilege policy, and the facts type it reads, so a check it cannot understand is refused
at start-up instead of failing mid-sweep.

A plan's rollback is itself a plan of the same action kind (the fields set back, the changed
state expected first), so undoing a change runs through the same executor: approval-bound,
ledgered, drift-checked and verified.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from spendpilot.adapters.base import Targets
from spendpilot.clock import SYSTEM_CLOCK, Clock
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk
from spendpilot.registry import Registry

if TYPE_CHECKING:
    from spendpilot.domain.snapshot import BudgetReading

F = TypeVar("F", bound=Facts)


class BudgetReader(Protocol):
    """Evaluates a kill-switch budget now, for an action whose case is "this budget is over"."""

    def reading(self, name: str) -> BudgetReading | None:
        """The budget as of the last day of data; None when it is no longer a kill-switch
        budget or has no data."""
        ...


@dataclass
class ActionContext:
    """What an action may use while executing: the targets to write through and the time."""

    targets: Targets
    clock: Clock = field(default=SYSTEM_CLOCK)
    budgets: BudgetReader | None = None
    """Re-reads budgets before a kill-switch action (``actions.budget_guard``); without one such
    an action drifts rather than act on a budget it cannot confirm is still over."""

    def target(self, ref: ResourceRef) -> Any:
        return self.targets.get(ref)

    def now(self) -> datetime:
        return self.clock.now()


class Action(ABC, Generic[F]):
    kind: ClassVar[str] = ""
    """Stamped by the registry from ``@register_action("...")``."""
    facts_model: ClassVar[type[Facts]]
    """The facts this action's plans are built from; a check's facts must be this type or a subclass."""
    permissions: ClassVar[tuple[str, ...]]
    resources: ClassVar[tuple[str, ...]] = ()
    """IAM resource ARNs (patterns) its writes can be scoped to; empty: ``*`` (no resource-level
    permissions, or not declared). ``spendpilot policy`` puts them in the action's statement."""
    statements: ClassVar[tuple[dict[str, Any], ...]] = ()
    """Whole IAM statements (``Action``, ``Resource``, optional ``Condition``), for an action whose
    calls scope differently (by ARN for some, by a tag condition for others). When set,
    ``spendpilot policy`` prints these instead of one statement built from ``resources``."""

    @abstractmethod
    def risk(self, finding: Finding[F]) -> Risk: ...

    @abstractmethod
    def build_plan(self, finding: Finding[F]) -> ActionPlan:
        """The change, the pre-state it expects, and its rollback plan (``ActionPlan.rollback``)."""

    @abstractmethod
    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        """The fields the plan's expected pre-state talks about, as they are now (None: gone)."""

    @abstractmethod
    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]: ...

    @abstractmethod
    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        """Whether ``state`` already shows the change: the basis of verify and of crash recovery."""

    def evidence_differences(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, tuple[Any, Any]]:
        """Field -> (what the plan assumed, what is measured now) for evidence that no longer holds.

        An approval can arrive days after the sweep. The pre-state catches configuration
        changes; this catches a resource whose *behaviour* changed (an idle GPU that is busy
        again). The default re-checks nothing: only actions whose case rests on a measurement
        override it.
        """
        return {}


def _stamp(action: Action[Any], kind: str) -> None:
    type(action).kind = kind


ACTIONS: Registry[Action[Any]] = Registry("actions", ("spendpilot.actions",), stamp=_stamp)

A = TypeVar("A", bound=type[Action[Any]])


def register_action(kind: str) -> Any:
    """Class decorator: ``@register_action("stop_instance")``."""

    def decorate(cls: A) -> A:
        ACTIONS.add(kind, cls(), origin=cls.__module__)
        return cls

    return decorate


def get_action(kind: str) -> Action[Any]:
    return ACTIONS.get(kind)


def all_actions() -> dict[str, Action[Any]]:
    return ACTIONS.items()


def pre_state_differences(
    expected: dict[str, Any], current: dict[str, Any] | None
) -> dict[str, tuple[Any, Any]]:
    """Field -> (expected, now) for every field of the pre-state that no longer holds."""
    if current is None:
        return {"exists": (True, False)}
    return {k: (v, current.get(k)) for k, v in expected.items() if current.get(k) != v}
