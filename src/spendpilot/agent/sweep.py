"""The sweep graph: collect -> detect -> estimate -> propose -> dedupe -> narrate -> persist.

Every node that touches money is plain code. The narrate node is the only one that may call a
language model, and only to write prose around numbers it is given.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph

from spendpilot.actions import make_proposal
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.agent.collect import collect_snapshot
from spendpilot.agent.definitions import load_agent
from spendpilot.checks import run_checks
from spendpilot.config import Settings
from spendpilot.domain import Finding, Money, Proposal, ProposalStatus, Snapshot, utcnow
from spendpilot.domain.reports import SweepReport
from spendpilot.memory.decisions import DecisionMemory
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate
from spendpilot.state import StateStore

log = logging.getLogger(__name__)


class SweepState(TypedDict, total=False):
    sweep_id: str
    started_at: datetime
    snapshot: Snapshot
    warnings: list[str]
    findings: list[Finding]
    proposals: list[Proposal]
    suppressed: list[str]
    report: SweepReport


@dataclass
class SweepDeps:
    settings: Settings
    store: StateStore
    prices: PriceBook
    aws: AwsAdapter | None
    memory: DecisionMemory | None
    model: BaseChatModel | None
    start_remediation: Any  # Callable[[Proposal], None]


def build_sweep_graph(deps: SweepDeps) -> Any:
    def collect(state: SweepState) -> SweepState:
        snapshot, warnings = collect_snapshot(deps.settings, deps.aws, deps.prices, state["started_at"])
        return {"snapshot": snapshot, "warnings": warnings}

    def detect(state: SweepState) -> SweepState:
        return {"findings": run_checks(state["snapshot"], deps.prices, deps.settings.checks)}

    def propose(state: SweepState) -> SweepState:
        proposals: list[Proposal] = []
        warnings = list(state.get("warnings", []))
        for finding in state["findings"]:
            est = estimate(finding, deps.prices)
            if est is None:
                warnings.append(f"{finding.rule} on {finding.resource.ref.label()}: no price, not proposed")
                continue
            proposals.append(make_proposal(finding, est, sweep_id=state["sweep_id"]))
        return {"proposals": proposals, "warnings": warnings}

    def dedupe(state: SweepState) -> SweepState:
        kept: list[Proposal] = []
        suppressed: list[str] = []
        for p in state["proposals"]:
            past = deps.memory.rejection_for(p.fingerprint) if deps.memory else None
            if past is not None and past.evidence_digest == p.evidence_digest:
                suppressed.append(
                    f"{p.action} on {p.target.label()}: rejected by {past.by} ({past.reason}); "
                    "evidence unchanged"
                )
                continue
            if past is not None:
                p = p.model_copy(
                    update={
                        "note": f"Previously rejected by {past.by} ({past.reason}); the evidence has "
                        "changed since, so it is proposed again."
                    }
                )
            kept.append(p)
        return {"proposals": kept, "suppressed": suppressed}

    def narrate(state: SweepState) -> SweepState:
        return {"proposals": [_narrate(deps.model, p) for p in state["proposals"]]}

    def persist(state: SweepState) -> SweepState:
        report = SweepReport(
            sweep_id=state["sweep_id"],
            findings=len(state["findings"]),
            sources=state["snapshot"].sources + [f"warning: {w}" for w in state.get("warnings", [])],
            suppressed=state.get("suppressed", []),
        )
        found_fingerprints = {p.fingerprint: p.id for p in state["proposals"]}
        for old in deps.store.list_proposals([ProposalStatus.PENDING]):
            if found_fingerprints.get(old.fingerprint, old.id) != old.id:
                deps.store.set_status(
                    old.id, ProposalStatus.SUPERSEDED, actor="sweep",
                    note=f"superseded by {found_fingerprints[old.fingerprint]} (evidence changed)",
                )
        total = Money.usd(Decimal(0))
        for p in state["proposals"]:
            if deps.store.upsert_proposal(p):
                report.new_proposals.append(p.id)
                deps.start_remediation(p)
            else:
                report.unchanged_proposals.append(p.id)
            if deps.store.get_proposal(p.id).status is ProposalStatus.PENDING:
                total = total + p.estimate.expected
        report.total_expected_monthly = total.rounded()
        deps.store.record_sweep(state["sweep_id"], state["started_at"], report.model_dump(mode="json"))
        return {"report": report}

    graph = StateGraph(SweepState)
    for name, fn in [
        ("collect", collect), ("detect", detect), ("propose", propose), ("dedupe", dedupe),
        ("narrate", narrate), ("persist", persist),
    ]:
        graph.add_node(name, fn)
    graph.add_edge(START, "collect")
    graph.add_edge("collect", "detect")
    graph.add_edge("detect", "propose")
    graph.add_edge("propose", "dedupe")
    graph.add_edge("dedupe", "narrate")
    graph.add_edge("narrate", "persist")
    graph.add_edge("persist", END)
    return graph.compile()


def run_sweep(deps: SweepDeps, now: datetime | None = None) -> SweepReport:
    sweep_id = "sw-" + uuid.uuid4().hex[:10]
    result = build_sweep_graph(deps).invoke({"sweep_id": sweep_id, "started_at": now or utcnow()})
    return result["report"]


def _narrate(model: BaseChatModel | None, p: Proposal) -> Proposal:
    """A plain-words paragraph for the reviewer. Offline: built from the numbers; with a model:
    the model rewrites those same facts. Resource names are data, fenced as such."""
    e = p.estimate
    plain = (
        f"{p.summary}. {p.plan.description} Estimated saving {e.expected} per month "
        f"(range {e.low} to {e.high}); risk {p.risk.value}."
    )
    if model is None:
        return p.model_copy(update={"narrative": plain})
    try:
        definition = load_agent("sweep")
        reply = model.invoke(
            [
                SystemMessage(content=definition.system_prompt),
                HumanMessage(content=f"<proposal_facts>\n{plain}\n</proposal_facts>"),
            ]
        )
        text = str(reply.content).strip() or plain
    except Exception as exc:  # the narrative is optional; a model outage must not stop a sweep
        log.warning("narration failed, using the plain text: %s", exc)
        text = plain
    return p.model_copy(update={"narrative": text})
