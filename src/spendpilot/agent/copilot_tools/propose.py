"""``propose_action``: the copilot queues a suggestion for a human, and can do nothing more.

What it can and cannot do, by construction rather than by prompt:

- It builds a ``copilot_suggestion`` finding and goes through the same path as a sweep
  (``make_proposal`` -> ``queue_proposal``), so the result is an ordinary **pending** proposal.
  Nothing here calls ``Approvals`` or the executor; no tool of the copilot does.
- The plan is advisory (``actions/copilot_suggestion.py``): even once a human approves it,
  "executing" it changes nothing anywhere; the human follows the steps.
- No number the model writes becomes money. The estimate is 0 expected, with the scope's own
  spend over the last 30 days of data (read from the lake) as the upper bound, and says so.
- A suggestion a human rejected is not queued again with the same steps.
- Who proposed it and why are recorded: the audit event "proposed" has the actor
  ``copilot`` and, in its payload, the rationale, the conversation, the model and the person
  chatting.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from spendpilot.actions.copilot_suggestion import COPILOT_SUGGESTION, CopilotSuggestionFacts
from spendpilot.agent.copilot_tools import CopilotDeps, copilot_tool
from spendpilot.domain import (
    Estimate,
    Evidence,
    Finding,
    Money,
    ProposalStatus,
    Resource,
    ResourceRef,
)
from spendpilot.domain.money import format_money
from spendpilot.errors import BadArgument, NoSpendData

COPILOT_ACTOR = "copilot"
BASIS_DAYS = 30

_ONE_LINE = r"^[^\n\r]*$"


class ProposeActionArgs(BaseModel):
    """The model's suggestion. Bounded and single-line where a reviewer reads it in a list."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=5, max_length=160, pattern=_ONE_LINE,
                       description="One line: the change, e.g. 'Delete idle SageMaker endpoint fraud-v1'.")
    target_provider: str = Field(pattern=r"^[a-z0-9_-]{2,32}$", description="aws, kubernetes, openai, ...")
    target_kind: str = Field(pattern=r"^[a-z0-9_]{2,48}$", description="ec2_instance, sagemaker_endpoint, llm_feature, ...")
    target_id: str = Field(min_length=1, max_length=256, pattern=_ONE_LINE, description="The resource's id.")
    target_name: str | None = Field(None, max_length=256, pattern=_ONE_LINE)
    target_region: str | None = Field(None, max_length=32, pattern=r"^[a-z0-9-]+$")
    target_account: str | None = Field(None, max_length=64, pattern=_ONE_LINE)
    spend_scope: str = Field(
        min_length=3, max_length=300, pattern=_ONE_LINE,
        description="A spend filter KEY=VALUE naming what the change would save on, e.g. resource=i-0abc or "
        "service=Amazon SageMaker or feature=support-bot; its last 30 days of spend bound the saving.",
    )
    rationale: str = Field(min_length=20, max_length=2000,
                           description="Why, citing the tool results of this conversation it rests on.")
    steps: list[str] = Field(min_length=1, max_length=8, description="What a human would do, step by step.")
    risk: Literal["low", "medium", "high"] = "medium"

    @field_validator("steps")
    @classmethod
    def _steps(cls, steps: list[str]) -> list[str]:
        cleaned = [s.strip() for s in steps]
        if any(not s or len(s) > 400 for s in cleaned):
            raise ValueError("each step is 1 to 400 characters")
        return cleaned


def _scope_spend(deps: CopilotDeps, scope: str) -> tuple[Money, Evidence]:
    """The scope's spend over the last ``BASIS_DAYS`` days of data: the most this change can save."""
    from spendpilot.lake.spend import build_query, parse_filter, run_spend_query

    query = build_query(where=[parse_filter(scope)], last_days=BASIS_DAYS)
    try:
        result = run_spend_query(deps.lake_dir, query)
    except NoSpendData:
        result = None
    if result is None or not result.totals:
        return Money.usd(0), Evidence(label=f"Spend of {scope}", value="none found in the lake", source="cost lake")
    top = max(result.totals, key=lambda t: t.amount)
    others = [format_money(t.amount, t.currency) for t in result.totals if t is not top]
    value = format_money(top.amount, top.currency) + (f" (also {', '.join(others)})" if others else "")
    source = "FOCUS billing" if result.source.value == "focus" else "LLM usage"
    evidence = Evidence(label=f"Spend of {scope}, {result.start} to {result.end}", value=value,
                        source=f"cost lake ({source}, {result.metric})")
    return Money.of(top.amount, top.currency), evidence


@copilot_tool(
    "propose_action", ProposeActionArgs,
    "Queue a suggested change as a PENDING proposal for a human to review. It does not approve or "
    "change anything; a human decides in the queue. Use only when the engineer asks for it, and give "
    "the rationale from this conversation's tool results.",
)
def propose_action(deps: CopilotDeps, args: ProposeActionArgs) -> str:
    from spendpilot.proposals.lifecycle import make_proposal, queue_proposal

    try:
        upper, basis = _scope_spend(deps, args.spend_scope)
    except BadArgument as exc:
        return f"error: spend_scope {args.spend_scope!r}: {exc}"
    ref = ResourceRef(provider=args.target_provider, kind=args.target_kind, id=args.target_id,
                      name=args.target_name, region=args.target_region, account=args.target_account)
    facts = CopilotSuggestionFacts(
        title=args.title, steps=tuple(args.steps), rationale=args.rationale, risk=args.risk,
        proposed_by=f"{COPILOT_ACTOR} ({deps.model_name})", conversation_id=deps.conversation_id,
    )
    finding = Finding[CopilotSuggestionFacts](
        resource=Resource(ref=ref), summary=args.title, facts=facts, rule=COPILOT_SUGGESTION,
        action_kind=COPILOT_SUGGESTION,
        evidence=[Evidence(label="Rationale (the copilot's words)", value=args.rationale,
                           source=f"copilot conversation {deps.conversation_id}, asked by {deps.on_behalf_of}")],
    )
    zero = Money.of(Decimal(0), upper.currency)
    estimate = Estimate(
        low=zero, expected=zero, high=upper,
        formula=f"Not estimated: suggested by the copilot, and spendpilot does not take savings from a "
        f"language model. The upper bound is everything {args.spend_scope} cost over the last {BASIS_DAYS} "
        "days of data; a human judges the rest.",
        inputs=[basis],
    )
    proposal = make_proposal(finding, estimate)
    rejected = next((p for p in deps.store.list_proposals([ProposalStatus.REJECTED])
                     if p.fingerprint == proposal.fingerprint and p.plan_hash == proposal.plan_hash), None)
    if rejected is not None:  # as for sweeps, a human's rejection stands until the plan changes
        return (f"A human already rejected this same suggestion ({rejected.id}"
                + (f": {rejected.note}" if rejected.note else "") + "); it was not queued again.")
    open_one = next(
        (p for p in deps.store.list_proposals([ProposalStatus.PENDING, ProposalStatus.APPROVED])
         if p.fingerprint == proposal.fingerprint),
        None,
    )
    stored = queue_proposal(
        deps.store, proposal, open_one, actor=COPILOT_ACTOR,
        detail={"rationale": args.rationale, "conversation_id": deps.conversation_id,
                "model": deps.model_name, "on_behalf_of": deps.on_behalf_of},
    )
    if stored is None:
        assert open_one is not None
        return f"Already in the queue as {open_one.id} ({open_one.status.value}); nothing new was queued."
    return (f"Queued {stored.id} as a pending advisory proposal: {stored.plan.description}. A human reviews it "
            "in the queue (approve or reject); spendpilot changes nothing for it.")
