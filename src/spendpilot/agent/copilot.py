"""The chat copilot: read-only tools, answered by a configured model or, offline, by plain code.

Mutating tools are never given to the model. Offline mode is honest: it recognises a few
questions, answers them from the same tools, and says what it cannot do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.tools import BaseTool, StructuredTool

from spendpilot.agent.definitions import AgentDefinition, load_agent
from spendpilot.domain import Proposal, ProposalStatus, format_money, totals_by_currency
from spendpilot.domain.reports import SpendLine

if TYPE_CHECKING:
    from spendpilot.agent.copilot_graph import CopilotTurn
    from spendpilot.agent.copilot_tools import CopilotDeps
    from spendpilot.agent.llm_usage import UsageTally
    from spendpilot.agent.offline_answer import CopilotData

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
            "made when they were proposed; the saving realized in billing is `spendpilot savings`."
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


def allowed_tools(deps: CopilotDeps, definition: AgentDefinition) -> dict[str, BaseTool]:
    """The tools ``agents/copilot.md`` lists in its front-matter, and no others
    (``copilot_tools.select_tools``; an unknown name is refused with the known ones)."""
    from spendpilot.agent.copilot_tools import select_tools

    return {t.name: t for t in select_tools(deps, definition.tools, where=str(definition.path))}


def answer_with_model(
    model: BaseChatModel, deps: CopilotDeps, message: str, selected: str | None, *,
    definition: AgentDefinition | None = None, tally: UsageTally | None = None,
    max_model_calls: int | None = None, history: Sequence[BaseMessage] = (),
) -> CopilotTurn:
    """Answer with the LangGraph tool-calling agent (``agent/copilot_graph.py``), its tools and
    prompt from ``agents/copilot.md``. ``tally`` collects the turn's token usage for the caller
    to store (``agent/llm_usage.py``)."""
    from spendpilot.agent.copilot_graph import DEFAULT_MAX_MODEL_CALLS, run_copilot

    definition = definition or load_agent("copilot")
    tools = allowed_tools(deps, definition)
    context = f"The engineer has proposal {selected} selected." if selected else "No proposal is selected."
    return run_copilot(
        model, list(tools.values()), definition.system_prompt + "\n\n" + context, message, tally=tally,
        max_model_calls=max_model_calls or DEFAULT_MAX_MODEL_CALLS, history=history,
    )
