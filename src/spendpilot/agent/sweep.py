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
from langgraph.graph import END, START, StateGraph

from spendpilot.actions import make_proposal
from spendpilot.actions.proposal import SAVING_GROWTH_TO_REPROPOSE, proposal_id
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.agent.collect import collect_snapshot
from spendpilot.agent.narrate import narrate_proposal
from spendpilot.checks import run_checks
from spendpilot.config import Settings
from spendpilot.domain import Finding, Money, Proposal, ProposalStatus, Snapshot, utcnow
from spendpilot.domain.reports import SweepReport
from spendpilot.memory.decisions import DecisionMemory, reason_to_reconsider
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
            change = reason_to_reconsider(past, p) if past is not None else None
            if past is not None and change is None:
                suppressed.append(
                    f"{p.action} on {p.target.label()}: rejected by {past.by} ({past.reason}); "
                    "evidence unchanged"
                )
                continue
            if past is not None:
                p = p.model_copy(
                    update={
                        "note": f"Previously rejected by {past.by} ({past.reason}); proposed again "
                        f"because {change}."
                    }
                )
            kept.append(p)
        return {"proposals": kept, "suppressed": suppressed}

    def narrate(state: SweepState) -> SweepState:
        return {"proposals": [narrate_proposal(deps.model, p) for p in state["proposals"]]}

    def persist(state: SweepState) -> SweepState:
        report = SweepReport(
            sweep_id=state["sweep_id"],
            findings=len(state["findings"]),
            sources=state["snapshot"].sources + [f"warning: {w}" for w in state.get("warnings", [])],
            suppressed=state.get("suppressed", []),
        )
        total = Money.usd(Decimal(0))
        open_now = {
            p.fingerprint: p for p in deps.store.list_proposals([ProposalStatus.PENDING, ProposalStatus.APPROVED])
        }
        for p in state["proposals"]:
            stored = _persist_one(deps.store, p, open_now.get(p.fingerprint))
            if stored is None:
                report.unchanged_proposals.append(open_now[p.fingerprint].id)
                stored = deps.store.get_proposal(open_now[p.fingerprint].id)
            else:
                report.new_proposals.append(stored.id)
                deps.start_remediation(stored)
            if stored.status is ProposalStatus.PENDING:
                total = total + stored.estimate.expected
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


def _persist_one(store: StateStore, found: Proposal, open_one: Proposal | None) -> Proposal | None:
    """Queue ``found`` unless an open proposal already covers it; None means it was covered.

    One finding has at most one open proposal. The same plan keeps its id (and any approval in
    flight), with its estimate refreshed when the saving moved materially; a changed plan
    supersedes a pending proposal. A finding whose earlier proposal ended (executed, failed,
    drifted, superseded, or rejected on evidence that has since changed) is the waste coming
    back: it gets a new id, the next generation, so the history of the old one stays intact.
    """
    if open_one is not None and open_one.plan_hash == found.plan_hash:
        old = open_one.estimate.expected.amount
        moved = abs(found.estimate.expected.amount - old) > abs(old) * SAVING_GROWTH_TO_REPROPOSE
        if open_one.status is ProposalStatus.PENDING and moved:
            store.refresh_estimate(open_one.id, found.estimate, found.evidence, found.sweep_id)
        return None
    if open_one is not None and open_one.status is ProposalStatus.APPROVED:
        return None  # approved and executing under the old plan; the executor's drift check decides
    if open_one is not None:
        store.set_status(
            open_one.id, ProposalStatus.SUPERSEDED, actor="sweep",
            note="superseded: the plan changed (the resource changed since that sweep)",
        )
    generation = store.count_proposals(found.fingerprint, found.plan_hash)
    fresh = found.model_copy(update={"id": proposal_id(found.fingerprint, found.plan_hash, generation)})
    store.upsert_proposal(fresh)
    return fresh


def run_sweep(deps: SweepDeps, now: datetime | None = None) -> SweepReport:
    sweep_id = "sw-" + uuid.uuid4().hex[:10]
    result = build_sweep_graph(deps).invoke({"sweep_id": sweep_id, "started_at": now or utcnow()})
    return result["report"]

