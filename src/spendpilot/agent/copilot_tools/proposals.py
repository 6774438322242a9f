"""Read-only tools over the queue: list, explain, what was saved, past decisions.

Savings here are the estimates made when proposing. The saving realized in billing is the
``realized_savings`` tool (``copilot_tools/allocation.py``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from spendpilot.agent.copilot_tools import CopilotDeps, NoArgs, copilot_tool
from spendpilot.domain import Proposal, ProposalStatus, totals_by_currency


class ListArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["pending", "approved", "executed", "rejected", "failed", "drifted", "all"] = Field(
        "pending", description="Which proposals; pending = waiting for a human decision.")
    limit: int = Field(20, ge=1, le=100)


class ProposalArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    proposal_id: str = Field(pattern=r"^(sp|rb)-[0-9a-f]{8}$", description="A proposal id, e.g. sp-1a2b3c4d.")


class SimilarArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=3, max_length=500, description="What the proposal is about.")


def _total(proposals: list[Proposal]) -> str:
    return " + ".join(str(m) for m in totals_by_currency(p.estimate.expected for p in proposals)) or "nothing"


def _line(p: Proposal) -> str:
    return (f"- {p.id} [{p.status.value}] {p.action} on {p.target.label()}: {p.estimate.expected}/month expected "
            f"({p.risk.value} risk; rule {p.rule})")


@copilot_tool("list_proposals", ListArgs,
              "Cost-saving proposals in the queue with their expected monthly saving, largest first.")
def list_proposals(deps: CopilotDeps, args: ListArgs) -> str:
    statuses = None if args.status == "all" else [ProposalStatus(args.status)]
    found = deps.store.list_proposals(statuses)
    if not found:
        return f"No {args.status} proposals."
    found.sort(key=lambda p: p.estimate.expected.amount, reverse=True)
    lines = [f"{len(found)} {args.status} proposal(s), {_total(found)}/month expected in total:"]
    lines += [_line(p) for p in found[: args.limit]]
    if len(found) > args.limit:
        lines.append(f"({len(found) - args.limit} more not shown)")
    return "\n".join(lines)


@copilot_tool("explain_proposal", ProposalArgs,
              "Evidence, formula, plan, risk and rollback of one proposal by id.")
def explain_proposal(deps: CopilotDeps, args: ProposalArgs) -> str:
    p = deps.store.get_proposal(args.proposal_id)
    e = p.estimate
    evidence = "\n".join(f"- {ev.label}: {ev.value} [{ev.source}]" for ev in p.evidence + e.inputs)
    return (
        f"{p.id} ({p.status.value}): {p.summary}.\nPlan: {p.plan.description}\n"
        f"Saving: {e.expected}/month expected, {e.low} to {e.high}.\nHow: {e.formula}\nEvidence:\n{evidence}\n"
        f"Risk: {p.risk.value}. Rollback: {p.plan.rollback_description}" + (f"\nNote: {p.note}" if p.note else "")
    )


@copilot_tool("savings_summary", NoArgs,
              "What executed proposals were estimated to save per month, and what is still pending "
              "(estimates; realized_savings has what the bill shows).")
def savings_summary(deps: CopilotDeps, args: NoArgs) -> str:
    done = deps.store.list_proposals([ProposalStatus.EXECUTED])
    pending = deps.store.list_proposals([ProposalStatus.PENDING])
    lines = [f"Executed {len(done)} proposal(s): {_total(done)}/month expected saving (the estimate made when "
             "proposed, not a saving measured in billing)."]
    lines += [_line(p) for p in done]
    lines.append(f"Still pending: {len(pending)} proposal(s) worth {_total(pending)}/month.")
    return "\n".join(lines)


@copilot_tool("similar_past_decisions", SimilarArgs,
              "Past human approvals and rejections of similar proposals, with their reasons, from memory.")
def similar_past_decisions(deps: CopilotDeps, args: SimilarArgs) -> str:
    found = deps.similar_decisions(args.description)
    if not found:
        return "No similar past decisions in memory."
    return "\n".join(f"- {d['decision']} by {d['by']} on {d['target']}: {d['reason'] or '(no reason)'}" for d in found)
