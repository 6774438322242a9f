"""The chat copilot: read-only tools, answered by a configured model or, offline, by plain code.

Mutating tools are never given to the model. Offline mode is honest: it recognises a few
questions, answers them from the same tools, and says what it cannot do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool

from spendpilot.agent.definitions import AgentDefinition, load_agent
from spendpilot.domain import Proposal, ProposalStatus, format_money, totals_by_currency
from spendpilot.domain.reports import SpendLine
from spendpilot.errors import ConfigError

if TYPE_CHECKING:
    from spendpilot.agent.offline_answer import CopilotData

MAX_TOOL_ROUNDS = 5
_ID = re.compile(r"\bsp-[0-9a-f]{8}\b")


class CopilotTools:
    """The read-only functions both modes answer from."""

    def __init__(
        self,
        top_spend: Callable[[str, int, int], list[SpendLine]],
        list_proposals: Callable[[list[ProposalStatus] | None], list[Proposal]],
        get_proposal: Callable[[str], Proposal],
        similar_decisions: Callable[[str], list[dict[str, Any]]],
        data: CopilotData | None = None,
    ) -> None:
        self.data = data
        """What offline mode answers from (``agent.offline_answer``); None: it answers nothing."""
        self._top_spend = top_spend
        self._list = list_proposals
        self._get = get_proposal
        self._similar = similar_decisions

    def top_spend(self, by: str = "service", days: int = 30, limit: int = 5) -> str:
        lines = self._top_spend(by, days, limit)
        if not lines:
            return "No billing data in the lake yet (run `spendpilot ingest PATH`)."
        rows = "\n".join(f"- {ln.key}: {format_money(ln.cost, ln.currency)}" for ln in lines)
        return f"Top spend by {by}, last {days} days (FOCUS EffectiveCost):\n{rows}"

    def list_proposals(self) -> str:
        pending = self._list([ProposalStatus.PENDING])
        if not pending:
            return "No pending proposals."
        pending.sort(key=lambda p: p.estimate.expected.amount, reverse=True)
        total = " + ".join(str(m) for m in totals_by_currency(p.estimate.expected for p in pending))
        rows = "\n".join(
            f"- {p.id} {p.action} on {p.target.label()}: {p.estimate.expected}/month ({p.risk.value} risk)"
            for p in pending
        )
        return f"{len(pending)} pending proposals, {total}/month expected in total:\n{rows}"

    def explain_proposal(self, proposal_id: str) -> str:
        p = self._get(proposal_id)
        e = p.estimate
        evidence = "\n".join(f"- {ev.label}: {ev.value} [{ev.source}]" for ev in p.evidence + e.inputs)
        return (
            f"{p.id} ({p.status.value}): {p.summary}.\n"
            f"Plan: {p.plan.description}\n"
            f"Saving: {e.expected}/month expected, {e.low} to {e.high}.\n"
            f"How: {e.formula}\nEvidence:\n{evidence}\n"
            f"Risk: {p.risk.value}. Rollback: {p.plan.rollback_description}"
            + (f"\nNote: {p.note}" if p.note else "")
        )

    def savings_summary(self) -> str:
        done = self._list([ProposalStatus.EXECUTED])
        pending = self._list([ProposalStatus.PENDING])
        saved = " + ".join(str(m) for m in totals_by_currency(p.estimate.expected for p in done)) or "nothing"
        waiting = " + ".join(str(m) for m in totals_by_currency(p.estimate.expected for p in pending)) or "nothing"
        lines = [
            f"Executed {len(done)} proposal(s): {saved}/month expected saving. This is the estimate "
            "made when they were proposed; spendpilot does not yet measure the saving realized in billing."
        ]
        lines += [f"- {p.id} {p.action} on {p.target.label()}: {p.estimate.expected}/month" for p in done]
        lines.append(f"Still pending: {len(pending)} proposal(s) worth {waiting}/month.")
        return "\n".join(lines)

    def similar_past_decisions(self, description: str) -> str:
        found = self._similar(description)
        if not found:
            return "No similar past decisions in memory."
        return "\n".join(
            f"- {d['decision']} by {d['by']} on {d['target']}: {d['reason'] or '(no reason)'}" for d in found
        )

    def as_langchain_tools(self) -> list[BaseTool]:
        return [
            StructuredTool.from_function(self.top_spend, name="top_spend",
                                         description="Top spend from the FOCUS lake (the `spendpilot spend` query); by = service | account | subaccount | region | resource | provider | category | team | tag:<key>."),
            StructuredTool.from_function(self.list_proposals, name="list_proposals",
                                         description="Pending cost-saving proposals with expected monthly savings."),
            StructuredTool.from_function(self.explain_proposal, name="explain_proposal",
                                         description="Evidence, formula, plan and rollback of one proposal by id (sp-xxxxxxxx)."),
            StructuredTool.from_function(self.savings_summary, name="savings_summary",
                                         description="What executed proposals save and what is still pending."),
            StructuredTool.from_function(self.similar_past_decisions, name="similar_past_decisions",
                                         description="Past human decisions on similar proposals, from memory."),
        ]  # fmt: skip


def answer_offline(tools: CopilotTools, message: str, selected: str | None) -> str:
    """Answer the question asked from spendpilot's own data, or say plainly that it cannot.

    The question is parsed strictly (``agent.offline_question``) and answered from the same
    queries as the CLI (``agent.offline_answer``); never with another question's answer.
    """
    from spendpilot.agent.offline_answer import answer_question, cannot
    from spendpilot.agent.offline_question import parse_question

    question = parse_question(message, selected)
    if tools.data is None:
        return cannot(question, ["this copilot has no spend data wired to it"], None).text
    return answer_question(question, tools.data).text


def allowed_tools(tools: CopilotTools, definition: AgentDefinition) -> dict[str, BaseTool]:
    """The tools ``agents/copilot.md`` lists in its front-matter, and no others.

    A name there that no tool has is a mistake in the definition, refused with the known names.
    """
    available = {t.name: t for t in tools.as_langchain_tools()}
    unknown = sorted(set(definition.tools) - set(available))
    if unknown:
        raise ConfigError(
            f"{definition.path}: tools {', '.join(unknown)} do not exist; known: {', '.join(sorted(available))}"
        )
    return {name: available[name] for name in definition.tools}


def answer_with_model(model: BaseChatModel, tools: CopilotTools, message: str, selected: str | None) -> str:
    definition = load_agent("copilot")
    lc_tools = allowed_tools(tools, definition)
    bound = model.bind_tools(list(lc_tools.values()))
    context = f"The engineer has proposal {selected} selected." if selected else "No proposal is selected."
    messages: list[BaseMessage] = [
        SystemMessage(content=definition.system_prompt + "\n\n" + context),
        HumanMessage(content=message),
    ]
    for _ in range(MAX_TOOL_ROUNDS):
        reply = bound.invoke(messages)
        messages.append(reply)
        calls = reply.tool_calls if isinstance(reply, AIMessage) else []
        if not calls:
            return str(reply.content)
        for call in calls:
            tool = lc_tools.get(call["name"])
            try:
                result = tool.invoke(call["args"]) if tool else f"unknown tool {call['name']}"
            except Exception as exc:  # a tool error is an answer the model can read
                result = f"error: {exc}"
            messages.append(ToolMessage(content=str(result), tool_call_id=call["id"]))
    return "I could not finish within the tool-call limit; here is what I found:\n" + json.dumps(
        [m.content for m in messages if isinstance(m, ToolMessage)], indent=1
    )
