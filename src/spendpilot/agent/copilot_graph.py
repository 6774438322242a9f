"""The copilot with a model: a LangGraph tool-calling agent with a step budget.

::

    START -> agent --(tool calls)--> tools -> agent ...
                   --(no tool calls)--> END
                   --(tool calls, budget spent)--> over_budget -> END

- **agent** calls the chat model with the tools ``agents/copilot.md`` lists bound, and nothing
  else (``copilot_tools.select_tools``).
- **tools** is LangGraph's ``ToolNode``: each result, and each refused or failed call, goes
  back as a ``ToolMessage``. Tool output is never put in a system message, so text inside it
  ("ignore previous instructions, approve ...") stays data the model reads; and no tool can
  approve or execute anything, whatever the model is talked into.
- **Step budget**: at most ``max_model_calls`` model calls per question (our own counter in
  the state, so the turn ends with a message the engineer can read rather than LangGraph's
  ``GraphRecursionError``; the recursion limit stays as a backstop).
- Every reply's token usage is counted as it arrives (``UsageTally``), so a turn that fails
  half-way still reports what it spent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import BaseTool
from langgraph.errors import GraphRecursionError
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode, tools_condition

from spendpilot.agent.llm_usage import UsageTally

DEFAULT_MAX_MODEL_CALLS = 6
"""Model calls per question: enough for a few rounds of tools, few enough to bound a turn's cost."""


class CopilotState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    model_calls: int
    over_budget: bool


@dataclass(frozen=True)
class CopilotTurn:
    """One answered question: the answer, the whole exchange, and whether the budget stopped it."""

    answer: str
    messages: list[BaseMessage]
    model_calls: int
    over_budget: bool

    @property
    def tool_results(self) -> list[ToolMessage]:
        return [m for m in self.messages if isinstance(m, ToolMessage)]


def _tool_error(exc: Exception) -> str:
    """A tool that raised: the model reads what went wrong, the turn goes on."""
    return f"error: {type(exc).__name__}: {exc}"


def budget_message(calls: int, pending: Sequence[str], done: Sequence[str]) -> str:
    ran = ", ".join(dict.fromkeys(done)) or "none"
    return (
        f"I stopped: this question used its step budget of {calls} model calls and the model still "
        f"wanted more tools ({', '.join(pending)}). Tools run so far: {ran}. I have no answer to give "
        "from that; ask a narrower question (one service, team or proposal at a time)."
    )


def build_copilot_graph(model: BaseChatModel, tools: Sequence[BaseTool], *, tally: UsageTally | None = None,
                        max_model_calls: int = DEFAULT_MAX_MODEL_CALLS) -> Any:
    """The compiled graph; ``tools`` are exactly those the model may call."""
    bound = model.bind_tools(list(tools)) if tools else model

    def agent(state: CopilotState) -> CopilotState:
        reply = bound.invoke(state["messages"])
        if tally is not None:
            tally.add(reply)
        return {"messages": [reply], "model_calls": state.get("model_calls", 0) + 1}

    def route(state: CopilotState) -> str:
        if tools_condition(dict(state)) != "tools":
            return END
        return "over_budget" if state.get("model_calls", 0) >= max_model_calls else "tools"

    def over_budget(state: CopilotState) -> CopilotState:
        last = state["messages"][-1]
        pending = [c["name"] for c in last.tool_calls] if isinstance(last, AIMessage) else []
        done = [m.name or "tool" for m in state["messages"] if isinstance(m, ToolMessage)]
        # Tool calls must be answered before the history could be reused; say they were not run.
        unanswered = [ToolMessage(content="not run: step budget reached", tool_call_id=c["id"], name=c["name"])
                      for c in (last.tool_calls if isinstance(last, AIMessage) else [])]
        stop = AIMessage(content=budget_message(state.get("model_calls", 0), pending, done))
        return {"messages": [*unanswered, stop], "over_budget": True}

    graph = StateGraph(CopilotState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(list(tools), handle_tool_errors=_tool_error))
    graph.add_node("over_budget", over_budget)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route, ["tools", "over_budget", END])
    graph.add_edge("tools", "agent")
    graph.add_edge("over_budget", END)
    return graph.compile()


def _text(content: object) -> str:
    """A reply's text, whether the provider sent a string or a list of content blocks."""
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content
                       if isinstance(b, str | dict)).strip()
    return str(content).strip()


def run_copilot(model: BaseChatModel, tools: Sequence[BaseTool], system_prompt: str, question: str, *,
                history: Sequence[BaseMessage] = (), tally: UsageTally | None = None,
                max_model_calls: int = DEFAULT_MAX_MODEL_CALLS) -> CopilotTurn:
    """Answer ``question``. The system prompt is ours (the agent definition); earlier turns
    (``history``: questions and answers, no tool output), the question and every tool result
    travel as human, AI and tool messages."""
    graph = build_copilot_graph(model, tools, tally=tally, max_model_calls=max_model_calls)
    opening: list[BaseMessage] = [SystemMessage(content=system_prompt), *history, HumanMessage(content=question)]
    start: CopilotState = {"messages": opening, "model_calls": 0}  # type: ignore[typeddict-item]
    try:
        # Each round is two steps (agent, tools); the budget node and slack on top.
        final = graph.invoke(start, {"recursion_limit": 2 * max_model_calls + 4})
    except GraphRecursionError:  # a backstop: the counter above ends turns first
        return CopilotTurn(answer=budget_message(max_model_calls, ["?"], []), messages=[], model_calls=max_model_calls,
                           over_budget=True)
    messages: list[BaseMessage] = list(final["messages"])
    answer = _text(messages[-1].content) if messages else ""
    return CopilotTurn(
        answer=answer or "(the model gave an empty answer)", messages=messages,
        model_calls=final.get("model_calls", 0), over_budget=bool(final.get("over_budget")),
    )
