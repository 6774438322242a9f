"""Kill switch, LLM side: a non-production team's budget past its limit lowers its LiteLLM team
budget, on a real config file with comments. Production (declared, or in the team id), a budget
inside its limit and a team already capped lower are left alone. Through a real sweep of the
``budget_gateway_kill_switch`` scenario (emulator, lake, executor): the diff is in the plan and
the file is untouched until approval; the approved change keeps every comment and verifies;
rollback restores the file byte for byte; a budget raised before the approval is drift.
"""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from spendpilot.actions.budget_guard import BUDGET_OVER
from spendpilot.adapters.base import SourceContext
from spendpilot.adapters.litellm.source_litellm_config import (
    LiteLLMConfigSettings,
    LiteLLMConfigSource,
)
from spendpilot.checks.registry import all_checks
from spendpilot.domain import Money, ProposalStatus, Snapshot, utcnow
from spendpilot.domain.snapshot import BudgetReading
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate as estimate_of
from spendpilot.scenarios.model import load_scenario, locate_scenario

CHECK = all_checks()["budget_gateway_kill_switch"]
PRICES = PriceBook.bundled()
TODAY, MONTH_END = date(2026, 12, 20), date(2026, 12, 31)
SCENARIO = locate_scenario("budget_gateway_kill_switch")
CONFIG = SCENARIO / "litellm_config.yaml"


def _budget(team: str | list[str], env: str | None, actual: str, amount: str = "1000", *,
            crossed: date | None = None, forecast_full: date | None = None, projected: str | None = None) -> BudgetReading:
    return BudgetReading(
        name=f"{team}-monthly", scope={"team": team}, amount=Money.of(Decimal(amount), "USD"),
        actual=Money.of(Decimal(actual), "USD"), projected=Money.of(Decimal(projected or actual), "USD"),
        as_of=TODAY, period_end=MONTH_END, top_threshold=1.0, top_crossed_on=crossed,
        full_forecast_on=forecast_full, environment=env,
    )


def _run(budgets: list[BudgetReading], config: Path | None = CONFIG, **settings: Any) -> list[Any]:
    snapshot = Snapshot(taken_at=utcnow(), budgets=budgets)
    if config is not None:
        source = LiteLLMConfigSource(LiteLLMConfigSettings(path=config))
        snapshot.merge(source.name, source.read(SourceContext(now=utcnow(), prices=PRICES)))
    return CHECK.run(snapshot, CHECK.settings(settings), PRICES)


def test_a_forecast_overrun_caps_the_team_at_what_is_left() -> None:
    ahead = _budget("sandbox", "sandbox", "700.00", forecast_full=date(2026, 12, 26), projected="1150.00")
    [finding] = _run([ahead])
    f = finding.facts
    assert finding.resource.ref.name == "litellm-team-sandbox" and finding.action_kind == "lower_gateway_budget"
    assert (f.max_budget, f.previous_max_budget, f.budget_duration) == (Decimal("300.00"), Decimal("500.0"), "1mo")
    assert "forecast to cross 100% on 2026-12-26" in finding.summary
    # Less spent: 620 left is above the entry's 500 already in place, so there is nothing to lower.
    assert _run([_budget("sandbox", "sandbox", "380.00", forecast_full=date(2026, 12, 29), projected="1010.00")]) == []


def test_crossed_budget_lowers_to_zero_and_estimates_the_overrun() -> None:
    over = _budget("sandbox", "sandbox", "1180.00", crossed=date(2026, 12, 17), projected="1900.00")
    [finding] = _run([over])
    f = finding.facts
    assert (f.max_budget, f.previous_max_budget, f.previous_budget_duration) == (Decimal("0.00"), Decimal("500.0"), "30d")
    assert "crossed 100% on 2026-12-17" in finding.summary
    assert finding.evidence[3].value == "max_budget 500.0, budget_duration 30d"
    est = estimate_of(finding, PRICES)
    assert est is not None
    assert str(est.expected.rounded()) == "$720.00"  # forecast rest of month 1900 - 1180, cap allows 0
    assert str(est.low.rounded()) == "$360.00"
    assert est.formula.startswith("Why cap: budget sandbox-monthly crossed 100% on 2026-12-17")


def test_production_and_look_alikes_are_never_capped() -> None:
    crossed = {"crossed": date(2026, 12, 10), "actual": "2000.00"}
    prod = _budget("search", "production", **crossed)
    undeclared = _budget("labs", None, **crossed)
    prod_id = _budget("qa-prod", "dev", **crossed)
    capped = _budget("tools", "dev", **crossed)  # entry already at max_budget 0.0
    assert _run([prod, undeclared, prod_id, capped]) == []
    assert _run([prod], non_production_values=["dev", "production"]) == []  # prod even if listed
    half = _budget("labs", "dev", "500.00", projected="930.00")
    assert _run([half]) == []
    assert _run([_budget("labs", "dev", "700.00", forecast_full=date(2026, 12, 27), projected="1150.00")],
                on_forecast=False) == []


