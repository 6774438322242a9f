"""Realized savings in ``spendpilot eval``: execute planted proposals, bill the days after, measure.

A scenario with a ``realized.yaml`` goes one step further than the sweep: the runner approves and
executes the proposals it lists (through the same services a user calls, against the emulator),
then writes the bill of the ``window_days`` days after the execution day, in which an instance
is billed while the emulator says it runs and an LLM feature sends the same requests and tokens
as before on the model its route names then (``models_after``), ingests it (and the matching
LLM usage export), and measures each executed proposal with ``savings.realized``, its clock set
to the end of that bill. Two figures come out per proposal:

* **estimate vs realized** (``error``): (estimate - realized) / estimate, the number a FinOps team
  reports upward (positive: the estimate promised more than the bill shows);
* **realized vs truth** (``realized_ok``): the measurement against the hand-worked saving the
  planted bill must show; a scenario whose measurement misses its truth by more than a cent fails.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from spendpilot.domain import LlmUsage, Proposal, ProposalStatus
from spendpilot.errors import ScenarioError
from spendpilot.scenarios.model import Scenario
from spendpilot.scenarios.score import RealizedComparison
from spendpilot.scenarios.seed import SeededOrg
from spendpilot.scenarios.synth import FOCUS_COLUMNS, focus_rows, llm_usage_records

if TYPE_CHECKING:
    from spendpilot.adapters.aws.client import AwsAdapter
    from spendpilot.config import Settings
    from spendpilot.runtime import LocalServices

EVAL_APPROVER = "spendpilot-eval"

def _instance_states(aws: AwsAdapter) -> dict[str, str]:
    ec2 = aws.client("ec2")
    states: dict[str, str] = {}
    for page in ec2.get_paginator("describe_instances").paginate():
        for reservation in page["Reservations"]:
            for inst in reservation["Instances"]:
                states[inst["InstanceId"]] = inst["State"]["Name"]
    return states


def models_after(spec: Scenario, executed: list[Proposal], aws: AwsAdapter) -> dict[str, str]:
    """The model each of ``llm_usage.yaml``'s features uses after the execution: feature -> model.

    The traffic follows the change, never a model written into the scenario: a feature whose route
    (the SSM parameter the application reads, as the emulator holds it now) differs from the route
    it was seeded with uses the route's model (a change someone reverted reads as no change); a
    feature without such a route whose executed proposal names a model in its approved plan
    (``change["model"]``: an advisory or gateway routing change) uses that model; every other
    feature keeps its model."""
    seeded = {r.feature: r.model for r in spec.resources.llm_features}
    approved: dict[str, str] = {}
    for p in executed:
        model = p.plan.change.get("model")
        if p.target.kind == "llm_feature" and isinstance(model, str):
            approved[p.target.name or p.target.id] = model
    out: dict[str, str] = {}
    for f in spec.llm_usage.features:
        out[f.feature] = f.model
        if f.feature in seeded:
            route = aws.llm_routing.get_route(f.feature)
            now = str(route.attributes.get("model") or "") if route is not None else ""
            if now and now != seeded[f.feature]:
                out[f.feature] = now
        elif f.feature in approved:
            out[f.feature] = approved[f.feature]
    return out


def route_back(spec: Scenario, aws: AwsAdapter) -> None:
    """``after_execution.routed_back``: set each feature's route to the model it was seeded with,
    as an owner undoing the change would. A feature without a seeded route is refused by name."""
    assert spec.realized is not None
    seeded = {r.feature: r.model for r in spec.resources.llm_features}
    for feature in spec.realized.after_execution.routed_back:
        if feature not in seeded:
            raise ScenarioError(f"{spec.path / 'realized.yaml'}: field 'after_execution.routed_back': '{feature}' "
                                "is not one of resources.yaml's llm_features (no route to set back)")
        aws.llm_routing.set_route(feature, seeded[feature])


def post_execution_usage(spec: Scenario, models: dict[str, str], *, days: int, end: datetime) -> list[LlmUsage]:
    """``llm_usage.yaml``'s daily traffic for the ``days`` days before ``end``, each feature on the
    model ``models`` names, priced at that model's list price (bundled price table). Request and
    token counts are the spec's (a feature with ``jitter`` draws new day-to-day variation)."""
    from spendpilot.savings.pricebook import PriceBook

    features = [f.model_copy(update={"model": models.get(f.feature, f.model)}) for f in spec.llm_usage.features]
    usage = spec.llm_usage.model_copy(update={"features": features})
    return llm_usage_records(usage, days=days, now=end, prices=PriceBook.bundled(), seed=spec.seed)


