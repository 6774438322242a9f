"""Budget kill switch against the emulator: a dev GPU instance in a kill-switch budget past its
limit is proposed for a stop; production in the same budget, a CPU box, a dev GPU instance in a
budget at 50 % and instances outside the budget's scope are not. Through a real sweep (the
``budget_kill_switch`` scenario seeded into the emulator and the lake), the approved stop runs
and the rollback starts the instance again.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.checks.budget_kill_switch import BudgetKillFacts
from spendpilot.checks.registry import all_checks
from spendpilot.domain import Money, ProposalStatus, Snapshot, utcnow
from spendpilot.domain.snapshot import BudgetReading
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate as estimate_of

CHECK = all_checks()["budget_kill_switch"]
PRICES = PriceBook.bundled()
TODAY = date(2026, 12, 20)
MONTH_END = date(2026, 12, 31)


def _launch(endpoint: str, name: str, itype: str, **tags: str) -> str:
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in {"Name": name, **tags}.items()]}]
    return str(ec2.run_instances(ImageId=ami, InstanceType=itype, MinCount=1, MaxCount=1,
                                 TagSpecifications=spec)["Instances"][0]["InstanceId"])


def _budget(name: str, scope: dict[str, Any], actual: str, amount: str = "1000", *, crossed: date | None = None,
            forecast_full: date | None = None, projected: str | None = None) -> BudgetReading:
    return BudgetReading(
        name=name, scope=scope, amount=Money.of(Decimal(amount), "USD"), actual=Money.of(Decimal(actual), "USD"),
        projected=Money.of(Decimal(projected or actual), "USD"), as_of=TODAY, period_end=MONTH_END,
        top_threshold=1.0, top_crossed_on=crossed, full_forecast_on=forecast_full,
    )


@pytest.fixture
def org(aws_endpoint: str) -> dict[str, str]:
    return {
        "ml-dev-gpu": _launch(aws_endpoint, "ml-dev-gpu", "g5.xlarge", team="ml", env="dev"),
        "ml-prod-gpu": _launch(aws_endpoint, "ml-prod-gpu", "g5.xlarge", team="ml", env="prod"),
        "ml-untagged-gpu": _launch(aws_endpoint, "ml-untagged-gpu", "g5.xlarge", team="ml"),
        "ml-dev-cpu": _launch(aws_endpoint, "ml-dev-cpu", "m5.large", team="ml", env="dev"),
        "web-staging-gpu": _launch(aws_endpoint, "web-staging-gpu", "g4dn.xlarge", team="web", env="Staging"),
    }


def _run(endpoint: str, budgets: list[BudgetReading], **settings: Any) -> list[Any]:
    instances = AwsAdapter(endpoint_url=endpoint).ec2.list_instances()
    snapshot = Snapshot(taken_at=utcnow(), resources=instances, budgets=budgets)
    return CHECK.run(snapshot, CHECK.settings(settings), PRICES)


def test_only_the_dev_gpu_instance_of_the_overrun_budget_is_proposed(aws_endpoint: str, org: dict[str, str]) -> None:
    over = _budget("ml", {"team": "ml"}, "1180.00", crossed=date(2026, 12, 17), forecast_full=date(2026, 12, 17),
                   projected="1900.00")
    [finding] = _run(aws_endpoint, [over])
    assert finding.resource.ref.id == org["ml-dev-gpu"]
    assert finding.rule == "budget_kill_switch" and finding.action_kind == "stop_instance"
    facts: BudgetKillFacts = finding.facts
    assert facts.budget == "ml" and facts.burn == pytest.approx(1.18) and facts.crossed_on == date(2026, 12, 17)
    budget_line = finding.evidence[0]
    assert budget_line.label == "Budget ml" and "$1,180.00 of $1,000.00 (118%)" in budget_line.value
    assert "crossed 100% on 2026-12-17" in budget_line.value
    assert "$1,900.00 by 2026-12-31; crosses 100% on 2026-12-17" in finding.evidence[1].value
    est = estimate_of(finding, PRICES)
    assert est is not None
    assert est.formula.startswith("Why stop: budget ml crossed 100% on 2026-12-17")
    assert str(est.expected.rounded()) == "$734.38"  # a month's run rate: 1.006 $/h x 730 h (no billing here)
    assert str(est.low.rounded()) == "$587.50"  # x 80 %: the owner may start it again for part of the month


def test_a_budget_at_half_is_not_a_trigger(aws_endpoint: str, org: dict[str, str]) -> None:
    half = _budget("ml", {"team": "ml"}, "500.00", projected="930.00")
    assert _run(aws_endpoint, [half]) == []


def test_the_forecast_alone_triggers_unless_switched_off(aws_endpoint: str, org: dict[str, str]) -> None:
    ahead = _budget("web", {"team": "web"}, "700.00", forecast_full=date(2026, 12, 27), projected="1150.00")
    [finding] = _run(aws_endpoint, [ahead])
    assert finding.resource.ref.id == org["web-staging-gpu"]  # env=Staging: tag values are case-insensitive
    assert "forecast to cross 100% on 2026-12-27, before 2026-12-31" in finding.summary
    assert _run(aws_endpoint, [ahead], on_forecast=False) == []


def test_production_is_never_stopped_even_if_listed(aws_endpoint: str, org: dict[str, str]) -> None:
    over = _budget("ml", {"team": "ml"}, "1500.00", crossed=TODAY)
    ids = {f.resource.ref.id for f in _run(aws_endpoint, [over], non_production_values=["dev", "prod"])}
    assert ids == {org["ml-dev-gpu"]}


def test_scope_selects_the_instances(aws_endpoint: str, org: dict[str, str]) -> None:
    by_tag = _budget("staging", {"tag:env": ["staging", "dev"]}, "2000.00", crossed=TODAY)
    ids = {f.resource.ref.id for f in _run(aws_endpoint, [by_tag])}
    assert ids == {org["ml-dev-gpu"], org["web-staging-gpu"]}
    other_region = _budget("eu", {"region": "eu-west-1"}, "2000.00", crossed=TODAY)
    assert _run(aws_endpoint, [other_region]) == []
    by_model = _budget("llm", {"model": "gpt-4.1"}, "2000.00", crossed=TODAY)
    assert _run(aws_endpoint, [by_model]) == []  # LLM spend: stopping instances would not touch it
    # Two overrun budgets covering one instance: one proposal, not two.
    assert len(_run(aws_endpoint, [by_tag, _budget("ml", {"team": "ml"}, "1500.00", crossed=TODAY)])) == 2


def test_sweep_approve_stop_and_rollback_start(aws_endpoint: str, tmp_path: Path) -> None:
    """The eval scenario's organisation, swept for real: budgets evaluated on the lake it ingested."""
    from spendpilot.demo import prepare_scenario
    from spendpilot.runtime import build_services
    from spendpilot.scenarios.kube_seed import scenario_settings
    from spendpilot.scenarios.model import load_scenario, locate_scenario

    spec = load_scenario(locate_scenario("budget_kill_switch"))
    settings = scenario_settings(spec, tmp_path, aws_endpoint)
    prepare_scenario(settings, spec, aws_endpoint, now=utcnow())
    services = build_services(settings)
    report = services.sweep()
    assert any(line.startswith("budgets: 2 kill-switch budget(s)") for line in report.sources), report.sources
    pending = services.list_proposals([ProposalStatus.PENDING])
    [proposal] = [p for p in pending if p.rule == "budget_kill_switch"]
    assert proposal.target.name == "research-dev-gpu" and proposal.risk.value == "low"
    assert proposal.evidence[0].label == "Budget research-monthly"
    assert not any(p.target.name in ("research-prod-gpu", "data-dev-gpu", "research-dev-cpu") for p in pending)
    assert "Why stop: budget research-monthly crossed 100%" in proposal.estimate.formula

    ec2 = boto3.client("ec2", endpoint_url=aws_endpoint, region_name="us-east-1")

    def state(iid: str) -> str:
        return str(ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"])

    outcome = services.approve(proposal.id, by="alice")
    assert outcome.status is ProposalStatus.EXECUTED and outcome.verified, outcome.message
    assert state(proposal.target.id) == "stopped"
    undone = services.rollback(proposal.id, by="alice")
    assert undone.status is ProposalStatus.EXECUTED, undone.message
    assert state(proposal.target.id) == "running"


def test_a_kill_switch_budget_without_spend_data_is_said_not_judged(aws_endpoint: str, tmp_path: Path) -> None:
    """No lake yet: the budget is not called under budget silently; the sweep says why it could not judge."""
    from spendpilot.config import Settings
    from spendpilot.runtime import build_services

    _launch(aws_endpoint, "ml-dev-gpu", "g5.xlarge", team="ml", env="dev")
    settings = Settings(home=tmp_path, aws={"endpoint_url": aws_endpoint},
                        budgets=[{"name": "ml", "amount": 1, "scope": {"team": "ml"}, "kill_switch": True}])
    services = build_services(settings)
    report = services.sweep()
    assert any("budget ml: " in w for w in report.warnings), report.warnings
    assert not [p for p in services.list_proposals() if p.rule == "budget_kill_switch"]


def test_a_bad_budget_in_a_scenario_names_file_and_field(tmp_path: Path) -> None:
    import shutil

    from spendpilot.errors import ScenarioError
    from spendpilot.scenarios.model import load_scenario, scenarios_root

    folder = tmp_path / "bad"
    shutil.copytree(scenarios_root() / "budget_kill_switch", folder)
    head = folder / "scenario.yaml"
    head.write_text(head.read_text().replace("amount: 20", "amount: -5"))
    with pytest.raises(ScenarioError, match=r"scenario.yaml: field 'budgets.0.amount'"):
        load_scenario(folder)


def test_a_budget_raised_before_the_approval_stops_nothing(aws_endpoint: str, tmp_path: Path) -> None:
    """The executor re-checks the budget: raised after the sweep, the approved stop is drift,
    the instance keeps running (still over, the stop runs: test_sweep_approve_stop_and_rollback_start)."""
    from spendpilot.actions.budget_guard import BUDGET_OVER
    from spendpilot.demo import prepare_scenario
    from spendpilot.runtime import build_services
    from spendpilot.scenarios.kube_seed import scenario_settings
    from spendpilot.scenarios.model import load_scenario, locate_scenario

    spec = load_scenario(locate_scenario("budget_kill_switch"))
    settings = scenario_settings(spec, tmp_path, aws_endpoint)
    prepare_scenario(settings, spec, aws_endpoint, now=utcnow())
    services = build_services(settings)
    services.sweep()
    [proposal] = [p for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "budget_kill_switch"]
    assert proposal.plan.preconditions[BUDGET_OVER]["budget"] == "research-monthly"

    raised = [b.model_copy(update={"amount": Decimal("1000000")}) if b.name == "research-monthly" else b
              for b in settings.budgets]
    later = build_services(settings.model_copy(update={"budgets": raised}))
    outcome = later.approve(proposal.id, by="alice")
    assert outcome.status is ProposalStatus.DRIFTED, outcome.message
    assert "budget research-monthly" in outcome.message and "under:" in outcome.message
    ec2 = boto3.client("ec2", endpoint_url=aws_endpoint, region_name="us-east-1")
    inst = ec2.describe_instances(InstanceIds=[proposal.target.id])["Reservations"][0]["Instances"][0]
    assert inst["State"]["Name"] == "running"