def test_no_gateway_config_or_no_team_scope_proposes_nothing() -> None:
    over = _budget("sandbox", "sandbox", "1500.00", crossed=TODAY)
    assert _run([over], config=None) == []
    by_feature = over.model_copy(update={"scope": {"feature": "chat"}})
    assert _run([by_feature]) == []


def test_a_list_of_teams_gets_one_proposal_each_and_a_new_entry_when_absent(tmp_path: Path) -> None:
    both = _budget(["sandbox", "newteam"], "staging", "1500.00", crossed=TODAY)
    findings = _run([both])
    assert sorted(f.facts.team for f in findings) == ["newteam", "sandbox"]
    [new] = [f for f in findings if f.facts.team == "newteam"]
    assert new.facts.previous_max_budget is None
    assert new.evidence[3].value == "no entry for this team (no config budget)"
    # A second overrun budget over the same team: still one proposal per team.
    assert len(_run([both, _budget("sandbox", "dev", "1500.00", crossed=TODAY)])) == 2


@pytest.fixture
def swept(aws_endpoint: str, tmp_path: Path) -> tuple[Any, Any, Path]:
    from spendpilot.demo import prepare_scenario
    from spendpilot.runtime import build_services
    from spendpilot.scenarios.kube_seed import scenario_settings
    from spendpilot.scenarios.litellm_seed import scenario_litellm

    spec = load_scenario(SCENARIO)
    gateway = scenario_litellm(spec.path, tmp_path)
    settings = scenario_settings(spec, tmp_path, aws_endpoint, extra_sources=gateway)
    prepare_scenario(settings, spec, aws_endpoint, now=utcnow())
    services = build_services(settings)
    services.sweep()
    return settings, services, Path(gateway[0]["path"])


def test_sweep_approve_verify_rollback_on_the_config_file(swept: tuple[Any, Any, Path]) -> None:
    _, services, config = swept
    before = config.read_text()
    pending = services.list_proposals([ProposalStatus.PENDING])
    [proposal] = [p for p in pending if p.rule == "budget_gateway_kill_switch"]
    assert proposal.target.name == "litellm-team-sandbox"
    assert not any(p.target.name in ("litellm-team-search", "litellm-team-labs", "litellm-team-qa-prod",
                                     "litellm-team-tools") for p in pending)
    # The dry run is the plan: the exact lines that will change, nothing written yet.
    assert ("-      max_budget: 500.0\n-      budget_duration: 30d\n"
            "+      max_budget: 0.0\n+      budget_duration: 1mo\n") in proposal.plan.description
    assert proposal.plan.preconditions[BUDGET_OVER]["budget"] == "sandbox-monthly"
    assert config.read_text() == before

    outcome = services.approve(proposal.id, by="alice")
    assert outcome.status is ProposalStatus.EXECUTED and outcome.verified, outcome.message
    after = config.read_text()
    changed = {"      max_budget: 500.0", "      budget_duration: 30d"}
    for line in before.splitlines():  # every other line, comments included, survives
        if line not in changed:
            assert line in after.splitlines(), line
    sandbox = next(t for t in yaml.safe_load(after)["litellm_settings"]["default_team_settings"]
                   if t["team_id"] == "sandbox")
    assert sandbox == {"team_id": "sandbox", "max_budget": 0.0, "budget_duration": "1mo"}
    assert "    - team_id: sandbox          # experiments; owner: platform" in after

    undone = services.rollback(proposal.id, by="alice")
    assert undone.status is ProposalStatus.EXECUTED, undone.message
    assert config.read_text() == before


def test_a_budget_raised_before_the_approval_writes_nothing(swept: tuple[Any, Any, Path]) -> None:
    from spendpilot.runtime import build_services

    settings, services, config = swept
    before = config.read_text()
    [proposal] = [p for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "budget_gateway_kill_switch"]
    raised = [b.model_copy(update={"amount": Decimal("1000000")}) if b.name == "sandbox-monthly" else b
              for b in settings.budgets]
    outcome = build_services(settings.model_copy(update={"budgets": raised})).approve(proposal.id, by="alice")
    assert outcome.status is ProposalStatus.DRIFTED, outcome.message
    assert "budget sandbox-monthly" in outcome.message
    assert config.read_text() == before


def test_copied_scenario_config_is_the_shipped_one(tmp_path: Path) -> None:
    from spendpilot.scenarios.litellm_seed import scenario_litellm

    [entry] = scenario_litellm(SCENARIO, tmp_path)
    assert Path(entry["path"]).read_text() == CONFIG.read_text()
    shutil.rmtree(tmp_path / "litellm")
    assert scenario_litellm(locate_scenario("budget_kill_switch"), tmp_path) == []