def write_post_execution_bill(spec: Scenario, org: SeededOrg, states: dict[str, str], *, execution_day: date,
                              days: int, folder: Path, earlier_bill: Path,
                              usage: list[LlmUsage] | None = None) -> tuple[Path, datetime]:
    """The bill again, now running to ``days`` days after ``execution_day``: the rows of
    ``earlier_bill``, then running instances at their list price (as before), the scenario's extra
    line items and ``after_execution``'s, and ``usage`` (post-execution LLM usage, one row per
    feature, model and day, as ``focus_rows`` bills it). Returns the file and the end of the last
    billed day.

    The earlier rows are repeated because an export restates its whole billing period (the lake
    replaces a period's rows with a newer file's): a file holding only the new days would withdraw
    the earlier days of the same month, as a provider's month-to-date export would not."""
    from spendpilot.savings.pricebook import PriceBook

    assert spec.realized is not None
    after = spec.realized.after_execution
    billed = spec.model_copy(update={
        "billing_days": days,
        "billing": spec.billing.model_copy(update={
            "extra_line_items": [*spec.billing.extra_line_items, *after.extra_line_items]}),
    })
    end = datetime.combine(execution_day + timedelta(days=days + 1), time.min, tzinfo=UTC)
    running = [(i.instance_id, i.name, i.instance_type, i.tags, i.launched_at)
               for i in org.instances if states.get(i.instance_id) == "running"]
    path = folder / "focus_billing_after_execution.csv"
    with path.open("w", newline="") as fh, earlier_bill.open(newline="") as before:
        writer = csv.DictWriter(fh, fieldnames=FOCUS_COLUMNS)
        writer.writeheader()
        writer.writerows(csv.DictReader(before))
        writer.writerows(focus_rows(billed, instances=running, usage=usage or [], now=end,
                                    prices=PriceBook.bundled()))
    return path, end


def _write_usage_export(usage: list[LlmUsage], path: Path) -> Path:
    """The post-execution days as the provider's usage export (the columns ``demo`` writes)."""
    from spendpilot.demo import write_llm_usage_csv

    return write_llm_usage_csv(usage, path)


def execute_and_measure(spec: Scenario, services: LocalServices, settings: Settings, org: SeededOrg,
                        aws: AwsAdapter, earlier_bill: Path) -> list[RealizedComparison]:
    """Approve and execute ``realized.yaml``'s proposals, bill the days after, measure each one."""
    from spendpilot.lake import ingest_file
    from spendpilot.lake.llm_usage import ingest_llm_usage_file
    from spendpilot.savings.realized import RealizedSettings, execution_times, realized_savings

    assert spec.realized is not None
    plan = spec.realized
    pending = services.list_proposals([ProposalStatus.PENDING])
    out: list[RealizedComparison] = []
    executed: dict[str, RealizedComparison] = {}
    approved: list[Proposal] = []
    for want in plan.execute:
        row = RealizedComparison(scenario=spec.name, rule=want.rule, target=want.target, status="not_proposed",
                                 truth=want.realized)
        out.append(row)
        match = next((p for p in pending if p.rule == want.rule and (p.target.name or p.target.id) == want.target), None)
        if match is None:
            row.note = "the sweep made no such proposal"
            continue
        row.estimate, row.low, row.high = (match.estimate.expected.amount, match.estimate.low.amount,
                                           match.estimate.high.amount)
        outcome = services.approve(match.id, EVAL_APPROVER, match.plan_hash)
        if outcome.status is not ProposalStatus.EXECUTED:
            row.status, row.note = "not_executed", outcome.message
            continue
        executed[match.id] = row
        approved.append(match)
    if not executed:
        return out
    ec2 = aws.client("ec2")
    restart = [org.instance_id(name) for name in plan.after_execution.restarted]
    if restart:  # someone starts it again: the trap whose bill does not drop
        ec2.start_instances(InstanceIds=restart)
    route_back(spec, aws)  # its owner routes it back: the token-lever trap whose bill does not drop
    # The bill starts the day after the (latest) execution day: the day of the change is left out.
    execution_day = max(t for pid in executed for t in execution_times(services.store, pid)).date()
    end = datetime.combine(execution_day + timedelta(days=plan.window_days + 1), time.min, tzinfo=UTC)
    usage = post_execution_usage(spec, models_after(spec, approved, aws), days=plan.window_days, end=end)
    inputs = settings.home / "inputs"
    bill, end = write_post_execution_bill(spec, org, _instance_states(aws), execution_day=execution_day,
                                          days=plan.window_days, folder=inputs, earlier_bill=earlier_bill,
                                          usage=usage)
    reports = [ingest_file(bill, settings.lake_dir)]
    if usage:
        reports.append(ingest_llm_usage_file(_write_usage_export(usage, inputs / "llm_usage_after_execution.csv"),
                                             settings.lake_dir))
    for report in reports:
        if report.rows_quarantined:
            raise ValueError(f"{report.file}: {report.rows_quarantined} post-execution rows quarantined")
    measured = realized_savings(services.store, settings.lake_dir, settings=RealizedSettings(window_days=plan.window_days),
                                now=end, proposal_ids=list(executed))
    for r in measured:
        row = executed[r.proposal_id]
        row.status, row.realized, row.error = r.status.value, r.realized_monthly, r.error
        row.windows = f"{r.before_window.label()} vs {r.after_window.label()}"
        row.note = r.line() if r.realized_monthly is None else ""
    return out
