"""The copilot's tools: one registry, one function per tool, chosen by ``agents/copilot.md``.

A tool is a plain function ``(deps, args) -> str`` with a pydantic model for its arguments,
registered with ``@copilot_tool(name, Args, description)``::

    @copilot_tool("chargeback", ChargebackArgs, "Allocated cost by team and feature ...")
    def chargeback(deps: CopilotDeps, args: ChargebackArgs) -> str:
        ...

Adding a tool is that function in a module of this package (found by the same ``Registry``
discovery as checks and actions; entry-point group ``spendpilot.copilot_tools`` for a team's
own) plus its name in the ``tools:`` list of ``agents/copilot.md``. A tool not listed there is
never given to the model (``select_tools``).

Why strings: a tool's result goes to the model as a ``ToolMessage`` and nowhere else. It is
data the model reads (resource names and tags in it come from whoever can tag a resource), so
tools format facts and never instructions; the graph never promotes a result to system text.

Why the argument models: the model's arguments are untrusted input. Pydantic refuses a bad
one before the function runs, and the refusal goes back to the model as the tool's result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from spendpilot.clock import SYSTEM_CLOCK, Clock
from spendpilot.errors import ConfigError, SpendpilotError
from spendpilot.registry import Registry

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from spendpilot.allocation.settings import ChargebackSettings
    from spendpilot.outlook.anomalies import AnomalyReport
    from spendpilot.outlook.budgets import BudgetStatus
    from spendpilot.savings.realized import RealizedSettings
    from spendpilot.state import StateStore

A = TypeVar("A", bound=BaseModel)


class NoArgs(BaseModel):
    """For tools that take no arguments; unknown ones are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class CopilotDeps:
    """What the tools read through, and who the copilot is working for.

    Real components, wired by ``runtime.LocalServices.copilot_deps``; tests build the same
    from a lake and a state store on disk.
    """

    lake_dir: Path
    store: StateStore
    budgets: Callable[[], tuple[list[BudgetStatus], list[str]]]
    anomalies: Callable[[], AnomalyReport]
    similar_decisions: Callable[[str], list[dict[str, Any]]]
    conversation_id: str
    on_behalf_of: str
    """The person chatting (the TUI's approver name): recorded with anything the copilot queues."""
    model_name: str = "unknown"
    chargeback: ChargebackSettings | None = None
    """``[chargeback]`` owner rules; None: the defaults."""
    realized: RealizedSettings | None = None
    """``[realized]`` window; None: the defaults."""
    clock: Clock = SYSTEM_CLOCK
    """When "now" is, for what is ready to measure."""


@dataclass(frozen=True)
class ToolSpec(Generic[A]):
    name: str
    args: type[A]
    description: str
    run: Callable[[CopilotDeps, A], str]


COPILOT_TOOLS: Registry[ToolSpec[Any]] = Registry("copilot_tools", ("spendpilot.agent.copilot_tools",))


def copilot_tool(name: str, args: type[A], description: str) -> Callable[[Callable[[CopilotDeps, A], str]], Callable[[CopilotDeps, A], str]]:
    """Register ``fn`` as the copilot tool ``name`` taking ``args``; ``description`` is what the
    model reads to choose it."""

    def register(fn: Callable[[CopilotDeps, A], str]) -> Callable[[CopilotDeps, A], str]:
        COPILOT_TOOLS.add(name, ToolSpec(name=name, args=args, description=description, run=fn), origin=fn.__module__)
        return fn

    return register


def _as_langchain(spec: ToolSpec[Any], deps: CopilotDeps) -> BaseTool:
    from langchain_core.tools import StructuredTool

    def call(**kwargs: Any) -> str:
        args = spec.args.model_validate(kwargs)
        try:
            return spec.run(deps, args)
        except SpendpilotError as exc:  # a named, user-facing problem is an answer the model can read
            return f"error: {exc}"

    return StructuredTool.from_function(func=call, name=spec.name, description=spec.description,
                                        args_schema=spec.args)


def select_tools(deps: CopilotDeps, names: Sequence[str], *, where: str = "agents/copilot.md") -> list[BaseTool]:
    """The tools ``names`` lists (the agent definition's ``tools:``), and no others.

    A name no tool has is a mistake in the definition, refused with the known names.
    """
    known = COPILOT_TOOLS.items()
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ConfigError(f"{where}: tools {', '.join(unknown)} do not exist; known: {', '.join(known)}")
    return [_as_langchain(known[name], deps) for name in dict.fromkeys(names)]


__all__ = ["COPILOT_TOOLS", "CopilotDeps", "NoArgs", "ToolSpec", "copilot_tool", "select_tools"]
