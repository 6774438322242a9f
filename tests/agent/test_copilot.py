"""The copilot in offline mode (the model path: ``test_copilot_graph.py``)."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.agent.copilot import CopilotTools, answer_offline
from spendpilot.domain import (
    ActionPlan,
    Estimate,
    Evidence,
    Money,
    Proposal,
    ProposalStatus,
    ResourceRef,
    Risk,
)
from spendpilot.domain.reports import SpendLine
from spendpilot.errors import NoSpendData


def _proposal(pid: str, expected: str, status: ProposalStatus = ProposalStatus.PENDING) -> Proposal:
    ref = ResourceRef(provider="aws", kind="ec2_instance", id=f"i-{pid}", name=f"box-{pid}")
    plan = ActionPlan(
        action="stop_instance", target=ref, change={"state": "stopped"}, expected_pre_state={"state": "running"},
        rollback_description="start it again", description="Stop it.",
    )
    amount = Money.usd(Decimal(expected))
    return Proposal(
        id=pid, rule="idle_gpu_instance", action="stop_instance", target=ref, summary="idle GPUs",
        estimate=Estimate(low=amount, expected=amount, high=amount, formula="price x 730 h",
                          inputs=[Evidence(label="On-demand price", value="$1.212/h", source="price book")]),
        plan=plan, risk=Risk.LOW, evidence=[Evidence(label="GPU p95", value="0.4%", source="CloudWatch")],
        status=status, fingerprint=pid, evidence_digest="d",
    )


PROPOSALS = [_proposal("sp-00000001", "884.76"), _proposal("sp-00000002", "100", ProposalStatus.EXECUTED)]


def _tools() -> CopilotTools:
    return CopilotTools(
        top_spend=lambda by, days, limit: [SpendLine(key="Amazon Elastic Compute Cloud", cost=Decimal("1234.5"))],
        list_proposals=lambda statuses: [p for p in PROPOSALS if statuses is None or p.status in statuses],
        get_proposal=lambda pid: next(p for p in PROPOSALS if p.id == pid),
        similar_decisions=lambda text: [],
    )


class _NoLake:
    """``CopilotData`` over the proposals above and a lake with nothing ingested yet."""

    def spend(self, query: object) -> object:
        raise NoSpendData("the lake holds no billing data yet; run `spendpilot ingest PATH` first")

    forecast = budgets = anomalies = spend

    def realized_savings(self, *args: object, **kwargs: object) -> object:
        raise NoSpendData("the lake holds no billing data yet; run `spendpilot ingest PATH` first")

    chargeback = realized_savings

    def list_proposals(self, statuses: list[ProposalStatus] | None = None) -> list[Proposal]:
        return [p for p in PROPOSALS if statuses is None or p.status in statuses]

    def get_proposal(self, proposal_id: str) -> Proposal:
        return next(p for p in PROPOSALS if p.id == proposal_id)


def test_offline_mode_answers_what_it_can_and_says_what_it_cannot() -> None:
    """The 20-question table on the demo lake is tests/agent/test_offline_answer.py."""
    tools = CopilotTools(top_spend=_tools()._top_spend, list_proposals=_NoLake().list_proposals,
                         get_proposal=_NoLake().get_proposal, similar_decisions=lambda text: [], data=_NoLake())
    why = answer_offline(tools, "why this proposal", "sp-00000001")
    assert "price x 730 h" in why and "$884.76" in why and "GPU p95: 0.4%" in why
    assert answer_offline(tools, "top 5 services last week", None).startswith(
        "I can't answer that offline: the lake holds no billing data yet")
    saved = answer_offline(tools, "what did we save", None)  # realized savings are measured in the bill
    assert saved.startswith("I can't answer that offline: the lake holds no billing data yet")
    assert "$100" not in saved, "the executed proposal's estimate is not offered as what was saved"
    assert answer_offline(tools, "tell me a joke", None).startswith("I can't answer that offline")
    assert answer_offline(_tools(), "why this proposal", "sp-00000001").startswith(
        "I can't answer that offline: this copilot has no spend data wired to it")


# The model path (LangGraph agent, tools chosen by agents/copilot.md): tests/agent/test_copilot_graph.py.
