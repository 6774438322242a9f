"""The sweep graph: collect -> detect -> estimate -> dedupe -> narrate -> persist.

Every node that touches money is plain code. The narrate node is the only one that may call a
language model, and only to write prose around numbers it is given. Proposal identity and the
queueing rules live in ``spendpilot.proposals``; this module only runs the stages in order.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph

from spendpilot._failpoints import failpoint
from spendpilot.adapters.base import Source, SourceContext
from spendpilot.agent.collect import collect_snapshot
from spendpilot.agent.narrate import narrate_proposal
from spendpilot.checks import run_checks
from spendpilot.config import Settings
from spendpilot.domain import (
    Finding,
    Gap,
    Proposal,
    ProposalStatus,
    Snapshot,
    totals_by_currency,
    utcnow,
)
from spendpilot.domain.reports import SweepReport
from spendpilot.memory.decisions import DecisionMemory, reason_to_reconsider
from spendpilot.plugins import refused_checks
from spendpilot.proposals.lifecycle import make_proposal, queue_proposal
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate
from spendpilot.state import StateStore

log = logging.getLogger(__name__)


class SweepState(TypedDict, total=False):
    sweep_id: str
    started_at: datetime
    snapshot: Snapshot
    warnings: list[str]
    findings: list[Finding[Any]]
    proposals: list[Proposal]
    suppressed: list[str]
    report: SweepReport


@dataclass
class SweepDeps:
    settings: Settings
    store: StateStore
    prices: PriceBook
    sources: Sequence[Source]
    memory: DecisionMemory | None
    model: BaseChatModel | None
    start_remediation: Callable[[Proposal], None]


def _read_kill_switch_budgets(settings: Settings, snapshot: Snapshot) -> None:
    """Budgets with ``kill_switch = true`` into the snapshot, for the ``budget_kill_switch`` check.

    Read here, after the sources, because a budget is evaluated on the lake the lake source just
    refreshed; a budget is configuration plus a lake query, not a source of its own. A failed
    evaluation is a Gap named "budgets", never a silent "under budget".
    """
    if not any(b.kill_switch for b in settings.budgets):
        return
    from spendpilot.outlook.budgets import kill_switch_readings

    try:
        readings, notes = kill_switch_readings(settings)
    except Exception as exc:  # one bad budget query must not cost the sweep
        log.exception("kill-switch budgets not evaluated")
        snapshot.gaps.append(Gap(source="budgets", error=f"kill-switch budgets not evaluated: {type(exc).__name__}: {exc}"))
        return
    snapshot.budgets.extend(readings)
    snapshot.warnings.extend(notes)
    snapshot.sources.append(f"budgets: {len(readings)} kill-switch budget(s) evaluated")


def _estimate_prices(deps: SweepDeps, findings: Sequence[Finding[Any]], now: datetime, warnings: list[str]) -> PriceBook:
    """The price book to estimate with: with ``[prices] ec2_live``, the findings' EC2 on-demand
    prices as ``pricing:GetProducts`` quotes them today; else (or where that fails) the packaged,
    dated table, each price saying which it is."""
    settings = deps.settings.prices
    if not settings.ec2_live:
        return deps.prices
    from spendpilot.adapters.aws.client import AwsAdapter
    from spendpilot.savings.live_ec2_prices import instance_types_in, with_live_on_demand

    wanted = instance_types_in(findings)
    if not wanted:
        return deps.prices
    api = AwsAdapter(region=settings.pricing_region, endpoint_url=settings.pricing_endpoint_url).pricing
    live = with_live_on_demand(deps.prices, api, wanted, now.date())
    warnings.extend(live.warnings())
    return live.prices


def build_sweep_graph(deps: SweepDeps) -> Any:
    def collect(state: SweepState) -> SweepState:
        ctx = SourceContext(now=state["started_at"], prices=deps.prices)
        snapshot = collect_snapshot(deps.sources, ctx, concurrency=deps.settings.source_concurrency)
        _read_kill_switch_budgets(deps.settings, snapshot)
        return {"snapshot": snapshot, "warnings": list(snapshot.warnings)}

    def detect(state: SweepState) -> SweepState:
        warnings = list(state.get("warnings", []))
        refused = refused_checks()
        warnings.extend(refused.values())
        overrides = dict(deps.settings.checks)
        for rule in refused:
            overrides[rule] = {**overrides.get(rule, {}), "enabled": False}
        findings = run_checks(state["snapshot"], deps.prices, overrides, problems=warnings)
        return {"findings": findings, "warnings": warnings}

    def propose(state: SweepState) -> SweepState:
        proposals: list[Proposal] = []
        warnings = list(state.get("warnings", []))
        prices = _estimate_prices(deps, state["findings"], state["started_at"], warnings)
        for finding in state["findings"]:
            try:
                est = estimate(finding, prices)
                if est is None:
                    warnings.append(f"{finding.rule} on {finding.resource.ref.label()}: no price, not proposed")
                    continue
                proposals.append(make_proposal(finding, est, sweep_id=state["sweep_id"]))
            except Exception as exc:  # one bad estimate or plan must not cost the other findings
                log.exception("proposing %s on %s failed", finding.rule, finding.resource.ref.label())
                warnings.append(
                    f"{finding.rule} on {finding.resource.ref.label()}: not proposed ({type(exc).__name__}: {exc})"
                )
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
        if deps.model is None:
            return {"proposals": [narrate_proposal(None, p) for p in state["proposals"]]}
        from spendpilot.agent.llm import describe_model
        from spendpilot.agent.llm_usage import UsageTally, record_usage

        tally = UsageTally(default_model=describe_model(deps.model))
        try:
            return {"proposals": [narrate_proposal(deps.model, p, tally) for p in state["proposals"]]}
        finally:
            try:  # the sweep's own token bill (`spendpilot agent-usage`); never costs the sweep
                record_usage(deps.store, "sweep", state["sweep_id"], tally.calls, deps.prices)
            except Exception:
                log.exception("could not record the sweep's token usage")

    def persist(state: SweepState) -> SweepState:
        snapshot = state["snapshot"]
        report = SweepReport(
            sweep_id=state["sweep_id"],
            findings=len(state["findings"]),
            sources=snapshot.sources,
            gaps=snapshot.gaps,
            sources_configured=len(deps.sources),
            warnings=state.get("warnings", []),
            suppressed=state.get("suppressed", []),
        )
        open_now = {
            p.fingerprint: p for p in deps.store.list_proposals([ProposalStatus.PENDING, ProposalStatus.APPROVED])
        }
        pending: list[Proposal] = []
        failpoint("sweep_before_persist")
        for p in state["proposals"]:
            stored = queue_proposal(deps.store, p, open_now.get(p.fingerprint))
            if stored is None:
                report.unchanged_proposals.append(open_now[p.fingerprint].id)
                stored = deps.store.get_proposal(open_now[p.fingerprint].id)
            else:
                report.new_proposals.append(stored.id)
                failpoint("sweep_proposal_stored")
                deps.start_remediation(stored)
            if stored.status is ProposalStatus.PENDING:
                pending.append(stored)
        report.totals = totals_by_currency(p.estimate.expected for p in pending)
        failpoint("sweep_before_record")
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
    report: SweepReport = result["report"]
    return report

