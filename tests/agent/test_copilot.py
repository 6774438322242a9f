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


def test_offline_mode_answers_the_three_questions_honestly() -> None:
    tools = _tools()
    assert "Amazon Elastic Compute Cloud: $1,234.50" in answer_offline(tools, "top spend?", None)
    why = answer_offline(tools, "why this proposal", "sp-00000001")
    assert "price x 730 h" in why and "$884.76" in why and "GPU p95: 0.4%" in why
    saved = answer_offline(tools, "what did we save", None)
    assert "Executed 1 proposal(s): $100.00/month" in saved and "Still pending: 1" in saved
    assert "Offline mode" in answer_offline(tools, "tell me a joke", None)


# The model path (LangGraph agent, tools chosen by agents/copilot.md): tests/agent/test_copilot_graph.py.
